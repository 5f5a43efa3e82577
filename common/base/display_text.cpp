#include "common/base/display_text.h"

#include "common/base/utf8.h"

#include <stdint.h>
#include <string.h>

namespace elevate::base {

namespace {

bool shown(uint32_t cp) {
    if (cp < 0x20 || cp == 0x7f) return false;       // C0, DEL
    if (cp >= 0x80 && cp <= 0x9f) return false;      // C1 (CSI, OSC, ...)
    if (cp >= 0x202a && cp <= 0x202e) return false;  // LRE, RLE, PDF, LRO, RLO
    if (cp >= 0x2066 && cp <= 0x2069) return false;  // LRI, RLI, FSI, PDI
    return true;
}

}  // namespace

size_t copy_display_text(std::string_view text, char* out, size_t size) {
    if (size == 0) return 0;
    size_t written = 0;
    size_t i = 0;
    while (i < text.size()) {
        const auto* at = reinterpret_cast<const uint8_t*>(text.data()) + i;
        const size_t len = utf8_char_length(at, text.size() - i);
        const bool keep = len > 0 && shown(utf8_code_point(at, len));
        const size_t need = keep ? len : 1;
        if (written + need > size - 1) break;
        if (keep) {
            memcpy(out + written, text.data() + i, len);
        } else {
            out[written] = '?';
        }
        written += need;
        i += len > 0 ? len : 1;  // invalid: one byte at a time
    }
    out[written] = '\0';
    return written;
}

}  // namespace elevate::base
