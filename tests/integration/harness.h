// Integration harness: a real elevated on a temporary socket and state dir,
// driven by the real elevatectl, with TOTP codes computed independently by
// oathtool. Tests that need root create real users and remove them again.
#pragma once

#include "common/wire/client.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elevate::test {

struct RunResult {
    int exit_code = -1;  // -1: killed by a signal
    std::string out;
    std::string err;
};

struct RunOptions {
    std::string input;         // written to stdin, then closed
    std::optional<uid_t> uid;  // drop to this user (root only)
    std::optional<gid_t> gid;
    std::vector<std::string> env;  // extra NAME=value entries
    int timeout_ms = 30000;
};

// Runs argv[0] (absolute path) and captures output; kills it at the timeout.
RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

// Reads a child's stdout and stderr pipes to EOF (killing it at the
// timeout), closes them, and reaps it. exit_code is -1 if it was killed.
RunResult collect_child(pid_t pid, int out_fd, int err_fd, int timeout_ms);

// A fresh 0700 directory, removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& content, mode_t mode = 0600);
std::string read_file(const std::string& path);

// TOTP code for a base32 secret at time `at`, from oathtool (independent of
// elevate's own TOTP code).
std::string oathtool_code(const std::string& base32, int64_t at, const std::string& algorithm = "sha1", int digits = 6,
                          int period = 30);

// The secret=... parameter of an otpauth:// URI.
std::string uri_secret(const std::string& uri);

// A real Unix user, created with useradd and removed with userdel.
class TestUser {
public:
    explicit TestUser(std::string name);
    ~TestUser();
    const std::string& name() const { return name_; }
    uid_t uid() const { return uid_; }
    gid_t gid() const { return gid_; }

private:
    std::string name_;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
};

// A running elevated with its own config, state dir and socket.
class Daemon {
public:
    // `roles_toml` is appended to a generated [daemon]/[totp]/[lockout] head.
    explicit Daemon(const std::string& extra_toml = "");
    ~Daemon();

    // Extra NAME=value entries for the daemon's environment (e.g. the
    // libfaketime ones of faketime_env), applied by the next start().
    void set_env(std::vector<std::string> env) { env_ = std::move(env); }

    void start();  // waits until it answers ping
    void stop();   // SIGTERM and wait
    void kill9();  // SIGKILL and wait
    void sighup();
    bool running();

    const std::string& socket() const { return socket_; }
    const std::string& state_dir() const { return state_dir_; }
    const std::string& config_path() const { return config_path_; }
    const std::string& audit_path() const { return audit_path_; }
    const std::string& snapshot_path() const { return snapshot_path_; }
    const std::string& ctl_path() const { return ctl_path_; }  // world-executable copy
    const std::string& dir() const { return dir_.path(); }
    std::string log();  // the daemon's stderr so far

    // Runs elevatectl against this daemon.
    RunResult ctl(const std::vector<std::string>& args, const RunOptions& options = {});

    // Sends a raw request through the C++ client.
    base::Result<wire::Reply> call(wire::Op op, const std::vector<uint8_t>& payload);

    // Enrolls `user` (admin) and returns the base32 secret.
    std::string enroll(const std::string& user);

    // The verify operation for the caller (root) with a TOTP code.
    base::Result<wire::Reply> verify(const std::string& code);

private:
    TempDir dir_;
    std::string socket_, state_dir_, config_path_, audit_path_, snapshot_path_, log_path_, ctl_path_;
    std::vector<std::string> env_;
    pid_t pid_ = -1;
};

// After a fraud report has locked `user`: a correct code for `role` is
// refused with "elevation is locked for <user>" until `elevatectl unlock
// <user>`, after which the next code works (gtest expectations).
void expect_locked_then_unlock(Daemon& daemon, const std::string& user, const std::string& role,
                               const std::string& secret);

// Environment that runs a program under Debian's libfaketime (the library
// of the faketime package; the faketime wrapper itself forks, so signals
// sent to it would not reach the daemon). `faketime` is a FAKETIME value,
// e.g. "2005-03-18 01:58:29" (a stopped clock, UTC) or "+1d"; empty: the
// time comes from FAKETIME_TIMESTAMP_FILE=`timestamp_file`, re-read on every
// call, so a test can move the clock of a running daemon. The monotonic
// clock is left alone (poll timeouts and client deadlines use it).
std::vector<std::string> faketime_env(const std::string& faketime, const std::string& timestamp_file = "");

// Environment that preloads tests/integration/count_group_reads.c: the
// program appends a line to `count_file` for every read of the group
// database (getgrouplist); group_reads() counts them.
std::vector<std::string> group_read_counter_env(const std::string& count_file);
size_t group_reads(const std::string& count_file);

// Environment that preloads tests/integration/throw_in_lookup.cpp: the
// daemon's passwd lookup of `user` throws std::bad_alloc.
std::vector<std::string> throw_in_lookup_env(const std::string& user);

// "YYYY-MM-DD hh:mm:ss" (UTC) of an epoch time, as FAKETIME wants it.
std::string faketime_date(int64_t epoch);

std::string elevated_bin();
std::string elevatectl_bin();
int64_t now();

}  // namespace elevate::test
