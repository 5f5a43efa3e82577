#include "daemon/auth/verifier.h"

#include "daemon/auth/totp.h"

namespace elevate::auth {

const char* outcome_name(VerifyOutcome o) {
    switch (o) {
        case VerifyOutcome::Accepted:
            return "accepted";
        case VerifyOutcome::Wrong:
            return "wrong code";
        case VerifyOutcome::Replayed:
            return "code already used";
        case VerifyOutcome::Older:
            return "code older than one already used";
        case VerifyOutcome::Locked:
            return "locked out";
        case VerifyOutcome::NotEnrolled:
            return "not enrolled";
    }
    return "unknown";
}

namespace {
std::optional<config::TotpAlgorithm> parse_algorithm(const std::string& name) {
    if (name == "sha1") return config::TotpAlgorithm::Sha1;
    if (name == "sha256") return config::TotpAlgorithm::Sha256;
    if (name == "sha512") return config::TotpAlgorithm::Sha512;
    return std::nullopt;
}
}  // namespace

base::Result<int64_t> Verifier::locked_until(const std::string& user) {
    auto state = store_.failure_state(user);
    if (!state) return std::move(state).error();
    return state->locked_until > clock_.now() ? state->locked_until : 0;
}

base::Result<VerifyResult> Verifier::record_failure(const std::string& user, VerifyOutcome why,
                                                    const config::LockoutConfig& lockout) {
    const int64_t now = clock_.now();
    auto state = store_.failure_state(user);
    if (!state) return std::move(state).error();
    store::FailureState s = *state;
    // Failures older than the window are forgotten; an expired lockout
    // starts a fresh count.
    if (s.failures == 0 || now - s.first_failure > lockout.window || (s.locked_until && s.locked_until <= now)) {
        s.failures = 0;
        s.first_failure = now;
        s.locked_until = 0;
    }
    s.failures += 1;
    VerifyResult result{why, 0, s.failures, {}};
    if (s.failures >= lockout.max_failures) {
        s.locked_until = now + lockout.duration;
        result.outcome = VerifyOutcome::Locked;
        result.locked_until = s.locked_until;
    }
    if (auto w = store_.set_failure_state(user, s); !w) return std::move(w).error();
    return result;
}

base::Result<VerifyResult> Verifier::verify(const std::string& user, std::string_view code,
                                            const config::TotpConfig& totp, const config::LockoutConfig& lockout) {
    const int64_t now = clock_.now();
    auto state = store_.failure_state(user);
    if (!state) return std::move(state).error();
    if (state->locked_until > now) return VerifyResult{VerifyOutcome::Locked, state->locked_until, state->failures, {}};

    auto factors = store_.factors_for_user(user);
    if (!factors) return std::move(factors).error();

    bool any_totp = false;
    std::optional<int64_t> matched_step;
    const store::Factor* matched = nullptr;
    for (const auto& f : *factors) {
        if (f.kind != "totp") continue;
        auto algorithm = parse_algorithm(f.algorithm);
        if (!algorithm) continue;
        any_totp = true;
        TotpParams params{*algorithm, f.digits, f.period};
        if (auto step = totp_match(f.secret, params, code, now, totp.drift_steps); step && !matched) {
            matched_step = step;
            matched = &f;
        }
    }
    if (!any_totp) return VerifyResult{VerifyOutcome::NotEnrolled, 0, 0, {}};
    if (!matched) return record_failure(user, VerifyOutcome::Wrong, lockout);

    // Each factor keeps its own high-water step (in its own period).
    auto claimed = store_.claim_totp_step(matched->id, *matched_step);
    if (!claimed) return std::move(claimed).error();
    if (*claimed == store::StepClaim::Replayed) return record_failure(user, VerifyOutcome::Replayed, lockout);
    if (*claimed == store::StepClaim::Older) return record_failure(user, VerifyOutcome::Older, lockout);

    if (state->failures != 0) {
        if (auto c = store_.clear_failures(user); !c) return std::move(c).error();
    }
    return VerifyResult{VerifyOutcome::Accepted, 0, 0, matched->label};
}

}  // namespace elevate::auth
