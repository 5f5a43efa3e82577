// Daemon: owns the configuration, the store and the services, and is what
// request handlers act on. Built once in main(); reload() swaps the
// configuration only when the new one is valid.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "daemon/approvals/approval_service.h"
#include "daemon/audit/audit_log.h"
#include "daemon/auth/verifier.h"
#include "daemon/grants/grant_service.h"
#include "daemon/groups/snapshot_publisher.h"
#include "daemon/notify/notifier.h"
#include "daemon/push/http_client.h"
#include "daemon/push/push_service.h"
#include "daemon/policy/carried_decisions.h"
#include "daemon/policy/engine.h"
#include "daemon/policy/identity.h"
#include "daemon/risk/risk_service.h"
#include "daemon/sessions/session_service.h"
#include "daemon/store/store.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

namespace elevate::daemon {

class Daemon {
public:
    // Opens the store (refusing unsafe permissions) and loads active grants.
    static base::Result<std::unique_ptr<Daemon>> create(config::Config config, std::string config_path,
                                                        const base::Clock& clock);

    const config::Config& config() const { return config_; }
    const base::Clock& clock() const { return clock_; }
    store::Store& store() { return *store_; }
    AuditLog& audit() { return audit_; }
    auth::Verifier& verifier() { return verifier_; }
    grants::GrantService& grants() { return grants_; }
    sessions::SessionService& sessions() { return sessions_; }
    policy::IdentityCache& identity() { return identity_; }
    push::PushService& push() { return push_; }
    approvals::ApprovalService& approvals() { return approvals_; }
    push::HttpClient& http() { return *http_; }
    // The configuration's policy, compiled for deciding (policy/engine.h).
    const policy::CompiledPolicy& policy() const { return *policy_; }

    // A parked request keeps the decision it was parked with: resumed, it
    // continues from there instead of deciding again.
    void park_decision(uint64_t ticket, policy::Decision decision);
    std::optional<policy::Decision> take_decision(uint64_t ticket);
    // Decisions carried between the steps of one PAM transaction.
    policy::CarriedDecisions& carried() { return carried_; }
    risk::RiskService& risk() { return risk_; }

    // Parked requests (server/dispatch.h): how services wake them, and what
    // happens when their client goes away.
    void set_resume(std::function<void(uint64_t)> fn);
    void abandoned(uint64_t ticket);

    // Sends a notification event (when [notify] is configured); never blocks.
    void notify(const std::string& type, const store::Grant* grant, const store::Request* request,
                const std::string& actor, const std::string& detail);

    // SIGHUP: re-read the configuration; on error keep the old one.
    void reload();

    // Periodic work: expire grants whose end time has passed, finish
    // session terminations, prune used time-steps.
    void on_timer();
    // How long until on_timer() next has work (milliseconds from now).
    std::optional<int64_t> next_timer_ms() const;

    // End of a round of requests, before any reply is sent: publishes the
    // group snapshot once if grants changed (however many did), and writes
    // the round's audit records. A client that got an answer can rely on
    // both.
    void before_replies();
    // After the round's replies are sent: housekeeping that may block on
    // the disk (WAL checkpoint, at most once a second).
    void after_replies();

private:
    Daemon(config::Config config, std::string config_path, const base::Clock& clock,
           std::unique_ptr<store::Store> store, std::unique_ptr<push::HttpClient> http);

    config::Config config_;
    std::string config_path_;
    const base::Clock& clock_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<push::HttpClient> http_;  // before its users: destroyed after them
    std::unique_ptr<policy::CompiledPolicy> policy_;
    std::unordered_map<uint64_t, policy::Decision> parked_decisions_;
    policy::CarriedDecisions carried_;
    AuditLog audit_;
    auth::Verifier verifier_;
    grants::GrantService grants_;
    sessions::SessionService sessions_;
    groups::SnapshotPublisher snapshot_;
    policy::IdentityCache identity_;
    push::PushService push_;
    approvals::ApprovalService approvals_;
    notify::Notifier notifier_;
    risk::RiskService risk_;
    int64_t next_risk_prune_ = 0;
    int64_t next_checkpoint_ = 0;
    int64_t next_push_prune_ = 0;

    void publish_snapshot();
    bool snapshot_dirty_ = false;

    void on_grant_end(const store::Grant& g);
    void on_push_answer(const push::ChallengeState& s);
    void on_request_expired(const store::Request& r);
    void on_risk_change(const std::string& user, config::RiskLevel from, config::RiskLevel to, const std::string& why);
};

}  // namespace elevate::daemon
