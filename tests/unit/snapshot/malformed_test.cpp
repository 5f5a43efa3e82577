// Malformed snapshots: every header field wrong, truncation at every
// offset, huge counts, offsets and lengths out of range, broken tables.
// Each mutation is re-signed (the checksum recomputed) so that the
// structural check, not only the checksum, must catch it; unsigned
// mutations must fail the checksum. Nothing may crash (run under ASan in CI).
#include "snapshot_test_util.h"

#include <random>

using namespace elevate::snapshot;
using namespace elevate::snapshot::test;

namespace {

constexpr int64_t T0 = 1700000000;

Bytes sample() {
    return encode(sample_roles(), sample_members(T0), 3, T0);
}

#define HOFF(field) offsetof(elevate_snapshot_header, field)

// Sets a header field, re-signs, validates.
template <typename T>
Error with_field(size_t offset, T value, bool sign = true) {
    Bytes b = sample();
    write_at<T>(b, offset, value);
    if (sign) resign(b);
    return validate(b);
}

TEST(SnapshotMalformed, SampleIsValid) {
    ASSERT_EQ(validate(sample()), Error::None);
}

TEST(SnapshotMalformed, Magic) {
    for (size_t i = 0; i < ELEVATE_SNAPSHOT_MAGIC_SIZE; ++i) {
        Bytes b = sample();
        b[i] ^= 0x20;
        resign(b);
        EXPECT_EQ(validate(b), Error::Magic) << i;
    }
}

TEST(SnapshotMalformed, Version) {
    for (uint16_t major : {0, 2, 3, 0x100, 0xffff})
        EXPECT_EQ(with_field<uint16_t>(HOFF(version_major), major), Error::Version);
    // A newer minor version is compatible by definition.
    EXPECT_EQ(with_field<uint16_t>(HOFF(version_minor), 9), Error::None);
}

TEST(SnapshotMalformed, HeaderSize) {
    const uint32_t size = uint32_t(sample().size());
    for (uint32_t v : {0u, 8u, 120u, 127u, 129u, 132u, 4104u, size + 8, 0xfffffff8u})
        EXPECT_EQ(with_field<uint32_t>(HOFF(header_size), v), Error::Header) << v;
    // Larger but valid header_size: the tables now start inside the header.
    EXPECT_EQ(with_field<uint32_t>(HOFF(header_size), 136), Error::Layout);
}

TEST(SnapshotMalformed, ChecksumAndUnsignedChanges) {
    EXPECT_EQ(with_field<uint64_t>(HOFF(checksum), 0, false), Error::Checksum);
    EXPECT_EQ(with_field<uint64_t>(HOFF(checksum), ~0ull, false), Error::Checksum);
    // Any single flipped bit after the fixed header fields, unsigned.
    Bytes good = sample();
    for (size_t i = HOFF(generation); i < good.size(); ++i) {
        Bytes b = good;
        b[i] ^= 0x01;
        Error e = validate(b);
        EXPECT_TRUE(e == Error::Checksum || e == Error::Size || e == Error::Header) << i << " " << error_name(e);
    }
}

TEST(SnapshotMalformed, ByteOrderFlagsAndReserved) {
    EXPECT_EQ(with_field<uint32_t>(HOFF(byte_order), 0x04030201u), Error::ByteOrder);
    EXPECT_EQ(with_field<uint32_t>(HOFF(byte_order), 0), Error::ByteOrder);
    for (uint32_t f : {1u, 2u, 0x80000000u}) EXPECT_EQ(with_field<uint32_t>(HOFF(flags), f), Error::Header);
    EXPECT_EQ(with_field<uint32_t>(HOFF(reserved), 1), Error::Header);
}

TEST(SnapshotMalformed, GenerationAndWrittenAtAreFree) {
    EXPECT_EQ(with_field<uint64_t>(HOFF(generation), ~0ull), Error::None);
    EXPECT_EQ(with_field<int64_t>(HOFF(written_at), -1), Error::None);
}

TEST(SnapshotMalformed, FileSize) {
    const uint64_t size = sample().size();
    for (uint64_t v : {uint64_t(0), size - 1, size + 1, size + 8, ~uint64_t(0)})
        EXPECT_EQ(with_field<uint64_t>(HOFF(file_size), v), Error::Size) << v;
}

TEST(SnapshotMalformed, HugeAndWrongCounts) {
    for (uint32_t v : {ELEVATE_SNAPSHOT_MAX_GROUPS + 1, 0x7fffffffu, 0xffffffffu})
        EXPECT_EQ(with_field<uint32_t>(HOFF(group_count), v), Error::Limits) << v;
    for (uint32_t v : {ELEVATE_SNAPSHOT_MAX_MEMBERS + 1, 0xffffffffu})
        EXPECT_EQ(with_field<uint32_t>(HOFF(member_count), v), Error::Limits) << v;
    // Within the limits but more than the file holds.
    for (uint32_t v : {ELEVATE_SNAPSHOT_MAX_GROUPS, 1000u, 6u})
        EXPECT_NE(with_field<uint32_t>(HOFF(group_count), v), Error::None) << v;
    for (uint32_t v : {ELEVATE_SNAPSHOT_MAX_MEMBERS, 9u, 7u, 0u})
        EXPECT_NE(with_field<uint32_t>(HOFF(member_count), v), Error::None) << v;
    EXPECT_NE(with_field<uint32_t>(HOFF(group_count), 4), Error::None);
    EXPECT_NE(with_field<uint32_t>(HOFF(group_count), 0), Error::None);
    // More users than members is impossible; fewer or more than stored, wrong.
    const uint32_t users = header_of(sample()).user_count;
    EXPECT_EQ(with_field<uint32_t>(HOFF(user_count), 9), Error::Limits);
    EXPECT_EQ(with_field<uint32_t>(HOFF(user_count), 0xffffffffu), Error::Limits);
    for (uint32_t v : {0u, users - 1, users + 1})
        EXPECT_NE(with_field<uint32_t>(HOFF(user_count), v), Error::None) << v;
}

TEST(SnapshotMalformed, SectionOffsets) {
    const uint64_t size = sample().size();
    for (size_t field : {HOFF(groups_offset), HOFF(gid_index_offset), HOFF(users_offset), HOFF(members_offset),
                         HOFF(user_index_offset), HOFF(strings_offset)}) {
        uint64_t good = read_at<uint64_t>(sample(), field);
        for (uint64_t v : {uint64_t(0), uint64_t(8), good + 1, good + 4, good - 8, good + 8, size, size + 8,
                           ~uint64_t(0) - 7, uint64_t(1) << 63}) {
            Error e = with_field<uint64_t>(field, v);
            EXPECT_NE(e, Error::None) << "field " << field << " = " << v;
        }
    }
}

TEST(SnapshotMalformed, StringsSize) {
    const elevate_snapshot_header h = header_of(sample());
    const uint64_t good = h.strings_size;
    EXPECT_EQ(with_field<uint64_t>(HOFF(strings_size), h.file_size - h.strings_offset + 1), Error::Layout);
    EXPECT_EQ(with_field<uint64_t>(HOFF(strings_size), ~0ull), Error::Layout);
    EXPECT_EQ(with_field<uint64_t>(HOFF(strings_size), good - 1), Error::Strings);  // last byte not NUL
    EXPECT_EQ(with_field<uint64_t>(HOFF(strings_size), 0), Error::Strings);
}

TEST(SnapshotMalformed, TruncatedAtEveryOffset) {
    const Bytes good = sample();
    for (size_t n = 0; n < good.size(); ++n) {
        Bytes b(good.begin(), good.begin() + long(n));
        EXPECT_NE(validate(b), Error::None) << n;
        // The same with header.file_size claiming the truncated size, signed:
        // the tables no longer fit.
        if (n >= sizeof(elevate_snapshot_header)) {
            write_at<uint64_t>(b, HOFF(file_size), n);
            resign(b);
            EXPECT_NE(validate(b), Error::None) << n;
        }
    }
}

TEST(SnapshotMalformed, TrailingBytesAreRefused) {
    Bytes b = sample();
    b.resize(b.size() + 8, 0);
    EXPECT_EQ(validate(b), Error::Size);
    write_at<uint64_t>(b, HOFF(file_size), b.size());
    resign(b);
    EXPECT_EQ(validate(b), Error::None);  // unused, signed padding is harmless
    // Not a whole number of words.
    b.resize(b.size() - 4);
    write_at<uint64_t>(b, HOFF(file_size), b.size());
    EXPECT_EQ(validate(b), Error::Size);
}

TEST(SnapshotMalformed, UnalignedOrMissingBuffer) {
    Bytes good = sample();
    std::vector<uint64_t> words(good.size() / 8 + 2);
    uint8_t* p = reinterpret_cast<uint8_t*>(words.data()) + 1;
    std::memcpy(p, good.data(), good.size());
    View v;
    EXPECT_EQ(View::validate(p, good.size(), &v), Error::Layout);
    EXPECT_EQ(View::validate(nullptr, good.size(), &v), Error::Layout);
    EXPECT_EQ(View::validate(words.data(), 0, &v), Error::Size);
    EXPECT_EQ(View::validate(words.data(), size_t(ELEVATE_SNAPSHOT_MAX_FILE_SIZE) + 8, &v), Error::Size);
}

// --- tables -----------------------------------------------------------------

struct Offsets {
    size_t groups, gid_index, users, members, user_index, strings;
};

Offsets offsets_of(const Bytes& b) {
    elevate_snapshot_header h = header_of(b);
    return {size_t(h.groups_offset),  size_t(h.gid_index_offset),  size_t(h.users_offset),
            size_t(h.members_offset), size_t(h.user_index_offset), size_t(h.strings_offset)};
}

#define GOFF(i, field) (o.groups + (i) * sizeof(elevate_snapshot_group) + offsetof(elevate_snapshot_group, field))
#define MOFF(i, field) (o.members + (i) * sizeof(elevate_snapshot_member) + offsetof(elevate_snapshot_member, field))
#define UOFF(i, field) (o.users + (i) * sizeof(elevate_snapshot_user) + offsetof(elevate_snapshot_user, field))

template <typename T>
Error patched(size_t offset, T value) {
    Bytes b = sample();
    write_at<T>(b, offset, value);
    resign(b);
    return validate(b);
}

TEST(SnapshotMalformed, GroupRecords) {
    const Bytes good = sample();
    const Offsets o = offsets_of(good);
    const uint64_t strings_size = header_of(good).strings_size;
    const uint32_t groups = header_of(good).group_count;
    for (uint32_t i = 0; i < groups; ++i) {
        const uint32_t off = read_at<uint32_t>(good, GOFF(i, name_off));
        const uint32_t len = read_at<uint32_t>(good, GOFF(i, name_len));
        for (uint32_t v : {uint32_t(strings_size), uint32_t(strings_size - 1), 0xffffffffu, 0xfffffff0u, off + 1})
            EXPECT_EQ(patched<uint32_t>(GOFF(i, name_off), v), Error::Strings) << i << " off " << v;
        for (uint32_t v : {0u, len + 1, len - 1 == 0 ? 300u : len - 1, 256u, 0xffffffffu})
            EXPECT_EQ(patched<uint32_t>(GOFF(i, name_len), v), Error::Strings) << i << " len " << v;
        EXPECT_EQ(patched<uint32_t>(GOFF(i, gid), 0), Error::Groups) << i;
        EXPECT_EQ(patched<uint32_t>(GOFF(i, gid), 0xffffffffu), Error::Groups) << i;
        EXPECT_EQ(patched<uint32_t>(GOFF(i, reserved), 1), Error::Groups) << i;
        for (uint32_t v : {1u, 0xffffffffu, ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS + 1, 100u}) {
            uint32_t cur = read_at<uint32_t>(good, GOFF(i, member_count));
            if (v != cur) {
                EXPECT_NE(patched<uint32_t>(GOFF(i, member_count), v), Error::None) << i << " count " << v;
            }
            cur = read_at<uint32_t>(good, GOFF(i, member_first));
            if (v != cur) {
                EXPECT_NE(patched<uint32_t>(GOFF(i, member_first), v), Error::None) << i << " first " << v;
            }
        }
    }
}

TEST(SnapshotMalformed, GroupOrderAndDuplicates) {
    const Bytes good = sample();
    const Offsets o = offsets_of(good);
    // Swap the names of groups 1 and 2: out of order.
    {
        Bytes b = good;
        uint32_t a_off = read_at<uint32_t>(b, GOFF(1, name_off)), a_len = read_at<uint32_t>(b, GOFF(1, name_len));
        uint32_t b_off = read_at<uint32_t>(b, GOFF(2, name_off)), b_len = read_at<uint32_t>(b, GOFF(2, name_len));
        write_at(b, GOFF(1, name_off), b_off);
        write_at(b, GOFF(1, name_len), b_len);
        write_at(b, GOFF(2, name_off), a_off);
        write_at(b, GOFF(2, name_len), a_len);
        resign(b);
        EXPECT_EQ(validate(b), Error::Groups);
    }
    // Group 2 named like group 1: duplicate.
    {
        Bytes b = good;
        write_at(b, GOFF(2, name_off), read_at<uint32_t>(b, GOFF(1, name_off)));
        write_at(b, GOFF(2, name_len), read_at<uint32_t>(b, GOFF(1, name_len)));
        resign(b);
        EXPECT_EQ(validate(b), Error::Groups);
    }
    // Duplicate gid: the gid index can no longer be strictly increasing.
    {
        Bytes b = good;
        write_at(b, GOFF(2, gid), read_at<uint32_t>(b, GOFF(1, gid)));
        resign(b);
        EXPECT_EQ(validate(b), Error::Index);
    }
}

TEST(SnapshotMalformed, MemberRecords) {
    const Bytes good = sample();
    const Offsets o = offsets_of(good);
    const elevate_snapshot_header h = header_of(good);
    for (uint32_t i = 0; i < h.member_count; ++i) {
        const uint32_t user = read_at<uint32_t>(good, MOFF(i, user));
        const uint32_t group = read_at<uint32_t>(good, MOFF(i, group));
        for (uint32_t v : {user + 1, user - 1, h.user_count, 0xffffffffu})
            EXPECT_NE(patched<uint32_t>(MOFF(i, user), v), Error::None) << i << " user " << v;
        for (uint32_t v : {group + 1, group - 1, h.group_count, 0xffffffffu})
            EXPECT_NE(patched<uint32_t>(MOFF(i, group), v), Error::None) << i << " group " << v;
        // Any end time is a valid end time.
        EXPECT_EQ(patched<int64_t>(MOFF(i, end), INT64_MIN), Error::None) << i;
    }
    // db-admin (group 1) has alice, bob, carol: swap two of them (and the
    // user index with them, so only the group's order is wrong).
    Bytes b = good;
    const uint32_t first = read_at<uint32_t>(b, GOFF(1, member_first));
    const uint32_t ua = read_at<uint32_t>(b, MOFF(first, user)), uc = read_at<uint32_t>(b, MOFF(first + 2, user));
    write_at(b, MOFF(first, user), uc);
    write_at(b, MOFF(first + 2, user), ua);
    for (uint32_t k = 0; k < h.member_count; ++k) {
        uint32_t idx = read_at<uint32_t>(b, o.user_index + 4 * k);
        if (idx == first) write_at(b, o.user_index + 4 * k, first + 2);
        if (idx == first + 2) write_at(b, o.user_index + 4 * k, first);
    }
    resign(b);
    EXPECT_EQ(validate(b), Error::Members);
}

TEST(SnapshotMalformed, UserRecords) {
    const Bytes good = sample();
    const Offsets o = offsets_of(good);
    const elevate_snapshot_header h = header_of(good);
    for (uint32_t u = 0; u < h.user_count; ++u) {
        for (uint32_t v : {uint32_t(h.strings_size), 0xffffffffu})
            EXPECT_EQ(patched<uint32_t>(UOFF(u, name_off), v), Error::Strings) << u;
        for (uint32_t v : {0u, 256u, 0xffffffffu})
            EXPECT_EQ(patched<uint32_t>(UOFF(u, name_len), v), Error::Strings) << u;
        const uint32_t first = read_at<uint32_t>(good, UOFF(u, entry_first));
        const uint32_t count = read_at<uint32_t>(good, UOFF(u, entry_count));
        for (uint32_t v : {first + 1, first - 1, h.member_count, 0xffffffffu})
            EXPECT_NE(patched<uint32_t>(UOFF(u, entry_first), v), Error::None) << u << " first " << v;
        for (uint32_t v : {0u, count + 1, h.group_count + 1, 0xffffffffu})
            EXPECT_NE(patched<uint32_t>(UOFF(u, entry_count), v), Error::None) << u << " count " << v;
    }
    // Two users with the same name: user 1 named like user 0.
    Bytes b = good;
    write_at(b, UOFF(1, name_off), read_at<uint32_t>(b, UOFF(0, name_off)));
    write_at(b, UOFF(1, name_len), read_at<uint32_t>(b, UOFF(0, name_len)));
    resign(b);
    EXPECT_EQ(validate(b), Error::Users);
}

TEST(SnapshotMalformed, BadNameBytes) {
    const Bytes good = sample();
    const Offsets o = offsets_of(good);
    const uint32_t off = read_at<uint32_t>(good, GOFF(0, name_off));
    for (uint8_t c : {uint8_t(0), uint8_t(' '), uint8_t(':'), uint8_t(','), uint8_t('\n'), uint8_t(0x7f)}) {
        Bytes b = good;
        b[o.strings + off] = c;
        resign(b);
        EXPECT_EQ(validate(b), Error::Strings) << int(c);
    }
}

TEST(SnapshotMalformed, Indexes) {
    const Bytes good = sample();
    const Offsets o = offsets_of(good);
    const elevate_snapshot_header h = header_of(good);
    for (uint32_t i = 0; i < h.group_count; ++i)
        for (uint32_t v : {h.group_count, 0xffffffffu})
            EXPECT_EQ(patched<uint32_t>(o.gid_index + 4 * i, v), Error::Index) << i;
    for (uint32_t i = 0; i < h.member_count; ++i)
        for (uint32_t v : {h.member_count, 0xffffffffu})
            EXPECT_EQ(patched<uint32_t>(o.user_index + 4 * i, v), Error::Index) << i;
    // Swapped neighbours: out of order. Repeated entry: not strictly increasing.
    for (size_t base : {o.gid_index, o.user_index}) {
        Bytes b = good;
        uint32_t x = read_at<uint32_t>(b, base), y = read_at<uint32_t>(b, base + 4);
        write_at(b, base, y);
        write_at(b, base + 4, x);
        resign(b);
        EXPECT_EQ(validate(b), Error::Index);
        b = good;
        write_at(b, base + 4, x);
        resign(b);
        EXPECT_EQ(validate(b), Error::Index);
    }
}

TEST(SnapshotMalformed, OverlappingSections) {
    // Point the user index at the gid index: both in bounds, aligned, but
    // sharing bytes.
    Bytes b = sample();
    write_at<uint64_t>(b, HOFF(user_index_offset), header_of(b).gid_index_offset);
    resign(b);
    EXPECT_EQ(validate(b), Error::Layout);
    b = sample();
    write_at<uint64_t>(b, HOFF(strings_offset), header_of(b).members_offset);
    resign(b);
    EXPECT_EQ(validate(b), Error::Layout);
}

TEST(SnapshotMalformed, RandomSignedCorruptionNeverCrashesAndLookupsStayInBounds) {
    std::mt19937 rng(12345);
    const Bytes good = sample();
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        Bytes b = good;
        int flips = 1 + int(rng() % 4);
        const size_t body = b.size() - sizeof(elevate_snapshot_header);
        for (int k = 0; k < flips; ++k) b[sizeof(elevate_snapshot_header) + rng() % body] ^= uint8_t(1u << (rng() % 8));
        resign(b);
        View v;
        if (validate(b, &v) != Error::None) continue;
        ++accepted;  // e.g. an end time changed: still a consistent snapshot
        GroupRef g;
        for (uint32_t i = 0; i < v.group_count(); ++i) {
            ASSERT_TRUE(v.group_at(i, &g));
            members_of(v, g, T0);
        }
        groups_of(v, "alice", T0);
    }
    SUCCEED() << accepted << " corruptions were still consistent snapshots";
}

}  // namespace
