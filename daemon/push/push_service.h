// The daemon's push challenges: each one started by push_start, followed by
// the provider until the user answers, and consumed by the verify/activate
// (or approve) request that presents it. Requests that wait for a push are
// parked (server/dispatch.h) and resumed here when the answer arrives.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "daemon/push/provider.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace elevate::push {

struct ChallengeState {
    enum class Phase { Sending, Waiting, Answered, Failed };
    PushChallenge challenge;
    Phase phase = Phase::Sending;
    std::string device;
    std::string error;         // Failed: why
    bool unavailable = false;  // Failed: the provider could not be reached
    PushAnswer answer;         // Answered
};

class PushService {
public:
    explicit PushService(const base::Clock& clock) : clock_(clock) {}
    ~PushService();

    // At start-up and on reload: builds the configured provider. Challenges
    // in flight keep the provider they were sent with until they end.
    base::Result<void> configure(const config::PushConfig& config, HttpClient& http);
    bool enabled() const { return provider_ != nullptr; }
    const char* provider_name() const { return provider_ ? provider_->name() : "none"; }

    // Called with a parked request's ticket when its challenge moved on.
    void set_resume(std::function<void(uint64_t)> fn) { resume_ = std::move(fn); }
    // Called once for every answer (fraud locks, audit), whoever waits.
    void set_on_answer(std::function<void(const ChallengeState&)> fn) { on_answer_ = std::move(fn); }

    // Sends a challenge (its id is assigned here); `ticket` is resumed when
    // the provider has it (or refused it).
    std::string start(PushChallenge c, uint64_t ticket);
    // The challenge push_start parked under `ticket`, if any.
    const ChallengeState* started_by(uint64_t ticket) const;
    const ChallengeState* find(const std::string& id) const;
    // Parks `ticket` until challenge `id` is answered.
    void wait(const std::string& id, uint64_t ticket);
    // The answer was used: the challenge is gone.
    void consume(std::string id);  // by value: callers pass the id of the entry it erases
    // A parked client went away.
    void abandon(uint64_t ticket);
    // Forgets challenges nobody consumed, a while after they expired.
    void prune();
    size_t size() const { return challenges_.size(); }

private:
    struct Entry {
        ChallengeState state;
        std::shared_ptr<PushProvider> provider;
        uint64_t start_ticket = 0;
        std::vector<uint64_t> waiters;
    };
    void on_sent(const std::string& id, PushSent sent);
    void on_done(const std::string& id, PushAnswer answer);
    void wake(uint64_t ticket) {
        if (ticket && resume_) resume_(ticket);
    }

    const base::Clock& clock_;
    std::shared_ptr<PushProvider> provider_;
    std::unordered_map<std::string, Entry> challenges_;
    std::unordered_map<uint64_t, std::string> by_start_ticket_;
    std::function<void(uint64_t)> resume_;
    std::function<void(const ChallengeState&)> on_answer_;
};

}  // namespace elevate::push
