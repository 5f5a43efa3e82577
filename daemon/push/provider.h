// A push provider sends a challenge to the user's device and reports the
// answer: approve, deny, "this wasn't me" (fraud), or nothing in time. The
// daemon talks to providers only through this interface (webhook.cpp,
// duo.cpp); PushService (push_service.h) owns the challenges.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "daemon/push/http_client.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace elevate::push {

struct PushChallenge {
    std::string id;  // UUIDv4, new for every attempt
    std::string user;
    std::string role;  // empty: a plain second factor, no grant
    std::string reason;
    std::string service;  // PAM service, or "elevatectl"
    std::string remote_host;
    std::string tty;
    std::string host;  // this machine's name
    int64_t created = 0;
    int64_t expires = 0;  // epoch seconds; no answer by then is a timeout
    // Epoch seconds: while the push is still being sent, a rate-limited
    // provider is not retried past this (the caller of push_start is
    // waiting); 0: until expires. See rate_limit.h.
    int64_t send_by = 0;
};

enum class PushOutcome {
    Approved,
    Denied,   // the user said no
    Fraud,    // the user said "this wasn't me"
    Timeout,  // no answer before expires
    Failed,   // the provider could not be used (see unavailable/detail)
};

const char* push_outcome_name(PushOutcome o);

// What start() learned from the provider.
struct PushSent {
    bool ok = false;
    std::string device;        // label the user will recognise ("iPhone (+XX XXX XX12)"), when ok
    std::string error;         // why not, for the user and the log, when !ok
    bool unavailable = false;  // provider unreachable / TLS / 5xx (vs. a definite refusal)
};

struct PushAnswer {
    PushOutcome outcome = PushOutcome::Failed;
    std::string detail;        // for the user and the log; never a secret
    bool unavailable = false;  // with Failed: the provider could not be reached
};

class PushProvider {
public:
    using Sent = std::function<void(PushSent)>;
    using Done = std::function<void(PushAnswer)>;

    virtual ~PushProvider() = default;
    virtual const char* name() const = 0;

    // Sends `c`. `sent` runs once: with the device label, or an error (and
    // then `done` never runs). After a successful send, `done` runs once
    // with the answer, at the latest shortly after c.expires (Timeout).
    // Both run on the main thread, from HttpClient::run_completions().
    virtual void start(const PushChallenge& c, Sent sent, Done done) = 0;
    // Stops following a challenge; neither callback runs afterwards.
    virtual void cancel(const std::string& challenge_id) = 0;
};

// The provider configured in `push` (nullptr for PushProviderKind::None).
base::Result<std::unique_ptr<PushProvider>> make_provider(const config::PushConfig& push, HttpClient& http,
                                                          const base::Clock& clock);

}  // namespace elevate::push
