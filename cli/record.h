// Reading the records of a daemon reply (docs/PROTOCOL.md: `grant`,
// `request`): what cli/grant.cpp and cli/request.cpp share. A record that
// lacks a field every view relies on is an error naming the record kind and
// the field ("malformed reply from elevated: grant record has no end").
#pragma once

#include "common/base/result.h"
#include "common/wire/codec.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace elevate::cli::record {

// One record being decoded into a view (Grant, Request).
class Reader {
public:
    // `field` must be a field list tagged `tag`; `kind` ("grant",
    // "request", a literal) names the record in errors.
    static base::Result<Reader> open(const wire::Field& field, wire::Tag tag, std::string_view kind);

    // "malformed reply from elevated: <kind> record <what>"
    base::Error malformed(std::string_view what) const;

    // Each fills a view's member: true when the field is there (and, with
    // `non_empty`, not empty); `*out` is left alone otherwise, so optional
    // fields keep their default.
    bool str(wire::Tag tag, std::string* out, bool non_empty = false) const;
    // Times and durations travel as u64; the views hold int64 (saturating).
    bool i64(wire::Tag tag, int64_t* out) const;
    bool u64(wire::Tag tag, uint64_t* out) const { return fields_.get_u64(tag, out); }
    bool flag(wire::Tag tag, bool* out) const { return fields_.get_bool(tag, out); }

private:
    Reader(const wire::FieldList& fields, std::string_view kind) : fields_(fields), kind_(kind) {}

    wire::FieldList fields_;
    std::string_view kind_;
};

// Decodes every record tagged `tag` of `reply`, in order, with `decode`
// (Result<T>(const wire::Field&)); the first malformed one is the error.
template <typename T, typename Decode>
base::Result<std::vector<T>> decode_all(const wire::FieldList& reply, wire::Tag tag, Decode decode) {
    std::vector<T> out;
    auto it = reply.iterate();
    wire::Field field;
    while (it.next(&field)) {
        if (field.tag != static_cast<uint16_t>(tag)) continue;
        auto one = decode(field);
        if (!one) return std::move(one).error();
        out.push_back(std::move(one).value());
    }
    return out;
}

// Decodes the first record tagged `tag` of `reply` with `decode`; a reply
// without one is "malformed reply from elevated: <missing>".
template <typename Decode>
std::invoke_result_t<Decode, const wire::Field&> decode_first(const wire::FieldList& reply, wire::Tag tag,
                                                              std::string_view missing, Decode decode) {
    wire::Field field;
    if (!reply.find(tag, &field)) return base::make_error("malformed reply from elevated: " + std::string(missing));
    return decode(field);
}

}  // namespace elevate::cli::record
