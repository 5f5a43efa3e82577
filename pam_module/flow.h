// What pam_elevate does in each PAM step: options -> PAM items -> one
// request -> converse only for what the daemon asks -> map the answer.
// The module holds no policy; the daemon decides. See docs/PROTOCOL.md
// ("PAM operations", "Push", "Approval requests") and docs/man/pam_elevate.8
// for the return codes. flow.cpp runs the steps and maps verdicts to PAM
// codes; auth.cpp is the auth step; txn.h is what every step shares.
#pragma once

#include <security/pam_modules.h>

namespace elevate::pam {

enum class Step { Authenticate, Setcred, Account, OpenSession, CloseSession, Chauthtok };

// Runs one step and returns its PAM code. Built without exceptions; every
// failure is a value mapped to a code in one place (pam_code in flow.cpp).
int run_step(pam_handle_t* pamh, Step step, int flags, int argc, const char** argv);

}  // namespace elevate::pam
