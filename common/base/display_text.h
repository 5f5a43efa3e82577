// The one rule for text from outside (a push provider, an approver's or a
// requester's reason, a daemon reply) shown on a user's terminal: valid
// UTF-8 is kept, except what can drive or mislead a terminal: C0 controls,
// DEL, C1 controls (U+0080..U+009F) and the bidirectional overrides
// (U+202A..U+202E, U+2066..U+2069); each of those, each byte of invalid
// UTF-8 (8-bit C1 among them) and each overlong or surrogate encoding
// becomes '?'. Log lines use base::escaped (text.h) instead, which keeps
// every byte recoverable.
//
// libc only: the PAM module compiles this file into itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace elevate::base {

// Writes the shown form of `text` to `out` (`size` bytes, NUL-terminated,
// cut at a character boundary when it does not fit) and returns its length.
// The shown form is never longer than `text`.
size_t copy_display_text(std::string_view text, char* out, size_t size);

// The same as a string of at most `max_bytes` bytes. Inline, so code that
// has no C++ runtime (the PAM module) never emits it.
inline std::string display_text(std::string_view text, size_t max_bytes = std::string::npos) {
    std::string out((text.size() < max_bytes ? text.size() : max_bytes) + 1, '\0');
    out.resize(copy_display_text(text, out.data(), out.size()));
    return out;
}

}  // namespace elevate::base
