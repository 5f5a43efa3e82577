#include "nss_test_util.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace elevate::nss::test {

std::string module_path() {
    return NSS_MODULE_PATH;
}
std::string module_dir() {
    return NSS_MODULE_DIR;
}

void ensure_library_path(int argc, char** argv) {
    (void)argc;
    const char* current = getenv("LD_LIBRARY_PATH");
    const std::string want = module_dir();
    if (current != nullptr && std::string(current).rfind(want, 0) == 0) return;
    std::string value = want;
    if (current != nullptr && *current != '\0') value += std::string(":") + current;
    setenv("LD_LIBRARY_PATH", value.c_str(), 1);
    execv("/proc/self/exe", argv);
    perror("re-exec with LD_LIBRARY_PATH");
    _exit(127);
}

namespace {

std::string g_dir, g_path;
bool g_created_run_elevate = false;

void remove_dir() {
    std::error_code ec;
    if (!g_dir.empty()) std::filesystem::remove_all(g_dir, ec);
    // Only if this process created it, and only while empty.
    if (g_created_run_elevate) rmdir("/run/elevate");
}

}  // namespace

void setup_snapshot_env() {
    if (!g_dir.empty()) return;
    char tmpl[] = "/tmp/elevate-nss-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    g_dir = tmpl;
    g_path = g_dir + "/groups.snapshot";
    setenv("ELEVATE_NSS_SNAPSHOT", g_path.c_str(), 1);
    std::atexit(remove_dir);
}

const std::string& snapshot_dir() {
    return g_dir;
}
const std::string& snapshot_path() {
    return g_path;
}

void publish(const std::vector<snapshot::RoleEntry>& roles, const std::vector<snapshot::MemberEntry>& members) {
    static uint64_t generation = 0;
    auto r = snapshot::write_snapshot(g_path, roles, members, ++generation);
    if (!r) throw std::runtime_error(r.error().message);
}

void publish_raw(const std::vector<uint8_t>& bytes, mode_t mode) {
    std::string tmp = g_path + ".raw";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    }
    chmod(tmp.c_str(), mode);
    if (rename(tmp.c_str(), g_path.c_str()) != 0) throw std::runtime_error("rename");
}

int64_t now() {
    return int64_t(::time(nullptr));
}

std::vector<std::string> child_env(const std::string& snapshot) {
    return {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LD_LIBRARY_PATH=" + module_dir(),
            "ELEVATE_NSS_SNAPSHOT=" + snapshot};
}

bool namespaces_available() {
    pid_t pid = fork();
    if (pid == 0) _exit(unshare(CLONE_NEWNS) == 0 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

namespace {

std::string nsswitch_with(const std::string& group_line) {
    std::ifstream in("/etc/nsswitch.conf");
    std::stringstream out;
    std::string line;
    bool replaced = false;
    while (std::getline(in, line)) {
        std::string trimmed = line.substr(0, line.find_first_of(" \t:"));
        if (trimmed == "group" || trimmed == "initgroups") {
            if (!replaced) out << "group: " << group_line << "\n";
            replaced = true;
            continue;
        }
        out << line << "\n";
    }
    if (!replaced) out << "group: " << group_line << "\n";
    return out.str();
}

[[noreturn]] void child_fail(int fd, const std::string& what) {
    std::string msg = what + ": " + std::strerror(errno) + "\n";
    ssize_t ignored = write(fd, msg.data(), msg.size());
    (void)ignored;
    _exit(125);
}

}  // namespace

RunResult run_with_nsswitch(const std::vector<std::string>& argv, const NsOptions& options) {
    // The private nsswitch.conf lives next to the snapshot (root-only dir).
    const std::string conf = g_dir + "/nsswitch.conf";
    {
        std::ofstream f(conf, std::ios::trunc);
        f << nsswitch_with(options.group_line);
    }
    chmod(conf.c_str(), 0644);
    const std::string snapshot = options.snapshot.empty() ? g_path : options.snapshot;
    const std::string snapshot_parent = snapshot.substr(0, snapshot.rfind('/'));
    std::string module_copy;
    if (options.system_paths) {
        // The overlay's upper layer: a directory holding only the module.
        module_copy = g_dir + "/system-module";
        std::filesystem::create_directories(module_copy);
        std::filesystem::copy_file(module_path(), module_copy + "/libnss_elevate.so.2",
                                   std::filesystem::copy_options::overwrite_existing);
        chmod((module_copy + "/libnss_elevate.so.2").c_str(), 0755);
        // A mount point for the snapshot directory (sudo reads the default
        // path); created empty if the host has none, removed at exit.
        if (mkdir("/run/elevate", 0755) == 0)
            g_created_run_elevate = true;
        else if (errno != EEXIST)
            throw std::runtime_error("mkdir /run/elevate");
    }

    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        setsid();
        if (unshare(CLONE_NEWNS) != 0) child_fail(2, "unshare(CLONE_NEWNS)");
        if (mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(2, "make / private");
        if (mount(conf.c_str(), "/etc/nsswitch.conf", nullptr, MS_BIND, nullptr) != 0)
            child_fail(2, "bind nsswitch.conf");
        if (options.system_paths) {
            if (mount("overlay", NSS_SYSTEM_LIBDIR, "overlay", MS_RDONLY,
                      ("lowerdir=" + module_copy + ":" + NSS_SYSTEM_LIBDIR).c_str()) != 0)
                child_fail(2, "overlay the module on " NSS_SYSTEM_LIBDIR);
            if (mount(snapshot_parent.c_str(), "/run/elevate", nullptr, MS_BIND, nullptr) != 0)
                child_fail(2, "bind " + snapshot_parent + " on /run/elevate");
        }
        for (const auto& [source, target] : options.binds)
            if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0)
                child_fail(2, "bind " + source + " on " + target);
        if (options.login_user) {
            // Like login: groups from initgroups() (through the module, which
            // reads its path at first use: this child's environment, as long
            // as the parent never resolved a group itself).
            setenv("ELEVATE_NSS_SNAPSHOT", snapshot.c_str(), 1);
            struct passwd* pw = getpwnam(options.login_user->c_str());
            if (pw == nullptr) child_fail(2, "no user " + *options.login_user);
            if (initgroups(pw->pw_name, pw->pw_gid) != 0) child_fail(2, "initgroups " + *options.login_user);
            if (!options.extra_groups.empty()) {
                std::vector<gid_t> groups(size_t(NGROUPS_MAX));
                int n = getgroups(int(groups.size()), groups.data());
                if (n < 0) child_fail(2, "getgroups");
                groups.resize(size_t(n));
                groups.insert(groups.end(), options.extra_groups.begin(), options.extra_groups.end());
                if (setgroups(groups.size(), groups.data()) != 0) child_fail(2, "setgroups");
            }
            if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) child_fail(2, "become " + *options.login_user);
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        std::vector<std::string> env_store = options.env;
        std::vector<char*> env;
        for (auto& e : env_store) env.push_back(e.data());
        env.push_back(nullptr);
        execve(args[0], args.data(), env.data());
        child_fail(2, "exec " + argv[0]);
    }
    close(out[1]);
    close(err[1]);

    return elevate::test::collect_child(pid, out[0], err[0], options.timeout_ms);
}

}  // namespace elevate::nss::test
