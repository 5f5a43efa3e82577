// Loads elevate.conf and its drop-ins into a Config (docs/CONFIG.md).
//
// Every value is checked as it is read, so an error names the file and line
// that set it even when a later drop-in overrides other keys; the checks that
// compare roles with each other and with /etc/group run once all files are
// merged. Unknown keys are errors: a typo must never silently fall back to a
// default, because defaults here decide who may become privileged.
//
// toml++ is included here and nowhere else (it is slow to compile).
#include "common/config/config.h"

#include "common/base/cidr.h"
#include "common/base/names.h"
#include "common/base/parse.h"
#include "common/base/text.h"
#include "common/base/unique_fd.h"
#include "common/config/zone.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <iterator>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace elevate::config {
namespace {

using Status = base::Result<void>;

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr size_t kMaxGroupFileBytes = 64 << 20;
constexpr const char* kSystemGroupFile = "/etc/group";
constexpr int64_t kUnlimited = INT64_MAX;

// ---------------------------------------------------------------- messages

// Where a value was set: the file and the line toml++ recorded for it.
struct Origin {
    std::string file;
    uint32_t line = 0;
};

Origin origin_of(const std::string& file, const toml::source_region& source) {
    return Origin{file, source.begin.line};
}

std::string where(const Origin& origin) {
    return origin.file + ":" + std::to_string(origin.line);
}

// Echoes config text in a message, escaped (base::escaped), so a value
// cannot smuggle terminal escapes into a log line.
std::string quoted(std::string_view text) {
    return "'" + base::escaped(text) + "'";
}

base::Error key_error(const Origin& origin, std::string_view key, std::string_view what) {
    return base::make_error(where(origin) + ": key '" + std::string(key) + "': " + std::string(what));
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

template <typename Names>
std::string did_you_mean(std::string_view key, const Names& known) {
    std::string_view best;
    size_t best_distance = 3;  // further than this is not a typo
    for (std::string_view name : known) {
        size_t d = edit_distance(key, name);
        if (d < best_distance) {
            best = name;
            best_distance = d;
        }
    }
    return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

template <typename Names>
base::Error unknown_key(const Origin& origin, std::string_view kind, std::string_view dotted, std::string_view key,
                        const Names& known) {
    return base::make_error(where(origin) + ": unknown " + std::string(kind) + " " + quoted(dotted) +
                            did_you_mean(key, known));
}

// ------------------------------------------------------------ value readers

// A value being read: its file, its dotted key ("role.gid") and its node.
struct Field {
    const std::string& file;
    std::string_view key;
    const toml::node& node;

    base::Error error(std::string_view what) const { return key_error(origin_of(file, node.source()), key, what); }
};

bool has_control_chars(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

Status read_bool(const Field& f, bool& out) {
    const auto* value = f.node.as_boolean();
    if (!value) return f.error("must be a boolean (true or false)");
    out = value->get();
    return {};
}

// Control characters are refused in every string: values end up in paths,
// logs and otpauth URIs, where they only ever mean trouble.
Status read_string(const Field& f, std::string& out, bool allow_empty = false) {
    const auto* value = f.node.as_string();
    if (!value) return f.error("must be a string");
    const std::string& text = value->get();
    if (text.empty() && !allow_empty) return f.error("must not be empty");
    if (has_control_chars(text)) return f.error("must not contain control characters");
    out = text;
    return {};
}

Status read_path(const Field& f, std::string& out, bool allow_empty = false) {
    std::string text;
    if (auto st = read_string(f, text, allow_empty); !st) return st;
    if (!text.empty() && text.front() != '/') return f.error(quoted(text) + " must be an absolute path");
    out = std::move(text);
    return {};
}

template <typename Int>
Status read_int(const Field& f, Int& out, int64_t min, int64_t max) {
    const auto* value = f.node.as_integer();
    if (!value) return f.error("must be an integer");
    int64_t n = value->get();
    if (n < min || n > max) {
        return f.error("must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " +
                       std::to_string(n) + ")");
    }
    out = static_cast<Int>(n);
    return {};
}

// Durations are strings ("45m") so that the unit is always visible; a bare
// integer is refused rather than guessed to be seconds or milliseconds.
Status read_duration(const Field& f, int64_t& out, int64_t min = 1, int64_t max = kUnlimited) {
    const auto* value = f.node.as_string();
    if (!value) return f.error("must be a duration string such as \"30s\" or \"1h\"");
    auto seconds = base::parse_duration(value->get());
    if (!seconds) return f.error(quoted(value->get()) + " is not a duration (examples: 45m, 2h, 1h30m)");
    if (*seconds < min || *seconds > max) {
        return f.error("must be between " + base::format_duration(min) + " and " + base::format_duration(max) +
                       " (got " + base::format_duration(*seconds) + ")");
    }
    out = *seconds;
    return {};
}

// Enumerations are spelt by the same name functions the rest of the code
// prints with, so the file format and messages cannot drift apart.
template <typename E, size_t N>
Status read_choice(const Field& f, E& out, const std::array<E, N>& choices, const char* (*name)(E)) {
    if (const auto* value = f.node.as_string()) {
        for (E choice : choices) {
            if (value->get() == name(choice)) {
                out = choice;
                return {};
            }
        }
    }
    std::string allowed;
    for (size_t i = 0; i < N; ++i) {
        if (i > 0) allowed += i + 1 == N ? " or " : ", ";
        allowed += std::string("\"") + name(choices[i]) + "\"";
    }
    return f.error("must be " + allowed);
}

Status read_role_name(const Field& f, std::string& out, size_t max_length = ELEVATE_MAX_ROLE_NAME) {
    std::string text;
    if (auto st = read_string(f, text); !st) return st;
    if (!base::valid_role_name(text, max_length)) {
        return f.error(quoted(text) + " is not a valid name (1-" + std::to_string(max_length) +
                       " of a-z, 0-9, '_' and '-', starting with a letter)");
    }
    out = std::move(text);
    return {};
}

Status read_name_list(const Field& f, std::vector<std::string>& out) {
    const auto* array = f.node.as_array();
    if (!array) return f.error("must be an array of strings");
    std::vector<std::string> names;
    for (const toml::node& item : *array) {
        Field element{f.file, f.key, item};
        const auto* value = item.as_string();
        if (!value) return element.error("must be an array of strings");
        if (value->get().empty()) return element.error("must not contain empty strings");
        if (!base::valid_account_name(value->get())) {
            return element.error(quoted(value->get()) + " is not a valid name (1-" +
                                 std::to_string(ELEVATE_MAX_ACCOUNT_NAME) + " bytes, no whitespace, ':' or ',')");
        }
        names.push_back(value->get());
    }
    out = std::move(names);
    return {};
}

Status read_gid(const Field& f, gid_t& out) {
    gid_t gid = 0;
    if (auto st = read_int(f, gid, 1000, 4294967294); !st) return st;
    // 65534 is nogroup/nfsnobody: files squashed over NFS carry it.
    if (gid == 65534) return f.error("65534 is reserved (nogroup)");
    out = gid;
    return {};
}

// ------------------------------------------------------ HTTPS and secrets

// Only https: push answers and events travel over networks elevate does not
// control, and a plain-http URL would be a silent downgrade.
Status read_https_url(const Field& f, std::string& out) {
    std::string text;
    if (auto st = read_string(f, text); !st) return st;
    if (!text.starts_with("https://") || text.size() <= 8) {
        return f.error(quoted(text) + " must be an https:// URL");
    }
    if (std::any_of(text.begin(), text.end(), [](unsigned char c) { return c == ' ' || c > 0x7e; })) {
        return f.error(quoted(text) + " must not contain spaces or non-ASCII characters");
    }
    while (text.size() > 8 && text.back() == '/') text.pop_back();
    out = std::move(text);
    return {};
}

// A secret may only sit in a file that nobody but root (or the daemon's own
// user, for tests run unprivileged) can read: the file that set it is
// checked, so a secret in a world-readable elevate.conf is refused and can
// be moved to a 0600 drop-in.
Status check_secret_file(const Field& f) {
    struct stat st {};
    if (::stat(f.file.c_str(), &st) != 0) return f.error("cannot check the permissions of " + f.file);
    const bool owner_ok = st.st_uid == 0 || st.st_uid == ::geteuid();
    const bool group_ok = (st.st_mode & S_IRGRP) == 0 || st.st_gid == 0;
    if (!owner_ok || !group_ok || (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
        return f.error("holds a secret, but " + f.file + " (mode " + mode + ", uid " + std::to_string(st.st_uid) +
                       ") is readable or writable by others; put secrets in a root-owned file with mode 0600 "
                       "(for example a drop-in in elevate.conf.d)");
    }
    return {};
}

Status read_secret(const Field& f, std::string& out, size_t min_length) {
    std::string text;
    if (auto st = read_string(f, text); !st) return st;
    if (text.size() < min_length) {
        return f.error("must be at least " + std::to_string(min_length) +
                       " characters (generate one with: openssl "
                       "rand -hex 32)");
    }
    if (auto st = check_secret_file(f); !st) return st;
    out = std::move(text);
    return {};
}

constexpr size_t kMinHmacSecret = 32;

Status read_ca_file(const Field& f, HttpEndpoint& e) {
    return read_path(f, e.ca_file);
}

Status read_pinned_key(const Field& f, HttpEndpoint& e) {
    std::string text;
    if (auto st = read_string(f, text); !st) return st;
    if (!text.starts_with("sha256//")) return f.error(quoted(text) + " must look like \"sha256//BASE64\"");
    e.pinned_key = std::move(text);
    return {};
}

Status read_proxy(const Field& f, HttpEndpoint& e) {
    return read_string(f, e.proxy);
}

Status read_timeout_ms(const Field& f, int64_t& out_ms, int64_t max_seconds) {
    int64_t seconds = 0;
    if (auto st = read_duration(f, seconds, 1, max_seconds); !st) return st;
    out_ms = seconds * 1000;
    return {};
}

Status read_connect_timeout(const Field& f, HttpEndpoint& e) {
    return read_timeout_ms(f, e.connect_timeout_ms, 60);
}

Status read_request_timeout(const Field& f, HttpEndpoint& e) {
    return read_timeout_ms(f, e.request_timeout_ms, 120);
}

// The same endpoint keys in every section that talks HTTPS.
template <typename T, Status (*Read)(const Field&, HttpEndpoint&)>
Status on_endpoint(const Field& f, T& t) {
    return Read(f, t.endpoint);
}

// "group:NAME" or "user:NAME": whose approval a role needs.
Status read_approvers(const Field& f, std::vector<std::string>& out) {
    const auto* array = f.node.as_array();
    if (!array || array->empty()) return f.error("must be a non-empty array such as [\"group:sec-leads\"]");
    std::vector<std::string> approvers;
    for (const toml::node& item : *array) {
        Field element{f.file, f.key, item};
        const auto* value = item.as_string();
        if (!value) return element.error("must be an array of strings");
        std::string_view text = value->get();
        size_t colon = text.find(':');
        std::string_view kind = text.substr(0, colon);
        if (colon == std::string_view::npos || (kind != "group" && kind != "user") ||
            !base::valid_account_name(text.substr(colon + 1))) {
            return element.error(quoted(text) + " must be \"group:NAME\" or \"user:NAME\"");
        }
        approvers.emplace_back(text);
    }
    out = std::move(approvers);
    return {};
}

// ------------------------------------------------------------- key tables

template <typename T>
struct KeySpec {
    std::string_view name;
    Status (*read)(const Field&, T&);
};

constexpr std::array kAlgorithms = {TotpAlgorithm::Sha1, TotpAlgorithm::Sha256, TotpAlgorithm::Sha512};
constexpr std::array kFactors = {Factor::Totp, Factor::Push, Factor::Any};
constexpr std::array kOnExpiry = {OnExpiry::Keep, OnExpiry::Terminate};

// The per-connection deadline bounds how long one slow client holds a slot.
constexpr int64_t kMinClientTimeoutMs = 100;
constexpr int64_t kMaxClientTimeoutMs = 60'000;

const KeySpec<DaemonConfig> kDaemonKeys[] = {
    {"socket", [](const Field& f, DaemonConfig& d) { return read_path(f, d.socket_path); }},
    {"state_dir", [](const Field& f, DaemonConfig& d) { return read_path(f, d.state_dir); }},
    {"admin_group",
     [](const Field& f, DaemonConfig& d) -> Status {
         std::string name;
         if (auto st = read_string(f, name); !st) return st;
         if (!base::valid_account_name(name)) return f.error(quoted(name) + " is not a valid group name");
         d.admin_group = std::move(name);
         return {};
     }},
    {"audit_file", [](const Field& f, DaemonConfig& d) { return read_path(f, d.audit_file, /*allow_empty=*/true); }},
    {"audit_journal", [](const Field& f, DaemonConfig& d) { return read_bool(f, d.audit_journal); }},
    {"snapshot", [](const Field& f, DaemonConfig& d) { return read_path(f, d.snapshot_path); }},
    {"group_cache",
     [](const Field& f, DaemonConfig& d) -> Status {
         // "0s" turns the cache off (a duration is otherwise at least 1s).
         if (const auto* v = f.node.as_string(); v && (v->get() == "0s" || v->get() == "0")) {
             d.group_cache_seconds = 0;
             return {};
         }
         return read_duration(f, d.group_cache_seconds, 1, 300);
     }},
    {"client_timeout",
     [](const Field& f, DaemonConfig& d) -> Status {
         int64_t seconds = 0;
         if (auto st = read_duration(f, seconds, 1, kMaxClientTimeoutMs / 1000); !st) return st;
         d.client_timeout_ms = seconds * 1000;
         return {};
     }},
    {"client_timeout_ms",
     [](const Field& f, DaemonConfig& d) {
         return read_int(f, d.client_timeout_ms, kMinClientTimeoutMs, kMaxClientTimeoutMs);
     }},
    {"max_clients", [](const Field& f, DaemonConfig& d) { return read_int(f, d.max_clients, 1, 65536); }},
    {"max_clients_per_user",
     [](const Field& f, DaemonConfig& d) { return read_int(f, d.max_clients_per_user, 1, 65536); }},
};

const KeySpec<TotpConfig> kTotpKeys[] = {
    {"digits", [](const Field& f, TotpConfig& t) { return read_int(f, t.digits, 6, 8); }},
    {"period", [](const Field& f, TotpConfig& t) { return read_duration(f, t.period, 15, 300); }},
    {"drift_steps", [](const Field& f, TotpConfig& t) { return read_int(f, t.drift_steps, 0, 10); }},
    {"algorithm",
     [](const Field& f, TotpConfig& t) { return read_choice(f, t.algorithm, kAlgorithms, algorithm_name); }},
    {"issuer", [](const Field& f, TotpConfig& t) { return read_string(f, t.issuer); }},
};

const KeySpec<LockoutConfig> kLockoutKeys[] = {
    {"max_failures", [](const Field& f, LockoutConfig& l) { return read_int(f, l.max_failures, 1, 100); }},
    {"window", [](const Field& f, LockoutConfig& l) { return read_duration(f, l.window); }},
    {"duration", [](const Field& f, LockoutConfig& l) { return read_duration(f, l.duration); }},
};

Status read_approval(const Field& f, std::optional<Approval>& out);  // after read_keys, below

const KeySpec<Role> kRoleKeys[] = {
    {"name", [](const Field& f, Role& r) { return read_role_name(f, r.name); }},
    {"group", [](const Field& f, Role& r) { return read_role_name(f, r.group); }},
    {"gid", [](const Field& f, Role& r) { return read_gid(f, r.gid); }},
    {"eligible_users", [](const Field& f, Role& r) { return read_name_list(f, r.eligible_users); }},
    {"eligible_groups", [](const Field& f, Role& r) { return read_name_list(f, r.eligible_groups); }},
    {"default_duration", [](const Field& f, Role& r) { return read_duration(f, r.default_duration); }},
    {"max_duration", [](const Field& f, Role& r) { return read_duration(f, r.max_duration); }},
    {"factor", [](const Field& f, Role& r) { return read_choice(f, r.factor, kFactors, factor_name); }},
    {"require_reason", [](const Field& f, Role& r) { return read_bool(f, r.require_reason); }},
    {"on_expiry", [](const Field& f, Role& r) { return read_choice(f, r.on_expiry, kOnExpiry, on_expiry_name); }},
    {"approval", [](const Field& f, Role& r) { return read_approval(f, r.approval); }},
};

constexpr std::array kPushProviders = {PushProviderKind::None, PushProviderKind::Webhook, PushProviderKind::Duo};

const KeySpec<Approval> kApprovalKeys[] = {
    {"approvers", [](const Field& f, Approval& a) { return read_approvers(f, a.approvers); }},
    {"count", [](const Field& f, Approval& a) { return read_int(f, a.count, 1, 100); }},
    {"timeout", [](const Field& f, Approval& a) { return read_duration(f, a.timeout, 5, 30 * 86400); }},
};

const KeySpec<WebhookConfig> kWebhookKeys[] = {
    {"url", [](const Field& f, WebhookConfig& w) { return read_https_url(f, w.endpoint.url); }},
    {"secret", [](const Field& f, WebhookConfig& w) { return read_secret(f, w.secret, kMinHmacSecret); }},
    {"poll_interval", [](const Field& f, WebhookConfig& w) { return read_timeout_ms(f, w.poll_interval_ms, 30); }},
    {"ca_file", on_endpoint<WebhookConfig, read_ca_file>},
    {"pinned_key", on_endpoint<WebhookConfig, read_pinned_key>},
    {"proxy", on_endpoint<WebhookConfig, read_proxy>},
    {"connect_timeout", on_endpoint<WebhookConfig, read_connect_timeout>},
    {"request_timeout", on_endpoint<WebhookConfig, read_request_timeout>},
};

const KeySpec<DuoConfig> kDuoKeys[] = {
    {"api_host",
     [](const Field& f, DuoConfig& d) -> Status {
         std::string host;
         if (auto st = read_string(f, host); !st) return st;
         if (host.find_first_of("/ @") != std::string::npos)
             return f.error(quoted(host) + " must be a host name such as api-XXXXXXXX.duosecurity.com");
         d.api_host = std::move(host);
         return {};
     }},
    {"integration_key", [](const Field& f, DuoConfig& d) { return read_string(f, d.integration_key); }},
    {"secret_key", [](const Field& f, DuoConfig& d) { return read_secret(f, d.secret_key, 1); }},
    {"poll_interval", [](const Field& f, DuoConfig& d) { return read_timeout_ms(f, d.poll_interval_ms, 30); }},
    {"ca_file", on_endpoint<DuoConfig, read_ca_file>},
    {"pinned_key", on_endpoint<DuoConfig, read_pinned_key>},
    {"proxy", on_endpoint<DuoConfig, read_proxy>},
    {"connect_timeout", on_endpoint<DuoConfig, read_connect_timeout>},
    {"request_timeout", on_endpoint<DuoConfig, read_request_timeout>},
};

const KeySpec<NotifyConfig> kNotifyKeys[] = {
    {"url", [](const Field& f, NotifyConfig& n) { return read_https_url(f, n.endpoint.url); }},
    {"secret", [](const Field& f, NotifyConfig& n) { return read_secret(f, n.secret, kMinHmacSecret); }},
    {"max_attempts", [](const Field& f, NotifyConfig& n) { return read_int(f, n.max_attempts, 1, 100); }},
    {"max_backoff", [](const Field& f, NotifyConfig& n) { return read_timeout_ms(f, n.max_backoff_ms, 86400); }},
    {"ca_file", on_endpoint<NotifyConfig, read_ca_file>},
    {"pinned_key", on_endpoint<NotifyConfig, read_pinned_key>},
    {"proxy", on_endpoint<NotifyConfig, read_proxy>},
    {"connect_timeout", on_endpoint<NotifyConfig, read_connect_timeout>},
    {"request_timeout", on_endpoint<NotifyConfig, read_request_timeout>},
};

constexpr std::array<std::string_view, 8> kSections = {"daemon", "totp", "lockout", "push",
                                                       "notify", "role", "policy",  "risk"};

// Applies every key of `table` to `out`; keys not in `specs` are errors.
template <typename T, size_t N>
Status read_keys(const std::string& file, std::string_view section, const toml::table& table,
                 const KeySpec<T> (&specs)[N], T& out) {
    for (auto&& [key, node] : table) {
        const std::string dotted = std::string(section) + "." + std::string(key.str());
        // A copy: clang 14 (the fuzz build) cannot capture a structured binding.
        const std::string_view name = key.str();
        auto spec =
            std::find_if(std::begin(specs), std::end(specs), [&](const KeySpec<T>& s) { return s.name == name; });
        if (spec == std::end(specs)) {
            std::vector<std::string_view> known;
            for (const auto& s : specs) known.push_back(s.name);
            return unknown_key(origin_of(file, key.source()), "key", dotted, key.str(), known);
        }
        if (auto st = spec->read(Field{file, dotted, node}, out); !st) return st;
    }
    return {};
}

template <typename T, size_t N>
Status read_section(const std::string& file, std::string_view section, const toml::node& node,
                    const KeySpec<T> (&specs)[N], T& out) {
    const auto* table = node.as_table();
    if (!table) {
        return key_error(origin_of(file, node.source()), section, "must be a table ([" + std::string(section) + "])");
    }
    return read_keys(file, section, *table, specs, out);
}

// approval = { approvers = [...], count = N, timeout = "2h" }: a role's
// `approval` and a rule's `require_approval`.
Status read_approval(const Field& f, std::optional<Approval>& out) {
    const auto* table = f.node.as_table();
    if (!table) return f.error("must be a table such as { approvers = [\"group:sec-leads\"], count = 1 }");
    Approval approval;
    if (auto st = read_keys(f.file, f.key, *table, kApprovalKeys, approval); !st) return st;
    if (approval.approvers.empty()) return f.error("needs approvers (for example [\"group:sec-leads\"])");
    out = std::move(approval);
    return {};
}

const KeySpec<PushConfig> kPushKeys[] = {
    {"provider",
     [](const Field& f, PushConfig& p) { return read_choice(f, p.provider, kPushProviders, push_provider_name); }},
    {"timeout", [](const Field& f, PushConfig& p) { return read_duration(f, p.timeout, 10, 300); }},
    {"hostname", [](const Field& f, PushConfig& p) { return read_string(f, p.hostname); }},
    {"webhook", [](const Field& f, PushConfig&) -> Status { return f.error("must be a table ([push.webhook])"); }},
    {"duo", [](const Field& f, PushConfig&) -> Status { return f.error("must be a table ([push.duo])"); }},
};

// [push] with its [push.webhook] and [push.duo] tables.
Status read_push(const std::string& file, const toml::node& node, PushConfig& push) {
    const auto* table = node.as_table();
    if (!table) return key_error(origin_of(file, node.source()), "push", "must be a table ([push])");
    toml::table plain = *table;
    for (const char* sub : {"webhook", "duo"}) {
        const toml::node* nested = table->get(sub);
        if (!nested || !nested->is_table()) continue;
        plain.erase(sub);
        const std::string dotted = std::string("push.") + sub;
        Status st = std::string_view(sub) == "webhook" ? read_section(file, dotted, *nested, kWebhookKeys, push.webhook)
                                                       : read_section(file, dotted, *nested, kDuoKeys, push.duo);
        if (!st) return st;
    }
    return read_keys(file, "push", plain, kPushKeys, push);
}

// Both spellings set the same value; within one file that is a contradiction.
Status check_one_timeout(const std::string& file, const toml::node& daemon) {
    const toml::table& table = *daemon.as_table();
    const toml::node* ms = table.get("client_timeout_ms");
    if (table.contains("client_timeout") && ms) {
        return key_error(origin_of(file, ms->source()), "daemon.client_timeout_ms",
                         "set either client_timeout or client_timeout_ms, not both");
    }
    return {};
}

// ------------------------------------------------------------------- roles

// One [[role]] as read from one file, with the origins that the checks
// across roles (after merging) point their messages at.
struct RoleEntry {
    Role role;
    Origin header;  // the [[role]] line
    Origin name_at;
    Origin gid_at;
    Origin group_at;  // the group key, or the name key when group defaulted
    Origin eligible_groups_at;
};

Status check_durations(const std::string& file, const toml::table& table, const Role& role) {
    if (role.max_duration >= role.default_duration) return {};
    const toml::node* max = table.get("max_duration");
    const toml::node* def = table.get("default_duration");
    if (max) {
        std::string what = "must be >= default_duration (" + base::format_duration(role.default_duration);
        what += def ? ")" : ", the default)";
        return key_error(origin_of(file, max->source()), "role.max_duration", what);
    }
    return key_error(origin_of(file, def->source()), "role.default_duration",
                     "must be <= max_duration (" + base::format_duration(role.max_duration) + ", the default)");
}

base::Result<RoleEntry> read_role(const std::string& file, const toml::node& node) {
    const auto* table = node.as_table();
    if (!table) return key_error(origin_of(file, node.source()), "role", "must be a table ([[role]])");

    RoleEntry entry;
    entry.header = origin_of(file, table->source());
    if (auto st = read_keys(file, "role", *table, kRoleKeys, entry.role); !st) return std::move(st).error();

    const toml::node* name = table->get("name");
    if (!name) return key_error(entry.header, "role.name", "is required");
    const std::string who = "role '" + entry.role.name + "'";
    const toml::node* gid = table->get("gid");
    if (!gid) return key_error(entry.header, "role.gid", "is required (" + who + ")");
    const toml::node* group = table->get("group");
    if (!group) entry.role.group = entry.role.name;

    entry.name_at = origin_of(file, name->source());
    entry.gid_at = origin_of(file, gid->source());
    entry.group_at = origin_of(file, (group ? group : name)->source());
    const toml::node* eligible_groups = table->get("eligible_groups");
    entry.eligible_groups_at = eligible_groups ? origin_of(file, eligible_groups->source()) : entry.header;

    if (auto st = check_durations(file, *table, entry.role); !st) return std::move(st).error();
    // A role nobody may activate is almost certainly a mistake in the list's key.
    if (entry.role.eligible_users.empty() && entry.role.eligible_groups.empty()) {
        const toml::node* users = table->get("eligible_users");
        Origin at = users ? origin_of(file, users->source()) : entry.header;
        return key_error(at, "role.eligible_users", who + " has no eligible_users or eligible_groups");
    }
    return entry;
}

Status read_roles(const std::string& file, const toml::node& node, std::vector<RoleEntry>& out) {
    const auto* array = node.as_array();
    if (!array) {
        return key_error(origin_of(file, node.source()), "role",
                         "must be an array of tables (write [[role]], not [role])");
    }
    for (const toml::node& item : *array) {
        auto entry = read_role(file, item);
        if (!entry) return std::move(entry).error();
        for (const RoleEntry& seen : out) {
            if (seen.role.name == entry->role.name) {
                return key_error(entry->name_at, "role.name",
                                 "duplicate role '" + seen.role.name + "' (first defined at line " +
                                     std::to_string(seen.header.line) + ")");
            }
        }
        out.push_back(std::move(entry).value());
    }
    return {};
}

// A later file naming an existing role replaces it whole: merging fields of
// one role across files would make it hard to see who may elevate.
void merge_roles(std::vector<RoleEntry>& merged, std::vector<RoleEntry> from_file) {
    for (RoleEntry& entry : from_file) {
        auto same = std::find_if(merged.begin(), merged.end(),
                                 [&](const RoleEntry& r) { return r.role.name == entry.role.name; });
        if (same != merged.end()) {
            *same = std::move(entry);
        } else {
            merged.push_back(std::move(entry));
        }
    }
}

// NSS would serve two groups under one gid or one name, and which one a
// program sees would depend on nsswitch.conf order.
Status check_roles_distinct(const std::vector<RoleEntry>& roles) {
    for (size_t i = 0; i < roles.size(); ++i) {
        const Role& a = roles[i].role;
        for (size_t j = 0; j < i; ++j) {
            const Role& b = roles[j].role;
            if (a.gid == b.gid) {
                return key_error(roles[i].gid_at, "role.gid",
                                 "gid " + std::to_string(a.gid) + " is already used by role '" + b.name + "' (" +
                                     where(roles[j].gid_at) + ")");
            }
            if (a.group == b.group) {
                return key_error(roles[i].group_at, "role.group",
                                 "group '" + a.group + "' is already used by role '" + b.name + "' (" +
                                     where(roles[j].group_at) + ")");
            }
        }
    }
    return {};
}

// The role whose NSS group is `group`, if any.
const Role* role_of_group(std::string_view group, const std::vector<RoleEntry>& roles) {
    for (const RoleEntry& entry : roles)
        if (entry.role.group == group) return &entry.role;
    return nullptr;
}

// Approvers must come from standing membership, like eligibility.
Status check_approvers_not_role_groups(const Approval& approval, const Origin& at, std::string_view key,
                                       const std::vector<RoleEntry>& roles) {
    for (const std::string& approver : approval.approvers) {
        if (!approver.starts_with("group:")) continue;
        const Role* other = role_of_group(std::string_view(approver).substr(6), roles);
        if (!other) continue;
        return key_error(at, key,
                         "'" + approver + "' is the group of role '" + other->name +
                             "'; approvers must come from a standing group, not from a grant");
    }
    return {};
}

// Eligibility must come from standing membership: if a role's group could
// make someone eligible for a role, one grant would lead to another.
Status check_eligibility_not_by_role_group(const std::vector<RoleEntry>& roles) {
    for (const RoleEntry& entry : roles) {
        for (const std::string& group : entry.role.eligible_groups) {
            const Role* other = role_of_group(group, roles);
            if (!other) continue;
            return key_error(entry.eligible_groups_at, "role.eligible_groups",
                             "'" + group + "' is the group of role '" + other->name +
                                 "'; eligibility must come from a standing group, not from a grant");
        }
        if (!entry.role.approval) continue;
        if (auto st =
                check_approvers_not_role_groups(*entry.role.approval, entry.header, "role.approval.approvers", roles);
            !st)
            return st;
    }
    return {};
}

// ------------------------------------------------------------------ policy

constexpr std::array kPolicyDefaults = {PolicyDefault::Allow, PolicyDefault::Deny};
constexpr std::array kRuleModes = {RuleMode::Enforce, RuleMode::ReportOnly};
constexpr size_t kMaxPolicyName = 64;

// Names of network lists, schedules and rules: the role-name charset, so a
// list name can never be mistaken for an address ("fe80::1", "10.0.0.1").
Status read_policy_name(const Field& f, std::string& out) {
    return read_role_name(f, out, kMaxPolicyName);
}

// The two network words a rule may use besides list names and CIDRs.
bool is_network_keyword(std::string_view s) {
    return s == "local" || s == "unknown";
}

// An array of strings, each passed to `check` (which may refuse it).
template <typename Check>
Status read_string_list(const Field& f, std::vector<std::string>& out, std::string_view example, Check check) {
    const auto* array = f.node.as_array();
    if (!array || array->empty()) return f.error("must be a non-empty array such as " + std::string(example));
    std::vector<std::string> items;
    for (const toml::node& item : *array) {
        Field element{f.file, f.key, item};
        std::string text;
        if (!item.is_string()) return element.error("must be an array of strings");
        if (auto st = read_string(element, text); !st) return st;
        if (auto st = check(element, text); !st) return st;
        items.push_back(std::move(text));
    }
    out = std::move(items);
    return {};
}

Status check_cidr(const Field& f, const std::string& text) {
    std::string error;
    if (!base::parse_cidr(text, &error)) return f.error(quoted(text) + ": " + error);
    return {};
}

// A rule's network entry: a list name (checked once all files are read),
// "local", "unknown", or a CIDR or address.
Status check_network_entry(const Field& f, const std::string& text) {
    if (is_network_keyword(text) || base::valid_role_name(text, kMaxPolicyName)) return {};
    std::string error;
    if (base::parse_cidr(text, &error)) return {};
    return f.error(quoted(text) + " is not a network list name, \"local\", \"unknown\" or a CIDR (" + error + ")");
}

Status read_risk_condition(const Field& f, std::optional<RiskLevel>& out) {
    const auto* value = f.node.as_string();
    auto level = value ? parse_risk_level(value->get()) : std::nullopt;
    if (!level || *level == RiskLevel::None) return f.error("must be \"low\", \"medium\" or \"high\"");
    out = level;
    return {};
}

const KeySpec<NetworkList> kNetworkKeys[] = {
    {"cidrs",
     [](const Field& f, NetworkList& n) { return read_string_list(f, n.cidrs, "[\"10.20.0.0/16\"]", check_cidr); }},
};

// "mon" .. "sun", each at most once.
Status read_days(const Field& f, ScheduleWindow& w) {
    std::vector<std::string> names;
    auto check = [&](const Field& element, const std::string& text) -> Status {
        for (int d = 0; d < 7; ++d)
            if (text == weekday_name(d)) {
                if (std::find(w.days.begin(), w.days.end(), d) != w.days.end())
                    return element.error(quoted(text) + " is listed twice");
                w.days.push_back(d);
                return {};
            }
        return element.error(quoted(text) + " is not a day (mon, tue, wed, thu, fri, sat or sun)");
    };
    w.days.clear();
    return read_string_list(f, names, "[\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]", check);
}

// "HH:MM" as minutes after midnight; 24:00 only where `end`.
std::optional<int> parse_clock(std::string_view text, bool end) {
    if (text.size() != 5 || text[2] != ':') return std::nullopt;
    auto hours = base::parse_u64_in(text.substr(0, 2), 0, 24);
    auto minutes = base::parse_u64_in(text.substr(3, 2), 0, 59);
    if (!hours || !minutes || (*hours == 24 && (!end || *minutes != 0))) return std::nullopt;
    return static_cast<int>(*hours * 60 + *minutes);
}

// "08:00-18:00"; an end at or before the start crosses midnight
// ("22:00-06:00"), and "-00:00" is the same as "-24:00".
Status read_hours(const Field& f, ScheduleWindow& w) {
    std::string text;
    if (auto st = read_string(f, text); !st) return st;
    const size_t dash = text.find('-');
    auto start = dash == std::string::npos ? std::nullopt : parse_clock(std::string_view(text).substr(0, dash), false);
    auto end = dash == std::string::npos ? std::nullopt : parse_clock(std::string_view(text).substr(dash + 1), true);
    if (!start || !end) return f.error(quoted(text) + " must be \"HH:MM-HH:MM\" (such as \"08:00-18:00\")");
    if (*end == 0) end = 1440;
    if (*start == *end) return f.error(quoted(text) + " is empty (for the whole day write \"00:00-24:00\")");
    w.start_minute = *start;
    w.end_minute = *end;
    return {};
}

const KeySpec<ScheduleWindow> kScheduleKeys[] = {
    {"days", read_days},
    {"hours", read_hours},
    {"zone",
     [](const Field& f, ScheduleWindow& w) -> Status {
         std::string zone;
         if (auto st = read_string(f, zone); !st) return st;
         if (!zone_exists(zone)) return f.error(quoted(zone) + " is not a time zone of the tz database");
         w.zone = std::move(zone);
         return {};
     }},
};

const KeySpec<PolicyRule> kRuleKeys[] = {
    {"name", [](const Field& f, PolicyRule& r) { return read_policy_name(f, r.name); }},
    {"mode", [](const Field& f, PolicyRule& r) { return read_choice(f, r.mode, kRuleModes, rule_mode_name); }},
    {"users", [](const Field& f, PolicyRule& r) { return read_name_list(f, r.users); }},
    {"groups", [](const Field& f, PolicyRule& r) { return read_name_list(f, r.groups); }},
    {"roles", [](const Field& f, PolicyRule& r) { return read_name_list(f, r.roles); }},
    {"services", [](const Field& f, PolicyRule& r) { return read_name_list(f, r.services); }},
    {"networks",
     [](const Field& f, PolicyRule& r) {
         return read_string_list(f, r.networks, "[\"office\", \"10.0.0.0/8\"]", check_network_entry);
     }},
    {"not_networks",
     [](const Field& f, PolicyRule& r) {
         return read_string_list(f, r.not_networks, "[\"office\", \"10.0.0.0/8\"]", check_network_entry);
     }},
    {"schedule", [](const Field& f, PolicyRule& r) { return read_policy_name(f, r.schedule); }},
    {"not_schedule", [](const Field& f, PolicyRule& r) { return read_policy_name(f, r.not_schedule); }},
    {"risk", [](const Field& f, PolicyRule& r) { return read_risk_condition(f, r.risk); }},
    {"source_risk", [](const Field& f, PolicyRule& r) { return read_risk_condition(f, r.source_risk); }},
    {"has_grant", [](const Field& f, PolicyRule& r) { return read_role_name(f, r.has_grant); }},
    {"tty",
     [](const Field& f, PolicyRule& r) -> Status {
         bool tty = false;
         if (auto st = read_bool(f, tty); !st) return st;
         r.tty = tty;
         return {};
     }},
    {"allow",
     [](const Field& f, PolicyRule& r) -> Status {
         if (auto st = read_bool(f, r.allow); !st) return st;
         if (!r.allow) return f.error("must be true (leave it out otherwise)");
         return {};
     }},
    {"deny",
     [](const Field& f, PolicyRule& r) -> Status {
         std::string message;
         if (auto st = read_string(f, message); !st) return st;
         r.deny = std::move(message);
         return {};
     }},
    {"require_factor",
     [](const Field& f, PolicyRule& r) -> Status {
         Factor factor = Factor::Totp;
         if (auto st = read_choice(f, factor, kFactors, factor_name); !st) return st;
         r.require_factor = factor;
         return {};
     }},
    {"every_time", [](const Field& f, PolicyRule& r) { return read_bool(f, r.every_time); }},
    {"require_grant", [](const Field& f, PolicyRule& r) { return read_role_name(f, r.require_grant); }},
    {"require_approval", [](const Field& f, PolicyRule& r) { return read_approval(f, r.require_approval); }},
    {"max_duration",
     [](const Field& f, PolicyRule& r) -> Status {
         int64_t seconds = 0;
         if (auto st = read_duration(f, seconds); !st) return st;
         r.max_duration = seconds;
         return {};
     }},
};

// One [[policy.rule]] with where each of its keys was set, for the checks
// across rules, roles and lists that run once all files are read.
struct RuleEntry {
    PolicyRule rule;
    Origin header;
    std::vector<std::pair<std::string, Origin>> keys;

    Origin at(std::string_view key) const {
        for (const auto& [name, origin] : keys)
            if (name == key) return origin;
        return header;
    }
};

base::Result<RuleEntry> read_rule(const std::string& file, const toml::node& node) {
    const auto* table = node.as_table();
    if (!table) return key_error(origin_of(file, node.source()), "policy.rule", "must be a table ([[policy.rule]])");
    RuleEntry entry;
    entry.header = origin_of(file, table->source());
    if (auto st = read_keys(file, "policy.rule", *table, kRuleKeys, entry.rule); !st) return std::move(st).error();
    for (auto&& [key, value] : *table) entry.keys.emplace_back(key.str(), origin_of(file, value.source()));
    PolicyRule& r = entry.rule;
    r.file = file;
    r.line = static_cast<int>(entry.header.line);

    if (!table->contains("name")) return key_error(entry.header, "policy.rule.name", "is required");
    const std::string who = "rule '" + r.name + "'";
    const bool requires_more = r.require_factor || !r.require_grant.empty() || r.require_approval;
    if (!r.allow && !r.deny && !requires_more && !r.max_duration) {
        return key_error(entry.header, "policy.rule",
                         who +
                             " has no control (allow, deny, require_factor, require_grant, require_approval or "
                             "max_duration)");
    }
    if (r.deny && (r.allow || requires_more || r.max_duration)) {
        return key_error(entry.at("deny"), "policy.rule.deny", who + ": deny combines with no other control");
    }
    if (r.allow && requires_more) {
        return key_error(entry.at("allow"), "policy.rule.allow",
                         who + ": allow combines with none of require_factor, require_grant and require_approval");
    }
    if (r.every_time && !r.require_factor) {
        return key_error(entry.at("every_time"), "policy.rule.every_time", who + ": needs require_factor");
    }
    return entry;
}

// [policy.networks.NAME] and [policy.schedules.NAME]: a later file naming
// an existing list replaces it, as for roles.
template <typename T, size_t N>
Status read_named_tables(const std::string& file, std::string_view section, const toml::node& node,
                         const KeySpec<T> (&specs)[N], const char* required, std::vector<T>& out) {
    const auto* tables = node.as_table();
    if (!tables) {
        return key_error(origin_of(file, node.source()), section,
                         "must be a table ([" + std::string(section) + ".NAME])");
    }
    for (auto&& [key, value] : *tables) {
        const std::string name(key.str());
        const std::string dotted = std::string(section) + "." + name;
        const Origin at = origin_of(file, key.source());
        if (!base::valid_role_name(name, kMaxPolicyName) || is_network_keyword(name)) {
            return key_error(at, section,
                             quoted(name) +
                                 " is not a valid name (1-64 of a-z, 0-9, '_' and '-', starting with a "
                                 "letter; not \"local\" or \"unknown\")");
        }
        const auto* table = value.as_table();
        if (!table) return key_error(at, dotted, "must be a table ([" + dotted + "])");
        T item;
        item.name = name;
        if (auto st = read_keys(file, dotted, *table, specs, item); !st) return st;
        if (required && !table->contains(required)) {
            return key_error(origin_of(file, table->source()), dotted + "." + required, "is required");
        }
        auto same = std::find_if(out.begin(), out.end(), [&](const T& t) { return t.name == name; });
        if (same != out.end()) {
            *same = std::move(item);
        } else {
            out.push_back(std::move(item));
        }
    }
    return {};
}

const KeySpec<PolicyConfig> kPolicyKeys[] = {
    {"default",
     [](const Field& f, PolicyConfig& p) {
         return read_choice(f, p.default_control, kPolicyDefaults, policy_default_name);
     }},
    {"deny_message", [](const Field& f, PolicyConfig& p) { return read_string(f, p.default_deny_message); }},
    {"risk_rules", [](const Field& f, PolicyConfig& p) { return read_bool(f, p.risk_rules); }},
    {"networks",
     [](const Field& f, PolicyConfig& p) {
         return read_named_tables(f.file, "policy.networks", f.node, kNetworkKeys, "cidrs", p.networks);
     }},
    {"schedules",
     [](const Field& f, PolicyConfig& p) {
         return read_named_tables(f.file, "policy.schedules", f.node, kScheduleKeys, nullptr, p.schedules);
     }},
    // Read by read_policy: rules carry origins that PolicyConfig has no room for.
    {"rule",
     [](const Field& f, PolicyConfig&) -> Status {
         if (f.node.is_array()) return {};
         return f.error("must be an array of tables (write [[policy.rule]])");
     }},
};

Status read_policy(const std::string& file, const toml::node& node, PolicyConfig& policy,
                   std::vector<RuleEntry>& rules) {
    const auto* table = node.as_table();
    if (!table) return key_error(origin_of(file, node.source()), "policy", "must be a table ([policy])");
    if (auto st = read_keys(file, "policy", *table, kPolicyKeys, policy); !st) return st;
    if (const toml::node* r = table->get("rule"); r && r->is_array()) {
        for (const toml::node& item : *r->as_array()) {
            auto entry = read_rule(file, item);
            if (!entry) return std::move(entry).error();
            rules.push_back(std::move(entry).value());
        }
    }
    return {};
}

// Whether every request that `b` matches is matched by `a` too: each
// condition of `a` is unset, or `b` sets it at least as narrowly.
bool covers(const PolicyRule& a, const PolicyRule& b) {
    auto subset = [](const std::vector<std::string>& of, const std::vector<std::string>& part) {
        if (of.empty()) return true;
        if (part.empty()) return false;
        return std::all_of(part.begin(), part.end(),
                           [&](const std::string& x) { return std::find(of.begin(), of.end(), x) != of.end(); });
    };
    auto superset = [](const std::vector<std::string>& of, const std::vector<std::string>& whole) {
        return std::all_of(of.begin(), of.end(), [&](const std::string& x) {
            return std::find(whole.begin(), whole.end(), x) != whole.end();
        });
    };
    auto same = [](const auto& x, const auto& y) { return !x || x == y; };
    auto string_same = [](const std::string& x, const std::string& y) { return x.empty() || x == y; };
    auto at_least = [](const std::optional<RiskLevel>& x, const std::optional<RiskLevel>& y) {
        return !x || (y && *y >= *x);
    };
    return subset(a.users, b.users) && subset(a.groups, b.groups) && subset(a.roles, b.roles) &&
           subset(a.services, b.services) && subset(a.networks, b.networks) &&
           superset(a.not_networks, b.not_networks) && string_same(a.schedule, b.schedule) &&
           string_same(a.not_schedule, b.not_schedule) && string_same(a.has_grant, b.has_grant) &&
           at_least(a.risk, b.risk) && at_least(a.source_risk, b.source_risk) && same(a.tty, b.tty);
}

// A report-only rule changes no outcome, so it shadows nothing; and
// report-only rules are not warned about, since the engine evaluates them
// whatever decided before them.
void warn_shadowed(const std::vector<RuleEntry>& rules, std::vector<std::string>& warnings) {
    for (size_t j = 0; j < rules.size(); ++j) {
        const PolicyRule& b = rules[j].rule;
        if (b.mode != RuleMode::Enforce) continue;
        for (size_t i = 0; i < j; ++i) {
            const PolicyRule& a = rules[i].rule;
            if (a.mode != RuleMode::Enforce || !covers(a, b)) continue;
            warnings.push_back(where(rules[j].header) + ": rule '" + b.name + "' can never apply: rule '" + a.name +
                               "' (" + where(rules[i].header) + ") matches every request it does");
            break;
        }
    }
}

// ------------------------------------------------------------------- risk

constexpr int kMaxRiskScore = 1'000'000;

const KeySpec<RiskWeights> kRiskWeightKeys[] = {
    {"wrong_code", [](const Field& f, RiskWeights& w) { return read_int(f, w.wrong_code, 0, 1000); }},
    {"replayed_code", [](const Field& f, RiskWeights& w) { return read_int(f, w.replayed_code, 0, 1000); }},
    {"push_denied", [](const Field& f, RiskWeights& w) { return read_int(f, w.push_denied, 0, 1000); }},
    {"fraud", [](const Field& f, RiskWeights& w) { return read_int(f, w.fraud, 0, 1000); }},
    {"spray", [](const Field& f, RiskWeights& w) { return read_int(f, w.spray, 0, 1000); }},
    {"new_network", [](const Field& f, RiskWeights& w) { return read_int(f, w.new_network, 0, 1000); }},
    {"unusual_hour", [](const Field& f, RiskWeights& w) { return read_int(f, w.unusual_hour, 0, 1000); }},
    {"ineligible", [](const Field& f, RiskWeights& w) { return read_int(f, w.ineligible, 0, 1000); }},
    {"break_glass", [](const Field& f, RiskWeights& w) { return read_int(f, w.break_glass, 0, 1000); }},
};

const KeySpec<RiskConfig> kRiskKeys[] = {
    {"low", [](const Field& f, RiskConfig& r) { return read_int(f, r.low, 1, kMaxRiskScore); }},
    {"medium", [](const Field& f, RiskConfig& r) { return read_int(f, r.medium, 1, kMaxRiskScore); }},
    {"high", [](const Field& f, RiskConfig& r) { return read_int(f, r.high, 1, kMaxRiskScore); }},
    {"half_life", [](const Field& f, RiskConfig& r) { return read_duration(f, r.half_life, 60, 365 * 86400); }},
    {"retention", [](const Field& f, RiskConfig& r) { return read_duration(f, r.retention, 3600, 3650 * 86400); }},
    {"v4_prefix", [](const Field& f, RiskConfig& r) { return read_int(f, r.v4_prefix, 8, 32); }},
    {"v6_prefix", [](const Field& f, RiskConfig& r) { return read_int(f, r.v6_prefix, 16, 128); }},
    {"spray_users", [](const Field& f, RiskConfig& r) { return read_int(f, r.spray_users, 1, 10000); }},
    {"spray_window", [](const Field& f, RiskConfig& r) { return read_duration(f, r.spray_window, 1, 86400); }},
    {"hour_history", [](const Field& f, RiskConfig& r) { return read_int(f, r.hour_history, 1, 100000); }},
    {"hour_margin", [](const Field& f, RiskConfig& r) { return read_int(f, r.hour_margin, 1, 11); }},
    {"source_attempts", [](const Field& f, RiskConfig& r) { return read_int(f, r.source_attempts, 1, 1000000); }},
    {"source_window", [](const Field& f, RiskConfig& r) { return read_duration(f, r.source_window, 1, 86400); }},
    {"max_sources", [](const Field& f, RiskConfig& r) { return read_int(f, r.max_sources, 1, 16777216); }},
    {"max_events_per_user",
     [](const Field& f, RiskConfig& r) { return read_int(f, r.max_events_per_user, 1, 1000000); }},
    {"weights", [](const Field& f,
                   RiskConfig& r) { return read_section(f.file, "risk.weights", f.node, kRiskWeightKeys, r.weights); }},
};

// [risk] with its [risk.weights] table.
Status read_risk(const std::string& file, const toml::node& node, RiskConfig& risk) {
    const auto* table = node.as_table();
    if (!table) return key_error(origin_of(file, node.source()), "risk", "must be a table ([risk])");
    return read_keys(file, "risk", *table, kRiskKeys, risk);
}

// The thresholds order the levels; checked once all files are merged, at
// the last [risk] table read.
Status check_risk_levels(const RiskConfig& risk, const Origin& at) {
    if (risk.medium <= risk.low) {
        return key_error(
            at, "risk.medium",
            "must be above risk.low (" + std::to_string(risk.medium) + " <= " + std::to_string(risk.low) + ")");
    }
    if (risk.high <= risk.medium) {
        return key_error(
            at, "risk.high",
            "must be above risk.medium (" + std::to_string(risk.high) + " <= " + std::to_string(risk.medium) + ")");
    }
    return {};
}

// ------------------------------------------------------------ system files

base::Result<std::string> read_file(const std::string& path, size_t limit) {
    // O_NONBLOCK so a FIFO put in place of the file cannot hang the daemon.
    base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd.ok()) return base::errno_error("cannot read " + path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return base::errno_error("cannot read " + path);
    if (S_ISDIR(st.st_mode)) return base::errno_error("cannot read " + path, EISDIR);
    if (!S_ISREG(st.st_mode)) return base::make_error("cannot read " + path + ": not a regular file");

    std::string text;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return base::errno_error("cannot read " + path);
        if (n == 0) return text;
        if (text.size() + static_cast<size_t>(n) > limit) {
            return base::make_error("cannot read " + path + ": larger than " + std::to_string(limit) + " bytes");
        }
        text.append(buf, static_cast<size_t>(n));
    }
}

// The drop-in directory is optional, but one that exists and cannot be read
// is an error: the skipped drop-in could be the one that removes a role.
base::Result<std::vector<std::string>> list_drop_ins(const std::string& dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), &::closedir);
    if (!handle) {
        if (errno == ENOENT) return std::vector<std::string>{};
        return base::errno_error("cannot read directory " + dir);
    }
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(handle.get())) {
        std::string_view name = entry->d_name;
        if (!name.starts_with('.') && name.ends_with(".conf")) names.emplace_back(name);
    }
    if (errno != 0) return base::errno_error("cannot read directory " + dir);
    std::sort(names.begin(), names.end());  // std::string compares bytes: "C" order whatever the locale

    std::vector<std::string> paths;
    for (const std::string& name : names) {
        std::string path = dir + "/" + name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return base::errno_error("cannot read " + path);
        if (S_ISREG(st.st_mode)) paths.push_back(std::move(path));
    }
    return paths;
}

struct SystemGroup {
    std::string name;
    gid_t gid = 0;
};

// Parsed by hand, never through getgrnam(): NSS would ask our own module as
// well, which serves exactly the role groups being checked.
base::Result<std::vector<SystemGroup>> read_system_groups(const std::string& path) {
    auto text = read_file(path, kMaxGroupFileBytes);
    if (!text) return std::move(text).error();
    std::vector<SystemGroup> groups;
    std::string_view rest = *text;
    while (!rest.empty()) {
        size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
        // name:password:gid:members; '+'/'-' lines are NIS compat entries, not groups.
        if (line.empty() || line[0] == '#' || line[0] == '+' || line[0] == '-') continue;
        size_t name_end = line.find(':');
        size_t gid_begin = name_end == std::string_view::npos ? name_end : line.find(':', name_end + 1);
        if (gid_begin == std::string_view::npos) continue;
        std::string_view gid_text = line.substr(gid_begin + 1);
        gid_text = gid_text.substr(0, gid_text.find(':'));
        auto gid = base::parse_u64_in(gid_text, 0, UINT32_MAX);
        if (!gid) continue;  // glibc skips malformed lines too
        groups.push_back({std::string(line.substr(0, name_end)), static_cast<gid_t>(*gid)});
    }
    return groups;
}

Status check_system_clashes(const std::vector<RoleEntry>& roles, const std::string& group_file) {
    if (roles.empty()) return {};
    auto groups = read_system_groups(group_file);
    if (!groups) return std::move(groups).error();
    for (const RoleEntry& entry : roles) {
        for (const SystemGroup& group : *groups) {
            if (group.gid == entry.role.gid) {
                return key_error(entry.gid_at, "role.gid",
                                 "gid " + std::to_string(group.gid) + " is already used by group " +
                                     quoted(group.name) + " in " + group_file);
            }
            if (group.name == entry.role.group) {
                return key_error(entry.group_at, "role.group",
                                 "group '" + entry.role.group + "' already exists in " + group_file);
            }
        }
    }
    return {};
}

// Whether the group database has `name`. A test supplies its own group file
// (LoadOptions::system_group_file); otherwise getgrnam_r, so that groups
// from LDAP or sssd count too. Role groups are refused before this is
// asked: libnss_elevate would answer for them.
base::Result<bool> group_exists(const std::string& name, const std::optional<std::string>& group_file) {
    if (group_file) {
        auto groups = read_system_groups(*group_file);
        if (!groups) return std::move(groups).error();
        return std::any_of(groups->begin(), groups->end(), [&](const SystemGroup& g) { return g.name == name; });
    }
    std::vector<char> buf(4096);
    for (;;) {
        struct group gr {};
        struct group* found = nullptr;
        const int rc = ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
        if (rc == ERANGE && buf.size() < (1u << 20)) {
            buf.resize(buf.size() * 2);
            continue;
        }
        if (rc != 0 && rc != ENOENT) return base::errno_error("cannot look up group '" + name + "'", rc);
        return found != nullptr;
    }
}

// ----------------------------------------------------------------- loading

struct Merged {
    Config config;
    std::vector<RoleEntry> roles;
    Origin push_at;  // the last [push] / [notify] / [risk] table read
    Origin notify_at;
    Origin risk_at;
    std::vector<RuleEntry> rules;  // every file's, in file order
};

// Names in rules that refer to roles, lists, schedules and groups, checked
// once every file is merged (a drop-in may define what a rule uses).
Status check_policy(const Merged& merged, const LoadOptions& options) {
    const PolicyConfig& policy = merged.config.policy;
    auto is_role = [&](const std::string& name) {
        return std::any_of(merged.roles.begin(), merged.roles.end(),
                           [&](const RoleEntry& r) { return r.role.name == name; });
    };
    for (size_t j = 0; j < merged.rules.size(); ++j) {
        const RuleEntry& entry = merged.rules[j];
        const PolicyRule& r = entry.rule;
        for (size_t i = 0; i < j; ++i) {
            if (merged.rules[i].rule.name != r.name) continue;
            return key_error(
                entry.at("name"), "policy.rule.name",
                "duplicate rule '" + r.name + "' (first defined at " + where(merged.rules[i].header) + ")");
        }
        for (const std::string& role : r.roles)
            if (!is_role(role))
                return key_error(entry.at("roles"), "policy.rule.roles", quoted(role) + " is not a configured role");
        for (const auto& [key, role] : {std::pair{"has_grant", &r.has_grant}, {"require_grant", &r.require_grant}}) {
            if (!role->empty() && !is_role(*role))
                return key_error(entry.at(key), std::string("policy.rule.") + key,
                                 quoted(*role) + " is not a configured role");
        }
        for (const auto& [key, list] : {std::pair{"networks", &r.networks}, {"not_networks", &r.not_networks}}) {
            for (const std::string& name : *list) {
                if (is_network_keyword(name) || !base::valid_role_name(name, kMaxPolicyName)) continue;
                if (!policy.find_network(name))
                    return key_error(entry.at(key), std::string("policy.rule.") + key,
                                     quoted(name) + " is not a network list ([policy.networks." + name + "])");
            }
        }
        for (const auto& [key, name] : {std::pair{"schedule", &r.schedule}, {"not_schedule", &r.not_schedule}}) {
            if (!name->empty() && !policy.find_schedule(*name))
                return key_error(entry.at(key), std::string("policy.rule.") + key,
                                 quoted(*name) + " is not a schedule ([policy.schedules." + *name + "])");
        }
        for (const std::string& group : r.groups) {
            if (const Role* role = role_of_group(group, merged.roles)) {
                return key_error(entry.at("groups"), "policy.rule.groups",
                                 quoted(group) + " is the group of role '" + role->name +
                                     "'; policy must come from a standing group, not from a grant");
            }
            auto exists = group_exists(group, options.system_group_file);
            if (!exists) return std::move(exists).error();
            if (!*exists)
                return key_error(entry.at("groups"), "policy.rule.groups",
                                 "group " + quoted(group) + " does not exist in " +
                                     options.system_group_file.value_or("the group database"));
        }
        if (r.require_approval) {
            if (auto st = check_approvers_not_role_groups(*r.require_approval, entry.at("require_approval"),
                                                          "policy.rule.require_approval.approvers", merged.roles);
                !st)
                return st;
        }
    }
    return check_risk_levels(merged.config.risk, merged.risk_at);
}

// Keys that only make sense together, checked once every file is merged.
Status check_push_and_notify(const Merged& merged) {
    const PushConfig& push = merged.config.push;
    auto missing = [&](const char* key) {
        return key_error(merged.push_at, key,
                         std::string("is required with provider = \"") + push_provider_name(push.provider) + "\"");
    };
    if (push.provider == PushProviderKind::Webhook) {
        if (push.webhook.endpoint.url.empty()) return missing("push.webhook.url");
        if (push.webhook.secret.empty()) return missing("push.webhook.secret");
    } else if (push.provider == PushProviderKind::Duo) {
        if (push.duo.api_host.empty()) return missing("push.duo.api_host");
        if (push.duo.integration_key.empty()) return missing("push.duo.integration_key");
        if (push.duo.secret_key.empty()) return missing("push.duo.secret_key");
    } else {
        for (const RoleEntry& entry : merged.roles) {
            if (entry.role.factor != Factor::Push) continue;
            return key_error(
                entry.header, "role.factor",
                "role '" + entry.role.name + "' needs push, but no push provider is configured ([push] provider)");
        }
    }
    const NotifyConfig& notify = merged.config.notify;
    if (notify.endpoint.url.empty() != notify.secret.empty()) {
        return key_error(
            merged.notify_at, notify.secret.empty() ? "notify.secret" : "notify.url",
            "is required when notify." + std::string(notify.secret.empty() ? "url" : "secret") + " is set");
    }
    return {};
}

base::Result<toml::table> parse_toml(const std::string& file) {
    auto text = read_file(file, kMaxConfigBytes);
    if (!text) return std::move(text).error();
    try {
        return toml::parse(*text, file);
    } catch (const toml::parse_error& e) {
        return base::make_error(where(origin_of(file, e.source())) + ": syntax error: " + std::string(e.description()));
    }
}

Status read_document(const std::string& file, const toml::table& doc, Merged& merged) {
    std::vector<RoleEntry> file_roles;
    for (auto&& [key, node] : doc) {
        const std::string_view name = key.str();
        Status st;
        if (name == "daemon") {
            st = read_section(file, name, node, kDaemonKeys, merged.config.daemon);
            if (st) st = check_one_timeout(file, node);
        } else if (name == "totp") {
            st = read_section(file, name, node, kTotpKeys, merged.config.totp);
        } else if (name == "lockout") {
            st = read_section(file, name, node, kLockoutKeys, merged.config.lockout);
        } else if (name == "push") {
            st = read_push(file, node, merged.config.push);
            merged.push_at = origin_of(file, node.source());
        } else if (name == "notify") {
            st = read_section(file, name, node, kNotifyKeys, merged.config.notify);
            merged.notify_at = origin_of(file, node.source());
        } else if (name == "role") {
            st = read_roles(file, node, file_roles);
        } else if (name == "policy") {
            st = read_policy(file, node, merged.config.policy, merged.rules);
        } else if (name == "risk") {
            st = read_risk(file, node, merged.config.risk);
            merged.risk_at = origin_of(file, node.source());
        } else {
            return unknown_key(origin_of(file, key.source()), node.is_table() ? "section" : "key", name, name,
                               kSections);
        }
        if (!st) return st;
    }
    merge_roles(merged.roles, std::move(file_roles));
    return {};
}

Status load_file(const std::string& file, Merged& merged) {
    auto doc = parse_toml(file);
    if (!doc) return std::move(doc).error();
    if (auto st = read_document(file, *doc, merged); !st) return st;
    merged.config.files.push_back(file);
    return {};
}

base::Result<Config> load(const std::string& path, const LoadOptions& options) {
    Merged merged;
    if (auto st = load_file(path, merged); !st) return std::move(st).error();
    auto drop_ins = list_drop_ins(path + ".d");
    if (!drop_ins) return std::move(drop_ins).error();
    for (const std::string& file : *drop_ins) {
        if (auto st = load_file(file, merged); !st) return std::move(st).error();
    }

    if (auto st = check_roles_distinct(merged.roles); !st) return std::move(st).error();
    if (auto st = check_eligibility_not_by_role_group(merged.roles); !st) return std::move(st).error();
    if (auto st = check_push_and_notify(merged); !st) return std::move(st).error();
    if (auto st = check_system_clashes(merged.roles, options.system_group_file.value_or(kSystemGroupFile)); !st)
        return std::move(st).error();
    if (auto st = check_policy(merged, options); !st) return std::move(st).error();

    warn_shadowed(merged.rules, merged.config.warnings);
    for (RoleEntry& entry : merged.roles) merged.config.roles.push_back(std::move(entry.role));
    for (RuleEntry& entry : merged.rules) merged.config.policy.rules.push_back(std::move(entry.rule));
    return std::move(merged.config);
}

}  // namespace

base::Result<Config> load_config(const std::string& path, const LoadOptions& options) {
    // The one boundary for exceptions: toml++ reports syntax errors by
    // throwing (caught per file above), and allocation can always throw.
    try {
        return load(path, options);
    } catch (const std::exception& e) {
        return base::make_error("cannot load " + path + ": " + e.what());
    }
}

}  // namespace elevate::config
