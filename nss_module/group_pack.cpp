#include "nss_module/group_pack.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

namespace elevate::nss {

namespace {

// Role groups have no password of their own: "*" matches no hash, so
// newgrp can never let a non-member in (sssd serves the same).
constexpr char kPassword[] = "*";

size_t pointer_padding(const char* buffer) {
    const size_t align = alignof(char*);
    return (align - reinterpret_cast<uintptr_t>(buffer) % align) % align;
}

}  // namespace

size_t packed_size(const snapshot::View& view, const snapshot::GroupRef& g, int64_t now, const char* buffer) {
    uint32_t count = 0;
    size_t member_bytes = 0;
    view.active_members(g, now, &count, &member_bytes);
    return pointer_padding(buffer) + (size_t(count) + 1) * sizeof(char*) + size_t(g.name_len) + 1 + sizeof kPassword +
           member_bytes;
}

int pack_group(const snapshot::View& view, const snapshot::GroupRef& g, int64_t now, struct group* gr, char* buffer,
               size_t buflen) {
    uint32_t count = 0;
    size_t member_bytes = 0;
    view.active_members(g, now, &count, &member_bytes);
    const size_t pad = pointer_padding(buffer);
    const size_t pointers = (size_t(count) + 1) * sizeof(char*);
    const size_t need = pad + pointers + size_t(g.name_len) + 1 + sizeof kPassword + member_bytes;
    if (buffer == nullptr || buflen < need) return ERANGE;

    char** members = reinterpret_cast<char**>(buffer + pad);
    char* p = buffer + pad + pointers;
    char* name = p;
    memcpy(p, g.name, g.name_len);
    p[g.name_len] = '\0';
    p += g.name_len + 1;
    char* password = p;
    memcpy(p, kPassword, sizeof kPassword);
    p += sizeof kPassword;
    uint32_t k = 0;
    view.for_each_active_member(g, now, [&](const snapshot::MemberRef& m) {
        if (k == count) return false;  // the mapping cannot change under a lease; never trust it anyway
        members[k++] = p;
        memcpy(p, m.name, m.name_len);
        p[m.name_len] = '\0';
        p += m.name_len + 1;
        return true;
    });
    members[k] = nullptr;

    gr->gr_name = name;
    gr->gr_passwd = password;
    gr->gr_gid = g.gid;
    gr->gr_mem = members;
    return 0;
}

long append_groups(const snapshot::View& view, const char* user, gid_t skip, int64_t now, long* start, long* size,
                   gid_t** groupsp, long limit, int* err) {
    long added = 0;
    bool failed = false;
    view.for_each_group_of(user, strnlen(user, ELEVATE_SNAPSHOT_MAX_NAME + 1), now, [&](const snapshot::GroupRef& g) {
        const gid_t gid = g.gid;
        if (gid == skip) return true;
        if (*start >= *size) {
            if (limit > 0 && *size >= limit) return false;  // glibc asked for no more
            if (*size > LONG_MAX / 2 / long(sizeof(gid_t))) {
                failed = true;
                return false;
            }
            long grown_size = *size > 0 ? 2 * *size : 16;
            if (limit > 0 && grown_size > limit) grown_size = limit;
            gid_t* grown = static_cast<gid_t*>(realloc(*groupsp, size_t(grown_size) * sizeof(gid_t)));
            if (grown == nullptr) {
                failed = true;
                return false;
            }
            *groupsp = grown;
            *size = grown_size;
        }
        (*groupsp)[(*start)++] = gid;
        ++added;
        return true;
    });
    if (failed) {
        *err = ENOMEM;
        return -1;
    }
    return added;
}

}  // namespace elevate::nss
