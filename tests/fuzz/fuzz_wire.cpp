// libFuzzer target for the protocol decoder: the bytes the daemon reads
// from any local user. Header, field list, nested records and every typed
// getter run on arbitrary input; ASan/UBSan catch what the checks miss.
#include "common/wire/codec.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace elevate::wire;

namespace {

void walk(const FieldList& list, int depth) {
    FieldList::Iterator it = list.iterate();
    Field f;
    while (it.next(&f)) {
        if (f.tag == uint16_t(Tag::Grant) && depth == 0) {
            FieldList nested;
            if (nested.parse(f.data, f.length) == CodecError::Ok) walk(nested, depth + 1);
        }
    }
    std::string_view s;
    uint64_t u;
    bool b;
    for (uint16_t tag = 0; tag < 64; ++tag) {
        list.get_str(Tag(tag), &s);
        list.get_u64(Tag(tag), &u);
        list.get_bool(Tag(tag), &b);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FrameHeader header;
    CodecError e = decode_header(data, size, kMaxRequestFrame, &header);
    if (e != CodecError::Ok && e != CodecError::Truncated) return 0;
    const uint8_t* payload = size >= kHeaderSize ? data + kHeaderSize : data;
    size_t length = size >= kHeaderSize ? size - kHeaderSize : size;
    if (e == CodecError::Ok && header.length < length) length = header.length;

    FieldList list;
    if (list.parse(payload, length) == CodecError::Ok) walk(list, 0);

    // The writer must round-trip whatever the reader accepted.
    uint8_t out[1024];
    FieldWriter w(out, sizeof out);
    w.put_bytes(Tag::Secret, payload, length < 512 ? length : 512);
    FieldList again;
    if (w.error() == CodecError::Ok && again.parse(out, w.size()) != CodecError::Ok) __builtin_trap();
    return 0;
}
