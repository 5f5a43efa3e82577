// bench_pam: whole PAM transactions through the real libpam, side by side in
// one run (DESIGN.md, "Performance targets"):
//
//   1. pam_permit (auth + account): the floor, what libpam itself costs;
//   2. pam_elevate with an active grant and no prompt (auth activate=ROLE,
//      account require_grant=ROLE) against a real elevated
//      -> target: within 1.5x of pam_permit;
//   3. the TOTP verify path: pam_elevate (plain verify, the code answered
//      through the conversation) against pam_oath and
//      pam_google_authenticator, same users, same secret, same (user,
//      time-step) pairs, each code used once per module
//      -> target: pam_elevate at most half the time of each peer;
//   4. pam_elevate with the daemon down: stopped (its socket path), a stale
//      socket nobody listens on (connection refused), and a socket whose
//      server never answers (timeout=1)
//      -> target: deny in under 50 ms (refused/stopped).
//
// A transaction is pam_start -> pam_authenticate -> pam_acct_mgmt -> pam_end,
// as sudo runs it (the account step only after a successful auth). Service
// files are written to /etc/pam.d/elevate-bench-* and removed at exit, also
// after an error or Ctrl-C; leftovers of an aborted run are removed first.
// Test users elvbp-* likewise. The cases of a group run interleaved (one
// transaction of each in turn, in random order), in rounds; medians of
// the rounds are reported, with the CPU the rest of the machine used
// meanwhile (noise), the time of each PAM call, and the daemon's CPU per
// transaction. Log lines go to a stand-in for the log daemon (see logsink).
//
// With --policy-rules N (default 200), case 2 also runs against a second
// elevated whose config has N [[policy.rule]] entries (all but the last
// fail for the request) and risk history for --risk-users synthetic users
// (default 10,000), interleaved with the others: DESIGN.md's "the no-prompt
// PAM transaction still within the 100 us bound with 200 rules".
//
// Prints numbers; asserts nothing about time.
#include "bench/policy_load.h"
#include "bench/support.h"

#include "daemon/auth/totp.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// ---- syslog, as on a host with a log daemon -------------------------------------
//
// This machine has no /dev/log (no journald or rsyslog), so glibc's syslog
// drops every line after a failed connect, except for callers that asked
// for LOG_CONS: pam_google_authenticator opens its log with LOG_CONS, which
// then stays set for the whole process, and every later line of every module
// is written to /dev/console, a serial port here (about 1 ms per line, tens
// of ms when its buffer is full). Neither is what a real host costs. So this
// program defines openlog/syslog/vsyslog/closelog (and the _chk variants
// that libpam, libaudit and google-authenticator call) itself; the dynamic
// linker binds the modules' and libpam's calls to these. Each line is
// formatted with a syslog header and sent with one send() on a Unix datagram
// socket to a process that reads and discards it: the caller's side of
// logging to journald or rsyslog. The log daemon's own CPU is not counted.
namespace logsink {
std::atomic<uint64_t> lines{0};
int fd = -1;  // connected to the sink thread; -1: drop lines
char ident[64] = "";

pid_t reader_pid = -1;

// The reader is a separate process, as the log daemon is: a thread here
// would make every munmap in dlclose shoot down TLBs on the other CPU too.
void start() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) return;
    reader_pid = fork();
    if (reader_pid < 0) {
        ::close(sv[0]);
        ::close(sv[1]);
        return;
    }
    if (reader_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(sv[0]);
        char buf[2048];
        for (;;) {
            ssize_t n = ::recv(sv[1], buf, sizeof buf, 0);
            if (n < 0 && errno != EINTR) _exit(0);
        }
    }
    ::close(sv[1]);
    fd = sv[0];
}

void stop() {
    if (reader_pid > 0) {
        kill(reader_pid, SIGKILL);
        int status;
        waitpid(reader_pid, &status, 0);
        reader_pid = -1;
    }
    if (fd >= 0) ::close(fd);
    fd = -1;
}

__attribute__((format(printf, 2, 0))) void send_line(int priority, const char* format, va_list args) {
    lines.fetch_add(1, std::memory_order_relaxed);
    if (fd < 0) return;
    char buf[1024];
    const time_t now = ::time(nullptr);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t n = strftime(buf, 64, "%h %e %T ", &tm);
    int h =
        std::snprintf(buf + n, sizeof buf - n, "<%d>%s[%d]: ", priority, ident[0] ? ident : "bench_pam", int(getpid()));
    if (h > 0) n += size_t(h);
    const int saved = errno;
    if (n < sizeof buf) {
        errno = saved;  // for %m
        int m = std::vsnprintf(buf + n, sizeof buf - n, format, args);
        if (m > 0) n = std::min(sizeof buf - 1, n + size_t(m));
    }
    (void)::send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    errno = saved;
}
}  // namespace logsink

extern "C" {
__attribute__((visibility("default"))) void openlog(const char* ident, int, int) {
    std::snprintf(logsink::ident, sizeof logsink::ident, "%s", ident ? ident : "");
}
__attribute__((visibility("default"))) void closelog(void) {
    logsink::ident[0] = '\0';
}
__attribute__((visibility("default"))) void vsyslog(int priority, const char* format, va_list args) {
    logsink::send_line(priority, format, args);
}
__attribute__((visibility("default"))) void syslog(int priority, const char* format, ...) {
    va_list args;
    va_start(args, format);
    logsink::send_line(priority, format, args);
    va_end(args);
}
__attribute__((visibility("default"), format(printf, 3, 0))) void __vsyslog_chk(int priority, int, const char* format,
                                                                                va_list args) {
    logsink::send_line(priority, format, args);
}
__attribute__((visibility("default"), format(printf, 3, 4))) void __syslog_chk(int priority, int, const char* format,
                                                                               ...) {
    va_list args;
    va_start(args, format);
    logsink::send_line(priority, format, args);
    va_end(args);
}
}

namespace elevate::bench {
namespace {

const char kUsage[] =
    "Usage: bench_pam [OPTIONS]\n"
    "\n"
    "Measures whole PAM transactions (pam_start, pam_authenticate, pam_acct_mgmt,\n"
    "pam_end) through the real libpam: pam_permit, pam_elevate under an active grant,\n"
    "the TOTP path of pam_elevate vs pam_oath and pam_google_authenticator, and\n"
    "pam_elevate with the daemon down. Writes /etc/pam.d/elevate-bench-* and creates\n"
    "users elvbp-* (all removed at exit). Must run as root.\n"
    "\n"
    "  --rounds N         rounds; medians of the rounds are reported (default 5)\n"
    "  --iterations N     transactions per case and round, permit/grant group (default 2000)\n"
    "  --verify N         TOTP transactions per module and round (default 200)\n"
    "  --verify-users N   users for the TOTP path (default: enough for every code to be\n"
    "                     used once: (rounds x verify + warm-up) / 19, rounded up)\n"
    "  --down N           daemon-down transactions per variant and round (default 200)\n"
    "  --hung N           transactions against a server that never answers, timeout=1\n"
    "                     (about 1 s each; default 3; 0 skips)\n"
    "  --only LIST        run only these groups: grant,verify,down,dlopen (dlopen: module\n"
    "                     loading and the daemon's NSS lookup, alone) (default all)\n"
    "  --dir PATH         where the temporary directory goes: state dir, users.oath and\n"
    "                     the google-authenticator files (default /tmp)\n"
    "  --elevated PATH    the daemon binary (default: the one built with this benchmark)\n"
    "  --module PATH      pam_elevate.so (default: the one built with this benchmark)\n"
    "  --policy-rules N   also case 2 against a second daemon with N policy rules (default\n"
    "                     200; 0: no second daemon)\n"
    "  --risk-users N     risk history of N synthetic users in the second daemon's state,\n"
    "                     written through the store before it starts (default 10000)\n";

constexpr int kDrift = 10;           // elevate drift_steps, pam_oath window=, google WINDOW_SIZE 2*10+1
constexpr int kStepsPerWindow = 19;  // steps handed out per user per window: now-9 .. now+9
constexpr int kWarmup = 20;          // untimed transactions per case before the rounds

struct Options {
    int rounds = 5;
    int iterations = 2000;
    int verify = 200;
    int verify_users = 0;
    int down = 200;
    int hung = 3;
    std::set<std::string> only;
    std::string dir = "/tmp";
    std::string elevated = ELEVATED_BIN;
    std::string module = PAM_ELEVATE_SO;
    int policy_rules = 200;
    int risk_users = 10000;
    bool run(const std::string& group) const { return only.empty() || only.count(group) > 0; }
};

Options parse_args(int argc, char** argv) {
    Options o;
    BenchArgs args(argc, argv, kUsage);
    while (args.next()) {
        if (args.is("--rounds")) {
            o.rounds = args.integer();
        } else if (args.is("--iterations")) {
            o.iterations = args.integer();
        } else if (args.is("--verify")) {
            o.verify = args.integer();
        } else if (args.is("--verify-users")) {
            o.verify_users = args.integer();
        } else if (args.is("--down")) {
            o.down = args.integer();
        } else if (args.is("--hung")) {
            o.hung = args.integer();
        } else if (args.is("--only")) {
            std::stringstream ss(args.value());
            for (std::string g; std::getline(ss, g, ',');) {
                if (g != "grant" && g != "verify" && g != "down" && g != "dlopen")
                    throw std::runtime_error("--only: unknown group '" + g + "' (grant, verify, down, dlopen)");
                o.only.insert(g);
            }
        } else if (args.is("--dir")) {
            o.dir = args.value();
        } else if (args.is("--elevated")) {
            o.elevated = args.value();
        } else if (args.is("--module")) {
            o.module = args.value();
        } else if (args.is("--policy-rules")) {
            o.policy_rules = args.integer();
        } else if (args.is("--risk-users")) {
            o.risk_users = args.integer();
        } else {
            args.unknown();
        }
    }
    if (o.rounds < 1 || o.iterations < 1 || o.verify < 1 || o.down < 1 || o.verify_users < 0 || o.hung < 0 ||
        o.policy_rules < 0 || o.risk_users < 0)
        throw std::runtime_error("rounds, iterations, verify and down must be positive");
    if (o.module.empty() || o.module[0] != '/') throw std::runtime_error("--module must be an absolute path");
    return o;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

int64_t thread_cpu_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string loadavg() {
    std::string s = read_file("/proc/loadavg");
    std::istringstream in(s);
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

std::string fs_type(const std::string& path) {
    struct statfs st;
    if (statfs(path.c_str(), &st) != 0) return "unknown";
    switch (static_cast<unsigned long>(st.f_type)) {
        case EXT4_SUPER_MAGIC:
            return "ext4";
        case TMPFS_MAGIC:
            return "tmpfs";
        case XFS_SUPER_MAGIC:
            return "xfs";
        case BTRFS_SUPER_MAGIC:
            return "btrfs";
        case OVERLAYFS_SUPER_MAGIC:
            return "overlay";
        default:
            break;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(st.f_type));
    return buf;
}

// Runs argv and returns its stdout; throws unless it exits 0.
std::string capture(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + strerror(errno));
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
    if (pid == 0) {
        dup2(fds[1], 1);
        int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        std::vector<char*> args;
        for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    ::close(fds[1]);
    std::string out;
    char buf[256];
    for (;;) {
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, size_t(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(argv[0] + " failed");
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// The sources of one database in /etc/nsswitch.conf ("files systemd").
std::string nsswitch_line(const std::string& db) {
    std::ifstream in("/etc/nsswitch.conf");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(db + ":", 0) != 0) continue;
        std::istringstream words(line.substr(db.size() + 1));
        std::string w, out;
        while (words >> w) out += (out.empty() ? "" : " ") + w;
        return out;
    }
    return "?";
}

std::string to_hex(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// ---- what the run leaves on the system ---------------------------------------

constexpr char kPamDir[] = "/etc/pam.d/";
constexpr char kServicePrefix[] = "elevate-bench-";
constexpr char kUserPrefix[] = "elvbp-";

// Removes /etc/pam.d/elevate-bench-* (ours, from this or an aborted run).
int remove_service_files() {
    int removed = 0;
    DIR* d = opendir(kPamDir);
    if (!d) return 0;
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d))
        if (std::strncmp(e->d_name, kServicePrefix, sizeof kServicePrefix - 1) == 0) names.push_back(e->d_name);
    closedir(d);
    for (const auto& n : names)
        if (::unlink((kPamDir + n).c_str()) == 0) ++removed;
    return removed;
}

// The PAM service files of this run; all removed on destruction.
class ServiceFiles {
public:
    ServiceFiles() {
        if (int n = remove_service_files()) std::printf("removed %d leftover /etc/pam.d/elevate-bench-* file(s)\n", n);
    }
    ~ServiceFiles() { remove_service_files(); }
    ServiceFiles(const ServiceFiles&) = delete;
    ServiceFiles& operator=(const ServiceFiles&) = delete;

    // Writes /etc/pam.d/elevate-bench-<name>; returns the service name.
    std::string add(const std::string& name, const std::string& text) {
        const std::string service = kServicePrefix + name;
        write_file(kPamDir + service, text, 0644);
        texts_.emplace_back(service, text);
        return service;
    }
    void print() const {
        for (const auto& [service, text] : texts_) {
            std::printf("  /etc/pam.d/%s:\n", service.c_str());
            std::istringstream in(text);
            for (std::string line; std::getline(in, line);) std::printf("    %s\n", line.c_str());
        }
    }

private:
    std::vector<std::pair<std::string, std::string>> texts_;
};

// Removes users elvbp-* left by an aborted run (names from /etc/passwd).
void remove_leftover_users() {
    std::ifstream passwd("/etc/passwd");
    std::vector<std::string> stale;
    for (std::string line; std::getline(passwd, line);)
        if (line.rfind(kUserPrefix, 0) == 0) stale.push_back(line.substr(0, line.find(':')));
    for (const auto& u : stale) run_quiet({"/usr/sbin/userdel", u});
    if (!stale.empty()) std::printf("removed %zu leftover user(s) %s*\n", stale.size(), kUserPrefix);
}

// ---- one PAM transaction ---------------------------------------------------------

// The application side of the conversation: answers every prompt with
// `answer` (the code), keeps the last messages for error reports.
struct ConvData {
    std::string answer;
    int prompts = 0;
    std::string messages;
};

int conversation(int count, const struct pam_message** msg, struct pam_response** resp, void* appdata) {
    auto* data = static_cast<ConvData*>(appdata);
    if (count <= 0 || count > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
    auto* out = static_cast<struct pam_response*>(calloc(size_t(count), sizeof(struct pam_response)));
    if (!out) return PAM_BUF_ERR;
    for (int i = 0; i < count; ++i) {
        switch (msg[i]->msg_style) {
            case PAM_PROMPT_ECHO_OFF:
            case PAM_PROMPT_ECHO_ON:
                ++data->prompts;
                out[i].resp = strdup(data->answer.c_str());
                break;
            case PAM_ERROR_MSG:
            case PAM_TEXT_INFO:
                if (data->messages.size() < 512) {
                    if (!data->messages.empty()) data->messages += " | ";
                    data->messages += msg[i]->msg ? msg[i]->msg : "";
                }
                break;
            default:
                break;
        }
    }
    *resp = out;
    return PAM_SUCCESS;
}

enum class Kind {
    Full,      // start, authenticate, acct_mgmt (after a successful auth), end
    StartEnd,  // start and end only: config parsing and module loading
};

struct Outcome {
    bool ok = false;
    int64_t wall_ns = 0;
    int64_t cpu_ns = 0;
    int prompts = 0;
    uint64_t log_lines = 0;    // syslog lines written during the transaction
    int64_t phase_ns[4] = {};  // pam_start, pam_authenticate, pam_acct_mgmt, pam_end
    std::string error;
};

// One transaction as an application runs it. `expect` is the return code
// of pam_authenticate that counts as the expected outcome (PAM_SUCCESS, or
// PAM_AUTHINFO_UNAVAIL when the daemon is down); on success the account
// step must also succeed.
Outcome transaction(const std::string& service, const std::string& user, const std::string& answer, Kind kind,
                    int expect = PAM_SUCCESS) {
    ConvData data;
    data.answer = answer;
    const struct pam_conv conv = {conversation, &data};
    Outcome o;
    pam_handle_t* pamh = nullptr;
    const uint64_t l0 = logsink::lines.load(std::memory_order_relaxed);
    const int64_t c0 = thread_cpu_ns();
    const int64_t t0 = now_ns();
    int rc = pam_start(service.c_str(), user.c_str(), &conv, &pamh);
    const int64_t t1 = now_ns();
    int auth = PAM_SUCCESS, acct = PAM_SUCCESS;
    int64_t t2 = t1, t3 = t1;
    if (rc == PAM_SUCCESS && kind == Kind::Full) {
        auth = pam_authenticate(pamh, 0);
        t2 = t3 = now_ns();
        if (auth == PAM_SUCCESS) {
            acct = pam_acct_mgmt(pamh, 0);
            t3 = now_ns();
        }
    }
    const int last = rc != PAM_SUCCESS ? rc : auth != PAM_SUCCESS ? auth : acct;
    // The messages need the handle; pam_end is timed on its own below.
    char why[256] = "";
    if (rc != PAM_SUCCESS) {
        std::snprintf(why, sizeof why, "pam_start: %s", pam_strerror(pamh, rc));
    } else if (auth != expect) {
        std::snprintf(why, sizeof why, "pam_authenticate: %s (expected %s)", pam_strerror(pamh, auth),
                      pam_strerror(pamh, expect));
    } else if (acct != PAM_SUCCESS) {
        std::snprintf(why, sizeof why, "pam_acct_mgmt: %s", pam_strerror(pamh, acct));
    }
    const int64_t t4 = now_ns();
    if (pamh) pam_end(pamh, last);
    const int64_t t5 = now_ns();
    o.wall_ns = (t5 - t4) + (t3 - t0);
    o.cpu_ns = thread_cpu_ns() - c0;
    o.phase_ns[0] = t1 - t0;
    o.phase_ns[1] = t2 - t1;
    o.phase_ns[2] = t3 - t2;
    o.phase_ns[3] = t5 - t4;
    o.prompts = data.prompts;
    o.log_lines = logsink::lines.load(std::memory_order_relaxed) - l0;
    o.ok = why[0] == '\0';
    if (!o.ok)
        o.error = service + " for " + user + ": " + why + (data.messages.empty() ? "" : "; said: " + data.messages);
    return o;
}

// ---- samples and the report ----------------------------------------------------------

struct Samples {
    std::vector<int64_t> wall, cpu, phase[4];
    uint64_t failed = 0;
    uint64_t log_lines = 0;  // of the successful ones
    std::string first_error;
    void add(const Outcome& o) {
        if (o.ok) {
            wall.push_back(o.wall_ns);
            cpu.push_back(o.cpu_ns);
            for (int i = 0; i < 4; ++i) phase[i].push_back(o.phase_ns[i]);
            log_lines += o.log_lines;
        } else if (failed++ == 0) {
            first_error = o.error;
        }
    }
};

// One case over all rounds: the per-round numbers whose medians are printed.
struct CaseStats {
    std::string label;
    std::vector<double> p50, p99, cpu, daemon_cpu, log_lines, phase[4];
    uint64_t ok = 0, failed = 0;
    std::string first_error;
};

class Report {
public:
    // Records one round of `name` and prints its line. `daemon_cpu_us` is
    // the daemon's CPU per transaction of this case (negative: none).
    void add(const std::string& name, const std::string& label, const Samples& s, double daemon_cpu_us = -1) {
        CaseStats& c = cases_[name];
        if (c.label.empty()) {
            c.label = label;
            order_.push_back(name);
        }
        const Summary w = summarize(s.wall);
        const Summary cpu = summarize(s.cpu);
        c.ok += w.count;
        c.failed += s.failed;
        if (c.first_error.empty()) c.first_error = s.first_error;
        if (w.count) {
            c.p50.push_back(w.median_us);
            c.p99.push_back(w.p99_us);
            c.cpu.push_back(cpu.median_us);
            c.log_lines.push_back(double(s.log_lines) / double(w.count));
            for (int i = 0; i < 4; ++i) c.phase[i].push_back(summarize(s.phase[i]).median_us);
        }
        if (daemon_cpu_us >= 0) c.daemon_cpu.push_back(daemon_cpu_us);
        std::printf("  %-44s p50 %9s us  p99 %9s us  client CPU p50 %8s us", label.c_str(), fmt(w.median_us).c_str(),
                    fmt(w.p99_us).c_str(), fmt(cpu.median_us).c_str());
        if (daemon_cpu_us >= 0) std::printf("  daemon CPU %6s us/tx", fmt(daemon_cpu_us).c_str());
        if (w.count) std::printf("  log %s lines/tx", fmt(double(s.log_lines) / double(w.count), 1).c_str());
        std::printf("  [%zu ok", w.count);
        if (s.failed)
            std::printf(", %llu FAILED: %s", static_cast<unsigned long long>(s.failed), s.first_error.c_str());
        std::printf("]\n");
        std::fflush(stdout);
    }
    // Per-round ratio a/b of the p50s just added (the same round).
    void ratio(const std::string& key, const std::string& a, const std::string& b) {
        if (!cases_.count(a) || !cases_.count(b) || cases_[a].p50.empty() || cases_[b].p50.empty()) return;
        const double r = cases_[a].p50.back() / cases_[b].p50.back();
        ratios_[key].push_back(r);
        std::printf("  %-44s %s\n", ("ratio " + key).c_str(), fmt(r, 2).c_str());
    }
    bool has(const std::string& name) const { return cases_.count(name) && !cases_.at(name).p50.empty(); }
    const CaseStats& at(const std::string& name) const { return cases_.at(name); }
    double p50(const std::string& name) const { return has(name) ? median(at(name).p50) : 0; }
    double ratio_median(const std::string& key) const {
        return ratios_.count(key) ? median(ratios_.at(key)) : std::nan("");
    }
    size_t ratio_rounds(const std::string& key) const { return ratios_.count(key) ? ratios_.at(key).size() : 0; }
    std::pair<double, double> ratio_range(const std::string& key) const {
        if (!ratios_.count(key)) return {0, 0};
        const auto& v = ratios_.at(key);
        return {*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
    }

    void print_medians() const {
        std::printf("%-44s %6s %10s %10s %12s %12s %9s %9s\n", "case (median of rounds)", "rounds", "p50 us", "p99 us",
                    "client CPU", "daemon CPU", "log/tx", "measured");
        for (const auto& name : order_) {
            const CaseStats& c = cases_.at(name);
            std::printf("%-44s %6zu %10s %10s %12s", c.label.c_str(), c.p50.size(), fmt(median(c.p50)).c_str(),
                        fmt(median(c.p99)).c_str(), fmt(median(c.cpu)).c_str());
            if (!c.daemon_cpu.empty()) {
                std::printf(" %12s", fmt(median(c.daemon_cpu)).c_str());
            } else {
                std::printf(" %12s", "-");
            }
            std::printf(" %9s %9llu", fmt(median(c.log_lines), 1).c_str(), static_cast<unsigned long long>(c.ok));
            if (c.failed)
                std::printf("  %llu FAILED: %s", static_cast<unsigned long long>(c.failed), c.first_error.c_str());
            std::printf("\n");
        }
    }

    // Where the time of a transaction goes: the p50 of each PAM call.
    void print_phases() const {
        std::printf("%-44s %10s %10s %10s %10s\n", "p50 us of each call (median of rounds)", "pam_start", "authent.",
                    "acct_mgmt", "pam_end");
        for (const auto& name : order_) {
            const CaseStats& c = cases_.at(name);
            if (c.p50.empty() || median(c.phase[0]) == 0) continue;  // not a PAM transaction
            std::printf("%-44s %10s %10s %10s %10s\n", c.label.c_str(), fmt(median(c.phase[0])).c_str(),
                        fmt(median(c.phase[1])).c_str(), fmt(median(c.phase[2])).c_str(),
                        fmt(median(c.phase[3])).c_str());
        }
    }

private:
    std::map<std::string, CaseStats> cases_;
    std::vector<std::string> order_;
    std::map<std::string, std::vector<double>> ratios_;
};

// CPU use of the machine over a group of transactions: this process, the
// daemon, and everything else (the noise indicator).
class Window {
public:
    explicit Window(pid_t daemon) : daemon_(daemon) {
        self0_ = self_cpu_seconds();
        machine0_ = machine_busy_seconds();
        daemon0_ = cpu_seconds(daemon_);
        t0_ = now_ns();
    }
    // Daemon CPU seconds used so far in the window (-1: no daemon).
    double daemon_cpu() const {
        if (daemon_ <= 0 || daemon0_ < 0) return -1;
        const double now = cpu_seconds(daemon_);
        return now >= 0 ? now - daemon0_ : -1;
    }
    void print(const char* what) const {
        const double seconds = double(now_ns() - t0_) / 1e9;
        const double self = self_cpu_seconds() - self0_;
        const double daemon = std::max(0.0, daemon_cpu());
        const double other = std::max(0.0, machine_busy_seconds() - machine0_ - self - daemon);
        std::printf("  %s: %s s; this process %s%% of a CPU, elevated %s%%, other CPU %s%% (noise); load %s\n", what,
                    fmt(seconds, 2).c_str(), fmt(100 * self / seconds, 0).c_str(),
                    fmt(100 * daemon / seconds, 0).c_str(), fmt(100 * other / seconds, 0).c_str(), loadavg().c_str());
    }

private:
    pid_t daemon_;
    double self0_ = 0, machine0_ = 0, daemon0_ = -1;
    int64_t t0_ = 0;
};

// ---- TOTP codes that were never used ---------------------------------------------

// Hands out (user, time-step) pairs, each once: every module of the verify
// group gets the same pair in turn, and each keeps its own replay state (the
// daemon's claimed steps, the usersfile's last OTP, google's DISALLOW_REUSE
// list), so every transaction is a first use, i.e. a real success path.
// Per user the steps go up (pam_oath accepts only an OTP later than the last
// one), from now-9 to now+9: drift 10 accepts now-10..now+10, and one step
// of margin keeps a code valid across a step boundary mid-transaction.
// All users share one secret, so a step whose code also appears at another
// step nearby (a 1e-6 coincidence) is skipped: a module could match the
// other step and call it a replay.
class CodeBook {
public:
    CodeBook(std::string seed, size_t users) : seed_(std::move(seed)), next_(users, 0) {}

    struct Use {
        size_t user;
        int64_t step;
        std::string code;
    };
    // Empty when every user has used every step of the current window.
    std::optional<Use> next() {
        const int64_t current = wall_seconds() / 30;
        for (size_t tries = 0; tries < next_.size(); ++tries) {
            const size_t u = cursor_++ % next_.size();
            int64_t s = std::max(next_[u], current - (kDrift - 1));
            while (s <= current + kDrift - 1 && ambiguous(s)) ++s;
            if (s <= current + kDrift - 1) {
                next_[u] = s + 1;
                return Use{u, s, code(s)};
            }
        }
        return std::nullopt;
    }
    // Waits (untimed) for the next time-step, which opens one more code per user.
    void wait_for_next_step() {
        const int64_t next = (wall_seconds() / 30 + 1) * 30;
        while (wall_seconds() < next) {
            check_interrupted();
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ++waits_;
    }
    int waits() const { return waits_; }

private:
    const std::string& code(int64_t step) {
        auto it = codes_.find(step);
        if (it == codes_.end()) it = codes_.emplace(step, totp_code(seed_, step)).first;
        return it->second;
    }
    bool ambiguous(int64_t step) {
        const std::string c = code(step);
        for (int64_t d = -2 * kDrift - 2; d <= 2 * kDrift + 2; ++d)
            if (d != 0 && code(step + d) == c) return true;
        return false;
    }
    std::string seed_;
    std::vector<int64_t> next_;
    size_t cursor_ = 0;
    std::map<int64_t, std::string> codes_;
    int waits_ = 0;
};

// ---- the daemon down ---------------------------------------------------------------

// A Unix socket owned by root that accepts connections into its backlog and
// never answers: a hung daemon. Pending connections are drained (untimed)
// after each transaction so the backlog never fills.
class HungServer {
public:
    explicit HungServer(const std::string& path) : path_(path) {
        ::unlink(path_.c_str());
        fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_un addr = {};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(fd_, 16) < 0)
            throw std::runtime_error("hung server: cannot listen on " + path_ + ": " + strerror(errno));
        chmod(path_.c_str(), 0666);
    }
    ~HungServer() {
        if (fd_ >= 0) ::close(fd_);
        ::unlink(path_.c_str());
    }
    HungServer(const HungServer&) = delete;
    HungServer& operator=(const HungServer&) = delete;
    void drain() {
        for (;;) {
            int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) return;
            ::close(c);
        }
    }

private:
    std::string path_;
    int fd_ = -1;
};

// A socket file nobody listens on: what a crashed daemon leaves behind.
void make_stale_socket(const std::string& path) {
    ::unlink(path.c_str());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        throw std::runtime_error("stale socket " + path + ": " + strerror(errno));
    ::close(fd);
}

std::string connect_result(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    std::string r = rc == 0 ? "connects" : strerror(errno);
    ::close(fd);
    return r;
}

// ---- module loading alone --------------------------------------------------------

// dlopen(RTLD_NOW) + dlclose of a module, as libpam does in every pam_start
// and pam_end: the part of the floor that depends on the module's size.
Summary dlopen_cycle(const std::string& path, int n) {
    std::vector<int64_t> samples;
    for (int i = 0; i < n; ++i) {
        const int64_t t0 = now_ns();
        void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) throw std::runtime_error("dlopen " + path + ": " + dlerror());
        dlclose(h);
        samples.push_back(now_ns() - t0);
    }
    return summarize(std::move(samples));
}

// What elevated does for every authorize (policy::user_groups): getpwnam_r
// and getgrouplist through NSS, with this host's nsswitch.conf.
Summary nss_groups_cost(const std::string& user, int n) {
    std::vector<int64_t> samples;
    std::vector<char> buf(4096);
    std::vector<gid_t> groups(64);
    for (int i = 0; i < n; ++i) {
        const int64_t t0 = now_ns();
        struct passwd pw, *result = nullptr;
        getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &result);
        int count = int(groups.size());
        if (result) getgrouplist(user.c_str(), pw.pw_gid, groups.data(), &count);
        samples.push_back(now_ns() - t0);
    }
    return summarize(std::move(samples));
}

// Which of a module's libraries this process had mapped already (then its
// dlopen here is cheaper than in a fresh sudo or sshd child).
std::string premapped(const std::vector<std::string>& libs) {
    const std::string maps = read_file("/proc/self/maps");
    std::string out;
    for (const auto& l : libs)
        if (maps.find(l) != std::string::npos) out += (out.empty() ? "" : ", ") + l;
    return out.empty() ? "none" : out;
}

// ---- the run ---------------------------------------------------------------------------

// `more_eligible`: names added to the role's eligible_users; `policy`: a
// [policy] section and rules, appended.
std::string config_text(const std::string& dir, unsigned gid, const std::string& role, const std::string& user,
                        const std::vector<std::string>& more_eligible = {}, const std::string& policy = "") {
    std::string eligible = "\"" + user + "\"";
    for (const std::string& u : more_eligible) eligible += ", \"" + u + "\"";
    return daemon_section(dir) +
           "\n"
           "[totp]\n"
           "# 21 valid codes per user at any moment (now-10 .. now+10): each is\n"
           "# accepted once, so the verify path needs many of them.\n"
           "drift_steps = " +
           std::to_string(kDrift) +
           "\n"
           "\n"
           "[lockout]\n"
           "# Every code sent is valid; should one fail anyway, do not lock the user\n"
           "# out of the remaining rounds.\n"
           "max_failures = 100\n"
           "\n"
           "[[role]]\n"
           "name = \"" +
           role +
           "\"\n"
           "gid = " +
           std::to_string(gid) +
           "\n"
           "eligible_users = [" +
           eligible +
           "]\n"
           "default_duration = \"8h\"\n"
           "max_duration = \"8h\"\n" +
           (policy.empty() ? "" : "\n" + policy);
}

void enroll_with_secret(const std::string& socket, const std::string& user, const std::string& seed) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    w->put_bytes(wire::Tag::Secret, seed.data(), seed.size());
    w->put_str(wire::Tag::Label, "bench-pam");
    call_expect(socket, wire::Op::Enroll, w.take());
}

int count_grants(const std::string& socket, const std::string& user) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    auto s = call_expect(socket, wire::Op::Status, w.take());
    int grants = 0;
    auto it = s.fields.iterate();
    for (wire::Field f; it.next(&f);) grants += f.tag == uint16_t(wire::Tag::Grant);
    return grants;
}

Summary rtt(const std::string& socket, wire::Op op, const std::vector<uint8_t>& payload, int n, std::string* error) {
    const wire::ClientOptions options = client_options(socket);
    std::vector<int64_t> samples;
    for (int i = 0; i < n; ++i) {
        const int64_t t0 = now_ns();
        auto r = wire::call(options, op, payload);
        const int64_t t = now_ns() - t0;
        if (r && r->status == wire::Status::Ok) {
            samples.push_back(t);
        } else if (error->empty()) {
            *error = r ? std::string(wire::status_name(r->status)) + ": " + r->message : r.error().message;
        }
    }
    return summarize(std::move(samples));
}

// Writes a small file, fsyncs it and renames it over the previous one: the
// durable part of what pam_oath and pam_google_authenticator do on every
// success, alone, in the same directory, timed in random order with the
// transactions (the disk's speed changes from minute to minute here).
Outcome fsync_probe(const std::string& dir) {
    const std::string tmp = dir + "/fsync-probe.new", dst = dir + "/fsync-probe";
    static const std::string content(120, 'x');
    Outcome o;
    const int64_t c0 = thread_cpu_ns();
    const int64_t t0 = now_ns();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    o.ok = fd >= 0 && ::write(fd, content.data(), content.size()) == ssize_t(content.size()) && fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    o.ok = o.ok && ::rename(tmp.c_str(), dst.c_str()) == 0;
    o.wall_ns = now_ns() - t0;
    o.cpu_ns = thread_cpu_ns() - c0;
    if (!o.ok) o.error = "fsync probe in " + dir + ": " + strerror(errno);
    return o;
}

const char* verdict(bool met) {
    return met ? "met" : "MISSED";
}

int run(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    install_interrupt_handlers();
    logsink::start();
    print_machine();
    if (geteuid() != 0)
        throw std::runtime_error("must run as root (writes /etc/pam.d, starts elevated, creates users)");
    if (auto r = auth::totp_init(); !r) throw std::runtime_error(r.error().message);
    if (::access(o.module.c_str(), R_OK) != 0) throw std::runtime_error("no pam_elevate.so at " + o.module);

    const bool verify_group = o.run("verify");
    const int needed_codes = o.rounds * o.verify + kWarmup;
    const int verify_users = !verify_group        ? 0
                             : o.verify_users > 0 ? o.verify_users
                                                  : (needed_codes + kStepsPerWindow - 1) / kStepsPerWindow + 1;
    std::printf(
        "bench_pam: %d round(s); per round %d transactions per case (permit/grant group), %d per module "
        "(TOTP group, %d users), %d per daemon-down variant, %d hung in all\n",
        o.rounds, o.iterations, o.verify, verify_users, o.down, o.hung);

    ServiceFiles services;  // pre-cleans /etc/pam.d/elevate-bench-*, removes ours at exit
    remove_leftover_users();

    TempDir dir(o.dir);
    const std::string socket = dir.path() + "/elevated.sock";
    ::mkdir((dir.path() + "/state").c_str(), 0700);
    ::mkdir((dir.path() + "/ga").c_str(), 0700);
    std::printf("temporary directory %s (%s): elevated's state dir, users.oath and google-authenticator files\n",
                dir.path().c_str(), fs_type(dir.path()).c_str());
    std::printf("pam_elevate: %s\nelevated:    %s\n", o.module.c_str(), o.elevated.c_str());

    // Users: one holding the grant, and the TOTP users.
    const int64_t users_t0 = now_ns();
    const std::string grant_user = std::string(kUserPrefix) + "user";
    std::vector<std::unique_ptr<TempUser>> users;
    users.push_back(std::make_unique<TempUser>(grant_user));
    std::vector<std::string> totp_users;
    for (int i = 0; i < verify_users; ++i) {
        check_interrupted();
        totp_users.push_back(kUserPrefix + std::to_string(i));
        users.push_back(std::make_unique<TempUser>(totp_users.back()));
    }
    std::printf("created %zu user(s) %s* in %s s\n", users.size(), kUserPrefix,
                fmt(double(now_ns() - users_t0) / 1e9, 1).c_str());

    // The one secret: elevate (imported through Op::Enroll), pam_oath (hex)
    // and google-authenticator (base32) all get the same 20 bytes.
    std::string seed(20, '\0');
    {
        std::ifstream random("/dev/urandom", std::ios::binary);
        random.read(seed.data(), std::streamsize(seed.size()));
        if (!random) throw std::runtime_error("cannot read /dev/urandom");
    }
    const std::string hex = to_hex(seed);
    const std::string b32 = auth::base32_encode(base::SecureBuffer(seed));

    const std::string role = "elvbp-role";
    const unsigned gid = free_gid(64980);
    // The policy variant of case 2: a second daemon, same roles and eligible
    // users, plus the rules and the risk history.
    const bool policy_variant = o.policy_rules > 0 && o.run("grant");
    const std::vector<std::string> risk_users =
        policy_variant ? risk_user_names(o.risk_users) : std::vector<std::string>();
    write_file(dir.path() + "/elevate.conf", config_text(dir.path(), gid, role, grant_user, risk_users));
    DaemonProcess daemon(o.elevated, dir.path() + "/elevate.conf", socket, dir.path() + "/elevated.log");
    const int64_t startup = daemon.start();
    std::printf("elevated started in %s ms (pid %d)\n", fmt(double(startup) / 1e6, 1).c_str(), int(daemon.pid()));

    const std::string policy_dir = dir.path() + "/policy";
    const std::string policy_socket = policy_dir + "/elevated.sock";
    const std::string s_grant_policy_name = std::string(kServicePrefix) + "grant-policy";
    std::unique_ptr<DaemonProcess> policy_daemon;
    if (policy_variant) {
        ::mkdir(policy_dir.c_str(), 0700);
        ::mkdir((policy_dir + "/state").c_str(), 0700);
        PolicyLoad load;
        load.rules = o.policy_rules;
        load.role = role;
        load.services = {s_grant_policy_name};
        load.users = risk_users.empty() ? risk_user_names(100) : risk_users;
        load.now = wall_seconds();
        const std::string text = config_text(policy_dir, gid, role, grant_user, risk_users, policy_section(load));
        write_file(policy_dir + "/elevate.conf", text);
        if (!risk_users.empty()) {
            const RiskSeedResult seeded = seed_risk_history(policy_dir + "/state", risk_users, wall_seconds());
            std::printf(
                "policy daemon: risk history of %d users through store::Store::record_risk in %s s (%d events; "
                "about %d low, %d medium, %d high)\n",
                seeded.users, fmt(seeded.seconds, 1).c_str(), seeded.events, seeded.low, seeded.medium, seeded.high);
        }
        policy_daemon = std::make_unique<DaemonProcess>(o.elevated, policy_dir + "/elevate.conf", policy_socket,
                                                        policy_dir + "/elevated.log");
        const int64_t t = policy_daemon->start();
        std::printf("policy daemon: %d rules, config %zu bytes, started in %s ms (pid %d)\n", o.policy_rules,
                    text.size(), fmt(double(t) / 1e6, 1).c_str(), int(policy_daemon->pid()));
        enroll_with_secret(policy_socket, grant_user, seed);
    }

    enroll_with_secret(socket, grant_user, seed);
    std::string oath_lines;
    for (const auto& u : totp_users) {
        check_interrupted();
        enroll_with_secret(socket, u, seed);
        oath_lines += "HOTP/T30/6\t" + u + "\t-\t" + hex + "\n";
        write_file(dir.path() + "/ga/" + u,
                   b32 + "\n\" TOTP_AUTH\n\" WINDOW_SIZE " + std::to_string(2 * kDrift + 1) + "\n\" DISALLOW_REUSE\n",
                   0600);
    }
    const std::string usersfile = dir.path() + "/users.oath";
    write_file(usersfile, oath_lines, 0600);

    const std::string mod = o.module;
    const std::string s_permit = services.add("permit",
                                              "auth     required pam_permit.so\n"
                                              "account  required pam_permit.so\n");
    const std::string s_grant =
        services.add("grant", "auth     required " + mod + " socket=" + socket + " activate=" + role +
                                  "\naccount  required " + mod + " socket=" + socket + " require_grant=" + role + "\n");
    const std::string s_grant_policy =
        policy_variant ? services.add("grant-policy", "auth     required " + mod + " socket=" + policy_socket +
                                                          " activate=" + role + "\naccount  required " + mod +
                                                          " socket=" + policy_socket + " require_grant=" + role + "\n")
                       : std::string();
    const std::string s_verify = services.add(
        "verify", "auth     required " + mod + " socket=" + socket + "\naccount  required pam_permit.so\n");
    const std::string s_oath =
        services.add("oath", "auth     required pam_oath.so usersfile=" + usersfile +
                                 " window=" + std::to_string(kDrift) + " digits=6\naccount  required pam_permit.so\n");
    const std::string s_google =
        services.add("google", "auth     required pam_google_authenticator.so secret=" + dir.path() +
                                   "/ga/${USER} user=root\naccount  required pam_permit.so\n");
    const std::string stale_socket = dir.path() + "/stale.sock";
    const std::string hung_socket = dir.path() + "/hung.sock";
    const std::string s_stopped = services.add("stopped", "auth     required " + mod + " socket=" + socket +
                                                              " activate=" + role + "\naccount  required " + mod +
                                                              " socket=" + socket + " require_grant=" + role + "\n");
    const std::string s_stale = services.add("stale", "auth     required " + mod + " socket=" + stale_socket +
                                                          " activate=" + role + "\naccount  required " + mod +
                                                          " socket=" + stale_socket + " require_grant=" + role + "\n");
    const std::string s_hung =
        services.add("hung", "auth     required " + mod + " socket=" + hung_socket + " timeout=1 activate=" + role +
                                 "\naccount  required " + mod + " socket=" + hung_socket +
                                 " timeout=1 require_grant=" + role + "\n");
    std::printf(
        "PAM services (users file %s: one line per user 'HOTP/T30/6 USER - HEX'; google files %s/ga/USER:\n"
        "base32 secret, \" TOTP_AUTH, \" WINDOW_SIZE %d, \" DISALLOW_REUSE; all users share one secret):\n",
        usersfile.c_str(), dir.path().c_str(), 2 * kDrift + 1);
    services.print();

    // The grant: activated once, through pam_elevate itself (activate=ROLE
    // prompts for the code of a user without a grant), with oathtool's code.
    {
        const std::string code = capture({"/usr/bin/oathtool", "--totp", "-d", "6", hex});
        const std::string ours = totp_code(seed, wall_seconds() / 30);
        const Outcome first = transaction(s_grant, grant_user, code, Kind::Full);
        if (!first.ok) throw std::runtime_error("activating the grant failed: " + first.error + "\n" + daemon.log());
        const int grants = count_grants(socket, grant_user);
        std::printf(
            "grant: %s activated %s through %s with oathtool's code (%s elevate's own TOTP); "
            "%d prompt(s), %s ms; %d active grant(s)\n",
            grant_user.c_str(), role.c_str(), s_grant.c_str(), code == ours ? "agrees with" : "DIFFERS from",
            first.prompts, fmt(double(first.wall_ns) / 1e6, 2).c_str(), grants);
        if (grants != 1) throw std::runtime_error("expected one active grant for " + grant_user);
        if (policy_variant) {
            const Outcome p = transaction(s_grant_policy, grant_user, totp_code(seed, wall_seconds() / 30), Kind::Full);
            if (!p.ok)
                throw std::runtime_error("activating the grant (policy daemon) failed: " + p.error + "\n" +
                                         policy_daemon->log());
            if (count_grants(policy_socket, grant_user) != 1)
                throw std::runtime_error("expected one active grant for " + grant_user + " in the policy daemon");
            // Which rule decides the timed request, and how many were walked.
            wire::BufferWriter w;
            w->put_str(wire::Tag::User, grant_user);
            w->put_str(wire::Tag::Role, role);
            w->put_str(wire::Tag::Service, s_grant_policy);
            const ExplainSummary e = explain(policy_socket, w.take());
            std::printf("policy daemon: grant activated through %s; explain: %s by rule %s, %d rule(s) considered\n",
                        s_grant_policy.c_str(), e.outcome.c_str(), e.rule.c_str(), e.considered);
        }
    }

    CodeBook book(seed, totp_users.size());
    uint64_t verify_transactions = 0;
    std::mt19937 rng(20261126);  // fixed seed: the same orders in every run
    std::array<int, 4> order = {0, 1, 2, 3};
    // One (user, step) for all three modules and the fsync probe, in random
    // order; when the current window is used up, waits (untimed) for the
    // next time-step first.
    auto verify_triple = [&](Samples* e, Samples* oa, Samples* g, Samples* probe) {
        auto use = book.next();
        if (!use) {
            book.wait_for_next_step();
            use = book.next();
            if (!use) throw std::runtime_error("no unused TOTP code after waiting for the next time-step");
        }
        const std::string& user = totp_users[use->user];
        // A new random order each time: no module always follows another's
        // fsync or the daemon's wake-up.
        Outcome a, b, c, d;
        std::shuffle(order.begin(), order.end(), rng);
        for (int k : order) {
            switch (k) {
                case 0:
                    a = transaction(s_verify, user, use->code, Kind::Full);
                    break;
                case 1:
                    b = transaction(s_oath, user, use->code, Kind::Full);
                    break;
                case 2:
                    c = transaction(s_google, user, use->code, Kind::Full);
                    break;
                default:
                    d = fsync_probe(dir.path());
                    break;
            }
        }
        probe->add(d);
        e->add(a);
        oa->add(b);
        g->add(c);
        if (!a.ok || !b.ok || !c.ok) {
            // A failed code could lock the user out (elevate) or desynchronise
            // a usersfile: report it loudly; the rounds go on.
            const std::string& why = !a.ok ? a.error : !b.ok ? b.error : c.error;
            std::fprintf(stderr, "bench_pam: TOTP transaction failed (step %lld): %s\n",
                         static_cast<long long>(use->step), why.c_str());
        }
        verify_transactions += 3;
    };

    // Warm-up (untimed): libpam's first load, the daemon's first requests.
    for (int i = 0; i < kWarmup; ++i) {
        check_interrupted();
        if (o.run("grant")) {
            transaction(s_permit, grant_user, "", Kind::Full);
            Outcome g = transaction(s_grant, grant_user, "", Kind::Full);
            if (!g.ok) throw std::runtime_error("warm-up: " + g.error + "\n" + daemon.log());
            if (g.prompts) throw std::runtime_error("warm-up: the grant transaction prompted; no active grant?");
            if (policy_variant) {
                Outcome p = transaction(s_grant_policy, grant_user, "", Kind::Full);
                if (!p.ok) throw std::runtime_error("warm-up (policy): " + p.error + "\n" + policy_daemon->log());
                if (p.prompts) throw std::runtime_error("warm-up: the policy grant transaction prompted");
            }
        }
        if (verify_group) {
            Samples a, b, c, d;
            verify_triple(&a, &b, &c, &d);
            if (a.failed || b.failed || c.failed)
                throw std::runtime_error("warm-up: " + a.first_error + b.first_error + c.first_error + "\n" +
                                         daemon.log());
        }
    }

    Report report;
    wire::BufferWriter authorize_payload, account_payload;
    authorize_payload->put_str(wire::Tag::User, grant_user);
    authorize_payload->put_str(wire::Tag::Role, role);
    authorize_payload->put_str(wire::Tag::Service, s_grant);
    account_payload->put_str(wire::Tag::User, grant_user);
    account_payload->put_str(wire::Tag::Roles, role);
    account_payload->put_str(wire::Tag::Service, s_grant);
    const std::vector<uint8_t> authorize_bytes = authorize_payload.take(), account_bytes = account_payload.take();

    std::vector<double> rtt_p50[2], rtt_cpu[2];  // per round: authorize, account
    for (int round = 1; round <= o.rounds; ++round) {
        check_interrupted();
        std::printf("\n-- round %d of %d\n", round, o.rounds);

        if (o.run("grant")) {
            // Interleaved: one transaction of each case in turn, in a new
            // random order each time, so all four see the same machine and
            // none always follows the same case (a transaction that waited
            // for the daemon leaves the next one on a colder CPU).
            Samples permit, grant, permit_se, grant_se, grant_policy;
            Window w(daemon.pid());
            const double policy_cpu0 = policy_daemon ? cpu_seconds(policy_daemon->pid()) : -1;
            std::vector<int> cases = {0, 1, 2, 3};
            if (policy_variant) cases.push_back(4);
            for (int i = 0; i < o.iterations; ++i) {
                if (g_interrupted.load()) break;
                std::shuffle(cases.begin(), cases.end(), rng);
                for (int k : cases) {
                    switch (k) {
                        case 0:
                            permit.add(transaction(s_permit, grant_user, "", Kind::Full));
                            break;
                        case 1:
                            grant.add(transaction(s_grant, grant_user, "", Kind::Full));
                            break;
                        case 2:
                            permit_se.add(transaction(s_permit, grant_user, "", Kind::StartEnd));
                            break;
                        case 4:
                            grant_policy.add(transaction(s_grant_policy, grant_user, "", Kind::Full));
                            break;
                        default:
                            grant_se.add(transaction(s_grant, grant_user, "", Kind::StartEnd));
                            break;
                    }
                }
            }
            check_interrupted();
            const double daemon_cpu = w.daemon_cpu();
            w.print("permit/grant group");
            report.add("permit", "1 pam_permit (auth+account)", permit);
            report.add("grant", "2 pam_elevate, active grant, no prompt", grant,
                       daemon_cpu >= 0 && !grant.wall.empty() ? 1e6 * daemon_cpu / double(grant.wall.size()) : -1);
            report.add("permit_se", "  pam_permit service: start+end only", permit_se);
            report.add("grant_se", "  pam_elevate service: start+end only", grant_se);
            if (policy_variant) {
                const double pcpu = cpu_seconds(policy_daemon->pid()) - policy_cpu0;
                report.add("grant_policy", "2 pam_elevate, active grant, " + std::to_string(o.policy_rules) + " rules",
                           grant_policy,
                           !grant_policy.wall.empty() ? 1e6 * pcpu / double(grant_policy.wall.size()) : -1);
                report.ratio("policy/permit", "grant_policy", "permit");
                report.ratio("policy/grant", "grant_policy", "grant");
            }
            // The two daemon round trips of the grant transaction, alone
            // (C++ client: connect, SO_PEERCRED check, one frame each way),
            // back to back, with the daemon's CPU per request.
            for (int op = 0; op < 2; ++op) {
                std::string error;
                const int n = std::max(1, o.iterations / 4);
                const double d0 = cpu_seconds(daemon.pid());
                const Summary r = rtt(socket, op == 0 ? wire::Op::Authorize : wire::Op::Account,
                                      op == 0 ? authorize_bytes : account_bytes, n, &error);
                const double dcpu = 1e6 * (cpu_seconds(daemon.pid()) - d0) / double(std::max<size_t>(1, r.count));
                std::printf("  %-44s p50 %9s us  p99 %9s us  daemon CPU %6s us/request%s%s\n",
                            op == 0 ? "  daemon round trip: authorize" : "  daemon round trip: account",
                            fmt(r.median_us).c_str(), fmt(r.p99_us).c_str(), fmt(dcpu).c_str(),
                            error.empty() ? "" : "  FAILED: ", error.c_str());
                rtt_p50[op].push_back(r.median_us);
                rtt_cpu[op].push_back(dcpu);
            }
            report.ratio("grant/permit", "grant", "permit");
        }

        if (verify_group) {
            Samples e, oa, g, probe;
            Window w(daemon.pid());
            for (int i = 0; i < o.verify; ++i) {
                if (g_interrupted.load()) break;
                verify_triple(&e, &oa, &g, &probe);
            }
            check_interrupted();
            const double daemon_cpu = w.daemon_cpu();
            w.print("TOTP group");
            report.add("verify", "3 pam_elevate TOTP (authorize+verify)", e,
                       daemon_cpu >= 0 && !e.wall.empty() ? 1e6 * daemon_cpu / double(e.wall.size()) : -1);
            report.add("oath", "3 pam_oath TOTP (usersfile rewrite)", oa);
            report.add("google", "3 pam_google_authenticator TOTP", g);
            report.add("fsync", "  peer cost alone: write+fsync+rename", probe);
            report.ratio("oath/elevate", "oath", "verify");
            report.ratio("google/elevate", "google", "verify");
        }
    }
    check_interrupted();

    // What the state looks like after the TOTP rounds (the files the peers rewrite).
    if (verify_group) {
        struct stat st {};
        const long oath_size = ::stat(usersfile.c_str(), &st) == 0 ? long(st.st_size) : -1;
        const long ga_size = !totp_users.empty() && ::stat((dir.path() + "/ga/" + totp_users[0]).c_str(), &st) == 0
                                 ? long(st.st_size)
                                 : -1;
        std::printf(
            "\nTOTP: %llu transactions in all (3 modules, incl. %d warm-up each); waited for a new time-step "
            "%d time(s); users.oath %ld bytes for %zu users, %s/ga/%s %ld bytes\n",
            static_cast<unsigned long long>(verify_transactions), kWarmup, book.waits(), oath_size, totp_users.size(),
            dir.path().c_str(), totp_users.empty() ? "-" : totp_users[0].c_str(), ga_size);
        ::unlink((dir.path() + "/fsync-probe").c_str());
    }

    // Daemon down.
    if (o.run("down")) {
        daemon.stop();
        make_stale_socket(stale_socket);
        std::printf(
            "\n-- daemon down: elevated stopped (SIGTERM); connect to its socket path: %s; "
            "stale socket: %s\n",
            connect_result(socket).c_str(), connect_result(stale_socket).c_str());
        for (int round = 1; round <= o.rounds; ++round) {
            check_interrupted();
            Samples stopped, stale;
            Window w(-1);
            for (int i = 0; i < o.down; ++i) {
                if (g_interrupted.load()) break;
                stopped.add(transaction(s_stopped, grant_user, "", Kind::Full, PAM_AUTHINFO_UNAVAIL));
                stale.add(transaction(s_stale, grant_user, "", Kind::Full, PAM_AUTHINFO_UNAVAIL));
            }
            check_interrupted();
            std::printf("-- down, round %d of %d\n", round, o.rounds);
            w.print("daemon-down group");
            report.add("stopped", "4 pam_elevate, elevated stopped", stopped);
            report.add("stale", "4 pam_elevate, stale socket (refused)", stale);
        }
        if (o.hung > 0) {
            HungServer hung(hung_socket);
            Samples s;
            for (int i = 0; i < o.hung; ++i) {
                check_interrupted();
                s.add(transaction(s_hung, grant_user, "", Kind::Full, PAM_AUTHINFO_UNAVAIL));
                hung.drain();
            }
            std::printf("-- hung server (accepts into its backlog, never answers), timeout=1\n");
            report.add("hung", "4 pam_elevate, hung daemon, timeout=1", s);
        }
    }

    // Module loading alone (libpam does this in every pam_start/pam_end).
    struct Loaded {
        std::string name, path;
        std::vector<std::string> libs;
        Summary s;
    };
    std::vector<Loaded> loads;
    if (o.run("dlopen")) {
        const std::string sec = "/lib/x86_64-linux-gnu/security/";
        loads = {{"pam_permit.so", sec + "pam_permit.so", {}, {}},
                 {"pam_elevate.so", o.module, {}, {}},
                 {"pam_oath.so", sec + "pam_oath.so", {"liboath.so"}, {}},
                 {"pam_google_authenticator.so", sec + "pam_google_authenticator.so", {}, {}}};
        std::printf(
            "\n-- pieces alone: module loading (dlopen(RTLD_NOW) + dlclose, as in every pam_start/pam_end),\n"
            "   and the NSS lookup elevated makes for every authorize; 500 times each\n");
        for (auto& l : loads) {
            check_interrupted();
            if (::access(l.path.c_str(), R_OK) != 0) continue;
            l.s = dlopen_cycle(l.path, 500);
            std::printf("  %-44s p50 %9s us  p99 %9s us  (libraries already mapped here: %s)\n", l.name.c_str(),
                        fmt(l.s.median_us).c_str(), fmt(l.s.p99_us).c_str(), premapped(l.libs).c_str());
        }
        const Summary nss = nss_groups_cost(grant_user, 500);
        std::printf("  %-44s p50 %9s us  p99 %9s us  (getpwnam_r + getgrouplist, nsswitch.conf 'group: %s')\n",
                    "NSS groups of the user (elevated: authorize)", fmt(nss.median_us).c_str(), fmt(nss.p99_us).c_str(),
                    nsswitch_line("group").c_str());
    }

    check_interrupted();
    // ---- the summary ----
    std::printf("\n== bench_pam: medians of %d round(s); machine load now %s\n", o.rounds, loadavg().c_str());
    report.print_medians();
    if (!rtt_p50[0].empty())
        std::printf("%-44s %6zu %10s  (authorize %s + account %s, C++ client back to back; daemon CPU %s + %s us)\n",
                    "  daemon round trips of case 2", rtt_p50[0].size(),
                    fmt(median(rtt_p50[0]) + median(rtt_p50[1])).c_str(), fmt(median(rtt_p50[0])).c_str(),
                    fmt(median(rtt_p50[1])).c_str(), fmt(median(rtt_cpu[0])).c_str(), fmt(median(rtt_cpu[1])).c_str());
    std::printf("\n");
    report.print_phases();

    std::printf("\ntargets (DESIGN.md), ratios of p50s taken in the same round, median of rounds [min..max]:\n");
    if (report.ratio_rounds("grant/permit")) {
        const double r = report.ratio_median("grant/permit");
        const auto [lo, hi] = report.ratio_range("grant/permit");
        std::printf(
            "  active grant, no prompt: pam_elevate / pam_permit = %s [%s..%s]   target <= 1.5: %s "
            "(%s us vs %s us)\n",
            fmt(r, 2).c_str(), fmt(lo, 2).c_str(), fmt(hi, 2).c_str(), verdict(r <= 1.5),
            fmt(report.p50("grant")).c_str(), fmt(report.p50("permit")).c_str());
    }
    if (report.ratio_rounds("policy/permit")) {
        // Differences of p50s taken in the same round, median over rounds.
        auto over = [&](const std::string& a, const std::string& b) {
            std::vector<double> d;
            const auto& pa = report.at(a).p50;
            const auto& pb = report.at(b).p50;
            for (size_t i = 0; i < pa.size() && i < pb.size(); ++i) d.push_back(pa[i] - pb[i]);
            return median(d);
        };
        const double extra = over("grant_policy", "permit");
        const auto [lo, hi] = report.ratio_range("policy/permit");
        std::printf(
            "  active grant, no prompt, %d rules: pam_elevate - pam_permit = %s us   target <= +100 us: %s; "
            "ratio %s [%s..%s] (%s us vs %s us)\n",
            o.policy_rules, fmt(extra).c_str(), verdict(extra <= 100),
            fmt(report.ratio_median("policy/permit"), 2).c_str(), fmt(lo, 2).c_str(), fmt(hi, 2).c_str(),
            fmt(report.p50("grant_policy")).c_str(), fmt(report.p50("permit")).c_str());
        std::printf("  the rules' own cost: %d rules - no rules = %s us (ratio %s); no rules - pam_permit = %s us\n",
                    o.policy_rules, fmt(over("grant_policy", "grant")).c_str(),
                    fmt(report.ratio_median("policy/grant"), 3).c_str(), fmt(over("grant", "permit")).c_str());
    }
    if (report.ratio_rounds("oath/elevate")) {
        const double r = report.ratio_median("oath/elevate");
        const auto [lo, hi] = report.ratio_range("oath/elevate");
        std::printf("  TOTP verify: pam_oath / pam_elevate = %s [%s..%s]   target >= 2: %s (%s us vs %s us)\n",
                    fmt(r, 2).c_str(), fmt(lo, 2).c_str(), fmt(hi, 2).c_str(), verdict(r >= 2),
                    fmt(report.p50("oath")).c_str(), fmt(report.p50("verify")).c_str());
    }
    if (report.ratio_rounds("google/elevate")) {
        const double r = report.ratio_median("google/elevate");
        const auto [lo, hi] = report.ratio_range("google/elevate");
        std::printf(
            "  TOTP verify: pam_google_authenticator / pam_elevate = %s [%s..%s]   target >= 2: %s "
            "(%s us vs %s us)\n",
            fmt(r, 2).c_str(), fmt(lo, 2).c_str(), fmt(hi, 2).c_str(), verdict(r >= 2),
            fmt(report.p50("google")).c_str(), fmt(report.p50("verify")).c_str());
    }
    if (report.has("fsync"))
        std::printf(
            "  (the peers' durable rewrite alone, write+fsync+rename of a small file in the same directory,\n"
            "   timed in the same rounds, in random order with them: p50 %s us, p99 %s us)\n",
            fmt(report.p50("fsync")).c_str(), fmt(median(report.at("fsync").p99)).c_str());
    for (const char* name : {"stopped", "stale"}) {
        if (!report.has(name)) continue;
        const CaseStats& c = report.at(name);
        const double p99 = median(c.p99);
        std::printf("  daemon down (%s): deny after p50 %s us, p99 %s us   target < 50 ms: %s\n",
                    name == std::string("stopped") ? "elevated stopped" : "stale socket, connection refused",
                    fmt(median(c.p50)).c_str(), fmt(p99).c_str(), verdict(p99 < 50'000 && c.failed == 0));
    }
    if (report.has("hung")) {
        const CaseStats& c = report.at("hung");
        std::printf("  daemon hung: deny after %s ms (max %s ms) = %s x the module's timeout=1 (1000 ms)\n",
                    fmt(median(c.p50) / 1000, 1).c_str(), fmt(median(c.p99) / 1000, 1).c_str(),
                    fmt(median(c.p50) / 1e6, 3).c_str());
    }
    return 0;
}

}  // namespace
}  // namespace elevate::bench

int main(int argc, char** argv) {
    int rc = 1;
    try {
        rc = elevate::bench::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_pam: %s\n", e.what());
    }
    logsink::stop();
    return rc;
}
