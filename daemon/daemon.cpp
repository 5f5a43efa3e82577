#include "daemon/daemon.h"

#include "common/base/parse.h"
#include "daemon/core/log.h"

#include <nlohmann/json.hpp>

namespace elevate::daemon {

Daemon::Daemon(config::Config config, std::string config_path, const base::Clock& clock,
               std::unique_ptr<store::Store> store, std::unique_ptr<push::HttpClient> http)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      clock_(clock),
      store_(std::move(store)),
      http_(std::move(http)),
      audit_(*store_, config_.daemon.audit_journal),
      verifier_(*store_, clock_),
      grants_(*store_, audit_, clock_),
      sessions_(*store_, audit_, clock_),
      snapshot_(*store_, clock_),
      push_(clock_),
      approvals_(*store_, grants_, clock_),
      notifier_(*http_, clock_),
      risk_(*store_, clock_, audit_) {
    grants_.set_on_end([this](const store::Grant& g) { on_grant_end(g); });
    grants_.set_on_change([this] { snapshot_dirty_ = true; });
    push_.set_on_answer([this](const push::ChallengeState& s) { on_push_answer(s); });
    approvals_.set_on_expire([this](const store::Request& r) { on_request_expired(r); });
    risk_.on_level_change([this](const std::string& user, config::RiskLevel from, config::RiskLevel to,
                                 const std::string& why) { on_risk_change(user, from, to, why); });
}

void Daemon::set_resume(std::function<void(uint64_t)> fn) {
    push_.set_resume(fn);
    approvals_.set_resume(std::move(fn));
}

void Daemon::park_decision(uint64_t ticket, policy::Decision decision) {
    parked_decisions_.insert_or_assign(ticket, std::move(decision));
}

std::optional<policy::Decision> Daemon::take_decision(uint64_t ticket) {
    auto it = parked_decisions_.find(ticket);
    if (it == parked_decisions_.end()) return std::nullopt;
    policy::Decision d = std::move(it->second);
    parked_decisions_.erase(it);
    return d;
}

void Daemon::abandoned(uint64_t ticket) {
    parked_decisions_.erase(ticket);
    push_.abandon(ticket);
    approvals_.abandon(ticket);
}

void Daemon::notify(const std::string& type, const store::Grant* grant, const store::Request* request,
                    const std::string& actor, const std::string& detail) {
    nlohmann::json fields = nlohmann::json::object();
    if (!actor.empty()) fields["actor"] = actor;
    if (!detail.empty()) fields["detail"] = detail;
    if (grant) {
        fields["user"] = grant->user;
        fields["role"] = grant->role;
        fields["grant"] = {{"id", grant->id},         {"start", grant->start},
                           {"end", grant->end},       {"state", store::grant_state_name(grant->state)},
                           {"reason", grant->reason}, {"factor", grant->factor},
                           {"source", grant->source}};
    }
    if (request) {
        fields["user"] = request->user;
        fields["role"] = request->role;
        fields["request"] = {{"id", request->id},
                             {"state", store::request_state_name(request->state)},
                             {"reason", request->reason},
                             {"duration", request->duration},
                             {"created", request->created},
                             {"expires", request->expires},
                             {"approvers", request->approvers},
                             {"approvals", request->approved_by},
                             {"needed", request->needed}};
    }
    notifier_.send(type, fields);
}

void Daemon::on_push_answer(const push::ChallengeState& s) {
    const push::PushChallenge& c = s.challenge;
    const std::string source =
        c.service + (c.remote_host.empty() ? "" : " from " + c.remote_host) + (c.tty.empty() ? "" : " on " + c.tty);
    const char* outcome = push::push_outcome_name(s.answer.outcome);
    std::string detail = std::string("push ") + c.id.substr(0, 8) + " on " + s.device + ": " + outcome;
    if (!s.answer.detail.empty()) detail += " (" + s.answer.detail + ")";
    const bool approved = s.answer.outcome == push::PushOutcome::Approved;
    audit_.record(
        {clock_.now(), "push-answer", c.user, c.user, c.role, "", source, approved ? "ok" : "denied", detail});
    // The challenge's remote host may have been claimed by the user's own
    // client, so it is evidence in the audit above, not a risk source.
    if (s.answer.outcome == push::PushOutcome::Denied) {
        if (auto r = risk_.push_denied(c.user, {}); !r) log_error("cannot record a denied push: " + r.error().message);
    }
    if (s.answer.outcome != push::PushOutcome::Fraud) return;
    if (auto r = risk_.fraud(c.user, {}); !r) log_error("cannot record a fraud report: " + r.error().message);
    // "This wasn't me": someone else holds the password. Nothing more is
    // granted to this user until an administrator has looked.
    if (auto r = store_->set_lock({c.user, clock_.now(), "push " + c.id.substr(0, 8) + " reported as fraud"}); !r)
        log_error("cannot lock " + c.user + " after a fraud report: " + r.error().message);
    log_warning("push for " + c.user + " reported as fraud on " + s.device + "; elevation locked");
    audit_.record({clock_.now(), "fraud", c.user, c.user, c.role, "", source, "denied",
                   "push reported as fraud; elevation locked until an administrator unlocks " + c.user});
    nlohmann::json fields = {{"user", c.user}, {"role", c.role},       {"device", s.device},
                             {"host", c.host}, {"service", c.service}, {"remote_host", c.remote_host}};
    notifier_.send("push.fraud", fields);
}

void Daemon::on_request_expired(const store::Request& r) {
    audit_.record({clock_.now(), "request-expire", "expiry", r.user, r.role, "", r.source, "denied",
                   "request " + std::to_string(r.id) + " expired without enough approvals (" +
                       std::to_string(r.approved_by.size()) + " of " + std::to_string(r.needed) + ")"});
    notify("request.expired", nullptr, &r, "expiry", "");
}

void Daemon::on_risk_change(const std::string& user, config::RiskLevel from, config::RiskLevel to,
                            const std::string& why) {
    // The rules judged this user at the old level.
    carried_.forget_user(user);
    const std::string text = std::string(config::risk_level_name(from)) + " -> " + config::risk_level_name(to);
    (to > from ? log_warning : log_info)("risk of " + user + ": " + text + " (" + why + ")");
    audit_.record({clock_.now(), "risk-level", "risk", user, "", "", "risk", "ok", text + ": " + why});
    nlohmann::json fields = {
        {"user", user},
        {"risk", {{"from", config::risk_level_name(from)}, {"to", config::risk_level_name(to)}, {"why", why}}}};
    notifier_.send(to > from ? "risk.raised" : "risk.dismissed", fields);
}

void Daemon::before_replies() {
    if (snapshot_dirty_) publish_snapshot();
    audit_.flush();
}

void Daemon::publish_snapshot() {
    snapshot_dirty_ = false;
    // A failure is loud but not fatal: NSS readers keep the previous
    // snapshot and enforce its end times; PAM asks the daemon directly.
    if (auto r = snapshot_.publish(config_); !r) log_error("cannot write group snapshot: " + r.error().message);
}

void Daemon::on_grant_end(const store::Grant& g) {
    const char* type = g.state == store::GrantState::Expired   ? "grant.expired"
                       : g.state == store::GrantState::Revoked ? "grant.revoked"
                                                               : "grant.dropped";
    notify(type, &g, nullptr, g.ended_by, "");
    const config::Role* role = config_.find_role(g.role);
    if (!role || role->on_expiry != config::OnExpiry::Terminate) return;
    const char* why = g.state == store::GrantState::Expired   ? "expired"
                      : g.state == store::GrantState::Revoked ? "was revoked"
                                                              : "was dropped";
    sessions_.terminate_for(g, why);
}

base::Result<std::unique_ptr<Daemon>> Daemon::create(config::Config config, std::string config_path,
                                                     const base::Clock& clock) {
    auto policy = policy::CompiledPolicy::compile(config);
    if (!policy) return std::move(policy).error();
    auto store = store::Store::open(config.daemon.state_dir);
    if (!store) return std::move(store).error();
    auto http = push::HttpClient::create();
    if (!http) return std::move(http).error();
    std::unique_ptr<Daemon> d(
        new Daemon(std::move(config), std::move(config_path), clock, std::move(*store), std::move(*http)));
    d->policy_ = std::make_unique<policy::CompiledPolicy>(std::move(*policy));
    if (auto r = d->audit_.open_file(d->config_.daemon.audit_file); !r) return std::move(r).error();
    auto loaded = d->grants_.load();
    if (!loaded) return std::move(loaded).error();
    log_info("loaded " + std::to_string(*loaded) + " active grant(s)");
    auto pending = d->approvals_.load();
    if (!pending) return std::move(pending).error();
    if (auto r = d->push_.configure(d->config_.push, *d->http_); !r) return std::move(r).error();
    d->notifier_.configure(d->config_.notify);
    d->risk_.configure(d->config_.risk);
    d->identity_.set_membership_ttl(d->config_.daemon.group_cache_seconds * 1000);
    if (auto r = d->risk_.load(); !r) return std::move(r).error();
    if (auto r = d->snapshot_.publish(d->config_); !r) return std::move(r).error();
    return d;
}

void Daemon::reload() {
    // First, and whatever the new configuration says: logrotate renames the
    // audit file and sends SIGHUP (packaging/logrotate/elevate).
    if (auto r = audit_.reopen(); !r) log_error("audit file: " + r.error().message);
    auto fresh = config::load_config(config_path_);
    if (!fresh) {
        log_error("reload failed, keeping the current configuration: " + fresh.error().message);
        audit_.record({clock_.now(), "reload", "root", "", "", "", "SIGHUP", "error", fresh.error().message});
        return;
    }
    auto policy = policy::CompiledPolicy::compile(*fresh);
    if (!policy) {
        log_error("reload failed, keeping the current configuration: " + policy.error().message);
        audit_.record({clock_.now(), "reload", "root", "", "", "", "SIGHUP", "error", policy.error().message});
        return;
    }
    // Paths that need a restart are kept; say so rather than half-apply.
    const auto& old_d = config_.daemon;
    const auto& new_d = fresh->daemon;
    if (new_d.socket_path != old_d.socket_path || new_d.state_dir != old_d.state_dir)
        log_warning("socket and state_dir changes take effect at the next restart");
    fresh->daemon.socket_path = old_d.socket_path;
    fresh->daemon.state_dir = old_d.state_dir;
    if (new_d.audit_file != old_d.audit_file) {
        if (auto r = audit_.open_file(new_d.audit_file); !r) log_error("audit file: " + r.error().message);
    }
    audit_.set_journal(new_d.audit_journal);
    if (auto r = push_.configure(fresh->push, *http_); !r) {
        log_error("reload failed, keeping the current configuration: " + r.error().message);
        audit_.record({clock_.now(), "reload", "root", "", "", "", "SIGHUP", "error", r.error().message});
        return;
    }
    notifier_.configure(fresh->notify);
    risk_.configure(fresh->risk);
    config_ = std::move(*fresh);
    policy_ = std::make_unique<policy::CompiledPolicy>(std::move(*policy));
    carried_.clear();   // decided under the old rules
    identity_.clear();  // the admin group may have changed, and so may users
    identity_.set_membership_ttl(config_.daemon.group_cache_seconds * 1000);
    publish_snapshot();  // roles may have been added, removed or renumbered
    for (const std::string& w : config_.warnings) log_warning(w);
    log_info("configuration reloaded (" + std::to_string(config_.roles.size()) + " role(s))");
    audit_.record({clock_.now(), "reload", "root", "", "", "", "SIGHUP", "ok", "configuration reloaded"});
}

void Daemon::on_timer() {
    const int64_t now = clock_.now();
    grants_.expire_due();
    sessions_.tick();
    if (auto due = approvals_.next_expiry(); due && *due <= now) approvals_.expire_due();
    if (now >= next_push_prune_) {
        // Unclaimed answers are kept two minutes past expiry; a sweep a
        // minute is enough, not one per turn of the event loop.
        push_.prune();
        next_push_prune_ = now + 60;
    }
    if (now >= next_risk_prune_) {
        // Old events and forgotten sources: hourly is plenty.
        if (auto r = risk_.prune(); !r) log_warning("pruning risk: " + r.error().message);
        next_risk_prune_ = now + 3600;
    }
}

void Daemon::after_replies() {
    const int64_t now = clock_.now();
    if (now < next_checkpoint_) return;
    // Checkpoints run here, once the round's replies are out, rather than
    // inside some unlucky request's commit or ahead of a waiting reply.
    if (auto r = store_->checkpoint(); !r) log_warning(r.error().message);
    next_checkpoint_ = now + 1;
}

std::optional<int64_t> Daemon::next_timer_ms() const {
    std::optional<int64_t> next = grants_.next_due_ms();
    const int64_t now = clock_.now();
    for (auto at : {sessions_.next_deadline(), approvals_.next_expiry()}) {
        if (!at) continue;
        const int64_t in_ms = std::max<int64_t>(*at - now, 0) * 1000;
        if (!next || in_ms < *next) next = in_ms;
    }
    return next;
}

}  // namespace elevate::daemon
