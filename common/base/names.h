/* The one rule for the names elevate handles: account names (users and the
 * groups that make a user eligible) and role names (which become groups in
 * the NSS snapshot and %group in sudoers). Used by the config loader, the
 * daemon's request checks, the PAM module's options and the snapshot writer
 * and reader, so a name one of them accepts is never refused by another.
 *
 * C-compatible and libc-free like common/snapshot/format.h, which builds on
 * it; the C++ wrappers below are inline. */
#pragma once

#include <stddef.h>

/* An account name: 1..255 bytes. Names belong to the system, so only what
 * can never be part of one is refused: control bytes, space, DEL, and the
 * ':' and ',' that would corrupt a "name:x:gid:a,b" group entry. */
#define ELEVATE_MAX_ACCOUNT_NAME 255u

/* A role name: 1..32 of a-z, 0-9, '_' and '-', starting with a letter; a
 * charset safe in every file format that carries it. Policy rule and network
 * names use the same charset with a longer limit. */
#define ELEVATE_MAX_ROLE_NAME 32u

static inline int elevate_account_name_ok(const char* s, size_t len) {
    if (len == 0 || len > ELEVATE_MAX_ACCOUNT_NAME) return 0;
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == ':' || c == ',') return 0;
    }
    return 1;
}

static inline int elevate_role_name_ok(const char* s, size_t len, size_t max_len) {
    if (len == 0 || len > max_len || s[0] < 'a' || s[0] > 'z') return 0;
    for (size_t i = 0; i < len; ++i) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return 0;
    }
    return 1;
}

#ifdef __cplusplus
#include <string_view>

namespace elevate::base {

inline bool valid_account_name(std::string_view name) {
    return elevate_account_name_ok(name.data(), name.size()) != 0;
}

inline bool valid_role_name(std::string_view name, size_t max_length = ELEVATE_MAX_ROLE_NAME) {
    return elevate_role_name_ok(name.data(), name.size(), max_length) != 0;
}

}  // namespace elevate::base
#endif
