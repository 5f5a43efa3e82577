// Second-factor verification with the rules that make TOTP safe: time only
// moves forward per factor (RFC 6238 section 5.2: a code is accepted only for
// a later time-step than the last one accepted, and that step is claimed
// durably before success is reported), consecutive failures lock the user
// out, and the code is compared in constant time (totp_match).
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "daemon/store/store.h"

#include <string>
#include <string_view>

namespace elevate::auth {

enum class VerifyOutcome {
    Accepted,
    Wrong,     // no factor matched
    Replayed,  // matched the time-step accepted last
    Older,     // matched a time-step before the one accepted last
    Locked,    // locked out now (possibly by this very failure)
    NotEnrolled,
};

const char* outcome_name(VerifyOutcome o);

struct VerifyResult {
    VerifyOutcome outcome = VerifyOutcome::Wrong;
    int64_t locked_until = 0;  // set when outcome == Locked
    int failures = 0;          // consecutive failures after this attempt
    std::string factor_label;  // which factor matched
};

class Verifier {
public:
    Verifier(store::Store& store, const base::Clock& clock) : store_(store), clock_(clock) {}

    base::Result<VerifyResult> verify(const std::string& user, std::string_view code, const config::TotpConfig& totp,
                                      const config::LockoutConfig& lockout);

    // Current lockout end for a user (0 if not locked).
    base::Result<int64_t> locked_until(const std::string& user);

private:
    base::Result<VerifyResult> record_failure(const std::string& user, VerifyOutcome why,
                                              const config::LockoutConfig& lockout);
    store::Store& store_;
    const base::Clock& clock_;
};

}  // namespace elevate::auth
