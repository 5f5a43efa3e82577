// Text helpers of the push part: ASCII case mapping for protocol tokens
// (header names, host names, HTTP methods), and the one rule for text from a
// push service (or a request) that ends up on terminals and in logs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace elevate::push {

// A-Z to a-z (and back); every other byte is kept. Locale-independent.
std::string ascii_lower(std::string_view s);
std::string ascii_upper(std::string_view s);

// Server-provided text (device names, error and status messages) is cut to
// this many characters.
inline constexpr size_t kMaxPrintableAscii = 200;

// Text made safe for a terminal or a log line: the first kMaxPrintableAscii
// bytes, each one that is not printable ASCII replaced by '?'
// (docs/PUSH-WEBHOOK.md), so no escape sequence or line break gets through.
std::string printable_ascii(std::string_view text);

}  // namespace elevate::push
