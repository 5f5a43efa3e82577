// The one UTF-8 rule (RFC 3629): shortest form only, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. Header
// only and freestanding (no allocation, no exceptions), so the wire codec can
// use it inside the PAM module. NUL is valid UTF-8; callers that refuse it
// check separately.
#pragma once

#include <cstddef>
#include <cstdint>

namespace elevate::base {

// The length (1..4) of the valid character at s[0], or 0 when the bytes
// there are not one (n > 0).
constexpr size_t utf8_char_length(const uint8_t* s, size_t n) {
    const uint8_t c = s[0];
    if (c < 0x80) return 1;
    // Lead byte: the sequence length, and the range of the second byte that
    // keeps the code point in shortest form and in range (the table of RFC
    // 3629 section 4).
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;  // below U+0800: overlong
        if (c == 0xED) hi = 0x9F;  // U+D800..U+DFFF: surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;  // below U+10000: overlong
        if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;  // continuation byte, overlong C0/C1, or F5..FF
    }
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; ++k)
        if ((s[k] & 0xC0) != 0x80) return 0;
    return len;
}

// The code point of a valid character of `len` bytes (utf8_char_length).
constexpr uint32_t utf8_code_point(const uint8_t* s, size_t len) {
    if (len == 1) return s[0];
    uint32_t cp = s[0] & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (s[k] & 0x3F);
    return cp;
}

constexpr bool valid_utf8(const uint8_t* s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const size_t len = utf8_char_length(s + i, n - i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

}  // namespace elevate::base
