// What pam_elevate does in each PAM step: options -> PAM items -> one
// request -> converse only for what the daemon asks -> map the answer.
// The module holds no policy; the daemon decides. See docs/PROTOCOL.md
// ("PAM operations") and docs/man/pam_elevate.8 for the return codes.
#pragma once

#include <security/pam_modules.h>

namespace elevate::pam {

enum class Step { Authenticate, Setcred, Account, OpenSession, CloseSession, Chauthtok };

// Runs one step and returns its PAM code. Built without exceptions; every
// failure is a value mapped to a code in one place (pam_code in flow.cpp).
int run_step(pam_handle_t* pamh, Step step, int flags, int argc, const char** argv);

}  // namespace elevate::pam
