// libFuzzer target for the secret importers: elevatectl (as root) parses
// files that users control (~/.google_authenticator, a pam_oath usersfile).
// Besides what ASan/UBSan catch, it checks that an error or note never
// carries a byte of the input that is not printable ASCII: the messages
// name lines and rules, never content.
#include "cli/import/import_secrets.h"
#include "daemon/auth/totp.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

void check_text(std::string_view text) {
    for (const char c : text)
        if (c < 0x20 || c > 0x7e) __builtin_trap();
}

template <typename R>
void check(const R& r) {
    if (r.ok())
        check_text(r->note);
    else
        check_text(r.error().message);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (!elevate::auth::totp_init().ok()) __builtin_trap();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check(elevate::cli::parse_google_authenticator(input));
    check(elevate::cli::parse_oath_usersfile(input, "root"));
    check(elevate::cli::parse_oath_usersfile(input, "alice"));
    return 0;
}
