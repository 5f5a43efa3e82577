#include "common/base/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace elevate::base {

bool IpAddress::is_v4() const {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.empty() || text.size() > 63) return std::nullopt;
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress a;
    in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        a.bytes[10] = 0xff;
        a.bytes[11] = 0xff;
        std::memcpy(a.bytes.data() + 12, &v4, 4);
        return a;
    }
    if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) return a;
    return std::nullopt;
}

std::string format_ip(const IpAddress& a) {
    char buf[INET6_ADDRSTRLEN];
    if (a.is_v4()) return inet_ntop(AF_INET, a.bytes.data() + 12, buf, sizeof buf) ? buf : "";
    return inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf) ? buf : "";
}

namespace {

// `a` with every bit after the first `bits` cleared.
IpAddress masked(const IpAddress& a, int bits) {
    IpAddress m = a;
    for (int i = 0; i < 16; ++i) {
        const int keep = std::clamp(bits - i * 8, 0, 8);
        m.bytes[size_t(i)] &= uint8_t(0xff00 >> keep);
    }
    return m;
}

}  // namespace

bool Cidr::contains(const IpAddress& a) const {
    return masked(a, bits) == base;
}

std::string format_cidr(const Cidr& c) {
    const int bits = c.base.is_v4() && c.bits >= 96 ? c.bits - 96 : c.bits;
    return format_ip(c.base) + "/" + std::to_string(bits);
}

Cidr network_of(const IpAddress& a, int v4_bits, int v6_bits) {
    const int bits = a.is_v4() ? 96 + std::clamp(v4_bits, 0, 32) : std::clamp(v6_bits, 0, 128);
    return {masked(a, bits), bits};
}

}  // namespace elevate::base
