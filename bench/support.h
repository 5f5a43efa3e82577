// Shared pieces of the daemon benchmarks: a real elevated in a temporary
// directory, real Unix users that are removed again, a closed-loop load
// generator and the numbers (percentiles, /proc readings) they print.
// Benchmarks report; they never assert on time (DESIGN.md, "Performance
// targets").
#pragma once

#include "common/wire/client.h"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace elevate::bench {

// Set by SIGINT/SIGTERM; long loops stop early and cleanup still runs.
extern std::atomic<bool> g_interrupted;
void install_interrupt_handlers();
// Throws if the run was interrupted.
void check_interrupted();

int64_t now_ns();  // CLOCK_MONOTONIC
int64_t wall_seconds();

// A fresh 0700 root-owned directory under `base`, removed on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& base);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& content, mode_t mode = 0600);
std::string read_file(const std::string& path);

// A gid that /etc/group does not use, at or below `from` (role groups must
// not clash with system groups; the config loader refuses them).
unsigned free_gid(unsigned from);

// Runs argv (absolute path) to completion with stdout/stderr discarded;
// returns the exit status (-1 when killed or not started).
int run_quiet(const std::vector<std::string>& argv);

// A real Unix user (useradd -M -N), removed with userdel on destruction.
// A leftover of an aborted run with the same name is removed first.
class TempUser {
public:
    explicit TempUser(std::string name);
    ~TempUser();
    TempUser(const TempUser&) = delete;
    TempUser& operator=(const TempUser&) = delete;
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

// /proc/<pid> readings.
struct Memory {
    long rss_kb = -1;  // VmRSS
    long hwm_kb = -1;  // VmHWM (peak resident)
};
Memory read_memory(pid_t pid);
// utime + stime of `pid` in seconds (from /proc/<pid>/stat).
double cpu_seconds(pid_t pid);
// CPU time of this process (all threads), in seconds.
double self_cpu_seconds();
// Busy (non-idle, non-iowait) CPU seconds of the whole machine, all CPUs,
// from /proc/stat: minus the daemon and the clients it shows what else ran.
double machine_busy_seconds();

// A real elevated started on `config_path`, its stderr/stdout in `log_path`.
// The child gets PR_SET_PDEATHSIG, so it never outlives the benchmark.
class DaemonProcess {
public:
    DaemonProcess(std::string binary, std::string config_path, std::string socket_path, std::string log_path);
    ~DaemonProcess();  // SIGKILL if still running
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    // Forks and execs elevated, then polls Op::Ping (1 ms apart) until it
    // answers Ok. Returns the nanoseconds from fork to the first Ok reply.
    int64_t start();
    void stop();  // SIGTERM, wait
    pid_t pid() const { return pid_; }
    std::string log() const;

private:
    std::string binary_, config_path_, socket_path_, log_path_;
    pid_t pid_ = -1;
};

wire::ClientOptions client_options(const std::string& socket_path);

// One request through the C++ client; throws with the daemon's message on a
// transport error or a status other than `expect`.
wire::Reply call_expect(const std::string& socket_path, wire::Op op, const std::vector<uint8_t>& payload,
                        wire::Status expect = wire::Status::Ok);

// Enrolls `user` through Op::Enroll (the caller must be root) and returns
// the raw seed, taken from the otpauth:// URI of the reply.
std::string enroll(const std::string& socket_path, const std::string& user);
// The TOTP code of `seed` (SHA1, 6 digits, 30 s) for time-step `step`.
std::string totp_code(const std::string& seed, int64_t step);

// The [daemon] section of a benchmark daemon's config: socket, audit file and
// snapshot in `dir`, state in `state_dir` (default dir/state), no journal.
std::string daemon_section(const std::string& dir, const std::string& state_dir = "");

// What one durable append costs in `dir`: `samples` times a 200-byte write
// then fdatasync(), each timed (ns); the probe file is removed.
std::vector<int64_t> fdatasync_samples(const std::string& dir, int samples);

// Latency percentiles over samples in nanoseconds.
struct Summary {
    size_t count = 0;
    double median_us = 0, p90_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
};
Summary summarize(std::vector<int64_t> samples_ns);
// The q-quantile (0 < q <= 1, nearest rank, as summarize()) in microseconds;
// 0 for no samples.
double percentile_us(std::vector<int64_t> samples_ns, double q);

// Result of a closed-loop run: `clients` threads, each doing one request
// (connect, send, receive, close) after another until the duration is over.
struct LoadResult {
    int clients = 0;
    double seconds = 0;   // wall time of the measured window
    uint64_t ok = 0;      // requests answered with the expected status
    uint64_t failed = 0;  // transport errors or unexpected status
    std::string first_error;
    Summary latency;           // of successful requests
    double daemon_cpu = -1;    // daemon CPU seconds in the window (-1: unknown)
    double client_cpu = 0;     // this process's CPU seconds in the window
    double machine_busy = -1;  // busy CPU seconds of the machine in the window
    double per_second() const { return seconds > 0 ? double(ok) / seconds : 0; }
};

// `request(thread_index)` performs one request and returns true on success;
// on failure it may set `error`. `daemon_pid` (or -1) is sampled for CPU.
LoadResult run_load(int clients, double duration_s, pid_t daemon_pid,
                    const std::function<bool(int thread, std::string* error)>& request);

// Formatting helpers for the report.
std::string fmt(double v, int decimals = 1);
void print_load(const std::string& label, const LoadResult& r);
void print_machine();

// The options of every benchmark that starts its own elevated.
struct DaemonOptions {
    std::string dir = "/tmp";  // --dir: where the temporary directory is made
    std::string elevated;      // --elevated: the daemon binary
};

// The command line of a benchmark program, read one option at a time:
//   BenchArgs args(argc, argv, kUsage);
//   while (args.next()) { if (args.is("--rounds")) o.rounds = args.integer(); ... else args.unknown(); }
// --help / -h prints the usage and exits; a missing value or an unknown
// option throws with a message naming it. Given `daemon`, next() reads
// --dir and --elevated into it itself and does not return them.
class BenchArgs {
public:
    BenchArgs(int argc, char** argv, const char* usage, DaemonOptions* daemon = nullptr)
        : argc_(argc), argv_(argv), usage_(usage), daemon_(daemon) {}
    bool next();
    bool is(const char* name) const { return current_ == name; }
    std::string value();
    int integer() { return std::stoi(value()); }
    double real() { return std::stod(value()); }
    [[noreturn]] void unknown() const;

private:
    int argc_;
    char** argv_;
    const char* usage_;
    DaemonOptions* daemon_;
    int i_ = 0;
    std::string current_;
};

// The body of a benchmark's main(): returns run(argc, argv), or prints
// "<name>: <what>" to stderr and returns 1 when it throws.
int bench_main(const char* name, int (*run)(int, char**), int argc, char** argv);

}  // namespace elevate::bench
