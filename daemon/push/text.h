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
// this many bytes.
inline constexpr size_t kMaxProviderText = 200;

// Text from a push service as shown on terminals and in logs: the one
// display rule (base::display_text: no control character, C1, bidi override
// or invalid UTF-8 gets through), cut to kMaxProviderText bytes at a
// character boundary (docs/PUSH-WEBHOOK.md).
std::string provider_text(std::string_view text);

}  // namespace elevate::push
