#include "common/base/cidr.h"

#include <gtest/gtest.h>

#include <string>

using namespace elevate::base;

namespace {

Cidr cidr(const char* text) {
    std::string error;
    auto c = parse_cidr(text, &error);
    EXPECT_TRUE(c) << text << ": " << error;
    return c ? *c : Cidr{};
}

IpAddress ip(const char* text) {
    auto a = parse_ip(text);
    EXPECT_TRUE(a) << text;
    return a ? *a : IpAddress{};
}

// The error for `text`; empty when it parsed.
std::string error_for(const char* text) {
    std::string error;
    auto c = parse_cidr(text, &error);
    EXPECT_FALSE(c) << text << " parsed as " << (c ? format_cidr(*c) : "");
    return error;
}

}  // namespace

TEST(Cidr, V4ContainsItsAddressesOnly) {
    Cidr office = cidr("10.20.0.0/16");
    EXPECT_EQ(office.bits, 96 + 16);
    EXPECT_TRUE(office.contains(ip("10.20.0.0")));
    EXPECT_TRUE(office.contains(ip("10.20.255.255")));
    EXPECT_FALSE(office.contains(ip("10.21.0.1")));
    EXPECT_FALSE(office.contains(ip("10.19.255.255")));
    EXPECT_FALSE(office.contains(ip("2001:db8::1")));
    EXPECT_EQ(format_cidr(office), "10.20.0.0/16");
}

TEST(Cidr, V4PrefixNotOnAByteBoundary) {
    Cidr c = cidr("192.0.2.128/25");
    EXPECT_TRUE(c.contains(ip("192.0.2.200")));
    EXPECT_FALSE(c.contains(ip("192.0.2.127")));
}

TEST(Cidr, V6ContainsItsAddressesOnly) {
    Cidr c = cidr("2001:db8:20::/48");
    EXPECT_TRUE(c.contains(ip("2001:db8:20::1")));
    EXPECT_TRUE(c.contains(ip("2001:db8:20:ffff:ffff:ffff:ffff:ffff")));
    EXPECT_FALSE(c.contains(ip("2001:db8:21::1")));
    EXPECT_FALSE(c.contains(ip("10.20.0.1")));
    EXPECT_EQ(format_cidr(c), "2001:db8:20::/48");
    EXPECT_EQ(format_cidr(cidr("2001:DB8:0:0::/64")), "2001:db8::/64");
}

TEST(Cidr, MappedV6MatchesV4Cidr) {
    Cidr c = cidr("10.0.0.0/8");
    EXPECT_TRUE(c.contains(ip("::ffff:10.1.2.3")));
    EXPECT_FALSE(c.contains(ip("::ffff:11.1.2.3")));
    // A v4 address written in its mapped form is the same network.
    Cidr mapped = cidr("::ffff:10.0.0.0/104");
    EXPECT_EQ(mapped.bits, c.bits);
    EXPECT_TRUE(mapped.base == c.base);
    EXPECT_TRUE(mapped.contains(ip("10.200.0.1")));
    EXPECT_EQ(format_cidr(mapped), "10.0.0.0/8");
}

TEST(Cidr, ZeroLength) {
    Cidr all_v4 = cidr("0.0.0.0/0");
    EXPECT_TRUE(all_v4.contains(ip("1.2.3.4")));
    EXPECT_TRUE(all_v4.contains(ip("255.255.255.255")));
    EXPECT_FALSE(all_v4.contains(ip("2001:db8::1")));
    EXPECT_EQ(format_cidr(all_v4), "0.0.0.0/0");

    Cidr all = cidr("::/0");
    EXPECT_EQ(all.bits, 0);
    EXPECT_TRUE(all.contains(ip("2001:db8::1")));
    EXPECT_TRUE(all.contains(ip("1.2.3.4")));
    EXPECT_EQ(format_cidr(all), "::/0");
}

TEST(Cidr, HostPrefixes) {
    Cidr host = cidr("192.0.2.7/32");
    EXPECT_EQ(host.bits, 128);
    EXPECT_TRUE(host.contains(ip("192.0.2.7")));
    EXPECT_FALSE(host.contains(ip("192.0.2.6")));
    EXPECT_EQ(format_cidr(host), "192.0.2.7/32");

    Cidr host6 = cidr("2001:db8::7/128");
    EXPECT_TRUE(host6.contains(ip("2001:db8::7")));
    EXPECT_FALSE(host6.contains(ip("2001:db8::8")));
    EXPECT_EQ(format_cidr(host6), "2001:db8::7/128");

    // A bare address is a host prefix of its family.
    EXPECT_EQ(format_cidr(cidr("192.0.2.7")), "192.0.2.7/32");
    EXPECT_EQ(format_cidr(cidr("2001:db8::7")), "2001:db8::7/128");
}

TEST(Cidr, HostBitsSetAreRefused) {
    EXPECT_EQ(error_for("10.20.1.0/16"), "host bits are set (the network is 10.20.0.0/16)");
    EXPECT_EQ(error_for("2001:db8::1/64"), "host bits are set (the network is 2001:db8::/64)");
    EXPECT_EQ(error_for("0.0.0.1/0"), "host bits are set (the network is 0.0.0.0/0)");
}

TEST(Cidr, LengthOutOfRange) {
    EXPECT_EQ(error_for("10.0.0.0/33"), "an IPv4 prefix length is 0..32");
    EXPECT_EQ(error_for("2001:db8::/129"), "an IPv6 prefix length is 0..128");
    EXPECT_EQ(error_for("::ffff:10.0.0.0/129"), "an IPv6 prefix length is 0..128");
    for (const char* bad : {"10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8a", "10.0.0.0/ 8",
                            "10.0.0.0/1000", "10.0.0.0/8/8"})
        EXPECT_EQ(error_for(bad), "the prefix length must be a decimal number") << bad;
}

TEST(Cidr, ZoneIdsAreRefused) {
    EXPECT_EQ(error_for("fe80::1%eth0"), "an IPv6 zone (%...) has no meaning here");
    EXPECT_EQ(error_for("fe80::%eth0/64"), "an IPv6 zone (%...) has no meaning here");
    EXPECT_FALSE(parse_ip("fe80::1%eth0"));
}

TEST(Cidr, GarbageIsRefused) {
    for (const char* bad : {"", "/", "/8", "office", "localhost", "10.20.0", "10.20.0.0.0/16", "10.20.0.256",
                            " 10.0.0.0/8", "10.0.0.0/8 ", "2001:db8:::/48", "10.0.0.0\n/8", "0x0a000000/8"})
        EXPECT_FALSE(parse_cidr(bad, nullptr)) << bad;
    EXPECT_EQ(error_for("office"), "not an IP address or CIDR (such as 10.20.0.0/16 or 2001:db8::/48)");
}

TEST(Cidr, NetworkOf) {
    Cidr v4 = network_of(ip("10.1.2.3"), 24, 64);
    EXPECT_EQ(format_cidr(v4), "10.1.2.0/24");
    EXPECT_TRUE(v4.contains(ip("10.1.2.250")));
    EXPECT_FALSE(v4.contains(ip("10.1.3.1")));

    Cidr v6 = network_of(ip("2001:db8:1:2:3:4:5:6"), 24, 64);
    EXPECT_EQ(format_cidr(v6), "2001:db8:1:2::/64");
    EXPECT_TRUE(v6.contains(ip("2001:db8:1:2:ffff::1")));
    EXPECT_FALSE(v6.contains(ip("2001:db8:1:3::1")));

    EXPECT_EQ(format_cidr(network_of(ip("::ffff:10.1.2.3"), 24, 64)), "10.1.2.0/24");
    EXPECT_EQ(format_cidr(network_of(ip("10.1.2.3"), 32, 128)), "10.1.2.3/32");
    EXPECT_EQ(format_cidr(network_of(ip("10.1.2.3"), 0, 0)), "0.0.0.0/0");
}
