#include "common/base/text.h"

namespace elevate::base {

std::string escaped(std::string_view untrusted) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(untrusted.size());
    for (const char ch : untrusted) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out.push_back(ch);
        } else {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    return out;
}

}  // namespace elevate::base
