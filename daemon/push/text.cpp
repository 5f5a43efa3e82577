#include "daemon/push/text.h"

namespace elevate::push {

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string ascii_upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

std::string printable_ascii(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, kMaxPrintableAscii)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
}

}  // namespace elevate::push
