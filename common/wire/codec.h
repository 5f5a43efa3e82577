// Frame header and field (TLV) encoding. No allocation, no exceptions, no
// C++ runtime: usable inside sshd/sudo via the PAM module. Every length is
// checked against the buffer before use; see docs/PROTOCOL.md.
#pragma once

#include "common/wire/protocol.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace elevate::wire {

enum class CodecError {
    Ok = 0,
    Truncated,  // fewer bytes than a length promised
    BadMagic,
    BadVersion,
    UnknownOp,
    TooLarge,
    UnknownTag,
    BadLength,    // fixed-size field with the wrong size
    EmbeddedNul,  // NUL inside a string
    InvalidUtf8,  // a string that is not UTF-8 (base::valid_utf8)
    BadBool,
    Duplicate,  // a non-repeating tag appeared twice
    NestedTooDeep,
    NoSpace,  // writer ran out of room
};

const char* codec_error_text(CodecError e);

struct FrameHeader {
    uint8_t version = kVersion;
    uint8_t op = 0;       // with kReplyBit for replies
    uint32_t length = 0;  // payload bytes after the header
};

// Parses the fixed header; checks magic and `max_frame` (header + payload).
// A wrong version is reported as BadVersion with `out` filled, so the caller
// can answer in a version it speaks.
CodecError decode_header(const uint8_t* bytes, size_t n, size_t max_frame, FrameHeader* out);
void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]);

// A field inside a validated payload.
struct Field {
    uint16_t tag = 0;
    uint32_t length = 0;
    const uint8_t* data = nullptr;
};

// A validated, read-only view over a payload (or a nested record).
class FieldList {
public:
    FieldList() = default;
    // Walks the whole payload once: bounds, known tags, kinds, no duplicates,
    // strings valid UTF-8 without NULs, nested records validated one level deep.
    CodecError parse(const uint8_t* data, size_t length);

    bool find(Tag tag, Field* out) const;
    bool has(Tag tag) const;
    // Typed getters: false if absent (the parse already proved the kind).
    bool get_str(Tag tag, std::string_view* out) const;
    bool get_u64(Tag tag, uint64_t* out) const;
    bool get_bool(Tag tag, bool* out) const;

    // Iteration over every field (used for repeated records).
    class Iterator {
    public:
        explicit Iterator(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
        bool next(Field* out);

    private:
        const uint8_t* p_;
        const uint8_t* end_;
    };
    Iterator iterate() const { return Iterator(data_, data_ + length_); }

    const uint8_t* data() const { return data_; }
    size_t length() const { return length_; }

private:
    CodecError parse_level(const uint8_t* data, size_t length, int depth);
    const uint8_t* data_ = nullptr;
    size_t length_ = 0;
};

// Serialises fields into a buffer. With a grow callback it can extend the
// buffer (daemon replies); without one it fails with NoSpace (PAM client).
class FieldWriter {
public:
    using GrowFn = bool (*)(void* ctx, size_t needed, uint8_t** buffer, size_t* capacity);

    FieldWriter(uint8_t* buffer, size_t capacity, GrowFn grow = nullptr, void* grow_ctx = nullptr);

    void put_str(Tag tag, std::string_view value);
    void put_bytes(Tag tag, const void* data, size_t length);
    void put_u64(Tag tag, uint64_t value);
    void put_bool(Tag tag, bool value);
    // A nested record: begin_record() ... fields ... end_record().
    void begin_record(Tag tag);
    void end_record();

    CodecError error() const { return error_; }
    size_t size() const { return size_; }
    uint8_t* buffer() const { return buffer_; }

private:
    bool reserve(size_t more);
    void put_field(uint16_t tag, const void* data, size_t length);

    uint8_t* buffer_;
    size_t capacity_;
    size_t size_ = 0;
    size_t record_start_ = 0;
    bool in_record_ = false;
    GrowFn grow_;
    void* grow_ctx_;
    CodecError error_ = CodecError::Ok;
};

// Big-endian helpers.
inline void put_be32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}
inline uint32_t get_be32(const uint8_t* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

}  // namespace elevate::wire
