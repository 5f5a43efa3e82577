/* The group snapshot file: the only thing shared by the daemon (writer.cpp)
 * and libnss_elevate.so.2 (reader.cpp). Specified in docs/SNAPSHOT.md; keep
 * the two in step. C-compatible on purpose: plain structs of fixed-width
 * integers, no C++ in this header, so any tool (or a C reader) can use it.
 *
 * Layout, all integers in the writer's byte order (the snapshot never leaves
 * the host; byte_order detects a foreign file), every section 8-aligned:
 *
 *   header | groups[group_count] | gid_index[group_count]
 *          | members[member_count] | user_index[member_count] | strings
 *
 * The offsets in the header are authoritative (a reader must not assume this
 * order); sections must lie inside the file and must not overlap. */
#ifndef ELEVATE_SNAPSHOT_FORMAT_H
#define ELEVATE_SNAPSHOT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define ELEVATE_SNAPSHOT_MAGIC "ELEVSNAP" /* 8 bytes, no NUL stored */
#define ELEVATE_SNAPSHOT_MAGIC_SIZE 8
#define ELEVATE_SNAPSHOT_VERSION_MAJOR 1 /* readers refuse any other major */
#define ELEVATE_SNAPSHOT_VERSION_MINOR 0 /* compatible additions only */
#define ELEVATE_SNAPSHOT_BYTE_ORDER 0x01020304u

/* Hard limits. The writer refuses to exceed them and the reader treats a
 * file beyond them as corrupt, so a hostile or broken file cannot make a
 * lookup walk or copy without bound. */
#define ELEVATE_SNAPSHOT_MAX_FILE_SIZE (256u * 1024u * 1024u)
#define ELEVATE_SNAPSHOT_MAX_HEADER_SIZE 4096u
#define ELEVATE_SNAPSHOT_MAX_GROUPS 1000000u
#define ELEVATE_SNAPSHOT_MAX_MEMBERS 8000000u
#define ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS 65536u /* active or not, per group */
#define ELEVATE_SNAPSHOT_MAX_NAME 255u            /* bytes, without the NUL */

/* Default location; libnss_elevate reads ELEVATE_NSS_SNAPSHOT instead when
 * set, except in set-uid/set-gid programs (secure_getenv). */
#define ELEVATE_SNAPSHOT_DEFAULT_PATH "/run/elevate/groups.snapshot"

struct elevate_snapshot_header {
    uint8_t magic[ELEVATE_SNAPSHOT_MAGIC_SIZE]; /*   0 "ELEVSNAP" */
    uint16_t version_major;                     /*   8 */
    uint16_t version_minor;                     /*  10 */
    uint32_t header_size;                       /*  12 >= sizeof(struct), multiple of 8 */
    uint64_t checksum;                          /*  16 FNV-1a 64, see below */
    uint32_t byte_order;                        /*  24 ELEVATE_SNAPSHOT_BYTE_ORDER */
    uint32_t flags;                             /*  28 0; a reader refuses unknown bits */
    uint64_t generation;                        /*  32 increases with every write */
    int64_t written_at;                         /*  40 epoch seconds, informational */
    uint64_t file_size;                         /*  48 == st_size */
    uint32_t group_count;                       /*  56 */
    uint32_t member_count;                      /*  60 */
    uint64_t groups_offset;                     /*  64 struct elevate_snapshot_group[] */
    uint64_t gid_index_offset;                  /*  72 uint32_t[group_count] */
    uint64_t members_offset;                    /*  80 struct elevate_snapshot_member[] */
    uint64_t user_index_offset;                 /*  88 uint32_t[member_count] */
    uint64_t strings_offset;                    /*  96 NUL-terminated names */
    uint64_t strings_size;                      /* 104 bytes; last byte is NUL */
};                                              /* 112 */

/* Sorted by name (bytewise, shorter first on a common prefix: strcmp order),
 * names unique. A group's members are members[member_first ..
 * member_first + member_count), and the groups' ranges tile the member table
 * in group order. */
struct elevate_snapshot_group {
    uint32_t name_off; /* into strings; strings[name_off + name_len] == 0 */
    uint32_t name_len; /* 1..ELEVATE_SNAPSHOT_MAX_NAME */
    uint32_t gid;      /* unique; never 0 or (gid_t)-1 */
    uint32_t member_first;
    uint32_t member_count;
    uint32_t reserved; /* 0 */
};

/* Within a group, sorted by name, names unique. */
struct elevate_snapshot_member {
    int64_t end;       /* epoch seconds; a member is active while now < end */
    uint32_t name_off; /* user name, as for groups */
    uint32_t name_len;
    uint32_t group;    /* index of its group in the group table */
    uint32_t reserved; /* 0 */
};

/* gid_index[i]: index of the group with the i-th smallest gid (gids strictly
 * increasing). user_index[i]: index of a member record, ordered by (user
 * name, group index), strictly increasing: a user's groups are one range. */

/* checksum: FNV-1a 64 over the whole file except the 8 checksum bytes
 * themselves, i.e. over bytes [0, 16) and then [24, file_size). */
#define ELEVATE_FNV64_OFFSET 0xcbf29ce484222325ull
#define ELEVATE_FNV64_PRIME 0x100000001b3ull

static inline uint64_t elevate_fnv1a64(uint64_t h, const void* data, size_t size) {
    const uint8_t* p = (const uint8_t*)data;
    for (size_t i = 0; i < size; ++i) {
        h ^= p[i];
        h *= ELEVATE_FNV64_PRIME;
    }
    return h;
}

/* A name the snapshot may carry (user or group): 1..255 bytes, none of them
 * a control byte, space, DEL, ':' or ',' (they would corrupt the
 * "name:x:gid:a,b" form that getent and tools print). */
static inline int elevate_snapshot_name_ok(const char* s, size_t len) {
    if (len == 0 || len > ELEVATE_SNAPSHOT_MAX_NAME) return 0;
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == ':' || c == ',') return 0;
    }
    return 1;
}

#ifdef __cplusplus
static_assert(sizeof(struct elevate_snapshot_header) == 112, "snapshot header layout");
static_assert(sizeof(struct elevate_snapshot_group) == 24, "snapshot group layout");
static_assert(sizeof(struct elevate_snapshot_member) == 24, "snapshot member layout");
#else
_Static_assert(sizeof(struct elevate_snapshot_header) == 112, "snapshot header layout");
_Static_assert(sizeof(struct elevate_snapshot_group) == 24, "snapshot group layout");
_Static_assert(sizeof(struct elevate_snapshot_member) == 24, "snapshot member layout");
#endif

#endif /* ELEVATE_SNAPSHOT_FORMAT_H */
