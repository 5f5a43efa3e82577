#include "common/wire/client.h"
#include "common/wire/codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace elevate::wire;

namespace {

std::vector<uint8_t> field(uint16_t tag, const std::vector<uint8_t>& value) {
    std::vector<uint8_t> out(6 + value.size());
    out[0] = uint8_t(tag >> 8);
    out[1] = uint8_t(tag);
    put_be32(out.data() + 2, uint32_t(value.size()));
    for (size_t i = 0; i < value.size(); ++i) out[6 + i] = value[i];
    return out;
}

std::vector<uint8_t> str(const char* s) {
    return std::vector<uint8_t>(s, s + std::strlen(s));
}

CodecError parse(const std::vector<uint8_t>& bytes) {
    FieldList f;
    return f.parse(bytes.data(), bytes.size());
}

}  // namespace

TEST(Header, RoundTrip) {
    uint8_t h[kHeaderSize];
    encode_header(FrameHeader{kVersion, uint8_t(Op::Activate), 1234}, h);
    FrameHeader out;
    ASSERT_EQ(decode_header(h, sizeof h, kMaxRequestFrame, &out), CodecError::Ok);
    EXPECT_EQ(out.op, uint8_t(Op::Activate));
    EXPECT_EQ(out.length, 1234u);
}

TEST(Header, RejectsMalformed) {
    uint8_t h[kHeaderSize];
    FrameHeader out;
    encode_header(FrameHeader{kVersion, uint8_t(Op::Ping), 0}, h);
    EXPECT_EQ(decode_header(h, 7, kMaxRequestFrame, &out), CodecError::Truncated);

    uint8_t bad_magic[kHeaderSize];
    std::memcpy(bad_magic, h, sizeof h);
    bad_magic[0] = 'X';
    EXPECT_EQ(decode_header(bad_magic, sizeof h, kMaxRequestFrame, &out), CodecError::BadMagic);

    uint8_t bad_version[kHeaderSize];
    std::memcpy(bad_version, h, sizeof h);
    bad_version[2] = 2;
    EXPECT_EQ(decode_header(bad_version, sizeof h, kMaxRequestFrame, &out), CodecError::BadVersion);
    EXPECT_EQ(out.version, 2);

    encode_header(FrameHeader{kVersion, 0x7f, 0}, h);
    EXPECT_EQ(decode_header(h, sizeof h, kMaxRequestFrame, &out), CodecError::UnknownOp);

    // Exactly at the limit is fine, one byte more is not.
    encode_header(FrameHeader{kVersion, uint8_t(Op::Ping), uint32_t(kMaxRequestFrame - kHeaderSize)}, h);
    EXPECT_EQ(decode_header(h, sizeof h, kMaxRequestFrame, &out), CodecError::Ok);
    encode_header(FrameHeader{kVersion, uint8_t(Op::Ping), uint32_t(kMaxRequestFrame - kHeaderSize + 1)}, h);
    EXPECT_EQ(decode_header(h, sizeof h, kMaxRequestFrame, &out), CodecError::TooLarge);
    encode_header(FrameHeader{kVersion, uint8_t(Op::Ping), 0xffffffffu}, h);
    EXPECT_EQ(decode_header(h, sizeof h, kMaxRequestFrame, &out), CodecError::TooLarge);
}

TEST(Fields, WriterReaderRoundTrip) {
    BufferWriter w;
    w->put_str(Tag::User, "alice");
    w->put_u64(Tag::Duration, 2700);
    w->put_bool(Tag::Force, true);
    w->put_bytes(Tag::Secret, "\x00\x01\x02", 3);
    w->begin_record(Tag::Grant);
    w->put_str(Tag::Role, "db-admin");
    w->put_u64(Tag::End, 99);
    w->end_record();
    w->begin_record(Tag::Grant);
    w->put_str(Tag::Role, "web-admin");
    w->end_record();
    ASSERT_EQ(w->error(), CodecError::Ok);
    auto bytes = w.take();

    FieldList f;
    ASSERT_EQ(f.parse(bytes.data(), bytes.size()), CodecError::Ok);
    std::string_view user;
    uint64_t duration = 0;
    bool force = false;
    ASSERT_TRUE(f.get_str(Tag::User, &user));
    EXPECT_EQ(user, "alice");
    ASSERT_TRUE(f.get_u64(Tag::Duration, &duration));
    EXPECT_EQ(duration, 2700u);
    ASSERT_TRUE(f.get_bool(Tag::Force, &force));
    EXPECT_TRUE(force);
    Field secret;
    ASSERT_TRUE(f.find(Tag::Secret, &secret));
    EXPECT_EQ(secret.length, 3u);
    EXPECT_FALSE(f.has(Tag::Reason));

    std::vector<std::string> roles;
    auto it = f.iterate();
    Field field_;
    while (it.next(&field_)) {
        if (field_.tag != uint16_t(Tag::Grant)) continue;
        FieldList rec;
        ASSERT_EQ(rec.parse(field_.data, field_.length), CodecError::Ok);
        std::string_view role;
        ASSERT_TRUE(rec.get_str(Tag::Role, &role));
        roles.emplace_back(role);
    }
    EXPECT_EQ(roles, (std::vector<std::string>{"db-admin", "web-admin"}));
}

TEST(Fields, EmptyPayloadIsValid) {
    EXPECT_EQ(parse({}), CodecError::Ok);
}

TEST(Fields, RejectsTruncation) {
    auto good = field(uint16_t(Tag::User), str("alice"));
    for (size_t n = 1; n < good.size(); ++n) {
        std::vector<uint8_t> cut(good.begin(), good.begin() + long(n));
        EXPECT_EQ(parse(cut), CodecError::Truncated) << "cut at " << n;
    }
}

TEST(Fields, RejectsLengthPastEnd) {
    auto f = field(uint16_t(Tag::User), str("alice"));
    put_be32(f.data() + 2, 0xffffffffu);
    EXPECT_EQ(parse(f), CodecError::Truncated);
}

TEST(Fields, RejectsUnknownTag) {
    EXPECT_EQ(parse(field(999, str("x"))), CodecError::UnknownTag);
    EXPECT_EQ(parse(field(4, str("x"))), CodecError::UnknownTag);
    EXPECT_EQ(parse(field(0xffff, {})), CodecError::UnknownTag);
}

TEST(Fields, RejectsWrongFixedSizes) {
    EXPECT_EQ(parse(field(uint16_t(Tag::Duration), {1, 2, 3})), CodecError::BadLength);
    EXPECT_EQ(parse(field(uint16_t(Tag::Force), {1, 1})), CodecError::BadLength);
    EXPECT_EQ(parse(field(uint16_t(Tag::Force), {2})), CodecError::BadBool);
}

TEST(Fields, RejectsEmbeddedNul) {
    EXPECT_EQ(parse(field(uint16_t(Tag::User), {'a', 0, 'b'})), CodecError::EmbeddedNul);
    // Bytes fields may hold anything.
    EXPECT_EQ(parse(field(uint16_t(Tag::Secret), {0, 0, 0})), CodecError::Ok);
}

// docs/PROTOCOL.md: `str` is UTF-8. Invalid forms are refused in the reader,
// so no handler sees (or echoes) them. The standard malformed cases:
TEST(Fields, RejectsInvalidUtf8InStrings) {
    const std::vector<std::vector<uint8_t>> bad = {
        {'a', 'd', 'v', 0xff, 0xfe},  // bytes that never occur in UTF-8
        {0xc0, 0xaf},                 // overlong '/'
        {0xe0, 0x80, 0xaf},           // overlong '/', 3 bytes
        {0xf0, 0x80, 0x80, 0xaf},     // overlong '/', 4 bytes
        {0xc1, 0xbf},                 // overlong U+007F
        {0xed, 0xa0, 0x80},           // U+D800, a surrogate
        {0xed, 0xbf, 0xbf},           // U+DFFF
        {0xf4, 0x90, 0x80, 0x80},     // U+110000, past the last code point
        {0xf5, 0x80, 0x80, 0x80},     // lead byte past F4
        {'a', 0x80, 'b'},             // lone continuation byte
        {0xc3},                       // truncated 2-byte sequence
        {'x', 0xe2, 0x82},            // truncated 3-byte sequence at the end
        {0xe2, 0x82, 'x'},            // a 3-byte sequence cut short
        {0xf0, 0x9f, 0x98},           // truncated 4-byte sequence
    };
    for (const auto& value : bad) {
        const CodecError e = parse(field(uint16_t(Tag::User), value));
        EXPECT_STREQ(codec_error_text(e), "string field is not valid UTF-8") << "value of " << value.size() << " bytes";
    }
    // Inside a record too.
    EXPECT_STREQ(codec_error_text(parse(field(uint16_t(Tag::Grant), field(uint16_t(Tag::Role), {0xc0, 0xaf})))),
                 "string field is not valid UTF-8");
    // Bytes fields may still hold anything.
    EXPECT_EQ(parse(field(uint16_t(Tag::Secret), {0xff, 0xc0, 0xaf})), CodecError::Ok);
}

TEST(Fields, AcceptsValidUtf8AtTheBoundaries) {
    const std::vector<std::vector<uint8_t>> good = {
        {},
        {0x7f},
        {0xc2, 0x80},              // U+0080, first 2-byte
        {0xdf, 0xbf},              // U+07FF
        {0xe0, 0xa0, 0x80},        // U+0800, first 3-byte
        {0xed, 0x9f, 0xbf},        // U+D7FF, just below the surrogates
        {0xee, 0x80, 0x80},        // U+E000, just above
        {0xef, 0xbf, 0xbf},        // U+FFFF
        {0xf0, 0x90, 0x80, 0x80},  // U+10000, first 4-byte
        {0xf4, 0x8f, 0xbf, 0xbf},  // U+10FFFF, the last code point
        {'J', 0xc3, 0xb6, 'r', 'g'},
    };
    for (const auto& value : good)
        EXPECT_EQ(parse(field(uint16_t(Tag::User), value)), CodecError::Ok) << "value of " << value.size() << " bytes";
}

TEST(Fields, RejectsDuplicates) {
    auto a = field(uint16_t(Tag::User), str("alice"));
    auto b = field(uint16_t(Tag::User), str("mallory"));
    for (uint8_t byte : b) a.push_back(byte);
    EXPECT_EQ(parse(a), CodecError::Duplicate);
}

TEST(Fields, RejectsNestingBeyondOneLevel) {
    auto inner = field(uint16_t(Tag::Grant), field(uint16_t(Tag::Role), str("x")));
    auto outer = field(uint16_t(Tag::Grant), inner);
    EXPECT_EQ(parse(outer), CodecError::NestedTooDeep);
}

TEST(Fields, RejectsMalformedRecordContent) {
    auto rec = field(uint16_t(Tag::Grant), field(uint16_t(Tag::Role), {'a', 0}));
    EXPECT_EQ(parse(rec), CodecError::EmbeddedNul);
}

TEST(Writer, FixedBufferReportsNoSpace) {
    uint8_t buf[16];
    FieldWriter w(buf, sizeof buf);
    w.put_str(Tag::User, "alice");  // 11 bytes
    EXPECT_EQ(w.error(), CodecError::Ok);
    w.put_str(Tag::Role, "db-admin");
    EXPECT_EQ(w.error(), CodecError::NoSpace);
}
