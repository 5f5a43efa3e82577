// The audit trail: every decision, as a structured record with stable field
// names, written to three sinks: the SQLite audit table (queryable, kept with
// the grant history), an append-only JSON-lines file, and the journal
// (ELEVATE_* fields) for the organisation's log pipeline. Never a secret or
// a code.
#pragma once

#include "common/base/result.h"
#include "common/base/unique_fd.h"
#include "daemon/store/store.h"

#include <string>
#include <vector>

namespace elevate::daemon {

class AuditLog {
public:
    AuditLog(store::Store& store, bool journal) : store_(store), journal_(journal) {}

    // Opens (creating 0600) the JSON-lines file; "" disables the file sink.
    base::Result<void> open_file(const std::string& path);
    // Opens the same path again, for logrotate: after a rename the trail
    // goes on in a new file. On failure the old file stays in use.
    base::Result<void> reopen();
    void set_journal(bool on) { journal_ = on; }

    // Queues a record. The server flushes the queue after each batch of
    // requests and before any of their replies is sent, so a client never
    // sees an answer whose audit record is not yet written.
    void record(store::AuditRecord r);

    // Writes queued records to every sink; a failing sink is logged, the
    // others still get them.
    void flush();

    static std::string to_json_line(const store::AuditRecord& r);

private:
    store::Store& store_;
    bool journal_;
    std::string path_;
    base::UniqueFd file_;
    std::vector<store::AuditRecord> pending_;
};

}  // namespace elevate::daemon
