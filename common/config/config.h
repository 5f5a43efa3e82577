// The configuration model: what elevated runs with. Loaded from TOML by
// load_config() (loader.cpp); see docs/CONFIG.md for every key.
#pragma once

#include "common/base/result.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
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
    std::vector<std::string> files;  // every file that was read, in order

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
