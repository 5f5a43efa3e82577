// Checked parsing of numbers and durations: the one place where untrusted
// text becomes an integer. Every caller (config, CLI, PAM options) uses these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::base {

// Whole-string decimal parse; no sign, no whitespace, no overflow.
std::optional<uint64_t> parse_u64(std::string_view text);

// Bounded variant: value must lie in [min, max].
std::optional<uint64_t> parse_u64_in(std::string_view text, uint64_t min, uint64_t max);

// Duration in seconds from text like "45m", "2h", "1h30m", "90s", "1d", or a
// bare number of seconds. Zero and overflow (> 10 years) are rejected.
std::optional<int64_t> parse_duration(std::string_view text);

// Inverse of parse_duration for humans: 2700 -> "45m", 5400 -> "1h30m".
std::string format_duration(int64_t seconds);

// "2026-12-02 08:15:00 UTC": an epoch second for messages and logs.
std::string format_utc(int64_t epoch);

// "a, b, c": items joined by `separator`.
std::string join(const std::vector<std::string>& items, std::string_view separator);

}  // namespace elevate::base
