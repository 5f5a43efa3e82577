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
//   status  Op::Status for root, who is enrolled and holds one active grant:
//           the "decision" a PAM account step asks for.
// Then TOTP verification (Op::Verify), which cannot run for a fixed time:
// a code is accepted once per user, and wrong codes lock the user out
// after at most 100 failures. So it is measured honestly with valid codes
// only: sequentially (latency) and from 64 clients at once, each with its
// own real user (useradd elvb-*, removed afterwards), each spending the
// ~20 codes that drift_steps = 10 makes valid.
//
// Prints numbers; asserts nothing about time.
#include "bench/support.h"

#include "daemon/auth/totp.h"

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
    "  --verify-users N     users (and client threads) for concurrent Verify (default 64; 0: skip Verify)\n"
    "  --no-floor           skip the minimal-server floor\n"
    "  --dir PATH           where the temporary directory is made (default /tmp)\n"
    "  --elevated PATH      the daemon binary (default: the one built with this benchmark)\n"
    "  --socket PATH        use an already running elevated: ping and status (for the\n"
    "                       calling user) only; nothing is enrolled or created\n"
    "  --daemon-pid PID     with --socket: sample this process's CPU time\n";

struct Options {
    double duration = 5;
    int clients = 64;
    int rounds = 3;
    int verify_users = 64;
    bool floor = true;
    std::string dir = "/tmp";
    std::string elevated = ELEVATED_BIN;
    std::string socket;
    pid_t daemon_pid = -1;
};

Options parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--duration") {
            o.duration = std::stod(value());
        } else if (a == "--clients") {
            o.clients = std::stoi(value());
        } else if (a == "--rounds") {
            o.rounds = std::stoi(value());
        } else if (a == "--verify-users") {
            o.verify_users = std::stoi(value());
        } else if (a == "--no-floor") {
            o.floor = false;
        } else if (a == "--dir") {
            o.dir = value();
        } else if (a == "--elevated") {
            o.elevated = value();
        } else if (a == "--socket") {
            o.socket = value();
        } else if (a == "--daemon-pid") {
            o.daemon_pid = pid_t(std::stoi(value()));
        } else {
            throw std::runtime_error("unknown option " + a + " (try --help)");
        }
    }
    if (o.duration <= 0 || o.clients < 1 || o.rounds < 1 || o.verify_users < 0)
        throw std::runtime_error("durations, clients and rounds must be positive");
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
        wire::encode_header(
            wire::FrameHeader{wire::kVersion, uint8_t(uint8_t(wire::Op::Ping) | wire::kReplyBit), uint32_t(payload.size())},
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

struct VerifyRun {
    uint64_t ok = 0, failed = 0;
    std::string first_error;
    double seconds = 0, daemon_cpu = -1, client_cpu = 0;
    Summary latency;
};

VerifyRun verify_codes(const std::string& socket, const std::vector<std::string>& users,
                       const std::vector<std::string>& seeds, bool concurrent, pid_t daemon_pid) {
    const wire::ClientOptions options = client_options(socket);
    struct PerUser {
        std::vector<int64_t> latencies;
        uint64_t failed = 0;
        std::string first_error;
    };
    std::vector<PerUser> per(users.size());
    auto work = [&](size_t i) {
        CodeSource codes(seeds[i]);
        for (;;) {
            if (g_interrupted.load()) return;
            std::string code = codes.next();
            if (code.empty()) return;
            auto payload = verify_payload(users[i], code);
            const int64_t t0 = now_ns();
            auto r = wire::call(options, wire::Op::Verify, payload);
            const int64_t t1 = now_ns();
            if (r && r->status == wire::Status::Ok) {
                per[i].latencies.push_back(t1 - t0);
            } else if (per[i].failed++ == 0) {
                per[i].first_error = r ? std::string(wire::status_name(r->status)) + ": " + r->message : r.error().message;
            }
        }
    };

    VerifyRun run;
    const double daemon0 = cpu_seconds(daemon_pid);
    const double self0 = self_cpu_seconds();
    const int64_t t0 = now_ns();
    if (concurrent) {
        std::vector<std::thread> threads;
        for (size_t i = 0; i < users.size(); ++i) threads.emplace_back(work, i);
        for (auto& t : threads) t.join();
    } else {
        for (size_t i = 0; i < users.size(); ++i) work(i);
    }
    const int64_t t1 = now_ns();
    run.seconds = double(t1 - t0) / 1e9;
    const double daemon1 = cpu_seconds(daemon_pid);
    run.daemon_cpu = daemon0 >= 0 && daemon1 >= 0 ? daemon1 - daemon0 : -1;
    run.client_cpu = self_cpu_seconds() - self0;
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
    print_load(label, l);
}

// ---- the run ----------------------------------------------------------------------

std::string config_text(const std::string& dir, unsigned gid) {
    return "[daemon]\n"
           "socket = \"" + dir + "/elevated.sock\"\n"
           "state_dir = \"" + dir + "/state\"\n"
           "audit_file = \"" + dir + "/audit.jsonl\"\n"
           "audit_journal = false\n"
           "\n"
           "[totp]\n"
           "# 21 valid codes per user at any moment: enough to measure Verify\n"
           "# without reusing a code (each is accepted once).\n"
           "drift_steps = 10\n"
           "\n"
           "[[role]]\n"
           "name = \"elvb-bench\"\n"
           "gid = " + std::to_string(gid) + "\n"
           "eligible_users = [\"root\"]\n"
           "default_duration = \"8h\"\n"
           "max_duration = \"8h\"\n";
}

void timed_phases(const Options& o, const std::string& socket, pid_t daemon_pid, const std::string& status_user,
                  const std::string& floor_socket) {
    std::printf("\n-- unloaded latency (1 client, %s s each)\n", fmt(std::min(o.duration, 2.0), 0).c_str());
    print_load("ping", run_load(1, std::min(o.duration, 2.0), daemon_pid,
                                simple_request(socket, wire::Op::Ping, {})));
    print_load("status (" + status_user + ")",
               run_load(1, std::min(o.duration, 2.0), daemon_pid,
                        simple_request(socket, wire::Op::Status, user_payload(status_user))));

    std::unique_ptr<FloorServer> floor;
    if (o.floor && !floor_socket.empty()) floor = std::make_unique<FloorServer>(floor_socket);

    std::map<std::string, std::vector<double>> rates;
    for (int round = 1; round <= o.rounds; ++round) {
        check_interrupted();
        std::printf("\n-- round %d of %d: %d concurrent clients, %s s per phase\n", round, o.rounds, o.clients,
                    fmt(o.duration, 0).c_str());
        if (floor) {
            auto r = run_load(o.clients, o.duration, floor->pid(), simple_request(floor_socket, wire::Op::Ping, {}));
            print_load("floor (minimal server)", r);
            rates["floor"].push_back(r.per_second());
        }
        auto p = run_load(o.clients, o.duration, daemon_pid, simple_request(socket, wire::Op::Ping, {}));
        print_load("ping", p);
        rates["ping"].push_back(p.per_second());
        auto s = run_load(o.clients, o.duration, daemon_pid,
                          simple_request(socket, wire::Op::Status, user_payload(status_user)));
        print_load("status (" + status_user + ", a decision)", s);
        rates["status"].push_back(s.per_second());
    }

    std::printf("\n-- medians over %d round(s), %d clients\n", o.rounds, o.clients);
    const double floor_rate = rates.count("floor") ? median(rates["floor"]) : 0;
    for (const char* name : {"floor", "ping", "status"}) {
        if (!rates.count(name)) continue;
        const double m = median(rates[name]);
        std::printf("%-8s %9s req/s", name, fmt(m, 0).c_str());
        if (floor_rate > 0 && std::string(name) != "floor")
            std::printf("   = %s of the floor", fmt(m / floor_rate, 2).c_str());
        if (std::string(name) == "status")
            std::printf("   target >= 20000 decisions/s: %s", m >= 20000 ? "met" : "MISSED");
        std::printf("\n");
    }
}

int run(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    install_interrupt_handlers();
    print_machine();
    std::printf("bench_daemon_throughput: %d clients, %s s per phase, %d round(s)\n", o.clients,
                fmt(o.duration, 1).c_str(), o.rounds);

    if (!o.socket.empty()) {
        // An existing daemon: read-only operations for whoever runs this.
        std::printf("using the running elevated at %s\n", o.socket.c_str());
        std::string me = std::to_string(geteuid());
        if (struct passwd* pw = getpwuid(geteuid())) me = pw->pw_name;
        TempDir scratch(o.dir);
        timed_phases(o, o.socket, o.daemon_pid, me, scratch.path() + "/floor.sock");
        return 0;
    }

    if (geteuid() != 0) throw std::runtime_error("must run as root (starts elevated, creates users)");
    if (auto r = auth::totp_init(); !r) throw std::runtime_error(r.error().message);

    TempDir dir(o.dir);
    const std::string socket = dir.path() + "/elevated.sock";
    ::mkdir((dir.path() + "/state").c_str(), 0700);
    const unsigned gid = free_gid(64990);
    write_file(dir.path() + "/elevate.conf", config_text(dir.path(), gid));
    std::printf("daemon: %s\nstate:  %s/state (%s)\n", o.elevated.c_str(), dir.path().c_str(),
                "SQLite WAL, synchronous=FULL");

    DaemonProcess daemon(o.elevated, dir.path() + "/elevate.conf", socket, dir.path() + "/elevated.log");
    const int64_t startup = daemon.start();
    std::printf("start-up (empty state): %s ms\n", fmt(double(startup) / 1e6, 1).c_str());

    // root: enrolled through the protocol, with one active grant, so status
    // answers with a real grant record.
    const std::string root_seed = enroll(socket, "root");
    {
        CodeSource codes(root_seed);
        wire::BufferWriter w;
        w->put_str(wire::Tag::Role, "elvb-bench");
        w->put_str(wire::Tag::Reason, "bench");
        w->put_str(wire::Tag::Code, codes.next());
        w->put_str(wire::Tag::Service, "bench");
        call_expect(socket, wire::Op::Activate, w.take());
    }
    {
        auto s = call_expect(socket, wire::Op::Status, user_payload("root"));
        bool enrolled = false;
        s.fields.get_bool(wire::Tag::Enrolled, &enrolled);
        int grants = 0;
        auto it = s.fields.iterate();
        for (wire::Field f; it.next(&f);) grants += f.tag == uint16_t(wire::Tag::Grant);
        std::printf("root: enrolled=%s, %d active grant(s); status reply %zu bytes\n", enrolled ? "yes" : "no",
                    grants, s.payload.size() + wire::kHeaderSize);
    }

    timed_phases(o, socket, daemon.pid(), "root", dir.path() + "/floor.sock");

    if (o.verify_users > 0) {
        check_interrupted();
        constexpr int kSequentialUsers = 4;
        std::printf("\n-- TOTP verification (valid codes only; each accepted once)\n");
        const int64_t t0 = now_ns();
        std::vector<std::unique_ptr<TempUser>> users;
        std::vector<std::string> seq_names, conc_names, seq_seeds, conc_seeds;
        for (int i = 0; i < kSequentialUsers + o.verify_users; ++i) {
            check_interrupted();
            const bool seq = i < kSequentialUsers;
            std::string name = seq ? "elvb-s" + std::to_string(i) : "elvb-c" + std::to_string(i - kSequentialUsers);
            users.push_back(std::make_unique<TempUser>(name));
            (seq ? seq_names : conc_names).push_back(name);
            (seq ? seq_seeds : conc_seeds).push_back(enroll(socket, name));
        }
        std::printf("created and enrolled %zu users in %s s\n", users.size(), fmt(double(now_ns() - t0) / 1e9, 1).c_str());

        auto seq = verify_codes(socket, seq_names, seq_seeds, false, daemon.pid());
        print_verify("verify, sequential", 1, seq);
        auto conc = verify_codes(socket, conc_names, conc_seeds, true, daemon.pid());
        print_verify("verify, concurrent (1 user each)", o.verify_users, conc);
        // users are removed by ~TempUser, also when something above threw.
    }

    const Memory m = read_memory(daemon.pid());
    std::printf("\ndaemon memory at the end: VmRSS %ld kB, VmHWM %ld kB\n", m.rss_kb, m.hwm_kb);
    daemon.stop();
    return 0;
}

}  // namespace
}  // namespace elevate::bench

int main(int argc, char** argv) {
    try {
        return elevate::bench::run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_daemon_throughput: %s\n", e.what());
    }
    return 1;
}
