// The session registry's in-memory index (remote_session_of), which source
// resolution reads for every ancestor of a caller: in step with the store
// when a session opens, closes, and is terminated at its grant's end.
// Sessions belong to a real child process (their pid and start time come
// from /proc), and the store is a real SQLite file.
#include "daemon/audit/audit_log.h"
#include "daemon/sessions/session_service.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/support/temp_state_dir.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace elevate::sessions {
namespace {

// A child that sleeps until killed; reaped at the end of the test.
class Child {
public:
    Child() {
        pid_ = fork();
        if (pid_ == 0) {
            pause();
            _exit(0);
        }
    }
    ~Child() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

class SessionIndex : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = store::Store::open(dir_);
        ASSERT_TRUE(s.ok()) << s.error().message;
        store_ = std::move(s).value();
        audit_ = std::make_unique<daemon::AuditLog>(*store_, false);
        service_ = std::make_unique<SessionService>(*store_, *audit_, clock_);
        ASSERT_GT(child_.pid(), 0);
    }
    void TearDown() override {
        service_.reset();
        audit_.reset();
        store_.reset();
    }

    store::Grant grant() {
        store::Grant g;
        g.id = "00112233445566778899aabbccddeeff";
        g.user = "alice";
        g.role = "db-admin";
        g.start = clock_.now();
        g.end = clock_.now() + 60;
        EXPECT_TRUE(store_->insert_grant(g).ok());
        return g;
    }

    store::Session opened(const std::string& grant_id, const std::string& rhost = "10.1.2.3") {
        store::Session s;
        s.user = "alice";
        s.pid = child_.pid();
        s.service = "sshd";
        s.rhost = rhost;
        s.grant_id = grant_id;
        auto o = service_->open(s);
        EXPECT_TRUE(o.ok()) << o.error().message;
        return o.ok() ? *o : store::Session{};
    }

    test::TempStateDir state_{"elevate-sessions"};
    const std::string dir_ = state_.path();
    base::FixedClock clock_{1796205600};
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<daemon::AuditLog> audit_;
    std::unique_ptr<SessionService> service_;
    Child child_;
};

TEST_F(SessionIndex, AnOpenSessionIsFoundByItsProcessUntilClosed) {
    const store::Session s = opened("");
    ASSERT_GT(s.pid_start, 0);
    auto found = service_->remote_session_of(s.pid, s.pid_start);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, s.id);
    EXPECT_EQ(found->rhost, "10.1.2.3");
    // Another start time is another process that reused the pid.
    EXPECT_FALSE(service_->remote_session_of(s.pid, s.pid_start + 1));
    auto closed = service_->close(s.id, "alice", "alice");
    ASSERT_TRUE(closed.ok() && *closed);
    EXPECT_FALSE(service_->remote_session_of(s.pid, s.pid_start));
    EXPECT_FALSE(service_->any_remote_session());
}

TEST_F(SessionIndex, TerminationAtTheGrantsEndDropsTheIndexEntry) {
    const store::Grant g = grant();
    const store::Session s = opened(g.id);
    ASSERT_TRUE(service_->remote_session_of(s.pid, s.pid_start));
    service_->terminate_for(g, "expired");
    EXPECT_FALSE(service_->remote_session_of(s.pid, s.pid_start));
    EXPECT_FALSE(service_->any_remote_session());
    auto open = store_->open_sessions();
    ASSERT_TRUE(open.ok());
    EXPECT_TRUE(open->empty());
    // A daemon started afterwards does not index it again.
    SessionService restarted(*store_, *audit_, clock_);
    EXPECT_FALSE(restarted.remote_session_of(s.pid, s.pid_start));
}

TEST_F(SessionIndex, ARestartedDaemonIndexesTheSessionsStillOpen) {
    const store::Session s = opened("");
    opened("", "");  // the same process, no remote host: never indexed
    SessionService restarted(*store_, *audit_, clock_);
    auto found = restarted.remote_session_of(s.pid, s.pid_start);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, s.id);
}

}  // namespace
}  // namespace elevate::sessions
