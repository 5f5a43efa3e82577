// The policy engine under load (issue 13, "bench"): a realistic [policy]
// with many rules that every request walks, and risk history for many
// users, for bench_daemon_throughput --policy-rules and bench_pam
// --policy-rules. Both benchmarks compare a daemon with this state against
// one without it, in the same run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace elevate::bench {

// What the generated rules are about.
struct PolicyLoad {
    int rules = 200;                    // [[policy.rule]] entries, the last one allows
    std::string role;                   // the benchmark's role: most rules are about it
    std::vector<std::string> services;  // the PAM services the benchmark's requests name
    std::vector<std::string> users;     // synthetic names for `users` conditions (never the requester)
    int64_t now = 0;                    // epoch seconds: windows that must not hold are days away from it
};

// [policy.networks.*], [policy.schedules.*] and `rules` [[policy.rule]]
// entries. For a request of `role` from a root-peer source outside
// 10.0.0.0/8, 172.16.0.0/12, 198.51.100.0/24 and 2001:db8::/32 (local,
// unknown or e.g. 203.0.113.7), by a user who is in neither adm nor staff,
// has no risk and names one of `services`, all rules but the last fail, and
// most of them only at their last condition: users, services, networks
// (lists of CIDRs), not_networks, schedules and not_schedules in several
// zones, risk, source_risk and groups. The last rule allows.
std::string policy_section(const PolicyLoad& load);

// `n` synthetic user names, elvb-risk-0 .. elvb-risk-(n-1) (no Unix users).
std::vector<std::string> risk_user_names(int n);

struct RiskSeedResult {
    int users = 0;
    int events = 0;
    int low = 0, medium = 0, high = 0;  // level each user starts at (before decay)
    double seconds = 0;
};

// Writes risk history for `users` into the state in `state_dir` before the
// daemon starts, through the project's store (store::Store::record_risk, one
// FULL-sync transaction per user, the call RiskService makes per detection):
// 1-4 events per user within the last three days (wrong-code, new-network,
// push-denied, replayed-code at their default weights), the user's score and
// time. The daemon loads it at start-up (RiskService::load).
RiskSeedResult seed_risk_history(const std::string& state_dir, const std::vector<std::string>& users, int64_t now);

// What Op::Explain answers for `payload` (user, role, service, ...): the
// outcome, the deciding rule, how many rules it considered, the user's risk.
struct ExplainSummary {
    std::string outcome, rule, risk_level;
    int considered = 0;
};
ExplainSummary explain(const std::string& socket, const std::vector<uint8_t>& payload);

}  // namespace elevate::bench
