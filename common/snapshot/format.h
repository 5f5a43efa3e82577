/* The group snapshot file: the only thing shared by the daemon (writer.cpp)
 * and libnss_elevate.so.2 (reader.cpp). Specified in docs/SNAPSHOT.md; keep
 * the two in step. C-compatible on purpose: plain structs of fixed-width
 * integers, no C++ in this header, so any tool (or a C reader) can use it.
 *
 * Layout, all integers in the writer's byte order (the snapshot never leaves
 * the host; byte_order detects a foreign file), every section 8-aligned,
 * the file a multiple of 8 bytes:
 *
 *   header | groups[group_count] | gid_index[group_count] | users[user_count]
 *          | members[member_count] | user_index[member_count] | strings
 *
 * The offsets in the header are authoritative (a reader must not assume this
 * order); sections must lie inside the file and must not overlap. */
#ifndef ELEVATE_SNAPSHOT_FORMAT_H
#define ELEVATE_SNAPSHOT_FORMAT_H

#include "common/base/names.h"

#include <stddef.h>
#include <stdint.h>

#define ELEVATE_SNAPSHOT_MAGIC "ELEVSNAP" /* 8 bytes, no NUL stored */
#define ELEVATE_SNAPSHOT_MAGIC_SIZE 8
#define ELEVATE_SNAPSHOT_VERSION_MAJOR 1 /* readers refuse any other major */
#define ELEVATE_SNAPSHOT_VERSION_MINOR 0 /* compatible additions only */
#define ELEVATE_SNAPSHOT_BYTE_ORDER 0x01020304u

/* Hard limits. The writer refuses to exceed them and the reader treats a
 * file beyond them as corrupt, so a broken file cannot make a lookup walk
 * or copy without bound. */
#define ELEVATE_SNAPSHOT_MAX_FILE_SIZE (256u * 1024u * 1024u)
#define ELEVATE_SNAPSHOT_MAX_HEADER_SIZE 4096u
#define ELEVATE_SNAPSHOT_MAX_GROUPS 1000000u
#define ELEVATE_SNAPSHOT_MAX_MEMBERS 8000000u              /* also bounds the users */
#define ELEVATE_SNAPSHOT_MAX_GROUP_MEMBERS 65536u          /* active or not, per group */
#define ELEVATE_SNAPSHOT_MAX_NAME ELEVATE_MAX_ACCOUNT_NAME /* bytes, without the NUL (common/base/names.h) */

/* Default location; libnss_elevate reads ELEVATE_NSS_SNAPSHOT instead when
 * set, except in set-uid/set-gid programs (secure_getenv). */
#define ELEVATE_SNAPSHOT_DEFAULT_PATH "/run/elevate/groups.snapshot"

struct elevate_snapshot_header {
    uint8_t magic[ELEVATE_SNAPSHOT_MAGIC_SIZE]; /*   0 "ELEVSNAP" */
    uint16_t version_major;                     /*   8 */
    uint16_t version_minor;                     /*  10 */
    uint32_t header_size;                       /*  12 >= sizeof(struct), multiple of 8 */
    uint64_t checksum;                          /*  16 elevate_snapshot_checksum() */
    uint32_t byte_order;                        /*  24 ELEVATE_SNAPSHOT_BYTE_ORDER */
    uint32_t flags;                             /*  28 0; a reader refuses unknown bits */
    uint64_t generation;                        /*  32 increases with every write */
    int64_t written_at;                         /*  40 epoch seconds, informational */
    uint64_t file_size;                         /*  48 == st_size, multiple of 8 */
    uint32_t group_count;                       /*  56 */
    uint32_t member_count;                      /*  60 */
    uint32_t user_count;                        /*  64 distinct member names */
    uint32_t reserved;                          /*  68 0 */
    uint64_t groups_offset;                     /*  72 struct elevate_snapshot_group[] */
    uint64_t gid_index_offset;                  /*  80 uint32_t[group_count] */
    uint64_t users_offset;                      /*  88 struct elevate_snapshot_user[] */
    uint64_t members_offset;                    /*  96 struct elevate_snapshot_member[] */
    uint64_t user_index_offset;                 /* 104 uint32_t[member_count] */
    uint64_t strings_offset;                    /* 112 NUL-terminated names */
    uint64_t strings_size;                      /* 120 bytes; last byte is NUL */
};                                              /* 128 */

/* Sorted by name (bytewise, shorter first on a common prefix: strcmp
 * order), names unique. A group's members are members[member_first ..
 * member_first + member_count), and the groups' ranges tile the member
 * table in group order. */
struct elevate_snapshot_group {
    uint32_t name_off; /* into strings; strings[name_off + name_len] == 0 */
    uint32_t name_len; /* 1..ELEVATE_SNAPSHOT_MAX_NAME */
    uint32_t gid;      /* unique; never 0 or (gid_t)-1 */
    uint32_t member_first;
    uint32_t member_count;
    uint32_t reserved; /* 0 */
};

/* Every user that is a member of at least one group, sorted by name, names
 * unique. Its memberships are user_index[entry_first .. entry_first +
 * entry_count), and the users' ranges tile the user index in user order. */
struct elevate_snapshot_user {
    uint32_t name_off;
    uint32_t name_len;
    uint32_t entry_first;
    uint32_t entry_count; /* 1..group_count */
};

/* One (user, group) membership. Within a group, by strictly increasing user
 * index (= by user name). */
struct elevate_snapshot_member {
    int64_t end;    /* epoch seconds; a member is active while now < end */
    uint32_t user;  /* index into users */
    uint32_t group; /* index of its group in the group table */
};

/* gid_index[i]: index of the group with the i-th smallest gid (gids strictly
 * increasing). user_index[k]: index of a member record; within each user's
 * range, those members belong to that user and have strictly increasing
 * group indexes. */

/* The checksum: over the whole file as 64-bit words in file order, the
 * checksum word (bytes 16..23) taken as 0:
 *     h = ELEVATE_SNAPSHOT_CHECKSUM_SEED
 *     for each word w:  h = (rotl64(h, 27) ^ w) * ELEVATE_SNAPSHOT_CHECKSUM_MULT
 * Every step is a bijection of h, so any single changed word always changes
 * the result; 8 bytes per multiply keeps a 3 MB snapshot under a
 * millisecond. It detects damage; it is not a signature (only root can
 * write the file in the first place). */
#define ELEVATE_SNAPSHOT_CHECKSUM_SEED 0xcbf29ce484222325ull
#define ELEVATE_SNAPSHOT_CHECKSUM_MULT 0x9e3779b97f4a7c15ull
#define ELEVATE_SNAPSHOT_CHECKSUM_WORD 2 /* offsetof(checksum) / 8 */

/* `words` must be 8-aligned; `count` = file_size / 8. */
static inline uint64_t elevate_snapshot_checksum(const uint64_t* words, size_t count) {
    uint64_t h = ELEVATE_SNAPSHOT_CHECKSUM_SEED;
    for (size_t i = 0; i < count; ++i) {
        uint64_t w = i == ELEVATE_SNAPSHOT_CHECKSUM_WORD ? 0 : words[i];
        h = ((h << 27) | (h >> 37)) ^ w;
        h *= ELEVATE_SNAPSHOT_CHECKSUM_MULT;
    }
    return h;
}

#ifdef __cplusplus
static_assert(sizeof(struct elevate_snapshot_header) == 128, "snapshot header layout");
static_assert(offsetof(struct elevate_snapshot_header, checksum) == 8 * ELEVATE_SNAPSHOT_CHECKSUM_WORD,
              "checksum word");
static_assert(sizeof(struct elevate_snapshot_group) == 24, "snapshot group layout");
static_assert(sizeof(struct elevate_snapshot_user) == 16, "snapshot user layout");
static_assert(sizeof(struct elevate_snapshot_member) == 16, "snapshot member layout");
#else
_Static_assert(sizeof(struct elevate_snapshot_header) == 128, "snapshot header layout");
_Static_assert(sizeof(struct elevate_snapshot_group) == 24, "snapshot group layout");
_Static_assert(sizeof(struct elevate_snapshot_user) == 16, "snapshot user layout");
_Static_assert(sizeof(struct elevate_snapshot_member) == 16, "snapshot member layout");
#endif

#endif /* ELEVATE_SNAPSHOT_FORMAT_H */
