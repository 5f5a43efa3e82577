#include "common/wire/codec.h"

#include "common/base/utf8.h"

#include <cstring>

namespace elevate::wire {

namespace {
constexpr size_t kFieldHeader = 6;  // tag u16 + length u32
constexpr int kMaxDepth = 1;        // records hold scalars only

inline uint16_t get_be16(const uint8_t* p) {
    return uint16_t((p[0] << 8) | p[1]);
}
}  // namespace

const char* codec_error_text(CodecError e) {
    switch (e) {
        case CodecError::Ok:
            return "ok";
        case CodecError::Truncated:
            return "truncated message";
        case CodecError::BadMagic:
            return "not an elevate protocol frame (bad magic)";
        case CodecError::BadVersion:
            return "unsupported protocol version";
        case CodecError::UnknownOp:
            return "unknown operation";
        case CodecError::TooLarge:
            return "frame exceeds the size limit";
        case CodecError::UnknownTag:
            return "unknown field";
        case CodecError::BadLength:
            return "field has the wrong size";
        case CodecError::EmbeddedNul:
            return "string field contains a NUL byte";
        case CodecError::InvalidUtf8:
            return "string field is not valid UTF-8";
        case CodecError::BadBool:
            return "boolean field is not 0 or 1";
        case CodecError::Duplicate:
            return "field appears twice";
        case CodecError::NestedTooDeep:
            return "records nested too deeply";
        case CodecError::NoSpace:
            return "message does not fit the buffer";
    }
    return "unknown codec error";
}

CodecError decode_header(const uint8_t* bytes, size_t n, size_t max_frame, FrameHeader* out) {
    if (n < kHeaderSize) return CodecError::Truncated;
    if (bytes[0] != kMagic0 || bytes[1] != kMagic1) return CodecError::BadMagic;
    out->version = bytes[2];
    out->op = bytes[3];
    out->length = get_be32(bytes + 4);
    if (out->length > max_frame - kHeaderSize) return CodecError::TooLarge;
    if (out->version != kVersion) return CodecError::BadVersion;
    // Op 0 with the reply bit is the daemon's answer to a frame it could not
    // attribute to any operation.
    const uint8_t op = out->op & uint8_t(~kReplyBit);
    if (!op_known(op) && out->op != kReplyBit) return CodecError::UnknownOp;
    return CodecError::Ok;
}

void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]) {
    out[0] = kMagic0;
    out[1] = kMagic1;
    out[2] = h.version;
    out[3] = h.op;
    put_be32(out + 4, h.length);
}

CodecError FieldList::parse(const uint8_t* data, size_t length) {
    data_ = nullptr;
    length_ = 0;
    CodecError e = parse_level(data, length, 0);
    if (e == CodecError::Ok) {
        data_ = data;
        length_ = length;
    }
    return e;
}

CodecError FieldList::parse_level(const uint8_t* data, size_t length, int depth) {
    // Tags are < 256 today; a bitmap catches duplicates without allocation.
    uint8_t seen[256 / 8] = {};
    size_t off = 0;
    while (off < length) {
        if (length - off < kFieldHeader) return CodecError::Truncated;
        uint16_t tag = get_be16(data + off);
        uint32_t flen = get_be32(data + off + 2);
        off += kFieldHeader;
        if (flen > length - off) return CodecError::Truncated;
        const uint8_t* value = data + off;
        off += flen;

        TagInfo info;
        if (tag >= 256 || !tag_info(tag, &info)) return CodecError::UnknownTag;
        uint8_t bit = uint8_t(1u << (tag % 8));
        if (!info.repeats && (seen[tag / 8] & bit)) return CodecError::Duplicate;
        seen[tag / 8] |= bit;

        switch (info.kind) {
            case Kind::U64:
                if (flen != 8) return CodecError::BadLength;
                break;
            case Kind::Bool:
                if (flen != 1) return CodecError::BadLength;
                if (value[0] > 1) return CodecError::BadBool;
                break;
            case Kind::Str:
                if (flen != 0 && std::memchr(value, 0, flen) != nullptr) return CodecError::EmbeddedNul;
                // Checked here, once, so no handler sees (or echoes) bytes that
                // are not text (overlongs, surrogates, stray bytes).
                if (!base::valid_utf8(value, flen)) return CodecError::InvalidUtf8;
                break;
            case Kind::Bytes:
                break;
            case Kind::Record: {
                if (depth >= kMaxDepth) return CodecError::NestedTooDeep;
                CodecError e = parse_level(value, flen, depth + 1);
                if (e != CodecError::Ok) return e;
                break;
            }
        }
    }
    return CodecError::Ok;
}

bool FieldList::Iterator::next(Field* out) {
    // Only called on validated data, but stay bounds-checked regardless.
    if (p_ == nullptr || size_t(end_ - p_) < kFieldHeader) return false;
    uint16_t tag = get_be16(p_);
    uint32_t flen = get_be32(p_ + 2);
    if (flen > size_t(end_ - p_) - kFieldHeader) return false;
    out->tag = tag;
    out->length = flen;
    out->data = p_ + kFieldHeader;
    p_ += kFieldHeader + flen;
    return true;
}

bool FieldList::find(Tag tag, Field* out) const {
    Iterator it = iterate();
    Field f;
    while (it.next(&f)) {
        if (f.tag == uint16_t(tag)) {
            *out = f;
            return true;
        }
    }
    return false;
}

bool FieldList::has(Tag tag) const {
    Field f;
    return find(tag, &f);
}

bool FieldList::get_str(Tag tag, std::string_view* out) const {
    Field f;
    if (!find(tag, &f)) return false;
    *out = std::string_view(reinterpret_cast<const char*>(f.data), f.length);
    return true;
}

bool FieldList::get_u64(Tag tag, uint64_t* out) const {
    Field f;
    if (!find(tag, &f) || f.length != 8) return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | f.data[i];
    *out = v;
    return true;
}

bool FieldList::get_bool(Tag tag, bool* out) const {
    Field f;
    if (!find(tag, &f) || f.length != 1) return false;
    *out = f.data[0] != 0;
    return true;
}

FieldWriter::FieldWriter(uint8_t* buffer, size_t capacity, GrowFn grow, void* grow_ctx)
    : buffer_(buffer), capacity_(capacity), grow_(grow), grow_ctx_(grow_ctx) {}

bool FieldWriter::reserve(size_t more) {
    if (error_ != CodecError::Ok) return false;
    if (more > kMaxReplyFrame || size_ + more > kMaxReplyFrame) {
        error_ = CodecError::NoSpace;
        return false;
    }
    if (size_ + more <= capacity_) return true;
    if (grow_ == nullptr || !grow_(grow_ctx_, size_ + more, &buffer_, &capacity_) || size_ + more > capacity_) {
        error_ = CodecError::NoSpace;
        return false;
    }
    return true;
}

void FieldWriter::put_field(uint16_t tag, const void* data, size_t length) {
    if (length > UINT32_MAX || !reserve(kFieldHeader + length)) {
        error_ = CodecError::NoSpace;
        return;
    }
    buffer_[size_] = uint8_t(tag >> 8);
    buffer_[size_ + 1] = uint8_t(tag);
    put_be32(buffer_ + size_ + 2, uint32_t(length));
    if (length) std::memcpy(buffer_ + size_ + kFieldHeader, data, length);
    size_ += kFieldHeader + length;
}

void FieldWriter::put_str(Tag tag, std::string_view value) {
    put_field(uint16_t(tag), value.data(), value.size());
}

void FieldWriter::put_bytes(Tag tag, const void* data, size_t length) {
    put_field(uint16_t(tag), data, length);
}

void FieldWriter::put_u64(Tag tag, uint64_t value) {
    uint8_t be[8];
    for (int i = 7; i >= 0; --i) {
        be[i] = uint8_t(value);
        value >>= 8;
    }
    put_field(uint16_t(tag), be, sizeof be);
}

void FieldWriter::put_bool(Tag tag, bool value) {
    uint8_t b = value ? 1 : 0;
    put_field(uint16_t(tag), &b, 1);
}

void FieldWriter::begin_record(Tag tag) {
    if (in_record_) {
        error_ = CodecError::NestedTooDeep;
        return;
    }
    record_start_ = size_;
    put_field(uint16_t(tag), nullptr, 0);
    in_record_ = true;
}

void FieldWriter::end_record() {
    if (!in_record_ || error_ != CodecError::Ok) return;
    in_record_ = false;
    size_t body = size_ - record_start_ - kFieldHeader;
    put_be32(buffer_ + record_start_ + 2, uint32_t(body));
}

}  // namespace elevate::wire
