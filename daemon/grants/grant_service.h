// Grants: creation, ending (revoke, drop, expiry) and queries. SQLite is the
// only copy of a grant; memory holds just a min-heap of (due, id) so that
// expiry fires on time and 100k grants cost a few MB. Every query filters by
// end time itself, so a grant past its end is never reported active even if
// the expiry timer has not run yet (invariant 3).
//
// A grant ends at its wall-clock end time or after the time it had left
// has passed on CLOCK_BOOTTIME, whichever comes first: "due" is a boot-clock
// time, so setting the wall clock back cannot lengthen a grant while the
// daemon runs, and a wall clock set forward is noticed at the next timer
// (the server wakes on any clock change) and brings every due time forward.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "daemon/audit/audit_log.h"
#include "daemon/store/store.h"

#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <utility>
#include <vector>

namespace elevate::grants {

bool is_active(const store::Grant& g, int64_t now);

class GrantService {
public:
    GrantService(store::Store& store, daemon::AuditLog& audit, const base::Clock& clock)
        : store_(store), audit_(audit), clock_(clock) {}

    // Reads every active grant's end time at start-up.
    base::Result<size_t> load();

    // Stores a new grant durably; it is acknowledged only after the commit.
    base::Result<store::Grant> create(store::Grant g);

    // Takes note of a grant another part stored (an approval completes a
    // request and inserts its grant in the same transaction).
    void adopt(const store::Grant& g) {
        schedule(g.end, g.id);
        changed();
    }

    // Ends an active grant (revoke/drop/expire). nullopt: it was not active.
    base::Result<std::optional<store::Grant>> end(const std::string& id, store::GrantState state,
                                                  const std::string& by);

    base::Result<std::optional<store::Grant>> find(const std::string& id);
    base::Result<std::vector<store::Grant>> active_for_user(const std::string& user);
    base::Result<std::optional<store::Grant>> active_for_role(const std::string& user, const std::string& role);

    // Milliseconds from now until the next grant is due to end (0 when one
    // already is), if any grant is pending.
    std::optional<int64_t> next_due_ms() const;
    // Ends every grant that is due: its end time has passed on the wall
    // clock, or its remaining time has passed on the boot clock. Returns
    // how many.
    size_t expire_due();

    // Called when an active grant ends, however it ends (session termination).
    void set_on_end(std::function<void(const store::Grant&)> fn) { on_end_ = std::move(fn); }

    // Called after any change to the set of active grants (snapshot writer).
    void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

private:
    void changed() {
        if (on_change_) on_change_();
    }
    using Entry = std::pair<int64_t, std::string>;  // (due on the boot clock in ms, id)
    // Queues grant `id` to be looked at when the wall time it has left
    // (until `end`) has passed on the boot clock.
    void schedule(int64_t end, const std::string& id);
    // After the wall clock was set forward: a due time that the grant's
    // wall end now puts earlier is brought forward to it.
    void follow_wall_clock();
    store::Store& store_;
    daemon::AuditLog& audit_;
    const base::Clock& clock_;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> expiries_;
    int64_t wall_minus_boot_ms_ = 0;  // as last seen; a change beyond jitter is a clock step
    std::function<void()> on_change_;
    std::function<void(const store::Grant&)> on_end_;
};

}  // namespace elevate::grants
