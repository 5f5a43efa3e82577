#include "pam_module/options.h"

#include "common/base/display_text.h"
#include "common/base/names.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

namespace elevate::pam {

namespace {

constexpr size_t kMaxPrompt = 128;
constexpr size_t kMaxListItems = 32;

using Setter = bool (*)(Options* o, const char* value, char* error, size_t error_size);

// One row per option. `takes_value` options must be written name=value;
// flags must not have a value ("debug=0" is an error, not "debug").
struct OptionSpec {
    const char* name;
    bool takes_value;
    Setter set;
};

__attribute__((format(printf, 3, 4))) bool fail(char* error, size_t size, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(error, size, fmt, args);
    va_end(args);
    return false;
}

// A comma-separated list of 1..kMaxListItems elements, each valid.
// The daemon's rules for names (common/base/names.h).
bool role_name_ok(const char* text, size_t length) {
    return elevate_role_name_ok(text, length, ELEVATE_MAX_ROLE_NAME) != 0;
}

bool account_name_ok(const char* text, size_t length) {
    return elevate_account_name_ok(text, length) != 0;
}

bool valid_list(const char* list, bool (*valid)(const char*, size_t)) {
    size_t items = 0;
    const char* p = list;
    for (;;) {
        const char* comma = strchr(p, ',');
        size_t length = comma ? size_t(comma - p) : strlen(p);
        if (!valid(p, length) || ++items > kMaxListItems) return false;
        if (!comma) return true;
        p = comma + 1;
    }
}

bool set_socket(Options* o, const char* v, char* error, size_t size) {
    if (v[0] != '/' || strlen(v) >= sizeof(sockaddr_un::sun_path))
        return fail(error, size, "%s=%.128s: must be an absolute path of at most 107 bytes", "socket", v);
    o->socket = v;
    return true;
}

bool set_timeout(Options* o, const char* v, char* error, size_t size) {
    if (!parse_unsigned(v, kMinTimeoutSeconds, kMaxTimeoutSeconds, &o->timeout_seconds))
        return fail(error, size, "%s=%.64s: must be a whole number of seconds from 1 to 60", "timeout", v);
    return true;
}

bool set_failmode(Options* o, const char* v, char* error, size_t size) {
    if (strcmp(v, "secure") == 0) {
        o->failmode = FailMode::Secure;
    } else if (strcmp(v, "open") == 0) {
        o->failmode = FailMode::Open;
    } else {
        return fail(error, size, "%s=%.64s: must be \"secure\" or \"open\"", "failmode", v);
    }
    return true;
}

bool set_activate(Options* o, const char* v, char* error, size_t size) {
    if (!role_name_ok(v, strlen(v)))
        return fail(error, size, "%s=%.64s: not a role name (1-32 of a-z, 0-9, '_', '-', starting with a letter)",
                    "activate", v);
    o->activate = v;
    return true;
}

bool set_require_grant(Options* o, const char* v, char* error, size_t size) {
    if (!valid_list(v, role_name_ok))
        return fail(error, size, "%s=%.128s: must be a comma-separated list of role names", "require_grant", v);
    o->require_grant = v;
    return true;
}

bool set_reauth(Options* o, const char* v, char* error, size_t size) {
    if (strcmp(v, "always") == 0) {
        o->reauth = true;
    } else if (strcmp(v, "never") == 0) {
        o->reauth = false;
    } else {
        return fail(error, size, "%s=%.64s: must be \"always\" or \"never\"", "reauth", v);
    }
    return true;
}

bool set_prompt(Options* o, const char* v, char* error, size_t size) {
    // Shown on the terminal: printable by the one display rule, unchanged.
    const size_t length = strlen(v);
    char shown[kMaxPrompt + 1];
    const bool printable = length > 0 && length <= kMaxPrompt &&
                           base::copy_display_text(v, shown, sizeof shown) == length && memcmp(shown, v, length) == 0;
    if (!printable)
        return fail(error, size, "%s=%.64s: must be 1-128 printable bytes (use [prompt=text with spaces])", "prompt",
                    v);
    o->prompt = v;
    return true;
}

bool set_autopush(Options* o, const char*, char*, size_t) {
    o->autopush = true;
    return true;
}

bool set_approval_wait(Options* o, const char* v, char* error, size_t size) {
    if (!parse_unsigned(v, 0, kMaxApprovalWaitSeconds, &o->approval_wait_seconds))
        return fail(error, size, "%s=%.64s: must be a whole number of seconds from 0 to 600", "approval_wait", v);
    return true;
}

bool set_debug(Options* o, const char*, char*, size_t) {
    o->debug = true;
    return true;
}

bool set_quiet(Options* o, const char*, char*, size_t) {
    o->quiet = true;
    return true;
}

bool set_breakglass(Options* o, const char* v, char* error, size_t size) {
    if (!valid_list(v, account_name_ok))
        return fail(error, size, "%s=%.128s: must be a comma-separated list of user names", "breakglass_users", v);
    o->breakglass_users = v;
    return true;
}

constexpr OptionSpec kOptions[] = {
    {"socket", true, set_socket},
    {"timeout", true, set_timeout},
    {"failmode", true, set_failmode},
    {"activate", true, set_activate},
    {"require_grant", true, set_require_grant},
    {"reauth", true, set_reauth},
    {"prompt", true, set_prompt},
    {"autopush", false, set_autopush},
    {"approval_wait", true, set_approval_wait},
    {"debug", false, set_debug},
    {"quiet", false, set_quiet},
    {"breakglass_users", true, set_breakglass},
};
constexpr size_t kOptionCount = sizeof kOptions / sizeof kOptions[0];
static_assert(kOptionCount <= 32, "seen-mask is 32 bits");

}  // namespace

bool parse_unsigned(const char* text, unsigned min, unsigned max, unsigned* out) {
    if (text == nullptr || *text == '\0') return false;
    unsigned long long value = 0;
    for (const char* p = text; *p; ++p) {
        if (*p < '0' || *p > '9') return false;
        value = value * 10 + unsigned(*p - '0');
        if (value > max) return false;  // also bounds the loop against overflow
    }
    if (value < min) return false;
    *out = unsigned(value);
    return true;
}

bool list_contains(const char* list, const char* name) {
    if (list == nullptr || name == nullptr) return false;
    size_t n = strlen(name);
    const char* p = list;
    for (;;) {
        const char* comma = strchr(p, ',');
        size_t length = comma ? size_t(comma - p) : strlen(p);
        if (length == n && memcmp(p, name, n) == 0) return true;
        if (!comma) return false;
        p = comma + 1;
    }
}

bool parse_options(int argc, const char** argv, Options* out, char* error, size_t error_size) {
    *out = Options{};
    unsigned seen = 0;
    for (int i = 0; i < argc; ++i) {
        const char* arg = argv[i];
        if (arg == nullptr) continue;
        const char* eq = strchr(arg, '=');
        size_t name_length = eq ? size_t(eq - arg) : strlen(arg);
        const OptionSpec* spec = nullptr;
        size_t index = 0;
        for (; index < kOptionCount; ++index) {
            if (strlen(kOptions[index].name) == name_length && memcmp(kOptions[index].name, arg, name_length) == 0) {
                spec = &kOptions[index];
                break;
            }
        }
        if (spec == nullptr) return fail(error, error_size, "unknown option \"%.64s\"", arg);
        if (seen & (1u << index)) return fail(error, error_size, "option \"%s\" given twice", spec->name);
        seen |= 1u << index;
        if (spec->takes_value && eq == nullptr)
            return fail(error, error_size, "option \"%s\" needs a value (%s=...)", spec->name, spec->name);
        if (!spec->takes_value && eq != nullptr)
            return fail(error, error_size, "option \"%s\" takes no value", spec->name);
        if (!spec->set(out, eq ? eq + 1 : nullptr, error, error_size)) return false;
    }
    return true;
}

}  // namespace elevate::pam
