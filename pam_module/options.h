// Module arguments from the PAM configuration line, parsed strictly: an
// unknown option, a repeated one or a bad value is an error, because a typo
// ("requre_grant=db-admin") must never silently weaken a stack. Documented
// in docs/man/pam_elevate.8. No allocation: strings point into the argv
// that libpam keeps alive for the whole call.
#pragma once

#include <stddef.h>

namespace elevate::pam {

enum class FailMode { Secure, Open };

constexpr unsigned kDefaultTimeoutSeconds = 10;
constexpr unsigned kMinTimeoutSeconds = 1;
constexpr unsigned kMaxTimeoutSeconds = 60;
constexpr unsigned kDefaultApprovalWaitSeconds = 60;
constexpr unsigned kMaxApprovalWaitSeconds = 600;  // request_wait accepts 1..600 (docs/PROTOCOL.md)
constexpr const char* kDefaultCodePrompt = "Verification code: ";

struct Options {
    const char* socket = ELEVATE_DEFAULT_SOCKET;
    unsigned timeout_seconds = kDefaultTimeoutSeconds;
    FailMode failmode = FailMode::Secure;
    const char* activate = nullptr;           // role activated just in time at the auth prompt
    const char* require_grant = nullptr;      // comma-separated roles, validated
    bool reauth = false;                      // reauth=always: prompt even under an active grant
    const char* prompt = kDefaultCodePrompt;  // when the daemon offers no push
    bool autopush = false;                    // push at once when the daemon offers it, no code prompt
    unsigned approval_wait_seconds = kDefaultApprovalWaitSeconds;  // 0: do not wait for approvers
    bool debug = false;
    bool quiet = false;
    const char* breakglass_users = nullptr;  // comma-separated user names, validated
};

// Fills `out` from argv. On failure returns false with a one-line reason
// naming the offending argument in `error` (never null-terminated garbage).
bool parse_options(int argc, const char** argv, Options* out, char* error, size_t error_size);

// True when `name` is one element of the comma-separated `list`.
bool list_contains(const char* list, const char* name);

// The one checked number parser of the module: whole-string decimal, no
// sign, no whitespace, no overflow, value in [min, max].
bool parse_unsigned(const char* text, unsigned min, unsigned max, unsigned* out);

}  // namespace elevate::pam
