#include "bench/support.h"

#include "daemon/auth/totp.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace elevate::bench {

std::atomic<bool> g_interrupted{false};

namespace {
void on_interrupt(int) {
    g_interrupted.store(true);
}
}  // namespace

void install_interrupt_handlers() {
    struct sigaction sa = {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

void check_interrupted() {
    if (g_interrupted.load()) throw std::runtime_error("interrupted");
}

int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t wall_seconds() {
    return int64_t(::time(nullptr));
}

// ---- files and directories ---------------------------------------------------

TempDir::TempDir(const std::string& base) {
    std::string tmpl = base + "/elevate-bench-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp under " + base + ": " + strerror(errno));
    path_ = buf.data();
    chmod(path_.c_str(), 0700);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) throw std::runtime_error("cannot write " + path + ": " + strerror(errno));
    size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            throw std::runtime_error("cannot write " + path + ": " + strerror(errno));
        }
        done += size_t(n);
    }
    ::fchmod(fd, mode);
    ::close(fd);
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

unsigned free_gid(unsigned from) {
    for (unsigned gid = from; gid > 1000; --gid)
        if (getgrgid(gid) == nullptr) return gid;
    throw std::runtime_error("no free gid below " + std::to_string(from));
}

int run_quiet(const std::vector<std::string>& argv) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
        char* env[] = {path_env, nullptr};
        execve(args[0], args.data(), env);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// ---- users -------------------------------------------------------------------

TempUser::TempUser(std::string name) : name_(std::move(name)) {
    run_quiet({"/usr/sbin/userdel", name_});  // leftover of an aborted run
    // Other programs may hold the passwd lock for a moment: retry a little.
    int rc = -1;
    for (int attempt = 0; attempt < 5 && rc != 0; ++attempt) {
        if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(200));
        rc = run_quiet({"/usr/sbin/useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name_});
    }
    if (rc != 0) throw std::runtime_error("useradd " + name_ + " failed (exit " + std::to_string(rc) + ")");
}

TempUser::~TempUser() {
    run_quiet({"/usr/sbin/userdel", name_});
}

// ---- /proc -------------------------------------------------------------------

Memory read_memory(pid_t pid) {
    Memory m;
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) m.rss_kb = std::strtol(line.c_str() + 6, nullptr, 10);
        if (line.rfind("VmHWM:", 0) == 0) m.hwm_kb = std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return m;
}

double cpu_seconds(pid_t pid) {
    if (pid <= 0) return -1;
    // schedstat has nanoseconds (stat has 10 ms ticks, too coarse for the
    // short Verify phases); summed over every thread of the process.
    const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    double total = 0;
    bool any = false;
    for (const auto& entry : std::filesystem::directory_iterator(task_dir, ec)) {
        std::ifstream f(entry.path() / "schedstat");
        double ns = 0;
        if (f >> ns) {
            total += ns / 1e9;
            any = true;
        }
    }
    if (any) return total;
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream rest(stat.substr(paren + 2));
    std::vector<std::string> fields;
    std::string token;
    while (rest >> token) fields.push_back(token);
    // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
    if (fields.size() < 13) return -1;
    const double ticks = double(sysconf(_SC_CLK_TCK));
    return (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
}

double self_cpu_seconds() {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double machine_busy_seconds() {
    std::ifstream f("/proc/stat");
    std::string cpu;
    f >> cpu;
    if (cpu != "cpu") return -1;
    // user nice system idle iowait irq softirq steal
    double v[8] = {};
    for (double& x : v) f >> x;
    const double busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return busy / double(sysconf(_SC_CLK_TCK));
}

std::string daemon_section(const std::string& dir, const std::string& state_dir) {
    return "[daemon]\n"
           "socket = \"" +
           dir +
           "/elevated.sock\"\n"
           "state_dir = \"" +
           (state_dir.empty() ? dir + "/state" : state_dir) +
           "\"\n"
           "audit_file = \"" +
           dir +
           "/audit.jsonl\"\n"
           "snapshot = \"" +
           dir +
           "/groups.snapshot\"\n"
           "audit_journal = false\n";
}

std::vector<int64_t> fdatasync_samples(const std::string& dir, int samples) {
    const std::string path = dir + "/fdatasync-probe";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + strerror(errno));
    std::vector<int64_t> lat;
    const std::string line(200, 'x');
    for (int i = 0; i < samples; ++i) {
        if (::write(fd, line.data(), line.size()) != ssize_t(line.size())) break;
        const int64_t t0 = now_ns();
        if (::fdatasync(fd) < 0) break;
        lat.push_back(now_ns() - t0);
    }
    ::close(fd);
    ::unlink(path.c_str());
    return lat;
}

// ---- the daemon --------------------------------------------------------------

DaemonProcess::DaemonProcess(std::string binary, std::string config_path, std::string socket_path, std::string log_path)
    : binary_(std::move(binary)),
      config_path_(std::move(config_path)),
      socket_path_(std::move(socket_path)),
      log_path_(std::move(log_path)) {}

DaemonProcess::~DaemonProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        int status;
        waitpid(pid_, &status, 0);
    }
}

int64_t DaemonProcess::start() {
    if (pid_ > 0) throw std::runtime_error("elevated is already running");
    ::unlink(socket_path_.c_str());  // a stale socket would only add ECONNREFUSED polls
    const int64_t t0 = now_ns();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execl(binary_.c_str(), "elevated", "--config", config_path_.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    const wire::ClientOptions options = client_options(socket_path_);
    const int64_t give_up = t0 + 60'000'000'000;
    while (now_ns() < give_up) {
        auto r = wire::call(options, wire::Op::Ping, {});
        if (r && r->status == wire::Status::Ok) return now_ns() - t0;
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("elevated exited during start-up:\n" + log());
        }
        check_interrupted();
        struct timespec ms = {0, 1'000'000};
        nanosleep(&ms, nullptr);
    }
    throw std::runtime_error("elevated did not answer ping within 60 s:\n" + log());
}

void DaemonProcess::stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

std::string DaemonProcess::log() const {
    return read_file(log_path_);
}

wire::ClientOptions client_options(const std::string& socket_path) {
    return wire::ClientOptions{socket_path, 10000, 0};
}

wire::Reply call_expect(const std::string& socket_path, wire::Op op, const std::vector<uint8_t>& payload,
                        wire::Status expect) {
    auto r = wire::call(client_options(socket_path), op, payload);
    if (!r) throw std::runtime_error(std::string(wire::op_name(op)) + ": " + r.error().message);
    if (r->status != expect)
        throw std::runtime_error(std::string(wire::op_name(op)) + ": " + wire::status_name(r->status) + ": " +
                                 r->message);
    return std::move(*r);
}

std::string enroll(const std::string& socket_path, const std::string& user) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User, user);
    w->put_str(wire::Tag::Label, "bench");
    auto reply = call_expect(socket_path, wire::Op::Enroll, w.take());
    std::string_view uri;
    if (!reply.fields.get_str(wire::Tag::Uri, &uri)) throw std::runtime_error("enroll " + user + ": no uri");
    auto p = uri.find("secret=");
    if (p == std::string_view::npos) throw std::runtime_error("enroll " + user + ": no secret in the uri");
    p += 7;
    auto e = uri.find('&', p);
    auto seed = auth::base32_decode(uri.substr(p, e == std::string_view::npos ? std::string_view::npos : e - p));
    if (!seed) throw std::runtime_error("enroll " + user + ": " + seed.error().message);
    return std::string(seed->view());
}

std::string totp_code(const std::string& seed, int64_t step) {
    auto code = auth::totp_generate(base::SecureBuffer(seed), auth::TotpParams{}, step * 30);
    if (!code) throw std::runtime_error("totp: " + code.error().message);
    return *code;
}

// ---- numbers -----------------------------------------------------------------

Summary summarize(std::vector<int64_t> samples) {
    Summary s;
    s.count = samples.size();
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    auto at = [&](double q) {
        size_t i = size_t(std::ceil(q * double(samples.size()))) - 1;
        return double(samples[std::min(i, samples.size() - 1)]) / 1000.0;
    };
    s.median_us = at(0.5);
    s.p90_us = at(0.9);
    s.p99_us = at(0.99);
    s.max_us = double(samples.back()) / 1000.0;
    double sum = 0;
    for (int64_t v : samples) sum += double(v);
    s.mean_us = sum / double(samples.size()) / 1000.0;
    return s;
}

double percentile_us(std::vector<int64_t> samples, double q) {
    if (samples.empty()) return 0;
    std::sort(samples.begin(), samples.end());
    size_t i = size_t(std::ceil(q * double(samples.size())));
    i = std::min(std::max<size_t>(i, 1), samples.size()) - 1;
    return double(samples[i]) / 1000.0;
}

LoadResult run_load(int clients, double duration_s, pid_t daemon_pid,
                    const std::function<bool(int, std::string*)>& request) {
    struct PerThread {
        std::vector<int64_t> latencies;
        uint64_t failed = 0;
        std::string first_error;
    };
    std::vector<PerThread> per(static_cast<size_t>(clients));
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::atomic<int64_t> deadline{0};

    std::vector<std::thread> threads;
    threads.reserve(size_t(clients));
    for (int i = 0; i < clients; ++i) {
        threads.emplace_back([&, i] {
            PerThread& me = per[size_t(i)];
            me.latencies.reserve(1 << 16);
            ready.fetch_add(1);
            while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
            const int64_t end = deadline.load();
            for (;;) {
                const int64_t t0 = now_ns();
                if (t0 >= end || g_interrupted.load(std::memory_order_relaxed)) break;
                std::string error;
                if (request(i, &error)) {
                    me.latencies.push_back(now_ns() - t0);
                } else {
                    if (me.failed++ == 0) me.first_error = error;
                }
            }
        });
    }
    while (ready.load() < clients) std::this_thread::yield();

    LoadResult r;
    r.clients = clients;
    const double daemon0 = cpu_seconds(daemon_pid);
    const double self0 = self_cpu_seconds();
    const double machine0 = machine_busy_seconds();
    const int64_t t0 = now_ns();
    deadline.store(t0 + int64_t(duration_s * 1e9));
    go.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    const int64_t t1 = now_ns();
    const double daemon1 = cpu_seconds(daemon_pid);
    r.client_cpu = self_cpu_seconds() - self0;
    r.machine_busy = machine_busy_seconds() - machine0;
    r.daemon_cpu = daemon0 >= 0 && daemon1 >= 0 ? daemon1 - daemon0 : -1;
    r.seconds = double(t1 - t0) / 1e9;

    std::vector<int64_t> all;
    for (auto& p : per) {
        r.ok += p.latencies.size();
        r.failed += p.failed;
        if (r.first_error.empty() && !p.first_error.empty()) r.first_error = p.first_error;
        all.insert(all.end(), p.latencies.begin(), p.latencies.end());
        std::vector<int64_t>().swap(p.latencies);
    }
    r.latency = summarize(std::move(all));
    return r;
}

std::string fmt(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

void print_load(const std::string& label, const LoadResult& r) {
    std::printf("%-34s %3d clients  %9s req/s  p50 %8s us  p99 %8s us", label.c_str(), r.clients,
                fmt(r.per_second(), 0).c_str(), fmt(r.latency.median_us).c_str(), fmt(r.latency.p99_us).c_str());
    if (r.daemon_cpu >= 0 && r.ok > 0) {
        std::printf("  daemon CPU %5s%% (%s us/req)", fmt(100.0 * r.daemon_cpu / r.seconds, 0).c_str(),
                    fmt(1e6 * r.daemon_cpu / double(r.ok), 1).c_str());
    }
    if (r.ok > 0 && r.client_cpu >= 0)
        std::printf("  client CPU %5s%% (%s us/req)", fmt(100.0 * r.client_cpu / r.seconds, 0).c_str(),
                    fmt(1e6 * r.client_cpu / double(r.ok), 1).c_str());
    if (r.machine_busy >= 0 && r.client_cpu >= 0 && r.seconds > 0) {
        const double other = std::max(0.0, r.machine_busy - r.client_cpu - std::max(0.0, r.daemon_cpu));
        std::printf("  other CPU %4s%%", fmt(100.0 * other / r.seconds, 0).c_str());
    }
    std::printf("  [%llu ok", static_cast<unsigned long long>(r.ok));
    if (r.failed) std::printf(", %llu FAILED: %s", static_cast<unsigned long long>(r.failed), r.first_error.c_str());
    std::printf(" in %s s]\n", fmt(r.seconds, 2).c_str());
    std::fflush(stdout);
}

void print_machine() {
    std::string model = "unknown";
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) model = line.substr(colon + 2);
            break;
        }
    }
    struct utsname u;
    uname(&u);
    std::printf("machine: %ld online CPU(s), %s, Linux %s; load average %s", sysconf(_SC_NPROCESSORS_ONLN),
                model.c_str(), u.release, read_file("/proc/loadavg").c_str());
    std::printf(
        "CPU columns: %% of one CPU over the window (100%% = one core busy); us/req = CPU time per request;\n"
        "'other' = CPU used by everything else on the machine meanwhile (noise)\n");
    std::fflush(stdout);
}

bool BenchArgs::next() {
    while (++i_ < argc_) {
        current_ = argv_[i_];
        if (current_ == "--help" || current_ == "-h") {
            std::fputs(usage_, stdout);
            std::exit(0);
        }
        if (daemon_ && is("--dir")) {
            daemon_->dir = value();
        } else if (daemon_ && is("--elevated")) {
            daemon_->elevated = value();
        } else {
            return true;
        }
    }
    return false;
}

std::string BenchArgs::value() {
    if (i_ + 1 >= argc_) throw std::runtime_error("option " + current_ + " needs a value");
    return argv_[++i_];
}

void BenchArgs::unknown() const {
    throw std::runtime_error("unknown option " + current_ + " (try --help)");
}

int bench_main(const char* name, int (*run)(int, char**), int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", name, e.what());
    }
    return 1;
}

}  // namespace elevate::bench
