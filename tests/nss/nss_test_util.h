// Shared pieces of the NSS tests: where the built module is, one snapshot
// path per test process (the module reads ELEVATE_NSS_SNAPSHOT once), and
// running a program (getent, id, sudo) with an nsswitch.conf that names
// `elevate`, inside a private mount namespace, so the host's
// /etc/nsswitch.conf is never modified, not even for a moment.
#pragma once

#include "common/snapshot/writer.h"
#include "tests/integration/harness.h"

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace elevate::nss::test {

// The libnss_elevate.so.2 of this build tree, and its directory.
std::string module_path();
std::string module_dir();

// Makes sure glibc will dlopen the build tree's module: if LD_LIBRARY_PATH
// does not start with module_dir(), re-executes the program with it set
// (the dynamic loader reads it only at start-up). Call first thing in main.
void ensure_library_path(int argc, char** argv);

// A root-owned 0700 directory for this process's snapshot, exported as
// ELEVATE_NSS_SNAPSHOT=<dir>/groups.snapshot before the module's first
// call. Removed at exit.
const std::string& snapshot_dir();
const std::string& snapshot_path();
void setup_snapshot_env();

// Publishes a snapshot at snapshot_path() through the real writer.
void publish(const std::vector<snapshot::RoleEntry>& roles, const std::vector<snapshot::MemberEntry>& members);
void publish_raw(const std::vector<uint8_t>& bytes, mode_t mode = 0644);

int64_t now();

using RunResult = elevate::test::RunResult;  // exit_code -1: killed or timed out

struct NsOptions {
    // The "group:" line of the private nsswitch.conf, e.g. "files elevate".
    std::string group_line = "files elevate";
    std::vector<std::string> env;  // full environment of the program
    // Files bind-mounted over others inside the namespace: {source, target}.
    std::vector<std::pair<std::string, std::string>> binds;
    // Run as this user, with the supplementary groups a fresh login gets
    // (initgroups, resolved inside the namespace, i.e. through the module),
    // plus extra_groups (a session that logged in earlier keeps its groups).
    std::optional<std::string> login_user;
    std::vector<gid_t> extra_groups;
    // For set-uid programs (sudo), which ignore LD_LIBRARY_PATH and
    // ELEVATE_NSS_SNAPSHOT: make the build's module appear in the system
    // library directory (a read-only overlay, inside the namespace only) and
    // bind snapshot_dir() over /run/elevate.
    bool system_paths = false;
    // The snapshot the program should see (default: snapshot_path()). Its
    // file name must be groups.snapshot for system_paths.
    std::string snapshot;
    int timeout_ms = 20000;
};

// True when this process may create mount namespaces (root with
// CAP_SYS_ADMIN); tests that need them skip otherwise.
bool namespaces_available();

// Runs argv[0] (absolute path) in a private mount namespace in which
// /etc/nsswitch.conf is the host's file with the group line replaced.
RunResult run_with_nsswitch(const std::vector<std::string>& argv, const NsOptions& options);

// Environment that makes a (non-setuid) child load this build's module and
// read this process's snapshot.
std::vector<std::string> child_env(const std::string& snapshot = snapshot_path());

}  // namespace elevate::nss::test
