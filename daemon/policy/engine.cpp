#include "daemon/policy/engine.h"

#include "common/base/parse.h"
#include "common/base/text.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace elevate::policy {

namespace {

// A `networks` entry, resolved at compile time.
struct NetworkMatcher {
    enum class Kind { Cidrs, Local, Unknown } kind = Kind::Cidrs;
    std::string name;  // as written in the rule
    std::vector<base::Cidr> cidrs;
};

struct CompiledRule {
    config::PolicyRule rule;
    // users, services and roles as numbers (CompiledPolicy::Impl::names):
    // every decision tests every rule, and a number compares at once.
    std::vector<uint32_t> user_ids, service_ids, role_ids;
    // Indexes into CompiledPolicy::Impl::networks: many rules name the same
    // list, and a decision tests each list against the source once.
    std::vector<uint32_t> networks;
    std::vector<uint32_t> not_networks;
    const Schedule* schedule = nullptr;
    const Schedule* not_schedule = nullptr;
};

}  // namespace

struct CompiledPolicy::Impl {
    config::PolicyDefault default_control = config::PolicyDefault::Allow;
    std::string default_deny_message;
    std::vector<std::unique_ptr<Schedule>> schedules;
    std::vector<CompiledRule> rules;  // built-in risk rules first
    // Every user, service and role name the rules mention, numbered from 1.
    std::unordered_map<std::string, uint32_t> names;
    // Every distinct `networks` / `not_networks` entry, by its text.
    std::vector<NetworkMatcher> networks;
    std::unordered_map<std::string, uint32_t> network_ids;

    uint32_t id_of(const std::string& name) const {
        auto it = names.find(name);
        return it == names.end() ? 0 : it->second;  // 0: named by no rule
    }
    // The same entry text always resolves to the same matcher.
    std::vector<uint32_t> intern(std::vector<NetworkMatcher> list) {
        std::vector<uint32_t> ids;
        for (NetworkMatcher& m : list) {
            auto [it, added] = network_ids.emplace(m.name, uint32_t(networks.size()));
            if (added) networks.push_back(std::move(m));
            ids.push_back(it->second);
        }
        return ids;
    }
    std::vector<uint32_t> intern(const std::vector<std::string>& list) {
        std::vector<uint32_t> ids;
        for (const std::string& name : list)
            ids.push_back(names.emplace(name, uint32_t(names.size() + 1)).first->second);
        return ids;
    }
};

CompiledPolicy::CompiledPolicy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledPolicy::CompiledPolicy(CompiledPolicy&&) noexcept = default;
CompiledPolicy& CompiledPolicy::operator=(CompiledPolicy&&) noexcept = default;
CompiledPolicy::~CompiledPolicy() = default;

namespace {

base::Result<std::vector<NetworkMatcher>> compile_networks(const config::PolicyConfig& policy,
                                                           const std::vector<std::string>& entries,
                                                           const config::PolicyRule& rule) {
    std::vector<NetworkMatcher> out;
    for (const std::string& entry : entries) {
        NetworkMatcher m;
        m.name = entry;
        if (entry == "local") {
            m.kind = NetworkMatcher::Kind::Local;
        } else if (entry == "unknown") {
            m.kind = NetworkMatcher::Kind::Unknown;
        } else if (const config::NetworkList* list = policy.find_network(entry)) {
            for (const std::string& text : list->cidrs) {
                std::string error;
                auto cidr = base::parse_cidr(text, &error);
                if (!cidr) return base::make_error("policy network '" + list->name + "': " + text + ": " + error);
                m.cidrs.push_back(*cidr);
            }
        } else {
            std::string error;
            auto cidr = base::parse_cidr(entry, &error);
            if (!cidr) return base::make_error("rule '" + rule.name + "': network '" + entry + "': " + error);
            m.cidrs.push_back(*cidr);
        }
        out.push_back(std::move(m));
    }
    return out;
}

// The safe defaults for risk (docs/RISK.md), ahead of the configured rules:
// high user risk blocks elevation (any request for a role) and sshd, a
// high-risk source is blocked, medium risk asks for a factor every time.
std::vector<config::PolicyRule> builtin_risk_rules(const config::Config& config) {
    std::vector<config::PolicyRule> rules;
    rules.reserve(4);  // the references below stay valid
    auto add = [&rules](const char* name) -> config::PolicyRule& {
        rules.emplace_back().name = name;
        return rules.back();
    };
    // Without roles there is nothing to elevate to (and an empty `roles`
    // would match every request).
    if (!config.roles.empty()) {
        config::PolicyRule& elevation = add("builtin:high-risk");
        elevation.risk = config::RiskLevel::High;
        for (const config::Role& role : config.roles) elevation.roles.push_back(role.name);
        elevation.deny = "";  // the message names the user's risk (builtin_deny_message)
    }
    config::PolicyRule& sshd = add("builtin:high-risk-sshd");
    sshd.risk = config::RiskLevel::High;
    sshd.services = {"sshd"};
    sshd.deny = "";
    config::PolicyRule& source = add("builtin:high-risk-source");
    source.source_risk = config::RiskLevel::High;
    source.deny = "";
    config::PolicyRule& medium = add("builtin:medium-risk");
    medium.risk = config::RiskLevel::Medium;
    medium.require_factor = config::Factor::Any;
    medium.every_time = true;
    return rules;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

std::string list_text(const std::vector<std::string>& items) {
    return "[" + base::join(items, ", ") + "]";
}

bool network_matches(const NetworkMatcher& m, const Source& source) {
    switch (m.kind) {
        case NetworkMatcher::Kind::Local:
            return source.kind == Source::Kind::Local;
        case NetworkMatcher::Kind::Unknown:
            return source.kind == Source::Kind::Unknown;
        case NetworkMatcher::Kind::Cidrs:
            break;
    }
    // A host name, local and unknown match no address list.
    if (source.kind != Source::Kind::Remote || !source.ip) return false;
    for (const base::Cidr& c : m.cidrs)
        if (c.contains(*source.ip)) return true;
    return false;
}

// The request's user, service and roles as the rules number them, looked
// up once per decision, and which network entries hold its source, each
// tested once.
struct RequestIds {
    uint32_t user = 0, service = 0;
    std::vector<uint32_t> roles;  // its role, or account's list

    RequestIds(const CompiledPolicy::Impl& p, const RequestContext& ctx)
        : user(p.id_of(ctx.user)),
          service(p.id_of(ctx.service)),
          policy_(p),
          source_(ctx.source),
          in_network_(p.networks.size(), -1) {
        if (!ctx.role.empty()) roles.push_back(p.id_of(ctx.role));
        for (const std::string& role : ctx.roles) roles.push_back(p.id_of(role));
    }

    // The first of `entries` that holds the source, or nullptr.
    const NetworkMatcher* first_network_match(const std::vector<uint32_t>& entries) {
        for (uint32_t id : entries) {
            int8_t& in = in_network_[id];
            if (in < 0) in = network_matches(policy_.networks[id], source_) ? 1 : 0;
            if (in) return &policy_.networks[id];
        }
        return nullptr;
    }

private:
    const CompiledPolicy::Impl& policy_;
    const Source& source_;
    std::vector<int8_t> in_network_;  // -1: not tested yet
};

bool has_id(const std::vector<uint32_t>& ids, uint32_t id) {
    return id != 0 && std::find(ids.begin(), ids.end(), id) != ids.end();
}

struct Match {
    bool matched = false;
    bool failed = false;  // a fact could not be read (the error is match_rule's `error`)
    bool live = false;    // the answer came from a grant, which can end at any time
};

// Whether every condition of `r` holds; `why` names the first one that does
// not (or says they all hold). Conditions are tested cheapest first, so a
// rule about another service never reads the group database.
// `why` is null unless the decision is traced.
Match match_rule(const CompiledRule& cr, const RequestContext& ctx, RequestIds& ids, Facts& facts, base::Error& error,
                 std::string* why) {
    const config::PolicyRule& r = cr.rule;
    Match m;
    // Why it does not match is put into words only for a trace: a real
    // decision tests every rule and needs only the answer.
    auto fail = [&](auto&& text) {
        if (why) *why = text();
        return m;
    };
    if (!r.users.empty() && !has_id(cr.user_ids, ids.user))
        return fail([&] { return std::string("user " + ctx.user + " is not in users"); });
    if (!r.services.empty() && !has_id(cr.service_ids, ids.service))
        return fail(
            [&] { return std::string("service " + ctx.service + " is not in services " + list_text(r.services)); });
    if (!r.roles.empty()) {
        if (std::none_of(ids.roles.begin(), ids.roles.end(), [&](uint32_t id) { return has_id(cr.role_ids, id); }))
            return fail([&] {
                return std::string(ctx.role.empty() && ctx.roles.empty()
                                       ? "the request is for no role"
                                       : "role is not in roles " + list_text(r.roles));
            });
    }
    if (r.tty && ctx.tty.empty() == *r.tty)
        return fail([&] { return std::string(*r.tty ? "the request has no terminal" : "the request has a terminal"); });
    if (!cr.networks.empty()) {
        if (!ids.first_network_match(cr.networks))
            return fail([&] {
                return std::string("source " + ctx.source.text() + " is not in networks " + list_text(r.networks));
            });
    }
    if (!cr.not_networks.empty()) {
        if (const NetworkMatcher* hit = ids.first_network_match(cr.not_networks))
            return fail([&] { return std::string("source " + ctx.source.text() + " is in " + hit->name); });
    }
    if (cr.schedule && !cr.schedule->contains(ctx.time))
        return fail([&] { return std::string("the time is outside schedule " + cr.schedule->name()); });
    if (cr.not_schedule && cr.not_schedule->contains(ctx.time))
        return fail([&] { return std::string("the time is inside schedule " + cr.not_schedule->name()); });
    if (r.risk) {
        const config::RiskLevel level = facts.user_risk();
        if (level < *r.risk)
            return fail([&] {
                return std::string(std::string("user risk is ") + config::risk_level_name(level) + ", below " +
                                   config::risk_level_name(*r.risk));
            });
    }
    if (r.source_risk) {
        const config::RiskLevel level = facts.source_risk();
        if (level < *r.source_risk)
            return fail([&] {
                return std::string(std::string("source risk is ") + config::risk_level_name(level) + ", below " +
                                   config::risk_level_name(*r.source_risk));
            });
    }
    if (!r.has_grant.empty()) {
        m.live = true;
        auto grant = facts.active_grant(r.has_grant);
        if (!grant) {
            m.failed = true;
            error = grant.error();
            return fail([&] { return std::string("the grants could not be read"); });
        }
        if (!*grant) return fail([&] { return std::string(ctx.user + " holds no active grant of " + r.has_grant); });
    }
    if (!r.groups.empty()) {
        const auto& gids = facts.user_groups();
        bool any = false;
        for (const std::string& name : r.groups) {
            auto gid = facts.group_gid(name);
            if (gid && gids && std::find(gids->begin(), gids->end(), *gid) != gids->end()) any = true;
        }
        if (!any) return fail([&] { return std::string(ctx.user + " is in none of groups " + list_text(r.groups)); });
    }
    m.matched = true;
    if (why) *why = "all conditions hold";
    return m;
}

std::string factor_text(config::Factor f) {
    switch (f) {
        case config::Factor::Totp:
            return "a verification code";
        case config::Factor::Push:
            return "a push";
        case config::Factor::Any:
            break;
    }
    return "a second factor";
}

// What a rule does when it decides, for explain and report-only.
std::string effect_of(const config::PolicyRule& r) {
    if (r.deny) return "deny" + (r.deny->empty() ? std::string() : ": " + *r.deny);
    std::vector<std::string> parts;
    if (r.allow) parts.push_back("allow");
    if (r.require_factor)
        parts.push_back(std::string("require factor ") + config::factor_name(*r.require_factor) +
                        (r.every_time ? " every time" : ""));
    if (!r.require_grant.empty()) parts.push_back("require grant " + r.require_grant);
    if (r.require_approval)
        parts.push_back("require approval by " + base::join(r.require_approval->approvers, ",") + " (" +
                        std::to_string(r.require_approval->count) + ")");
    if (r.max_duration) parts.push_back("max duration " + base::format_duration(*r.max_duration));
    return base::join(parts, ", ");
}

bool is_builtin(const config::PolicyRule& r) {
    return r.name.rfind("builtin:", 0) == 0;
}

std::string builtin_deny_message(const config::PolicyRule& r, const RequestContext& ctx) {
    if (r.risk)
        return "elevation is blocked for " + ctx.user +
               ": their risk is high; an administrator must review it (elevatectl risk show " + ctx.user + ")";
    return "requests from " + ctx.source.text() +
           " are blocked for now: its network's risk is high (repeated failures for many users)";
}

// effect_of, or a built-in denial's text, which names the request's user
// or source.
std::string effect(const CompiledRule& cr, const RequestContext& ctx) {
    if (is_builtin(cr.rule) && cr.rule.deny) return "deny: " + builtin_deny_message(cr.rule, ctx);
    return effect_of(cr.rule);
}

bool eligible(const config::Role& role, const RequestContext& ctx, Facts& facts, std::string* why) {
    if (contains(role.eligible_users, ctx.user)) {
        *why = "user " + ctx.user + " is listed in eligible_users";
        return true;
    }
    if (!role.eligible_groups.empty()) {
        const auto& gids = facts.user_groups();
        for (const auto& name : role.eligible_groups) {
            auto gid = facts.group_gid(name);
            if (gid && gids && std::find(gids->begin(), gids->end(), *gid) != gids->end()) {
                *why = "user " + ctx.user + " is a member of eligible group " + name;
                return true;
            }
        }
    }
    *why = "user " + ctx.user + " is not eligible for role " + role.name;
    return false;
}

Decision& deny(Decision& d, wire::Status status, std::string message) {
    d.outcome = Outcome::Deny;
    d.status = status;
    d.message = std::move(message);
    d.reasons.push_back(d.message);
    return d;
}

Decision& internal(Decision& d, const base::Error& e) {
    d.internal = true;
    d.error = e;
    return deny(d, wire::Status::Internal, "the daemon could not read its state");
}

// Locked users are refused before anything is asked of them.
bool check_lock(Decision& d, const RequestContext& ctx, Facts& facts) {
    auto lock = facts.lock();
    if (!lock) {
        internal(d, lock.error());
        return false;
    }
    const std::string message = lock_message(ctx.user, *lock);
    if (message.empty()) return true;
    if (!lock->fraud) d.locked_until = lock->locked_until;
    deny(d, wire::Status::Locked, message);
    return false;
}

// Which factors the user can use here, or why none can be.
bool offer_factors(Decision& d, const RequestContext& ctx, const std::string& what, Facts& facts) {
    if (!check_lock(d, ctx, facts)) return false;
    auto enrolled = facts.has_code_factor();
    if (!enrolled) {
        internal(d, enrolled.error());
        return false;
    }
    const bool code = d.code_ok && *enrolled;
    const bool push = d.push_ok && facts.push_enabled();
    if (!code && !push) {
        // Push is unusable here (not allowed or not configured), so a code
        // is the only way: say what is missing for it.
        if (d.code_ok)
            deny(d, wire::Status::NotEnrolled,
                 "No second factor is enrolled for " + ctx.user + ". Ask an administrator to run: elevatectl enroll " +
                     ctx.user);
        else
            deny(d, wire::Status::Denied, what + " requires push approval, which is not configured");
        return false;
    }
    d.code_ok = code;
    d.push_ok = push;
    d.outcome = Outcome::NeedFactor;
    return true;
}

// Eligibility, justification and duration of an activation of `role`.
bool check_activation(Decision& d, const config::Role& role, const RequestContext& ctx, Facts& facts,
                      bool need_reason_given) {
    if (!d.eligible_because) {
        std::string why;
        if (!eligible(role, ctx, facts, &why)) {
            d.ineligible = true;
            deny(d, wire::Status::Denied, why);
            return false;
        }
        d.eligible_because = why;
    }
    d.reasons.push_back(*d.eligible_because);
    d.need_reason = role.require_reason;
    if (need_reason_given && role.require_reason && ctx.reason.empty()) {
        deny(d, wire::Status::Denied, "role " + role.name + " requires a reason (--reason)");
        return false;
    }
    d.duration = ctx.requested_duration > 0 ? ctx.requested_duration : role.default_duration;
    if (d.duration > role.max_duration) {
        d.reasons.push_back("duration " + base::format_duration(d.duration) + " clamped to the role maximum " +
                            base::format_duration(role.max_duration));
        d.duration = role.max_duration;
    }
    if (d.rule_cap > 0 && d.duration > d.rule_cap) {
        d.reasons.push_back("duration " + base::format_duration(d.duration) + " clamped to " +
                            base::format_duration(d.rule_cap) + " by rule " + d.rule);
        d.duration = d.rule_cap;
    }
    return true;
}

// Re-authentication inside a grant of `role` (reauth=always, or a rule's
// every_time): the grant must still be there.
bool within_grant(Decision& d, const config::Role& role, Facts& facts) {
    auto current = facts.active_grant(role.name);
    if (!current) {
        internal(d, current.error());
        return false;
    }
    if (!*current) {
        deny(d, wire::Status::Denied, "No active grant for " + role.name + ". Run: elevatectl activate " + role.name);
        return false;
    }
    d.grant = **current;
    d.reasons.push_back("active grant until " + base::format_utc((*current)->end));
    return true;
}

// Whether the group database has the user (read once per transaction).
bool known_user(Decision& d, const RequestContext& ctx, Facts& facts) {
    if (!d.user_known) d.user_known = facts.user_groups().has_value();
    if (!d.user_known) deny(d, wire::Status::NotFound, "no such user: " + base::escaped(ctx.user));
    return d.user_known;
}

// 1 and 2 of decide(): the rules, and what the request needs as the rule
// that decided amends the role's own requirements. False: decided (denied).
bool assess(Decision& d, const CompiledPolicy::Impl& p, const config::Role* role, const RequestContext& ctx,
            Facts& facts) {
    // 1. Conditional access: the first enforced rule that matches decides;
    // report-only rules before it are noted.
    const CompiledRule* decider = nullptr;
    base::Error error;
    RequestIds ids(p, ctx);
    for (const CompiledRule& cr : p.rules) {
        std::string why;
        Match m = match_rule(cr, ctx, ids, facts, error, ctx.trace ? &why : nullptr);
        if (m.failed) {
            internal(d, error);
            return false;
        }
        d.live_rule = d.live_rule || m.live;
        const bool report_only = cr.rule.mode == config::RuleMode::ReportOnly;
        if (ctx.trace) d.trace.push_back({cr.rule.name, report_only, m.matched, std::move(why), effect(cr, ctx)});
        if (!m.matched) continue;
        if (report_only) {
            d.report_only.push_back("rule " + cr.rule.name + " would " +
                                    (cr.rule.deny ? "have denied" : "have applied: " + effect(cr, ctx)));
            continue;
        }
        decider = &cr;
        break;
    }

    d.rule = decider ? decider->rule.name : "default";
    if (!decider && p.default_control == config::PolicyDefault::Deny) {
        deny(d, wire::Status::Denied, p.default_deny_message);
        return false;
    }
    if (decider && decider->rule.deny) {
        const config::PolicyRule& r = decider->rule;
        deny(d, wire::Status::Denied, is_builtin(r) ? builtin_deny_message(r, ctx) : *r.deny);
        return false;
    }
    const config::PolicyRule* rule = decider ? &decider->rule : nullptr;
    if (rule && !rule->require_grant.empty()) {
        d.live_rule = true;
        auto g = facts.active_grant(rule->require_grant);
        if (!g) {
            internal(d, g.error());
            return false;
        }
        if (!*g) {
            deny(d, wire::Status::Denied,
                 "this requires an active grant of " + rule->require_grant + " (rule " + rule->name +
                     "). Run: elevatectl activate " + rule->require_grant);
            return false;
        }
    }

    // 2. What the request needs: the role's own requirements, as the rule
    // amends them.
    d.factor = role ? role->factor : config::Factor::Any;
    if (rule && rule->require_factor) {
        d.factor = *rule->require_factor;
        d.reasons.push_back("rule " + rule->name + " requires " + factor_text(d.factor) +
                            (rule->every_time ? " every time" : ""));
    }
    d.every_time = rule && rule->every_time;
    if (rule && rule->require_approval) {
        d.approval = rule->require_approval;
        d.approval_by = "rule " + rule->name;
    } else if (role && role->approval) {
        d.approval = role->approval;
        d.approval_by = "role " + role->name;
    }
    d.rule_cap = rule && rule->max_duration ? *rule->max_duration : 0;
    d.rule_reasons = d.reasons.size();
    return true;
}

}  // namespace

std::string lock_message(const std::string& user, const LockState& s) {
    if (s.fraud)
        return "elevation is locked for " + user + " since " + base::format_utc(s.since) + " (" + s.reason +
               "); an administrator must run: elevatectl unlock " + user;
    if (s.locked_until) return "too many failed attempts; locked until " + base::format_utc(s.locked_until);
    return {};
}

std::string already_active_text(const std::string& role, const store::Grant& g) {
    return role + " is already active until " + base::format_utc(g.end) + " (grant " + g.id.substr(0, 8) +
           "); drop it first to change it";
}

base::Result<CompiledPolicy> CompiledPolicy::compile(const config::Config& config) {
    auto impl = std::make_unique<Impl>();
    const config::PolicyConfig& policy = config.policy;
    impl->default_control = policy.default_control;
    impl->default_deny_message = policy.default_deny_message;
    std::map<std::string, const Schedule*> schedules;
    for (const config::ScheduleWindow& w : policy.schedules) {
        auto s = Schedule::compile(w);
        if (!s) return base::make_error("policy schedule '" + w.name + "': " + s.error().message);
        impl->schedules.push_back(std::make_unique<Schedule>(std::move(*s)));
        schedules[w.name] = impl->schedules.back().get();
    }
    std::vector<config::PolicyRule> rules;
    if (policy.risk_rules) rules = builtin_risk_rules(config);
    rules.insert(rules.end(), policy.rules.begin(), policy.rules.end());
    for (config::PolicyRule& r : rules) {
        CompiledRule cr;
        auto nets = compile_networks(policy, r.networks, r);
        if (!nets) return nets.error();
        cr.networks = impl->intern(std::move(*nets));
        auto not_nets = compile_networks(policy, r.not_networks, r);
        if (!not_nets) return not_nets.error();
        cr.not_networks = impl->intern(std::move(*not_nets));
        for (auto [name, slot] : {std::pair{&r.schedule, &cr.schedule}, std::pair{&r.not_schedule, &cr.not_schedule}}) {
            if (name->empty()) continue;
            auto it = schedules.find(*name);
            if (it == schedules.end()) return base::make_error("rule '" + r.name + "': no schedule '" + *name + "'");
            *slot = it->second;
        }
        cr.user_ids = impl->intern(r.users);
        cr.service_ids = impl->intern(r.services);
        cr.role_ids = impl->intern(r.roles);
        cr.rule = std::move(r);
        impl->rules.push_back(std::move(cr));
    }
    return CompiledPolicy(std::move(impl));
}

const char* operation_name(Operation op) {
    switch (op) {
        case Operation::Authorize:
            return "authorize";
        case Operation::Account:
            return "account";
        case Operation::Activate:
            return "activate";
        case Operation::PushStart:
            return "push-start";
        case Operation::Verify:
            return "verify";
    }
    return "unknown";
}

const char* outcome_name(Outcome o) {
    switch (o) {
        case Outcome::Allow:
            return "allow";
        case Outcome::NeedFactor:
            return "factor";
        case Outcome::Pending:
            return "pending";
        case Outcome::Deny:
            return "deny";
    }
    return "unknown";
}

std::string Decision::audit_suffix() const {
    std::string text;
    if (!rule.empty() && rule != "default") text += "; rule " + rule;
    for (const std::string& r : report_only) text += "; report-only: " + r;
    return text;
}

std::optional<Decision> carried_part(const Decision& d) {
    if (d.outcome == Outcome::Deny || d.live_rule) return std::nullopt;
    Decision c;
    c.rule = d.rule;
    c.reasons.assign(d.reasons.begin(), d.reasons.begin() + std::min(d.rule_reasons, d.reasons.size()));
    c.trace = d.trace;
    c.report_only = d.report_only;
    c.factor = d.factor;
    c.every_time = d.every_time;
    c.approval = d.approval;
    c.approval_by = d.approval_by;
    c.rule_cap = d.rule_cap;
    c.rule_reasons = c.reasons.size();
    c.user_known = d.user_known;
    c.eligible_because = d.eligible_because;
    return c;
}

Decision decide(const config::Config& config, const CompiledPolicy& policy, const RequestContext& ctx, Facts& facts,
                const Decision* carried) {
    const config::Role* role = ctx.role.empty() ? nullptr : config.find_role(ctx.role);
    Decision d;
    if (carried) {
        d = *carried;
    } else if (!assess(d, policy.impl(), role, ctx, facts)) {
        return d;
    }
    d.code_ok = d.factor != config::Factor::Push;
    d.push_ok = d.factor != config::Factor::Totp;
    const std::string what = role ? "role " + role->name : "this request";

    // 3. The operation.
    switch (ctx.op) {
        case Operation::Account: {
            auto grants = facts.active_grants();
            if (!grants) return internal(d, grants.error());
            const store::Grant* admits = nullptr;
            // The grant that admits the user longest: pam_elevate files the
            // session of this PAM handle under it.
            for (const auto& g : *grants)
                if (contains(ctx.roles, g.role) && g.end > ctx.time && (!admits || g.end > admits->end)) admits = &g;
            if (!admits) {
                std::string names, hint;
                for (const auto& r : ctx.roles) {
                    names += (names.empty() ? "" : " or ") + r;
                    const config::Role* known = config.find_role(r);
                    if (hint.empty() && known)
                        hint = "elevatectl activate " + r + (known->require_reason ? " --reason ..." : "");
                }
                std::string message = "No active grant for " + names + ".";
                if (!hint.empty()) message += " Run: " + hint;
                return deny(d, wire::Status::Denied, message);
            }
            d.grant = *admits;
            d.outcome = Outcome::Allow;
            d.reasons.push_back("active grant until " + base::format_utc(admits->end));
            return d;
        }
        case Operation::Verify:
            if (role && !within_grant(d, *role, facts)) return d;
            d.outcome = Outcome::Allow;
            return d;
        case Operation::Authorize:
            if (!role) {
                // A plain second factor: no grant involved. An unknown user
                // is told so before anything about factors.
                if (!known_user(d, ctx, facts)) return d;
                offer_factors(d, ctx, what, facts);
                return d;
            }
            {
                auto current = facts.active_grant(role->name);
                if (!current) return internal(d, current.error());
                if (*current) {
                    d.grant = **current;
                    if (!ctx.reauth && !d.every_time) {
                        d.outcome = Outcome::Allow;
                        d.reasons.push_back("active grant until " + base::format_utc((*current)->end));
                        return d;
                    }
                    // Inside a grant: the code is verified, no new grant.
                    offer_factors(d, ctx, what, facts);
                    return d;
                }
                if (!known_user(d, ctx, facts)) return d;
                if (!check_activation(d, *role, ctx, facts, false)) return d;
                if (d.approval) {
                    // A request already waits for approval: the client waits
                    // for it rather than asking for a factor again.
                    auto pending = facts.pending_request(role->name);
                    if (!pending) return internal(d, pending.error());
                    if (*pending) {
                        d.pending = **pending;
                        d.outcome = Outcome::Pending;
                        d.reasons.push_back("request " + std::to_string((*pending)->id) + " is waiting for approval");
                        return d;
                    }
                }
                offer_factors(d, ctx, what, facts);
                return d;
            }
        case Operation::PushStart:
        case Operation::Activate: {
            if (!role) {
                // push for a plain factor
                if (!check_lock(d, ctx, facts)) return d;
                d.outcome = Outcome::Allow;
                return d;
            }
            if (ctx.op == Operation::PushStart && !d.push_ok)
                return deny(d, wire::Status::Denied,
                            "role " + role->name + " requires a verification code, not a push");
            if (ctx.op == Operation::PushStart && ctx.reauth) {
                // Asked again inside the grant: the push is verified, no
                // new grant.
                if (!within_grant(d, *role, facts) || !check_lock(d, ctx, facts)) return d;
                d.outcome = Outcome::Allow;
                return d;
            }
            if (!known_user(d, ctx, facts)) return d;
            // push_start rings the phone before the reason is asked for:
            // only eligibility counts then.
            if (!check_activation(d, *role, ctx, facts, ctx.op == Operation::Activate)) return d;
            auto current = facts.active_grant(role->name);
            if (!current) return internal(d, current.error());
            if (*current) {
                d.grant = **current;
                return deny(d, wire::Status::Conflict, already_active_text(role->name, **current));
            }
            if (ctx.op == Operation::Activate && d.approval) {
                auto pending = facts.pending_request(role->name);
                if (!pending) return internal(d, pending.error());
                if (*pending) {
                    d.pending = **pending;
                    return deny(d, wire::Status::Conflict,
                                "request " + std::to_string((*pending)->id) + " for " + role->name +
                                    " is already waiting for approval by " + (*pending)->approvers);
                }
            }
            if (ctx.op == Operation::PushStart && !check_lock(d, ctx, facts)) return d;
            d.outcome = Outcome::Allow;
            return d;
        }
    }
    return deny(d, wire::Status::Internal, "unknown operation");
}

}  // namespace elevate::policy
