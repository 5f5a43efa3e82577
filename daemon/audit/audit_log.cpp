#include "daemon/audit/audit_log.h"

#include "daemon/core/fs.h"
#include "daemon/core/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace elevate::daemon {

namespace {
base::Result<base::UniqueFd> open_append(const std::string& path) {
    // The trail names users and roles: its directory is not for everyone.
    if (auto r = make_parent_dir(path, 0750); !r) return std::move(r).error();
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return base::errno_error("cannot open audit file " + path);
    return base::UniqueFd(fd);
}
}  // namespace

base::Result<void> AuditLog::open_file(const std::string& path) {
    path_ = path;
    file_.reset();
    if (path.empty()) return {};
    auto fd = open_append(path);
    if (!fd) return std::move(fd).error();
    file_ = std::move(*fd);
    return {};
}

base::Result<void> AuditLog::reopen() {
    if (path_.empty()) return {};
    // What is queued happened before the rotation: it goes to the old file.
    flush();
    auto fd = open_append(path_);
    if (!fd) return std::move(fd).error();  // keep writing to the old one
    file_ = std::move(*fd);
    return {};
}

std::string AuditLog::to_json_line(const store::AuditRecord& r) {
    nlohmann::json j = {
        {"time", r.time},         {"event", r.event},   {"actor", r.actor},   {"user", r.user},     {"role", r.role},
        {"grant_id", r.grant_id}, {"source", r.source}, {"result", r.result}, {"reason", r.reason},
    };
    // Replace invalid UTF-8 rather than throw: reasons come from users.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AuditLog::record(store::AuditRecord r) {
    pending_.push_back(std::move(r));
}

void AuditLog::flush() {
    if (pending_.empty()) return;
    std::vector<store::AuditRecord> batch;
    batch.swap(pending_);

    if (auto s = store_.append_audit(batch); !s.ok()) log_error("audit: database sink failed: " + s.error().message);

    if (file_.ok()) {
        // One write per batch; O_APPEND keeps it whole. No fsync: this sink
        // feeds log shippers, the durable copy is the database's table.
        std::string lines;
        for (const auto& r : batch) lines += to_json_line(r);
        if (::write(file_.get(), lines.data(), lines.size()) != ssize_t(lines.size()))
            log_error("audit: cannot write " + path_ + ": " + strerror(errno));
    }

    if (!journal_) return;
    for (const auto& r : batch) {
        int priority = r.result == "ok" ? LOG_INFO : LOG_NOTICE;
        std::string msg = "elevate " + r.event + " " + r.result + ": user=" + r.user + " role=" + r.role +
                          " actor=" + r.actor + " source=" + r.source + (r.reason.empty() ? "" : " (" + r.reason + ")");
        sd_journal_send("MESSAGE=%s", msg.c_str(), "PRIORITY=%i", priority, "SYSLOG_IDENTIFIER=elevated",
                        "ELEVATE_EVENT=%s", r.event.c_str(), "ELEVATE_ACTOR=%s", r.actor.c_str(), "ELEVATE_USER=%s",
                        r.user.c_str(), "ELEVATE_ROLE=%s", r.role.c_str(), "ELEVATE_GRANT_ID=%s", r.grant_id.c_str(),
                        "ELEVATE_SOURCE=%s", r.source.c_str(), "ELEVATE_RESULT=%s", r.result.c_str(),
                        "ELEVATE_REASON=%s", r.reason.c_str(), "ELEVATE_TIME=%lld", (long long)r.time, nullptr);
    }
}

}  // namespace elevate::daemon
