// The PAM entry points and nothing else: each hands its arguments to the
// flow (flow.cpp), which maps every outcome to a PAM code. Only these six
// symbols are exported (pam_elevate.map); tests/pam/abi_test.cpp checks it.
#include "pam_module/flow.h"

#include <security/pam_modules.h>

using elevate::pam::run_step;
using elevate::pam::Step;

extern "C" {

PAM_EXTERN __attribute__((visibility("default"))) int pam_sm_authenticate(pam_handle_t* pamh, int flags, int argc,
                                                                          const char** argv) {
    return run_step(pamh, Step::Authenticate, flags, argc, argv);
}

PAM_EXTERN __attribute__((visibility("default"))) int pam_sm_setcred(pam_handle_t* pamh, int flags, int argc,
                                                                     const char** argv) {
    return run_step(pamh, Step::Setcred, flags, argc, argv);
}

PAM_EXTERN __attribute__((visibility("default"))) int pam_sm_acct_mgmt(pam_handle_t* pamh, int flags, int argc,
                                                                       const char** argv) {
    return run_step(pamh, Step::Account, flags, argc, argv);
}

PAM_EXTERN __attribute__((visibility("default"))) int pam_sm_open_session(pam_handle_t* pamh, int flags, int argc,
                                                                          const char** argv) {
    return run_step(pamh, Step::OpenSession, flags, argc, argv);
}

PAM_EXTERN __attribute__((visibility("default"))) int pam_sm_close_session(pam_handle_t* pamh, int flags, int argc,
                                                                           const char** argv) {
    return run_step(pamh, Step::CloseSession, flags, argc, argv);
}

PAM_EXTERN __attribute__((visibility("default"))) int pam_sm_chauthtok(pam_handle_t* pamh, int flags, int argc,
                                                                       const char** argv) {
    return run_step(pamh, Step::Chauthtok, flags, argc, argv);
}

}  // extern "C"
