// The configuration model: what elevated runs with. Loaded from TOML by
// load_config() (loader.cpp); see docs/CONFIG.md for every key.
#pragma once

#include "common/base/result.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::config {

enum class Factor { Totp, Push, Any };
enum class TotpAlgorithm { Sha1, Sha256, Sha512 };
enum class OnExpiry { Keep, Terminate };
enum class PushProviderKind { None, Webhook, Duo };

// The spelling used in the config file (and in messages): "totp", "sha256", "keep".
const char* factor_name(Factor f);
const char* algorithm_name(TotpAlgorithm a);
const char* on_expiry_name(OnExpiry e);
const char* push_provider_name(PushProviderKind p);

struct DaemonConfig {
    std::string socket_path = ELEVATE_DEFAULT_SOCKET;
    std::string state_dir = ELEVATE_DEFAULT_STATEDIR;
    // Group name whose members (besides uid 0) may run admin operations.
    std::string admin_group = "elevate-admins";
    // Append-only JSON-lines audit file; empty disables the file sink.
    std::string audit_file = "/var/log/elevate/audit.jsonl";
    bool audit_journal = true;
    // Where the NSS group snapshot is written (issue 4).
    std::string snapshot_path = "/run/elevate/groups.snapshot";
    int64_t client_timeout_ms = 5000;  // per-connection read/write deadline
    int max_clients = 1024;
    // Connections one non-root uid may hold at once; root (the PAM callers
    // sshd and sudo) is not limited, and non-root peers together may hold at
    // most three quarters of max_clients.
    int max_clients_per_user = 16;
    // How long a user's group list, read for a decision, is reused (0: read
    // for every decision). A change to /etc/group or /etc/passwd is seen
    // at once whatever this says.
    int64_t group_cache_seconds = 5;
};

struct TotpConfig {
    int digits = 6;       // 6..8
    int64_t period = 30;  // seconds, 15..300
    int drift_steps = 1;  // steps accepted either side of now, 0..10
    TotpAlgorithm algorithm = TotpAlgorithm::Sha1;
    std::string issuer = "elevate";
};

struct LockoutConfig {
    int max_failures = 5;    // consecutive failures before lockout, >= 1
    int64_t window = 900;    // failures older than this are forgotten (s)
    int64_t duration = 900;  // how long a lockout lasts (s)
};

// How the daemon reaches one HTTPS service (push provider, notifications).
// TLS verification is always on; there is no key to turn it off.
struct HttpEndpoint {
    std::string url;         // https://host[:port]/base (webhook, notify)
    std::string ca_file;     // PEM bundle; empty: the system CA store
    std::string pinned_key;  // libcurl CURLOPT_PINNEDPUBLICKEY ("sha256//BASE64[;sha256//...]")
    std::string proxy;       // empty: libcurl's default (the *_proxy environment)
    int64_t connect_timeout_ms = 5000;
    int64_t request_timeout_ms = 10000;  // whole transfer
};

// [push.webhook]: an organisation's own approval service (docs/PUSH-WEBHOOK.md).
struct WebhookConfig {
    HttpEndpoint endpoint;
    std::string secret;  // HMAC-SHA256 key shared with the service, >= 32 bytes
    int64_t poll_interval_ms = 1000;
};

// [push.duo]: Duo Auth API v2.
struct DuoConfig {
    std::string api_host;  // api-XXXXXXXX.duosecurity.com[:port]
    std::string integration_key;
    std::string secret_key;
    HttpEndpoint endpoint;  // url unused; TLS, proxy and timeouts
    int64_t poll_interval_ms = 1000;
};

struct PushConfig {
    PushProviderKind provider = PushProviderKind::None;
    int64_t timeout = 60;  // seconds the user has to answer
    std::string hostname;  // shown in challenges; empty: gethostname()
    WebhookConfig webhook;
    DuoConfig duo;
};

// [notify]: signed webhook events for chat and ticketing; disabled without a url.
struct NotifyConfig {
    HttpEndpoint endpoint;
    std::string secret;  // HMAC-SHA256 key, >= 32 bytes
    int max_attempts = 8;
    int64_t max_backoff_ms = 300000;
};

// A role's approval rule: `count` distinct approvers, each matching one of
// `approvers` ("group:NAME" or "user:NAME"), within `timeout` seconds.
struct Approval {
    std::vector<std::string> approvers;
    int count = 1;
    int64_t timeout = 7200;
};

// A user's or a source network's risk level (docs/RISK.md), lowest first so
// that "at or above" is a comparison.
enum class RiskLevel { None = 0, Low = 1, Medium = 2, High = 3 };
const char* risk_level_name(RiskLevel r);  // "none", "low", "medium", "high"
std::optional<RiskLevel> parse_risk_level(std::string_view s);

// [policy.networks.NAME]: a named list of CIDRs, used by rules' `networks`
// and `not_networks`. The loader has checked every entry (base/cidr.h).
struct NetworkList {
    std::string name;
    std::vector<std::string> cidrs;  // "10.20.0.0/16", "2001:db8::/48", "192.0.2.7"
};

// A schedule's day as the config file spells it: 0 = "sun" .. 6 = "sat".
const char* weekday_name(int day);

// [policy.schedules.NAME]: days and hours in a named IANA time zone.
// The loader has checked the zone exists (policy/schedule.h compiles it).
struct ScheduleWindow {
    std::string name;
    std::vector<int> days;  // 0 = Sunday .. 6 = Saturday; empty: every day
    int start_minute = 0;   // minutes after local midnight, 0..1439
    int end_minute = 1440;  // 1..1440; end <= start: the window crosses midnight
    std::string zone = "UTC";
};

enum class RuleMode { Enforce, ReportOnly };
const char* rule_mode_name(RuleMode m);  // "enforce", "report-only"

// One [[policy.rule]]: conditions (all that are set must hold) and controls.
// docs/POLICY.md gives the meaning of each; the loader has checked names.
struct PolicyRule {
    std::string name;
    std::string file;  // where it was defined, for messages
    int line = 0;
    RuleMode mode = RuleMode::Enforce;

    // Conditions. Empty / unset: any.
    std::vector<std::string> users;
    std::vector<std::string> groups;  // Unix groups (never role groups)
    std::vector<std::string> roles;
    std::vector<std::string> services;      // PAM service names, "elevatectl"
    std::vector<std::string> networks;      // list names, CIDRs, "local", "unknown"
    std::vector<std::string> not_networks;  // the source is in none of these
    std::string schedule;                   // the time is inside this named window
    std::string not_schedule;               // ... outside this one
    std::optional<RiskLevel> risk;          // user risk at or above
    std::optional<RiskLevel> source_risk;   // source network risk at or above
    std::string has_grant;                  // the user holds an active grant of this role
    std::optional<bool> tty;                // the request has a terminal (true) or not

    // Controls. `allow`: the request goes on under the role's own
    // requirements. The others add to them; `deny` ends it.
    bool allow = false;
    std::optional<std::string> deny;  // the message the user sees
    std::optional<Factor> require_factor;
    bool every_time = false;    // with require_factor: ask even inside a grant
    std::string require_grant;  // a role whose active grant is required
    std::optional<Approval> require_approval;
    std::optional<int64_t> max_duration;  // seconds; caps activations
};

enum class PolicyDefault { Allow, Deny };
const char* policy_default_name(PolicyDefault d);  // "allow", "deny"

struct PolicyConfig {
    // What happens when no rule matches: today's behaviour (allow: each
    // role's own factor, approval and eligibility) unless set to "deny".
    PolicyDefault default_control = PolicyDefault::Allow;
    std::string default_deny_message = "denied by policy: no rule allows this request";
    // Built-in risk rules, evaluated before the configured ones
    // (docs/RISK.md): high user risk denies elevation and sshd, medium asks
    // for a factor at every sudo even inside a grant, a high-risk source is
    // denied. `risk_rules = false` leaves risk to the configured rules.
    bool risk_rules = true;
    std::vector<NetworkList> networks;
    std::vector<ScheduleWindow> schedules;
    std::vector<PolicyRule> rules;  // in file order: first match wins

    const NetworkList* find_network(const std::string& name) const;
    const ScheduleWindow* find_schedule(const std::string& name) const;
};

// [risk]: attack detection (docs/RISK.md). Weights are points added to the
// user's (or the source network's) score; scores decay by half every
// `half_life` seconds; a level is reached at its threshold.
struct RiskWeights {
    int wrong_code = 10;     // a wrong verification code
    int replayed_code = 40;  // a correct code presented again (phished and reused)
    int push_denied = 20;    // the user denied a push
    int fraud = 60;          // "this wasn't me" (it also locks the user until unlocked)
    int spray = 50;          // source: many users failing from one network
    int new_network = 15;    // first sign-in from a network never seen for the user
    int unusual_hour = 15;   // sign-in at an hour far outside the user's history
    int ineligible = 10;     // activation of a role the user is not eligible for
    int break_glass = 40;    // emergency access bypassed elevate
};

struct RiskConfig {
    RiskWeights weights;
    int low = 10;  // thresholds: score at or above
    int medium = 40;
    int high = 80;
    int64_t half_life = 86400;       // seconds
    int64_t retention = 30 * 86400;  // events older than this are deleted
    int v4_prefix = 24;              // sources and "seen networks" are aggregated by prefix
    int v6_prefix = 64;
    int spray_users = 5;             // distinct users failing from one network ...
    int64_t spray_window = 600;      // ... within this many seconds: a spray
    int hour_history = 20;           // sign-ins needed before "unusual hour" is judged
    int hour_margin = 2;             // hours away from every hour seen before: unusual
    int source_attempts = 30;        // attempts per source network ...
    int64_t source_window = 60;      // ... per this many seconds, then throttled
    int max_sources = 65536;         // bound on tracked source networks (oldest dropped)
    int max_events_per_user = 1000;  // bound on kept events per user (oldest dropped)
};

struct Role {
    std::string name;
    std::string group;  // Unix group name served by NSS
    gid_t gid = 0;
    std::vector<std::string> eligible_users;
    std::vector<std::string> eligible_groups;
    int64_t default_duration = 3600;
    int64_t max_duration = 3600 * 8;
    Factor factor = Factor::Totp;
    bool require_reason = false;
    OnExpiry on_expiry = OnExpiry::Keep;
    std::optional<Approval> approval;
};

struct Config {
    DaemonConfig daemon;
    TotpConfig totp;
    LockoutConfig lockout;
    PushConfig push;
    NotifyConfig notify;
    std::vector<Role> roles;
    PolicyConfig policy;
    RiskConfig risk;
    std::vector<std::string> files;  // every file that was read, in order

    // Things that are legal but probably not meant ("file:line: rule 'x' is
    // shadowed by rule 'y'"); --check-config prints them, start-up logs them.
    std::vector<std::string> warnings;

    const Role* find_role(const std::string& name) const;
};

struct LoadOptions {
    // Overrides the system group file for the gid clash check (tests).
    std::optional<std::string> system_group_file;
};

// Reads `path` and then every `<path>.d/*.conf` in byte order (later wins).
// Errors name file:line and the key.
base::Result<Config> load_config(const std::string& path, const LoadOptions& options = {});

}  // namespace elevate::config
