#include "cli/record.h"

#include <limits>

namespace elevate::cli::record {

base::Result<Reader> Reader::open(const wire::Field& field, wire::Tag tag, std::string_view kind) {
    wire::FieldList fields;
    Reader reader(fields, kind);
    if (field.tag != static_cast<uint16_t>(tag)) return reader.malformed("has the wrong tag");
    if (reader.fields_.parse(field.data, field.length) != wire::CodecError::Ok)
        return reader.malformed("is not a field list");
    return reader;
}

base::Error Reader::malformed(std::string_view what) const {
    return base::make_error("malformed reply from elevated: " + std::string(kind_) + " record " + std::string(what));
}

bool Reader::str(wire::Tag tag, std::string* out, bool non_empty) const {
    std::string_view v;
    if (!fields_.get_str(tag, &v) || (non_empty && v.empty())) return false;
    out->assign(v);
    return true;
}

bool Reader::i64(wire::Tag tag, int64_t* out) const {
    uint64_t v = 0;
    if (!fields_.get_u64(tag, &v)) return false;
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    *out = static_cast<int64_t>(v > kMax ? kMax : v);
    return true;
}

}  // namespace elevate::cli::record
