// bench_daemon_throughput: requests per second and latency of a real
// elevated under 64 concurrent clients (DESIGN.md: "at least 20k
// decisions/s from 64 concurrent clients on 2 cores").
//
// Every request is what a real client does: connect, check the server is
// root (SO_PEERCRED), send one frame, read one reply, close — one request
// per connection, as docs/PROTOCOL.md requires. Measured side by side in
// the same run, in rounds:
//   floor   a minimal single-threaded server on the same kind of socket that
//           answers every frame with a canned ping reply: what the kernel
//           and the client cost before the daemon does any work;
//   ping    Op::Ping (identity lookup + dispatch, no state);
//   status  Op::Status for root, who is enrolled and holds one active grant;
//   account Op::Account (pam_elevate's account step: does root hold a grant
//           for this role?) and
//   authorize Op::Authorize (pam_elevate's auth step under an active grant:
//           granted, no prompt). status, account and authorize are the
//           "decisions" of the target; the PAM ones are audited, each call.
// Then TOTP verification (Op::Verify), which cannot run for a fixed time:
// a code is accepted once per user, and wrong codes lock the user out
// after at most 100 failures. So it is measured with valid codes only,
// spending the ~20 codes that drift_steps = 10 makes valid for each of many
// real users (useradd elvb-N, removed afterwards): sequentially (latency),
// as a burst from 64 clients, and paced at 100/s beside the status load.
//
// With --policy-rules / --risk-users (issue 13): two daemons side by side,
// one with that many [[policy.rule]] entries (all but the last fail for the
// request, most at their last condition) and risk history for that many
// users, one with neither; status, account and authorize against each in
// interleaved rounds, and the ratio.
//
// Prints numbers; asserts nothing about time.
#include "bench/policy_load.h"
#include "bench/support.h"

#include "daemon/auth/totp.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace elevate::bench {
namespace {

const char kUsage[] =
    "Usage: bench_daemon_throughput [OPTIONS]\n"
    "\n"
    "Starts elevated in a temporary directory (or uses --socket) and measures\n"
    "requests/s and latency from concurrent clients. Must run as root.\n"
    "\n"
    "  --duration SECONDS   length of each timed phase (default 5)\n"
    "  --clients N          concurrent client threads (default 64)\n"
    "  --rounds N           floor/ping/status rounds; medians are reported (default 3)\n"
    "  --verify-users N     users for concurrent Verify, ~20 codes each, spent by up to\n"
    "                       --clients threads (default 128; 0: skip Verify)\n"
    "  --no-floor           skip the minimal-server floor\n"
    "  --dir PATH           where the temporary directory is made (default /tmp)\n"
    "  --elevated PATH      the daemon binary (default: the one built with this benchmark)\n"
    "  --socket PATH        use an already running elevated: ping and status (for the\n"
    "                       calling user) only; nothing is enrolled or created\n"
    "  --daemon-pid PID     with --socket: sample this process's CPU time\n"
    "  --policy-rules N     compare a daemon with N policy rules (and --risk-users) against\n"
    "                       one without, in interleaved rounds; nothing else is measured\n"
    "  --risk-users N       with the policy daemon: risk history of N synthetic users, written\n"
    "                       through the store before start-up, also in eligible_users\n"
    "                       (default 10000 with --policy-rules)\n";

struct Options {
    double duration = 5;
    int clients = 64;
    int rounds = 3;
    int verify_users = 128;
    bool floor = true;
    DaemonOptions daemon{.elevated = ELEVATED_BIN};
    std::string socket;
    pid_t daemon_pid = -1;
    int policy_rules = 0;
    int risk_users = -1;  // -1: 10000 with --policy-rules
    bool policy_mode() const { return policy_rules > 0; }
};

Options parse_args(int argc, char** argv) {
    Options o;
    BenchArgs args(argc, argv, kUsage, &o.daemon);
    while (args.next()) {
        if (args.is("--duration")) {
            o.duration = args.real();
        } else if (args.is("--clients")) {
            o.clients = args.integer();
        } else if (args.is("--rounds")) {
            o.rounds = args.integer();
        } else if (args.is("--verify-users")) {
            o.verify_users = args.integer();
        } else if (args.is("--no-floor")) {
            o.floor = false;
        } else if (args.is("--socket")) {
            o.socket = args.value();
        } else if (args.is("--daemon-pid")) {
            o.daemon_pid = pid_t(args.integer());
        } else if (args.is("--policy-rules")) {
            o.policy_rules = args.integer();
        } else if (args.is("--risk-users")) {
            o.risk_users = args.integer();
        } else {
            args.unknown();
        }
    }
    if (o.duration <= 0 || o.clients < 1 || o.rounds < 1 || o.verify_users < 0 || o.policy_rules < 0)
        throw std::runtime_error("durations, clients and rounds must be positive");
    if (o.risk_users >= 0 && !o.policy_mode()) throw std::runtime_error("--risk-users needs --policy-rules");
    if (o.risk_users < 0) o.risk_users = 10000;
    return o;
}

// ---- the floor: a server that does nothing ----------------------------------

// Forks a single-threaded blocking server that answers every request frame
// with a fixed ping reply and closes the connection. It does not look at
// the payload, the peer or any state: the cost left is the kernel's and the
// client's, which bounds what any daemon can reach on this machine.
class FloorServer {
public:
    explicit FloorServer(const std::string& path) : path_(path) {
        wire::BufferWriter w;
        w->put_u64(wire::Tag::Status, 0);
        w->put_str(wire::Tag::Version, "floor");
        auto payload = w.take();
        reply_.resize(wire::kHeaderSize);
        wire::encode_header(wire::FrameHeader{wire::kVersion, uint8_t(uint8_t(wire::Op::Ping) | wire::kReplyBit),
                                              uint32_t(payload.size())},
                            reply_.data());
        reply_.insert(reply_.end(), payload.begin(), payload.end());

        ::unlink(path_.c_str());
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un addr = {};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(fd, SOMAXCONN) < 0)
            throw std::runtime_error("floor server: cannot listen on " + path_ + ": " + strerror(errno));
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            serve(fd);
            _exit(0);
        }
        ::close(fd);
    }
    ~FloorServer() {
        kill(pid_, SIGKILL);
        int status;
        waitpid(pid_, &status, 0);
        ::unlink(path_.c_str());
    }
    FloorServer(const FloorServer&) = delete;
    FloorServer& operator=(const FloorServer&) = delete;
    pid_t pid() const { return pid_; }

private:
    void serve(int listener) {
        std::vector<uint8_t> buf(wire::kMaxRequestFrame);
        for (;;) {
            int c = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            uint8_t header[wire::kHeaderSize];
            wire::FrameHeader h;
            if (recv(c, header, sizeof header, MSG_WAITALL) == ssize_t(sizeof header) &&
                wire::decode_header(header, sizeof header, wire::kMaxRequestFrame, &h) == wire::CodecError::Ok &&
                (h.length == 0 || recv(c, buf.data(), h.length, MSG_WAITALL) == ssize_t(h.length))) {
                (void)send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
            }
            ::close(c);
        }
    }

    std::string path_;
    std::vector<uint8_t> reply_;
    pid_t pid_ = -1;
};

// ---- requests ------------------------------------------------------------------

std::function<bool(int, std::string*)> simple_request(const std::string& socket, wire::Op op,
                                                      std::vector<uint8_t> payload) {
    const wire::ClientOptions options = client_options(socket);
    return [options, op, payload = std::move(payload)](int, std::string* error) {
        auto r = wire::call(options, op, payload);
        if (!r) {
            *error = r.error().message;
            return false;
        }
        if (r->status != wire::Status::Ok) {
            *error = std::string(wire::status_name(r->status)) + ": " + r->message;
            return false;
        }
        return true;
    };
}

std::vector<uint8_t> user_payload(const std::string& user) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    return w.take();
}

std::vector<uint8_t> verify_payload(const std::string& user, const std::string& code) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    w->put_str(wire::Tag::Code, code);
    w->put_str(wire::Tag::Service, "bench");
    return w.take();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    if (v.empty()) return 0;
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// ---- TOTP verification ----------------------------------------------------------

// Hands out each valid time-step of one user once: steps from now-9 to
// now+10 (drift_steps = 10 accepts now-10..now+10; one step of margin so a
// step boundary passing mid-request cannot make a code stale).
class CodeSource {
public:
    explicit CodeSource(std::string seed) : seed_(std::move(seed)) {}
    // Empty when every step in the window has been used.
    std::string next() {
        const int64_t current = wall_seconds() / 30;
        next_step_ = std::max(next_step_, current - 9);
        if (next_step_ > current + 10) return {};
        return totp_code(seed_, next_step_++);
    }

private:
    std::string seed_;
    int64_t next_step_ = 0;
};

struct Account {
    std::string user;
    CodeSource codes;
};

struct VerifyRun {
    uint64_t ok = 0, failed = 0;
    std::string first_error;
    double seconds = 0, daemon_cpu = -1, client_cpu = 0, machine_busy = -1;
    Summary latency;
};

// Spends the codes of `accounts` from `threads` client threads; thread t
// takes accounts t, t + threads, ... one after another. With `interval_ns`
// each thread sends one Verify per interval (paced, like logins arriving);
// with 0, back to back. Stops when the codes are used up or after
// `max_seconds`. Every reply must be Ok: a code is never sent twice.
VerifyRun verify_run(const std::string& socket, std::vector<Account>& accounts, int threads, int64_t interval_ns,
                     double max_seconds, pid_t daemon_pid) {
    const wire::ClientOptions options = client_options(socket);
    struct PerThread {
        std::vector<int64_t> latencies;
        uint64_t failed = 0;
        std::string first_error;
    };
    threads = std::max(1, std::min(threads, int(accounts.size())));
    std::vector<PerThread> per(static_cast<size_t>(threads));
    const int64_t start = now_ns();
    const int64_t deadline = start + int64_t(max_seconds * 1e9);
    auto work = [&](int t) {
        PerThread& me = per[size_t(t)];
        int64_t slot = start;
        for (size_t a = size_t(t); a < accounts.size(); a += size_t(threads)) {
            for (;;) {
                if (g_interrupted.load() || now_ns() >= deadline) return;
                std::string code = accounts[a].codes.next();
                if (code.empty()) break;
                if (interval_ns > 0) {
                    slot += interval_ns;
                    const int64_t wait = slot - now_ns();
                    if (wait > 0) {
                        struct timespec ts = {time_t(wait / 1'000'000'000), long(wait % 1'000'000'000)};
                        nanosleep(&ts, nullptr);
                    }
                }
                auto payload = verify_payload(accounts[a].user, code);
                const int64_t t0 = now_ns();
                auto r = wire::call(options, wire::Op::Verify, payload);
                const int64_t t1 = now_ns();
                if (r && r->status == wire::Status::Ok) {
                    me.latencies.push_back(t1 - t0);
                } else if (me.failed++ == 0) {
                    me.first_error =
                        r ? std::string(wire::status_name(r->status)) + ": " + r->message : r.error().message;
                }
            }
        }
    };

    VerifyRun run;
    const double daemon0 = cpu_seconds(daemon_pid);
    const double self0 = self_cpu_seconds();
    const double machine0 = machine_busy_seconds();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
    run.seconds = double(now_ns() - start) / 1e9;
    const double daemon1 = cpu_seconds(daemon_pid);
    run.daemon_cpu = daemon0 >= 0 && daemon1 >= 0 ? daemon1 - daemon0 : -1;
    run.client_cpu = self_cpu_seconds() - self0;
    run.machine_busy = machine_busy_seconds() - machine0;
    std::vector<int64_t> all;
    for (auto& p : per) {
        run.ok += p.latencies.size();
        run.failed += p.failed;
        if (run.first_error.empty()) run.first_error = p.first_error;
        all.insert(all.end(), p.latencies.begin(), p.latencies.end());
    }
    run.latency = summarize(std::move(all));
    return run;
}

void print_verify(const std::string& label, int clients, const VerifyRun& r) {
    LoadResult l;
    l.clients = clients;
    l.seconds = r.seconds;
    l.ok = r.ok;
    l.failed = r.failed;
    l.first_error = r.first_error;
    l.latency = r.latency;
    l.daemon_cpu = r.daemon_cpu;
    l.client_cpu = r.client_cpu;
    l.machine_busy = r.machine_busy;
    print_load(label, l);
}

// ---- the run ----------------------------------------------------------------------

// `more_eligible`: names added to the role's eligible_users after root;
// `policy`: a [policy] section and rules, appended.
std::string config_text(const std::string& dir, unsigned gid, const std::vector<std::string>& more_eligible = {},
                        const std::string& policy = "") {
    std::string eligible = "\"root\"";
    for (const std::string& u : more_eligible) eligible += ", \"" + u + "\"";
    return daemon_section(dir) +
           "\n"
           "[totp]\n"
           "# 21 valid codes per user at any moment: enough to measure Verify\n"
           "# without reusing a code (each is accepted once).\n"
           "drift_steps = 10\n"
           "\n"
           "[[role]]\n"
           "name = \"elvb-bench\"\n"
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

// root: enrolled through the protocol, with one active grant of
// elvb-bench, so status answers with a real grant record and the PAM
// decisions find the grant. Returns root's seed.
std::string grant_root(const std::string& socket) {
    const std::string seed = enroll(socket, "root");
    CodeSource codes(seed);
    wire::BufferWriter w;
    w->put_str(wire::Tag::Role, "elvb-bench");
    w->put_str(wire::Tag::Reason, "bench");
    w->put_str(wire::Tag::Code, codes.next());
    w->put_str(wire::Tag::Service, "bench");
    call_expect(socket, wire::Op::Activate, w.take());
    return seed;
}

// One kind of request measured in the rounds.
struct Phase {
    std::string name;   // short, for the medians
    std::string label;  // for the per-round lines
    wire::Op op;
    std::vector<uint8_t> payload;
    bool decision;  // counts against the 20k decisions/s target
};

// The decisions a PAM stack asks for root, who holds a grant for `role`:
// status (elevatectl / the account step's question), account (pam_elevate
// account: a grant for one of these roles?) and authorize (pam_elevate auth
// under an active grant: granted, no prompt).
// `remote_host`: sent as PAM_RHOST (a root peer's claim is the source).
std::vector<Phase> phases_for(const std::string& user, const std::string& role, const std::string& remote_host = "") {
    std::vector<Phase> p;
    p.push_back({"ping", "ping", wire::Op::Ping, {}, false});
    p.push_back({"status", "status (" + user + ")", wire::Op::Status, user_payload(user), true});
    if (!role.empty()) {
        wire::BufferWriter account;
        account->put_str(wire::Tag::User, user);
        account->put_str(wire::Tag::Roles, role);
        account->put_str(wire::Tag::Service, "sudo");
        account->put_str(wire::Tag::Tty, "pts/0");
        if (!remote_host.empty()) account->put_str(wire::Tag::RemoteHost, remote_host);
        p.push_back({"account", "account (" + user + ", " + role + ")", wire::Op::Account, account.take(), true});
        wire::BufferWriter authorize;
        authorize->put_str(wire::Tag::User, user);
        authorize->put_str(wire::Tag::Role, role);
        authorize->put_str(wire::Tag::Service, "sudo");
        authorize->put_str(wire::Tag::Tty, "pts/0");
        if (!remote_host.empty()) authorize->put_str(wire::Tag::RemoteHost, remote_host);
        p.push_back(
            {"authorize", "authorize (" + user + ", " + role + ")", wire::Op::Authorize, authorize.take(), true});
    }
    return p;
}

void timed_phases(const Options& o, const std::string& socket, pid_t daemon_pid, const std::vector<Phase>& phases,
                  const std::string& floor_socket) {
    const double unloaded = std::min(o.duration, 2.0);
    std::printf("\n-- unloaded latency (1 client, %s s each)\n", fmt(unloaded, 0).c_str());
    for (const auto& ph : phases)
        print_load(ph.label, run_load(1, unloaded, daemon_pid, simple_request(socket, ph.op, ph.payload)));

    std::unique_ptr<FloorServer> floor;
    if (o.floor && !floor_socket.empty()) floor = std::make_unique<FloorServer>(floor_socket);

    std::map<std::string, std::vector<double>> rates;
    std::map<std::string, std::vector<double>> p99s;
    for (int round = 1; round <= o.rounds; ++round) {
        check_interrupted();
        std::printf("\n-- round %d of %d: %d concurrent clients, %s s per phase\n", round, o.rounds, o.clients,
                    fmt(o.duration, 0).c_str());
        if (floor) {
            auto r = run_load(o.clients, o.duration, floor->pid(), simple_request(floor_socket, wire::Op::Ping, {}));
            print_load("floor (minimal server)", r);
            rates["floor"].push_back(r.per_second());
            p99s["floor"].push_back(r.latency.p99_us);
        }
        for (const auto& ph : phases) {
            auto r = run_load(o.clients, o.duration, daemon_pid, simple_request(socket, ph.op, ph.payload));
            print_load(ph.label, r);
            rates[ph.name].push_back(r.per_second());
            p99s[ph.name].push_back(r.latency.p99_us);
        }
    }

    std::printf("\n-- medians over %d round(s), %d clients\n", o.rounds, o.clients);
    const double floor_rate = rates.count("floor") ? median(rates["floor"]) : 0;
    std::vector<std::pair<std::string, bool>> names = {{"floor", false}};
    for (const auto& ph : phases) names.emplace_back(ph.name, ph.decision);
    for (const auto& [name, decision] : names) {
        if (!rates.count(name)) continue;
        const double m = median(rates[name]);
        std::printf("%-10s %9s req/s  p99 %8s us", name.c_str(), fmt(m, 0).c_str(), fmt(median(p99s[name])).c_str());
        if (floor_rate > 0 && name != "floor") std::printf("   = %s of the floor", fmt(m / floor_rate, 2).c_str());
        if (decision) std::printf("   target >= 20000 decisions/s: %s", m >= 20000 ? "met" : "MISSED");
        std::printf("\n");
    }
}

// ---- policy engine: rules and risk history against none --------------------------

// The source every compared request names: outside all the rules' networks
// (a documentation address; nothing is ever sent to it).
constexpr const char kPolicySource[] = "203.0.113.7";

// One daemon of the comparison, in its own directory, root holding a grant.
struct ComparedDaemon {
    std::string name;
    std::string socket;
    std::unique_ptr<DaemonProcess> process;
};

ComparedDaemon start_compared(const Options& o, const std::string& name, const std::string& dir,
                              const std::string& config, const std::vector<std::string>& risk_users) {
    ::mkdir(dir.c_str(), 0700);
    ::mkdir((dir + "/state").c_str(), 0700);
    write_file(dir + "/elevate.conf", config);
    if (!risk_users.empty()) {
        const RiskSeedResult seeded = seed_risk_history(dir + "/state", risk_users, wall_seconds());
        std::printf(
            "%s: risk history of %d users written through store::Store::record_risk in %s s: %d events; "
            "levels now about %d low, %d medium, %d high\n",
            name.c_str(), seeded.users, fmt(seeded.seconds, 1).c_str(), seeded.events, seeded.low, seeded.medium,
            seeded.high);
    }
    ComparedDaemon d{name, dir + "/elevated.sock", nullptr};
    d.process =
        std::make_unique<DaemonProcess>(o.daemon.elevated, dir + "/elevate.conf", d.socket, dir + "/elevated.log");
    const int64_t startup = d.process->start();
    std::printf("%s: started in %s ms (config %s, %zu bytes)\n", name.c_str(), fmt(double(startup) / 1e6, 1).c_str(),
                (dir + "/elevate.conf").c_str(), config.size());
    grant_root(d.socket);
    return d;
}

// What explain says about root's authorize: the deciding rule and how many
// rules were considered; and the risk level the daemon holds for `risk_user`.
void print_explain(const ComparedDaemon& d, const std::string& risk_user) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, "root");
    w->put_str(wire::Tag::Role, "elvb-bench");
    w->put_str(wire::Tag::Service, "sudo");
    w->put_str(wire::Tag::RemoteHost, kPolicySource);
    w->put_bool(wire::Tag::HasTty, true);
    const ExplainSummary e = explain(d.socket, w.take());
    std::string level = "-";
    if (!risk_user.empty()) {
        wire::BufferWriter q;
        q->put_str(wire::Tag::User, risk_user);
        q->put_str(wire::Tag::Service, "sudo");
        level = explain(d.socket, q.take()).risk_level;
    }
    std::printf("%s: explain root authorize elvb-bench from %s: %s by rule %s, %d rule(s) considered; risk of %s: %s\n",
                d.name.c_str(), kPolicySource, e.outcome.c_str(), e.rule.c_str(), e.considered,
                risk_user.empty() ? "-" : risk_user.c_str(), level.c_str());
}

int run_policy_comparison(const Options& o) {
    if (geteuid() != 0) throw std::runtime_error("must run as root (starts elevated)");
    if (auto r = auth::totp_init(); !r) throw std::runtime_error(r.error().message);
    TempDir dir(o.daemon.dir);
    const unsigned gid = free_gid(64990);
    const std::vector<std::string> risk_users = risk_user_names(o.risk_users);
    PolicyLoad load;
    load.rules = o.policy_rules;
    load.role = "elvb-bench";
    load.services = {"sudo"};
    load.users = risk_users.empty() ? risk_user_names(100) : risk_users;
    load.now = wall_seconds();
    std::printf("policy comparison: %d rules, risk history for %d users (both daemons list them in eligible_users)\n",
                o.policy_rules, o.risk_users);

    // Same roles and eligible users; only [policy] and the risk state differ.
    std::vector<ComparedDaemon> daemons;
    daemons.push_back(
        start_compared(o, "no-rules", dir.path() + "/none", config_text(dir.path() + "/none", gid, risk_users), {}));
    daemons.push_back(start_compared(o, "rules", dir.path() + "/rules",
                                     config_text(dir.path() + "/rules", gid, risk_users, policy_section(load)),
                                     risk_users));
    for (const auto& d : daemons) print_explain(d, risk_users.empty() ? "" : risk_users[3 % risk_users.size()]);

    const std::vector<Phase> phases = phases_for("root", "elvb-bench", kPolicySource);
    const double unloaded = std::min(o.duration, 2.0);
    std::printf("\n-- unloaded latency (1 client, %s s each)\n", fmt(unloaded, 0).c_str());
    for (const auto& ph : phases) {
        if (!ph.decision) continue;
        for (const auto& d : daemons)
            print_load(ph.label + " " + d.name,
                       run_load(1, unloaded, d.process->pid(), simple_request(d.socket, ph.op, ph.payload)));
    }

    // rate and daemon CPU per request, per phase and daemon, over the rounds
    std::map<std::string, std::vector<double>> rates, cpu_us, p99s;
    for (int round = 1; round <= o.rounds; ++round) {
        check_interrupted();
        std::printf("\n-- round %d of %d: %d concurrent clients, %s s per phase and daemon\n", round, o.rounds,
                    o.clients, fmt(o.duration, 0).c_str());
        for (const auto& ph : phases) {
            if (!ph.decision) continue;
            // Alternate which daemon goes first, so a trend in the machine's
            // load does not always favour the same one.
            for (size_t k = 0; k < daemons.size(); ++k) {
                const ComparedDaemon& d = daemons[(k + size_t(round)) % daemons.size()];
                auto r = run_load(o.clients, o.duration, d.process->pid(), simple_request(d.socket, ph.op, ph.payload));
                print_load(ph.label + " " + d.name, r);
                const std::string key = ph.name + "/" + d.name;
                rates[key].push_back(r.per_second());
                p99s[key].push_back(r.latency.p99_us);
                if (r.daemon_cpu >= 0 && r.ok) cpu_us[key].push_back(1e6 * r.daemon_cpu / double(r.ok));
            }
        }
    }

    std::printf("\n-- medians over %d round(s), %d clients: %d rules + %d risk users vs no rules\n", o.rounds,
                o.clients, o.policy_rules, o.risk_users);
    for (const auto& ph : phases) {
        if (!ph.decision) continue;
        const std::string none = ph.name + "/no-rules", rules = ph.name + "/rules";
        const double rn = median(rates[none]), rr = median(rates[rules]);
        const double cn = median(cpu_us[none]), cr = median(cpu_us[rules]);
        std::printf("%-10s no rules %9s req/s (%s us daemon CPU/req, p99 %s us)   rules %9s req/s (%s us, p99 %s us)\n",
                    ph.name.c_str(), fmt(rn, 0).c_str(), fmt(cn).c_str(), fmt(median(p99s[none])).c_str(),
                    fmt(rr, 0).c_str(), fmt(cr).c_str(), fmt(median(p99s[rules])).c_str());
        // Per round: the two ran one after the other, so their ratio is the
        // least disturbed by the machine's load.
        std::vector<double> ratios;
        for (size_t i = 0; i < rates[none].size() && i < rates[rules].size(); ++i)
            if (rates[rules][i] > 0) ratios.push_back(rates[none][i] / rates[rules][i]);
        std::sort(ratios.begin(), ratios.end());
        std::printf(
            "%-10s time with rules / without: %s (median of per-round ratios, %s..%s; daemon CPU/req %s)   "
            "target <= 1.2x: %s\n",
            "", fmt(median(ratios), 3).c_str(), fmt(ratios.empty() ? 0 : ratios.front(), 3).c_str(),
            fmt(ratios.empty() ? 0 : ratios.back(), 3).c_str(), fmt(cn > 0 ? cr / cn : 0, 3).c_str(),
            median(ratios) <= 1.2 ? "met" : "MISSED");
    }
    for (const auto& d : daemons) {
        const Memory m = read_memory(d.process->pid());
        std::printf("%s: VmRSS %ld kB, VmHWM %ld kB\n", d.name.c_str(), m.rss_kb, m.hwm_kb);
        d.process->stop();
    }
    return 0;
}

int run(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    install_interrupt_handlers();
    print_machine();
    std::printf("bench_daemon_throughput: %d clients, %s s per phase, %d round(s)\n", o.clients,
                fmt(o.duration, 1).c_str(), o.rounds);

    if (o.policy_mode()) return run_policy_comparison(o);

    if (!o.socket.empty()) {
        // An existing daemon: read-only operations for whoever runs this.
        std::printf("using the running elevated at %s\n", o.socket.c_str());
        std::string me = std::to_string(geteuid());
        if (struct passwd* pw = getpwuid(geteuid())) me = pw->pw_name;
        TempDir scratch(o.daemon.dir);
        timed_phases(o, o.socket, o.daemon_pid, phases_for(me, ""), scratch.path() + "/floor.sock");
        return 0;
    }

    if (geteuid() != 0) throw std::runtime_error("must run as root (starts elevated, creates users)");
    if (auto r = auth::totp_init(); !r) throw std::runtime_error(r.error().message);

    TempDir dir(o.daemon.dir);
    const std::string socket = dir.path() + "/elevated.sock";
    ::mkdir((dir.path() + "/state").c_str(), 0700);
    const unsigned gid = free_gid(64990);
    write_file(dir.path() + "/elevate.conf", config_text(dir.path(), gid));
    std::printf("daemon: %s\nstate:  %s/state\n", o.daemon.elevated.c_str(), dir.path().c_str());

    DaemonProcess daemon(o.daemon.elevated, dir.path() + "/elevate.conf", socket, dir.path() + "/elevated.log");
    const int64_t startup = daemon.start();
    std::printf("start-up (empty state): %s ms\n", fmt(double(startup) / 1e6, 1).c_str());

    grant_root(socket);
    {
        auto s = call_expect(socket, wire::Op::Status, user_payload("root"));
        bool enrolled = false;
        s.fields.get_bool(wire::Tag::Enrolled, &enrolled);
        int grants = 0;
        auto it = s.fields.iterate();
        for (wire::Field f; it.next(&f);) grants += f.tag == uint16_t(wire::Tag::Grant);
        std::printf("root: enrolled=%s, %d active grant(s); status reply %zu bytes\n", enrolled ? "yes" : "no", grants,
                    s.payload.size() + wire::kHeaderSize);
    }

    timed_phases(o, socket, daemon.pid(), phases_for("root", "elvb-bench"), dir.path() + "/floor.sock");

    if (o.verify_users > 0) {
        check_interrupted();
        // ~20 codes per user (CodeSource): enough users for each phase.
        constexpr int kSequentialUsers = 16;
        constexpr int kPacedThreads = 4;
        constexpr int64_t kPacedInterval = 40'000'000;  // 4 threads x 25/s = 100 verifies/s
        const int paced_users = int(o.duration * 100 / 19) + kPacedThreads + 1;
        std::printf("\n-- TOTP verification (valid codes only; each accepted once)\n");
        const int64_t t0 = now_ns();
        std::vector<std::unique_ptr<TempUser>> users;
        std::vector<Account> seq, conc, paced;
        const int total = kSequentialUsers + o.verify_users + paced_users;
        for (int i = 0; i < total; ++i) {
            check_interrupted();
            auto& group = i < kSequentialUsers ? seq : i < kSequentialUsers + o.verify_users ? conc : paced;
            std::string name = "elvb-" + std::to_string(i);
            users.push_back(std::make_unique<TempUser>(name));
            group.push_back(Account{name, CodeSource(enroll(socket, name))});
        }
        std::printf("created and enrolled %zu users (useradd elvb-*) in %s s\n", users.size(),
                    fmt(double(now_ns() - t0) / 1e9, 1).c_str());

        // The peer for Verify: one durable append on the state's filesystem
        // (the daemon's accepted Verify makes several).
        const Summary sync = summarize(fdatasync_samples(dir.path(), 200));
        std::printf("%-34s               fdatasync of a 200-byte append in %s: p50 %s us  p99 %s us\n",
                    "peer: one durable append", dir.path().c_str(), fmt(sync.median_us).c_str(),
                    fmt(sync.p99_us).c_str());
        auto s1 = verify_run(socket, seq, 1, 0, 120, daemon.pid());
        print_verify("verify, sequential", 1, s1);
        if (sync.median_us > 0)
            std::printf("%-34s               verify median / fdatasync median = %s\n", "",
                        fmt(s1.latency.median_us / sync.median_us, 2).c_str());
        const int conc_threads = std::min(o.clients, o.verify_users);
        auto c1 = verify_run(socket, conc, conc_threads, 0, 120, daemon.pid());
        print_verify("verify, concurrent", conc_threads, c1);

        // Decisions while logins verify codes at a steady 100/s: the daemon
        // serves one request at a time, so each verify (and any write it
        // waits for) delays every status queued behind it.
        check_interrupted();
        VerifyRun during;
        std::thread verifier(
            [&] { during = verify_run(socket, paced, kPacedThreads, kPacedInterval, o.duration, -1); });
        auto st = run_load(o.clients, o.duration, daemon.pid(),
                           simple_request(socket, wire::Op::Status, user_payload("root")));
        verifier.join();
        // Its window overlaps the status load: this process's CPU is theirs too.
        during.client_cpu = -1;
        during.machine_busy = -1;
        std::printf("\n-- status while %d other clients verify 100 codes/s\n", kPacedThreads);
        print_load("status (root) + verifies", st);
        print_verify("verify (paced) during status load", kPacedThreads, during);
        // users are removed by ~TempUser, also when something above threw.
    }

    auto size_of = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 ? double(st.st_size) / (1024.0 * 1024.0) : 0.0;
    };
    std::printf("\nstate after the run: elevate.db %s MB, elevate.db-wal %s MB, audit.jsonl %s MB\n",
                fmt(size_of(dir.path() + "/state/elevate.db")).c_str(),
                fmt(size_of(dir.path() + "/state/elevate.db-wal")).c_str(),
                fmt(size_of(dir.path() + "/audit.jsonl")).c_str());
    const Memory m = read_memory(daemon.pid());
    std::printf("daemon memory at the end: VmRSS %ld kB, VmHWM %ld kB\n", m.rss_kb, m.hwm_kb);
    daemon.stop();
    return 0;
}

}  // namespace
}  // namespace elevate::bench

int main(int argc, char** argv) {
    return elevate::bench::bench_main("bench_daemon_throughput", elevate::bench::run, argc, argv);
}
