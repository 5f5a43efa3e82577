#include "bench/policy_load.h"

#include "bench/support.h"
#include "daemon/store/store.h"

#include <cmath>
#include <stdexcept>

namespace elevate::bench {
namespace {

constexpr int kNetworkLists = 10;
constexpr int kSchedules = 10;
constexpr const char* kZones[] = {"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};  // tm_wday order

std::string quoted_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", \"" : "\"") + items[i] + "\"";
    return out + "]";
}

std::string zone(int i) {
    return kZones[size_t(i) % (sizeof kZones / sizeof kZones[0])];
}

// Named networks: partner-K (eight IPv4 /24s in 10.K.0.0/16 and two IPv6
// /48s), office (RFC 1918 and a documentation range), admin-home.
std::string network_lists() {
    std::string out;
    for (int k = 0; k < kNetworkLists; ++k) {
        std::vector<std::string> cidrs;
        for (int j = 0; j < 8; ++j) cidrs.push_back("10." + std::to_string(k) + "." + std::to_string(j * 16) + ".0/24");
        cidrs.push_back("2001:db8:" + std::to_string(100 + k) + "::/48");
        cidrs.push_back("2001:db8:" + std::to_string(200 + k) + "::/48");
        out += "[policy.networks.partner-" + std::to_string(k) + "]\ncidrs = " + quoted_list(cidrs) + "\n\n";
    }
    out += "[policy.networks.office]\ncidrs = [\"172.16.0.0/12\", \"198.51.100.0/24\", \"2001:db8:1::/48\"]\n\n";
    return out;
}

// maint-K: two hours on one weekday three days away from `now` (in UTC;
// a zone moves the local date by at most one day), so it never holds now.
// staffed-K: every day, all day, in a zone: not_schedule of it never holds.
std::string schedules(int64_t now) {
    const time_t t = time_t(now);
    struct tm utc {};
    gmtime_r(&t, &utc);
    const int far_day = (utc.tm_wday + 3) % 7;
    std::string out;
    for (int k = 0; k < kSchedules; ++k) {
        const int start = 1 + k % 8;
        out += "[policy.schedules.maint-" + std::to_string(k) + "]\ndays = [\"" + kDays[far_day] + "\"]\nhours = \"0" +
               std::to_string(start) + ":00-" + (start + 2 < 10 ? "0" : "") + std::to_string(start + 2) +
               ":30\"\nzone = \"" + zone(k) + "\"\n\n";
        out += "[policy.schedules.staffed-" + std::to_string(k) + "]\nzone = \"" + zone(k + 1) + "\"\n\n";
    }
    return out;
}

}  // namespace

std::string policy_section(const PolicyLoad& load) {
    if (load.rules < 1) throw std::runtime_error("policy_section: at least one rule");
    if (load.users.empty()) throw std::runtime_error("policy_section: no synthetic users for `users` rules");
    const std::string role = "roles = [\"" + load.role + "\"]\n";
    std::string out = "[policy]\ndefault = \"allow\"\nrisk_rules = true\n\n" + network_lists() + schedules(load.now);
    for (int i = 0; i + 1 < load.rules; ++i) {
        const std::string k = std::to_string(i % kNetworkLists);
        out += "[[policy.rule]]\nname = \"r" + std::to_string(i) + "\"\n";
        switch (i % 10) {
            case 0: {  // a named team: fails at users (20 names compared)
                std::vector<std::string> team;
                for (size_t j = 0; j < 20; ++j) team.push_back(load.users[(size_t(i) * 20 + j) % load.users.size()]);
                out += "users = " + quoted_list(team) + "\n" + role + "require_factor = \"totp\"\nevery_time = true\n";
                break;
            }
            case 1:  // sshd only: fails at services
                out += "services = [\"sshd\"]\nnot_networks = [\"office\"]\nrequire_factor = \"push\"\n";
                break;
            case 2:  // a partner's networks: every CIDR of the list is tested
                out += role + "networks = [\"partner-" + k + "\"]\ndeny = \"no elevation from partner networks\"\n";
                break;
            case 3:  // literal CIDRs and the office list
                out += role + "networks = [\"office\", \"10.2" + k + ".0.0/16\", \"2001:db8:3" + k +
                       "::/48\"]\nmax_duration = \"1h\"\n";
                break;
            case 4:  // not from where the request is: fails because it is
                out += role + "not_networks = [\"local\", \"unknown\", \"partner-" + k +
                       "\", \"203.0.113.0/24\"]\nrequire_factor = \"push\"\n";
                break;
            case 5:  // a maintenance window days away
                out += role + "services = " + quoted_list(load.services) + "\nschedule = \"maint-" + k +
                       "\"\ndeny = \"elevation is frozen during maintenance\"\n";
                break;
            case 6:  // outside staffed hours: never, in any zone
                out += role + "not_schedule = \"staffed-" + k + "\"\nrequire_factor = \"totp\"\nevery_time = true\n";
                break;
            case 7:  // user risk at or above low (the requester has none)
                out += role + "risk = \"" + (i % 20 < 10 ? "low" : "medium") +
                       "\"\nrequire_factor = \"any\"\nevery_time = true\n";
                break;
            case 8:  // source risk
                out += role + "source_risk = \"medium\"\ndeny = \"requests from this network are held\"\n";
                break;
            default:  // standing group membership: reads the group database once
                out += role + "groups = [\"adm\", \"staff\"]\nmax_duration = \"2h\"\n";
                break;
        }
        out += "\n";
    }
    out += "[[policy.rule]]\nname = \"bench-allow\"\n" + role + "services = " + quoted_list(load.services) +
           "\nallow = true\n";
    return out;
}

std::vector<std::string> risk_user_names(int n) {
    std::vector<std::string> names;
    names.reserve(size_t(std::max(n, 0)));
    for (int i = 0; i < n; ++i) names.push_back("elvb-risk-" + std::to_string(i));
    return names;
}

RiskSeedResult seed_risk_history(const std::string& state_dir, const std::vector<std::string>& users, int64_t now) {
    struct Kind {
        const char* type;
        const char* evidence;
        int weight;  // the default [risk.weights]
    };
    static const Kind kinds[] = {
        {"wrong-code", "wrong verification code", 10},
        {"new-network", "first sign-in from this network", 15},
        {"push-denied", "push denied by the user", 20},
        {"replayed-code", "a code that was already used (or an older one) was presented again", 40},
    };
    constexpr double kHalfLife = 86400;  // [risk] half_life default
    RiskSeedResult result;
    auto store = store::Store::open(state_dir);
    if (!store) throw std::runtime_error(store.error().message);
    const int64_t t0 = now_ns();
    for (size_t i = 0; i < users.size(); ++i) {
        check_interrupted();
        store::RiskChange change;
        const int events = 1 + int(i % 4);
        const int64_t last = now - int64_t(i % 3600);  // within the last hour
        int score = 0;
        for (int e = 0; e < events; ++e) {
            const Kind& k = kinds[e];
            const std::string network =
                "10." + std::to_string(i % 250) + "." + std::to_string((i / 250) % 250) + ".0/24";
            change.events.push_back(
                {last - int64_t(events - 1 - e) * 7200, k.type, users[i], network, k.evidence, k.weight});
            score += k.weight;
        }
        change.user = store::RiskUserRow{users[i], double(score), last, false};
        if (auto r = (*store)->record_risk(change); !r) throw std::runtime_error("record_risk: " + r.error().message);
        result.events += events;
        const double now_score = score * std::pow(0.5, double(now - last) / kHalfLife);
        if (now_score >= 80)
            ++result.high;
        else if (now_score >= 40)
            ++result.medium;
        else if (now_score >= 10)
            ++result.low;
    }
    result.users = int(users.size());
    result.seconds = double(now_ns() - t0) / 1e9;
    return result;
}

ExplainSummary explain(const std::string& socket, const std::vector<uint8_t>& payload) {
    const wire::Reply r = call_expect(socket, wire::Op::Explain, payload);
    std::string_view outcome, rule, level;
    r.fields.get_str(wire::Tag::Outcome, &outcome);
    r.fields.get_str(wire::Tag::RuleName, &rule);
    r.fields.get_str(wire::Tag::RiskLevel, &level);
    ExplainSummary s{std::string(outcome), std::string(rule), std::string(level)};
    auto it = r.fields.iterate();
    for (wire::Field f; it.next(&f);) s.considered += f.tag == uint16_t(wire::Tag::RuleTrace);
    return s;
}

}  // namespace elevate::bench
