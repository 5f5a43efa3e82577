#include "daemon/push/text.h"

#include "common/base/display_text.h"

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

std::string provider_text(std::string_view text) {
    return base::display_text(text, kMaxProviderText);
}

}  // namespace elevate::push
