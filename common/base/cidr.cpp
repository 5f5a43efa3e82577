#include "common/base/cidr.h"

#include <arpa/inet.h>

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

}  // namespace elevate::base
