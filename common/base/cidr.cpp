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

namespace {

// Whether the first `bits` bits of a and b agree.
bool same_prefix(const IpAddress& a, const IpAddress& b, int bits) {
    const int whole = bits / 8;
    if (std::memcmp(a.bytes.data(), b.bytes.data(), static_cast<size_t>(whole)) != 0) return false;
    const int rest = bits % 8;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

IpAddress clear_host_bits(IpAddress a, int bits) {
    for (int i = 0; i < 16; ++i) {
        const int keep = bits - i * 8;  // bits of byte i that belong to the prefix
        if (keep >= 8) continue;
        a.bytes[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    }
    return a;
}

bool fail(std::string* error, const char* what) {
    if (error) *error = what;
    return false;
}

// A prefix length in decimal, without sign or leading zeros.
bool parse_length(std::string_view text, int max, int* out, std::string* error) {
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0'))
        return fail(error, "the prefix length must be a decimal number");
    int n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return fail(error, "the prefix length must be a decimal number");
        n = n * 10 + (c - '0');
    }
    if (n > max) return fail(error, max == 32 ? "an IPv4 prefix length is 0..32" : "an IPv6 prefix length is 0..128");
    *out = n;
    return true;
}

}  // namespace

bool Cidr::contains(const IpAddress& a) const {
    return same_prefix(base, a, bits);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* error) {
    const size_t slash = text.find('/');
    const std::string_view address = text.substr(0, slash);
    if (address.find('%') != std::string_view::npos) {
        fail(error, "an IPv6 zone (%...) has no meaning here");
        return std::nullopt;
    }
    auto ip = parse_ip(address);
    if (!ip) {
        fail(error, "not an IP address or CIDR (such as 10.20.0.0/16 or 2001:db8::/48)");
        return std::nullopt;
    }
    // The family is the one written: "::ffff:10.0.0.0/104" is an IPv6 prefix.
    const bool written_v4 = address.find(':') == std::string_view::npos;
    int bits = 128;
    if (slash != std::string_view::npos) {
        if (!parse_length(text.substr(slash + 1), written_v4 ? 32 : 128, &bits, error)) return std::nullopt;
        if (written_v4) bits += 96;
    }
    Cidr c{clear_host_bits(*ip, bits), bits};
    if (!(c.base == *ip)) {
        if (error) *error = "host bits are set (the network is " + format_cidr(c) + ")";
        return std::nullopt;
    }
    return c;
}

std::string format_cidr(const Cidr& c) {
    const bool v4 = c.base.is_v4() && c.bits >= 96;
    return format_ip(c.base) + "/" + std::to_string(v4 ? c.bits - 96 : c.bits);
}

Cidr network_of(const IpAddress& a, int v4_bits, int v6_bits) {
    auto clamp = [](int n, int max) { return n < 0 ? 0 : n > max ? max : n; };
    const int bits = a.is_v4() ? 96 + clamp(v4_bits, 32) : clamp(v6_bits, 128);
    return Cidr{clear_host_bits(a, bits), bits};
}

}  // namespace elevate::base
