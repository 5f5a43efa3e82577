#include "daemon/push/push_service.h"

#include "daemon/core/log.h"
#include "daemon/push/text.h"
#include "daemon/store/store.h"

#include <algorithm>

namespace elevate::push {

namespace {
// An answered challenge nobody came back for is kept this long past its
// expiry (the client may be slow to ask), then forgotten.
constexpr int64_t kKeepAnsweredSeconds = 120;

// "push 1a2b3c4d for alice (role db-admin)", for the daemon's log.
std::string log_name(const PushChallenge& c) {
    return "push " + c.id.substr(0, 8) + " for " + provider_text(c.user) +
           (c.role.empty() ? "" : " (role " + provider_text(c.role) + ")");
}
}  // namespace

PushService::~PushService() {
    for (auto& [id, e] : challenges_)
        if (e.provider) e.provider->cancel(id);
}

base::Result<void> PushService::configure(const config::PushConfig& config, HttpClient& http) {
    auto made = make_provider(config, http, clock_);
    if (!made) return std::move(made).error();
    provider_ = std::shared_ptr<PushProvider>(std::move(*made));
    return {};
}

std::string PushService::start(PushChallenge c, uint64_t ticket) {
    c.id = store::new_grant_id();
    const std::string id = c.id;
    Entry& e = challenges_[id];
    e.state.challenge = std::move(c);
    e.provider = provider_;
    e.start_ticket = ticket;
    if (ticket) by_start_ticket_[ticket] = id;
    if (!e.provider) {
        on_sent(id, PushSent{false, {}, "push is not configured", false});
        return id;
    }
    e.provider->start(
        e.state.challenge, [this, id](PushSent sent) { on_sent(id, std::move(sent)); },
        [this, id](PushAnswer answer) { on_done(id, std::move(answer)); });
    return id;
}

void PushService::on_sent(const std::string& id, PushSent sent) {
    auto it = challenges_.find(id);
    if (it == challenges_.end()) return;
    Entry& e = it->second;
    if (sent.ok) {
        e.state.phase = ChallengeState::Phase::Waiting;
        e.state.device = sent.device.empty() ? "your device" : sent.device;
    } else {
        e.state.phase = ChallengeState::Phase::Failed;
        e.state.error = sent.error;
        e.state.unavailable = sent.unavailable;
        // Provider texts are printable already; never a secret (provider.h).
        daemon::log_warning(log_name(e.state.challenge) + " not sent" +
                            (e.provider ? std::string(" by ") + e.provider->name() : std::string()) + ": " +
                            sent.error);
    }
    wake(e.start_ticket);
}

void PushService::on_done(const std::string& id, PushAnswer answer) {
    auto it = challenges_.find(id);
    if (it == challenges_.end()) return;
    Entry& e = it->second;
    e.state.phase = ChallengeState::Phase::Answered;
    e.state.answer = std::move(answer);
    if (const PushAnswer& a = e.state.answer; a.outcome != PushOutcome::Approved) {
        const std::string line = log_name(e.state.challenge) + " on " + e.state.device + ": " +
                                 push_outcome_name(a.outcome) + (a.detail.empty() ? "" : " (" + a.detail + ")");
        if (a.outcome == PushOutcome::Failed) {
            daemon::log_warning(line);
        } else {
            daemon::log_notice(line);
        }
    }
    if (on_answer_) on_answer_(e.state);
    std::vector<uint64_t> waiters;
    waiters.swap(e.waiters);
    for (uint64_t t : waiters) wake(t);
}

const ChallengeState* PushService::started_by(uint64_t ticket) const {
    auto t = by_start_ticket_.find(ticket);
    if (t == by_start_ticket_.end()) return nullptr;
    return find(t->second);
}

const ChallengeState* PushService::find(const std::string& id) const {
    auto it = challenges_.find(id);
    return it == challenges_.end() ? nullptr : &it->second.state;
}

void PushService::wait(const std::string& id, uint64_t ticket) {
    auto it = challenges_.find(id);
    if (it == challenges_.end() || ticket == 0) return;
    auto& w = it->second.waiters;
    if (std::find(w.begin(), w.end(), ticket) == w.end()) w.push_back(ticket);
}

void PushService::consume(std::string id) {
    auto it = challenges_.find(id);
    if (it == challenges_.end()) return;
    if (it->second.provider && it->second.state.phase != ChallengeState::Phase::Answered)
        it->second.provider->cancel(id);
    if (it->second.start_ticket) by_start_ticket_.erase(it->second.start_ticket);
    challenges_.erase(it);
}

void PushService::abandon(uint64_t ticket) {
    if (auto t = by_start_ticket_.find(ticket); t != by_start_ticket_.end()) {
        // push_start's client left before learning the challenge id: nobody
        // can ever present it, so stop bothering the phone.
        std::string id = t->second;
        consume(id);
        return;
    }
    for (auto& [id, e] : challenges_) std::erase(e.waiters, ticket);
}

void PushService::prune() {
    const int64_t now = clock_.now();
    std::vector<std::string> old;
    for (const auto& [id, e] : challenges_)
        if (e.state.challenge.expires + kKeepAnsweredSeconds < now && e.waiters.empty()) old.push_back(id);
    for (const auto& id : old) consume(id);
}

}  // namespace elevate::push
