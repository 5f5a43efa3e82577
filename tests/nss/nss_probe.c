/* Probe for the set-uid test: dlopens the module given as argv[1], looks
 * up group argv[2] and exits with 10 + the nss_status. A C program, so a
 * set-uid copy of it needs nothing but libc. */
#include <dlfcn.h>
#include <grp.h>
#include <nss.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    void* handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return 3;
    enum nss_status (*getgrnam_r)(const char*, struct group*, char*, size_t, int*) =
        (enum nss_status(*)(const char*, struct group*, char*, size_t, int*))dlsym(handle, "_nss_elevate_getgrnam_r");
    if (getgrnam_r == NULL) return 4;
    static char buf[65536];
    struct group gr;
    int err = 0;
    return 10 + (int)getgrnam_r(argv[2], &gr, buf, sizeof buf, &err);
}
