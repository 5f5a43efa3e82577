// Preloaded into elevated by the exception-boundary test (harness.h,
// throw_in_lookup_env): a passwd lookup of the user named by
// $ELEVATE_TEST_THROW_FOR throws std::bad_alloc inside the daemon's
// request handler, as an allocation failure there would. Every other
// lookup goes to the real getpwnam_r.
#include <dlfcn.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include <new>

extern "C" int getpwnam_r(const char* name, struct passwd* pw, char* buf, size_t size, struct passwd** result) {
    using getpwnam_r_fn = int (*)(const char*, struct passwd*, char*, size_t, struct passwd**);
    static const auto real = reinterpret_cast<getpwnam_r_fn>(dlsym(RTLD_NEXT, "getpwnam_r"));
    if (real == nullptr) abort();
    const char* victim = getenv("ELEVATE_TEST_THROW_FOR");
    if (victim != nullptr && strcmp(name, victim) == 0) throw std::bad_alloc();
    return real(name, pw, buf, size, result);
}
