// Packing snapshot groups into what glibc hands an NSS module: a struct
// group whose strings live in the caller's buffer (getgr*_r), and the gid
// array of initgroups_dyn. Size first, then copy: nothing is written when
// the buffer is too small, so glibc can retry with a larger one.
#pragma once

#include "common/snapshot/reader.h"

#include <grp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

namespace elevate::nss {

// Bytes pack_group needs for `g` at `now` with a buffer starting at
// `buffer` (the member pointer array is aligned inside it).
size_t packed_size(const snapshot::View& view, const snapshot::GroupRef& g, int64_t now, const char* buffer);

// Fills *gr with g's name, gid, password "*" and its members active at
// `now` (in name order), strings and pointers in `buffer`. Returns 0, or
// ERANGE when `buflen` is too small: then neither *gr nor the buffer has
// been touched.
int pack_group(const snapshot::View& view, const snapshot::GroupRef& g, int64_t now, struct group* gr, char* buffer,
               size_t buflen);

// The initgroups_dyn contract: appends to (*groupsp)[*start...] the gid of
// every group in which `user` is active at `now`, except `skip` (the
// primary group, already listed), growing the array with realloc (doubling,
// never beyond `limit` when limit > 0; at the limit it stops quietly).
// Returns the number of gids added, or -1 with *err = ENOMEM when realloc
// failed (what was added so far stays).
long append_groups(const snapshot::View& view, const char* user, gid_t skip, int64_t now, long* start, long* size,
                   gid_t** groupsp, long limit, int* err);

}  // namespace elevate::nss
