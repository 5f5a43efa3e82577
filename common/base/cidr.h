// IP addresses and CIDR prefixes, for conditional-access networks and for
// aggregating risk by source network. IPv4 is held as its IPv4-mapped IPv6
// form (::ffff:a.b.c.d), so "10.0.0.0/8" matches "::ffff:10.1.2.3" and a
// v4 prefix length n is stored as 96 + n. libc only (inet_pton).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace elevate::base {

struct IpAddress {
    std::array<uint8_t, 16> bytes{};  // network order; IPv4 as ::ffff:a.b.c.d
    bool is_v4() const;               // an IPv4 (or IPv4-mapped) address
    bool operator==(const IpAddress& o) const { return bytes == o.bytes; }
};

// "192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7"; an IPv6 zone ("%eth0") is
// refused. nullopt for anything else (a host name is not an address).
std::optional<IpAddress> parse_ip(std::string_view text);
// Canonical text: dotted quad for IPv4 (also when mapped), RFC 5952 for IPv6.
std::string format_ip(const IpAddress& a);

struct Cidr {
    IpAddress base;  // host bits cleared
    int bits = 0;    // 0..128, in the mapped space for IPv4 (96..128)
    bool contains(const IpAddress& a) const;
};

// "10.20.0.0/16", "2001:db8::/48", a bare address (a /32 or /128),
// "0.0.0.0/0" (every IPv4 address), "::/0" (every address). Host bits set
// ("10.20.1.0/16") are refused, as is a length beyond the family's.
// On failure *error says what is wrong.
std::optional<Cidr> parse_cidr(std::string_view text, std::string* error);
// Canonical text, with the family's own prefix length ("10.20.0.0/16").
std::string format_cidr(const Cidr& c);

// The network of `a` at prefix length v4_bits (IPv4) or v6_bits (IPv6):
// how risk aggregates sources ("10.1.2.0/24", "2001:db8:1:2::/64").
Cidr network_of(const IpAddress& a, int v4_bits, int v6_bits);

}  // namespace elevate::base
