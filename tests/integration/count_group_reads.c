/* Preloaded into elevated by tests (harness.h, group_read_counter_env):
 * appends a line with the user's name to $ELEVATE_TEST_GROUP_READS for
 * every completed getgrouplist() call, i.e. every read of the group
 * database for a user, so a test can count them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*getgrouplist_fn)(const char*, gid_t, gid_t*, int*);

int getgrouplist(const char* user, gid_t group, gid_t* groups, int* ngroups) {
    getgrouplist_fn real = (getgrouplist_fn)dlsym(RTLD_NEXT, "getgrouplist");
    if (real == NULL) abort();
    int rc = real(user, group, groups, ngroups);
    const char* path = getenv("ELEVATE_TEST_GROUP_READS");
    if (rc >= 0 && path != NULL) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
            size_t n = strlen(user);
            char line[300];
            if (n > sizeof line - 2) n = sizeof line - 2;
            memcpy(line, user, n);
            line[n] = '\n';
            (void)!write(fd, line, n + 1);
            close(fd);
        }
    }
    return rc;
}
