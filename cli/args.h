// A small, strict, table-driven argument parser for elevatectl. Each verb
// declares its options and positional count in an ArgSpec; anything the
// table does not allow is a usage error with a one-line message (the caller
// prints it and exits 2). Values that have a type (durations, seconds) are
// checked here, through common/base/parse.h, so no verb sees bad text.
//
// Accepted forms: `--name VALUE`, `--name=VALUE`, `--flag`, `-h` (short
// aliases take no bundling), `--name` alone for an option whose value is
// optional, and `--` to end options. Rejected: unknown options, a missing or
// empty value, a value given to a flag, the same option twice, a required
// option left out, too few or too many positionals.
#pragma once

#include "common/base/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::cli {

enum class ValueKind {
    None,      // a flag
    Text,      // any non-empty string
    Duration,  // base::parse_duration ("45m", "1h30m", "90")
    Seconds,   // whole seconds, 1..3600
};

struct OptionSpec {
    std::string_view name;  // long name without "--"
    char short_name = 0;    // 0 when there is no short form
    ValueKind kind = ValueKind::None;
    // `--name` alone means "the default"; a value must then be attached
    // (`--name=VALUE`), so the next argument is never taken as the value:
    // `activate --wait db` keeps db as the role.
    bool value_optional = false;
    // Parsing fails without it (unless --help is given).
    bool required = false;
};

struct ArgSpec {
    std::vector<OptionSpec> options;
    // Names for messages ("missing ROLE"); their count is the maximum.
    std::vector<std::string_view> positionals;
    size_t min_positionals = 0;
    // For global options: stop at the first positional (the verb) and leave
    // it and everything after it in ParsedArgs::rest, unparsed.
    bool stop_at_positional = false;
};

class ParsedArgs {
public:
    bool has(std::string_view name) const;
    // The value of an option that takes one; nullopt when it was not given,
    // or given without a value (a flag, or `--wait` alone).
    std::optional<std::string> value(std::string_view name) const;
    // For ValueKind::Duration and Seconds: the checked number; nullopt as
    // for value().
    std::optional<int64_t> number(std::string_view name) const;

    const std::vector<std::string>& positionals() const { return positionals_; }
    const std::vector<std::string>& rest() const { return rest_; }

private:
    friend base::Result<ParsedArgs> parse_args(const ArgSpec& spec, const std::vector<std::string>& args);

    struct Entry {
        std::string name;
        std::string value;
        int64_t number = 0;
        bool has_value = false;
    };
    const Entry* find(std::string_view name) const;

    std::vector<Entry> entries_;
    std::vector<std::string> positionals_;
    std::vector<std::string> rest_;
};

// `args` excludes the program and verb names.
base::Result<ParsedArgs> parse_args(const ArgSpec& spec, const std::vector<std::string>& args);

}  // namespace elevate::cli
