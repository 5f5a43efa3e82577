#include "cli/request_text.h"

#include "cli/output.h"

#include "common/base/parse.h"

namespace elevate::cli {

namespace {

// "Request 7 for db-admin", or "Request 7 by alice for db-admin" when the
// reader did not make it (an approver or admin waiting on it).
std::string subject(const Request& r, const char* word = "Request") {
    std::string s = std::string(word) + " " + std::to_string(r.id);
    if (!r.mine && !r.user.empty()) s += " by " + printable(r.user);
    return s + " for " + printable(r.role);
}

std::string by_whom(const Request& r) {
    return r.decided_by.empty() ? std::string() : " by " + printable(r.decided_by);
}

std::string counts(const Request& r) {
    return std::to_string(r.approvals) + " of " + std::to_string(r.needed);
}

}  // namespace

std::string approvals_text(const Request& r) {
    return std::to_string(r.approvals) + "/" + std::to_string(r.needed);
}

std::string pending_line(const Request& r) {
    std::string line = subject(r) + " is waiting for approval";
    if (!r.approvers.empty()) line += " by " + printable(r.approvers);
    return line + " (" + counts(r) + " approvals; expires " + format_timestamp(r.expires) +
           "). See: elevatectl requests";
}

std::string waiting_line(const Request& r, int64_t seconds) {
    std::string line = subject(r) + " needs approval";
    if (!r.approvers.empty()) line += " by " + printable(r.approvers);
    return line + " (" + counts(r) + " approvals); waiting up to " + std::to_string(seconds) + " s...";
}

std::string approved_line(const Request& r, const Grant* grant, int64_t now) {
    if (grant == nullptr) {
        std::string line = subject(r) + " was approved" + by_whom(r);
        if (!r.grant_id.empty()) line += " (grant " + short_id(printable(r.grant_id)) + ")";
        return line;
    }
    return "Request " + std::to_string(r.id) + " approved" + by_whom(r) + ": granted " + printable(grant->role) +
           " to " + printable(grant->user) + " until " + format_until(grant->end, now) + " (" +
           base::format_duration(grant->end - grant->start) + "), grant " + short_id(printable(grant->id));
}

std::string closed_message(const Request& r) {
    const std::string what = subject(r, "request");
    if (r.state == "denied") return what + " was denied" + by_whom(r);
    if (r.state == "cancelled") return what + " was cancelled" + by_whom(r);
    if (r.state == "expired")
        return what + " expired at " + format_timestamp(r.expires) + " with " + counts(r) + " approvals";
    return what + " is in state '" + printable(r.state) + "'";
}

std::string approve_line(const Request& r, const Grant* grant, int64_t now) {
    std::string line = "Approved request " + std::to_string(r.id) + " (" + counts(r) + ")";
    if (grant != nullptr)
        return line + ": grant for " + printable(grant->user) + " " + printable(grant->role) + " is active until " +
               format_until(grant->end, now);
    if (r.pending() && r.needed > r.approvals) {
        const uint64_t more = r.needed - r.approvals;
        return line + "; waiting for " + std::to_string(more) + " more approval" + (more == 1 ? "" : "s");
    }
    return line;
}

void render_requests(std::ostream& out, const std::vector<const Request*>& requests, int64_t now) {
    Table table({"ID", "USER", "ROLE", "STATE", "APPROVALS", "EXPIRES", "YOU", "REASON"});
    for (const Request* r : requests) {
        // Only a pending request's expiry means anything to the reader.
        const std::string expires = r->pending() ? format_time(r->expires, now) : "-";
        const std::string you = r->mine ? "yours" : r->can_decide ? "can decide" : "";
        table.add_row({std::to_string(r->id), r->user, r->role, r->state, approvals_text(*r), expires, you, r->reason});
    }
    table.render(out);
}

}  // namespace elevate::cli
