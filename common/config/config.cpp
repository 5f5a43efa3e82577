#include "common/config/config.h"

namespace elevate::config {

const char* factor_name(Factor f) {
    switch (f) {
        case Factor::Totp:
            return "totp";
        case Factor::Push:
            return "push";
        case Factor::Any:
            return "any";
    }
    return "unknown";
}

const char* algorithm_name(TotpAlgorithm a) {
    switch (a) {
        case TotpAlgorithm::Sha1:
            return "sha1";
        case TotpAlgorithm::Sha256:
            return "sha256";
        case TotpAlgorithm::Sha512:
            return "sha512";
    }
    return "unknown";
}

const char* on_expiry_name(OnExpiry e) {
    switch (e) {
        case OnExpiry::Keep:
            return "keep";
        case OnExpiry::Terminate:
            return "terminate";
    }
    return "unknown";
}

const char* push_provider_name(PushProviderKind p) {
    switch (p) {
        case PushProviderKind::None:
            return "none";
        case PushProviderKind::Webhook:
            return "webhook";
        case PushProviderKind::Duo:
            return "duo";
    }
    return "unknown";
}

const char* risk_level_name(RiskLevel r) {
    switch (r) {
        case RiskLevel::None:
            return "none";
        case RiskLevel::Low:
            return "low";
        case RiskLevel::Medium:
            return "medium";
        case RiskLevel::High:
            return "high";
    }
    return "unknown";
}

std::optional<RiskLevel> parse_risk_level(std::string_view s) {
    for (RiskLevel r : {RiskLevel::None, RiskLevel::Low, RiskLevel::Medium, RiskLevel::High})
        if (s == risk_level_name(r)) return r;
    return std::nullopt;
}

const char* rule_mode_name(RuleMode m) {
    switch (m) {
        case RuleMode::Enforce:
            return "enforce";
        case RuleMode::ReportOnly:
            return "report-only";
    }
    return "unknown";
}

const char* policy_default_name(PolicyDefault d) {
    switch (d) {
        case PolicyDefault::Allow:
            return "allow";
        case PolicyDefault::Deny:
            return "deny";
    }
    return "unknown";
}

const char* weekday_name(int day) {
    static constexpr const char* kNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    return day >= 0 && day < 7 ? kNames[day] : "unknown";
}

const NetworkList* PolicyConfig::find_network(const std::string& name) const {
    for (const NetworkList& n : networks)
        if (n.name == name) return &n;
    return nullptr;
}

const ScheduleWindow* PolicyConfig::find_schedule(const std::string& name) const {
    for (const ScheduleWindow& w : schedules)
        if (w.name == name) return &w;
    return nullptr;
}

const Role* Config::find_role(const std::string& name) const {
    for (const Role& role : roles) {
        if (role.name == name) return &role;
    }
    return nullptr;
}

}  // namespace elevate::config
