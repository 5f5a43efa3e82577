#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace elevate::test {

std::string elevated_bin() {
    return ELEVATED_BIN;
}
std::string elevatectl_bin() {
    return ELEVATECTL_BIN;
}

namespace {

// LD_PRELOAD=`lib`, after the sanitizer runtime in sanitizer builds (it must
// come first).
std::string preload(const std::string& lib) {
    const std::string asan = ASAN_RUNTIME;
    return "LD_PRELOAD=" + (asan.empty() ? lib : asan + ":" + lib);
}

}  // namespace

std::vector<std::string> faketime_env(const std::string& faketime, const std::string& timestamp_file) {
    const std::string lib = LIBFAKETIME;
    if (!std::filesystem::exists(lib))
        throw std::runtime_error("libfaketime not found (" + lib + "); install faketime (scripts/install-deps.sh)");
    std::vector<std::string> env = {preload(lib), "FAKETIME_DONT_FAKE_MONOTONIC=1", "TZ=UTC"};
    if (!faketime.empty()) env.push_back("FAKETIME=" + faketime);
    if (!timestamp_file.empty()) {
        env.push_back("FAKETIME_TIMESTAMP_FILE=" + timestamp_file);
        env.push_back("FAKETIME_NO_CACHE=1");
    }
    return env;
}

std::vector<std::string> group_read_counter_env(const std::string& count_file) {
    return {preload(GROUP_READ_COUNTER), "ELEVATE_TEST_GROUP_READS=" + count_file};
}

std::vector<std::string> throw_in_lookup_env(const std::string& user) {
    return {preload(THROW_IN_LOOKUP), "ELEVATE_TEST_THROW_FOR=" + user};
}

size_t group_reads(const std::string& count_file) {
    std::ifstream in(count_file);
    size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

std::string faketime_date(int64_t epoch) {
    const auto t = static_cast<time_t>(epoch);
    struct tm tm {};
    if (gmtime_r(&t, &tm) == nullptr) throw std::runtime_error("gmtime_r");
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}
int64_t now() {
    return int64_t(::time(nullptr));
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& options) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        setsid();  // no controlling tty: elevatectl reads the code from stdin
        if (options.gid) {
            if (setgroups(0, nullptr) || setgid(*options.gid)) _exit(126);
        }
        if (options.uid && setuid(*options.uid)) _exit(126);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        std::vector<std::string> env_store = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
        for (const auto& e : options.env) env_store.push_back(e);
        std::vector<char*> env;
        for (auto& e : env_store) env.push_back(e.data());
        env.push_back(nullptr);
        execve(args[0], args.data(), env.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (!options.input.empty()) {
        ssize_t ignored = write(in[1], options.input.data(), options.input.size());
        (void)ignored;
    }
    close(in[1]);

    return collect_child(pid, out[0], err[0], options.timeout_ms);
}

RunResult collect_child(pid_t pid, int out_fd, int err_fd, int timeout_ms) {
    RunResult r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_fds = 2;
    bool killed = false;
    while (open_fds > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 && !killed) {
            kill(pid, SIGKILL);
            killed = true;
        }
        int n = poll(fds, 2, killed ? 1000 : int(left.count()));
        if (n <= 0) {
            if (killed) break;
            continue;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            } else {
                (i == 0 ? r.out : r.err).append(buf, size_t(got));
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) close(f.fd);
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) && !killed ? WEXITSTATUS(status) : -1;
    return r;
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/elevate-test-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
    chmod(path_.c_str(), 0700);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    std::ofstream f(path, std::ios::trunc);
    f << content;
    f.close();
    chmod(path.c_str(), mode);
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string oathtool_code(const std::string& base32, int64_t at, const std::string& algorithm, int digits, int period) {
    auto r = run({"/usr/bin/oathtool", "--totp=" + algorithm, "-b", "-d", std::to_string(digits), "-s",
                  std::to_string(period) + "s", "-N", "@" + std::to_string(at), base32});
    if (r.exit_code != 0) throw std::runtime_error("oathtool failed: " + r.err);
    while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
    return r.out;
}

std::string uri_secret(const std::string& uri) {
    auto p = uri.find("secret=");
    if (p == std::string::npos) return {};
    p += 7;
    auto e = uri.find('&', p);
    return uri.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

TestUser::TestUser(std::string name) : name_(std::move(name)) {
    run({"/usr/sbin/userdel", "-r", name_});  // leftovers of an aborted run
    run({"/usr/sbin/groupdel", name_});       // a user group userdel left behind
    auto r = run({"/usr/sbin/useradd", "-M", "-s", "/bin/sh", name_});
    if (r.exit_code != 0) throw std::runtime_error("useradd " + name_ + ": " + r.err);
    struct passwd* pw = getpwnam(name_.c_str());
    if (!pw) throw std::runtime_error("no passwd entry for " + name_);
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
}

TestUser::~TestUser() {
    run({"/usr/sbin/userdel", name_});
    run({"/usr/sbin/groupdel", name_});  // no-op when userdel removed it
}

Daemon::Daemon(const std::string& extra_toml) {
    socket_ = dir_.path() + "/elevated.sock";
    state_dir_ = dir_.path() + "/state";
    config_path_ = dir_.path() + "/elevate.conf";
    audit_path_ = dir_.path() + "/audit.jsonl";
    snapshot_path_ = dir_.path() + "/groups.snapshot";
    log_path_ = dir_.path() + "/elevated.log";
    mkdir(state_dir_.c_str(), 0700);
    // Test users (not root) must reach the socket and the CLI through the
    // directory; a copy of elevatectl here works wherever the build tree is.
    chmod(dir_.path().c_str(), 0711);
    ctl_path_ = dir_.path() + "/elevatectl";
    std::filesystem::copy_file(elevatectl_bin(), ctl_path_);
    chmod(ctl_path_.c_str(), 0755);
    write_file(config_path_,
               "[daemon]\n"
               "socket = \"" +
                   socket_ +
                   "\"\n"
                   "state_dir = \"" +
                   state_dir_ +
                   "\"\n"
                   "audit_file = \"" +
                   audit_path_ +
                   "\"\n"
                   "snapshot = \"" +
                   snapshot_path_ +
                   "\"\n"
                   "audit_journal = false\n"
                   "admin_group = \"elvt-admins\"\n" +
                   extra_toml);
}

Daemon::~Daemon() {
    if (pid_ > 0) kill9();
}

void Daemon::start() {
    pid_ = fork();
    if (pid_ == 0) {
        int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 2);
        dup2(fd, 1);
        for (const auto& e : env_) putenv(const_cast<char*>(e.c_str()));  // the child execs right away
        execl(elevated_bin().c_str(), "elevated", "--debug", "--config", config_path_.c_str(), (char*)nullptr);
        _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
        auto r = call(wire::Op::Ping, {});
        if (r && r->status == wire::Status::Ok) return;
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("elevated exited at start-up: " + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    throw std::runtime_error("elevated did not answer ping: " + log());
}

void Daemon::stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

void Daemon::kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

void Daemon::sighup() {
    kill(pid_, SIGHUP);
}

bool Daemon::running() {
    if (pid_ <= 0) return false;
    int status;
    return waitpid(pid_, &status, WNOHANG) == 0;
}

std::string Daemon::log() {
    return read_file(log_path_);
}

RunResult Daemon::ctl(const std::vector<std::string>& args, const RunOptions& options) {
    std::vector<std::string> argv = {ctl_path_, "--socket", socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, options);
}

base::Result<wire::Reply> Daemon::call(wire::Op op, const std::vector<uint8_t>& payload) {
    return wire::call(wire::ClientOptions{socket_, 5000, 0}, op, payload);
}

std::string Daemon::enroll(const std::string& user) {
    auto r = ctl({"--json", "enroll", user, "--no-qr"});
    if (r.exit_code != 0) throw std::runtime_error("enroll failed: " + r.out + r.err);
    auto secret = uri_secret(r.out);
    if (secret.empty()) throw std::runtime_error("no secret in enroll output: " + r.out);
    return secret;
}

base::Result<wire::Reply> Daemon::verify(const std::string& code) {
    wire::BufferWriter request;
    request->put_str(wire::Tag::Code, code);
    return call(wire::Op::Verify, request.take());
}

void expect_locked_then_unlock(Daemon& daemon, const std::string& user, const std::string& role,
                               const std::string& secret) {
    // Not even a correct code helps now.
    auto code = daemon.ctl({"activate", role}, {.input = oathtool_code(secret, now()) + "\n"});
    EXPECT_EQ(code.exit_code, 1) << code.err;
    EXPECT_NE(code.err.find("elevation is locked for " + user), std::string::npos) << code.err;

    auto unlocked = daemon.ctl({"unlock", user});
    ASSERT_EQ(unlocked.exit_code, 0) << unlocked.err;
    auto again = daemon.ctl({"activate", role}, {.input = oathtool_code(secret, now() + 30) + "\n"});
    EXPECT_EQ(again.exit_code, 0) << again.err;
}

}  // namespace elevate::test
