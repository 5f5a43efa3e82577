// How approval requests read to people: the lines activate, approve, wait
// and requests print, and the requests table. Pure functions of the decoded
// records and the current time, so tests pin every wording. Text that came
// from the daemon goes through printable().
#pragma once

#include "cli/grant.h"
#include "cli/request.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace elevate::cli {

// "0/1"
std::string approvals_text(const Request& r);

// The request is waiting: "Request 7 for db-admin is waiting for approval by
// group:sec-leads (0 of 1 approvals; expires 2026-11-26 16:00 UTC). See:
// elevatectl requests". Someone else's request names its user ("Request 7 by
// alice for db-admin ...").
std::string pending_line(const Request& r);

// Progress while waiting (stderr): "Request 7 for db-admin needs approval by
// group:sec-leads (0 of 1 approvals); waiting up to 300 s..."
std::string waiting_line(const Request& r, int64_t seconds);

// The request was approved: "Request 7 approved by bob: granted db-admin to
// alice until 14:50 UTC (45m), grant 1a2b3c4d"; without the grant in the
// reply, "Request 7 for db-admin was approved by bob (grant 1a2b3c4d)".
std::string approved_line(const Request& r, const Grant* grant, int64_t now);

// The request ended without a grant, as an error message: "request 7 for
// db-admin was denied by bob", "... was cancelled by alice", "... expired at
// 2026-11-26 16:00 UTC with 0 of 1 approvals".
std::string closed_message(const Request& r);

// After `approve`: "Approved request 7 (1 of 1): grant for alice db-admin is
// active until 14:50 UTC" or "Approved request 7 (1 of 2); waiting for 1 more
// approval".
std::string approve_line(const Request& r, const Grant* grant, int64_t now);

// The `requests` table: ID, USER, ROLE, STATE, APPROVALS, EXPIRES, YOU
// ("can decide" or "yours"), REASON.
void render_requests(std::ostream& out, const std::vector<const Request*>& requests, int64_t now);

}  // namespace elevate::cli
