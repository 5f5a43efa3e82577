// bench_push_roundtrip: what the daemon adds to a push approval, and how it
// behaves with many pushes pending at once.
//
// A real elevated runs with [push] provider = "webhook" against an HTTPS
// webhook server on 127.0.0.1 inside this process (bench/push_server.h:
// OpenSSL, checks and signs every message as docs/PUSH-WEBHOOK.md says). The
// server records when each request arrived and when its reply was written, on
// the same clock as the clients here, so its own time is known per request.
//
// 1. Floor: the same requests (signed POST .../challenges, GET
//    .../challenges/ID) from a plain libcurl client with the daemon's TLS
//    options, on a new TLS connection each time and on a kept-alive one.
// 2. Sequential round trips: push_start -> verify(challenge) -> ok, the
//    server approving at once. Overhead = round trip - the daemon's poll
//    wait (polls x poll_interval) - the floor of each HTTPS request it made
//    (new or reused connection, as the server saw it). Once with the server
//    keeping connections alive (HTTP/1.1, as tests/push/webhook_server.py
//    does), once answering "Connection: close", so that every request needs
//    a new TLS connection.
// 3. N (100) clients at once: push_start + verify, the server approving D
//    (5) s after each start. All must end ok; the time to complete against
//    D, the daemon's VmRSS/VmHWM meanwhile, and the latency of status/ping
//    from another client while the pushes wait, against the same when idle.
//
// Prints numbers; asserts nothing about time.
#include "bench/push_server.h"
#include "bench/support.h"

#include "daemon/push/signature.h"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace elevate::bench {
namespace {

const char kUsage[] =
    "Usage: bench_push_roundtrip [OPTIONS]\n"
    "\n"
    "Starts elevated with a webhook push provider against an HTTPS server in this\n"
    "process (127.0.0.1 only) and measures push round trips. Must run as root.\n"
    "\n"
    "  --round-trips N       sequential push round trips per server mode (default 20)\n"
    "  --floor-requests N    libcurl requests per kind for the HTTPS floor (default 200)\n"
    "  --approve-after S     server answers 'approved' S seconds after the start in the\n"
    "                        sequential part (default 0: at the first poll)\n"
    "  --pending N           concurrent pushes in the pending phase (default 100; 0 skips)\n"
    "  --pending-delay S     the server approves them S seconds after their start (default 5)\n"
    "  --probe-interval-ms M status/ping from another client every M ms (default 5)\n"
    "  --modes LIST          server connection modes: keepalive,close (default both)\n"
    "  --dir PATH            where the temporary directory is made (default /tmp)\n"
    "  --elevated PATH       the daemon binary (default: the one built with this benchmark)\n";

constexpr char kSecret[] = "bench-webhook-secret-0123456789abcdef-0123456789";
constexpr char kBasePath[] = "/elevate";
constexpr int64_t kPollIntervalMs = 1000;  // the smallest poll_interval the config accepts

struct Options {
    int round_trips = 20;
    int floor_requests = 200;
    double approve_after = 0;
    int pending = 100;
    double pending_delay = 5;
    int probe_interval_ms = 5;
    std::vector<std::string> modes = {"keepalive", "close"};
    DaemonOptions daemon{.elevated = ELEVATED_BIN};
};

Options parse_args(int argc, char** argv) {
    Options o;
    BenchArgs args(argc, argv, kUsage, &o.daemon);
    while (args.next()) {
        if (args.is("--round-trips")) {
            o.round_trips = args.integer();
        } else if (args.is("--floor-requests")) {
            o.floor_requests = args.integer();
        } else if (args.is("--approve-after")) {
            o.approve_after = args.real();
        } else if (args.is("--pending")) {
            o.pending = args.integer();
        } else if (args.is("--pending-delay")) {
            o.pending_delay = args.real();
        } else if (args.is("--probe-interval-ms")) {
            o.probe_interval_ms = args.integer();
        } else if (args.is("--modes")) {
            o.modes.clear();
            std::string list = args.value();
            for (size_t p = 0; p <= list.size();) {
                size_t c = list.find(',', p);
                if (c == std::string::npos) c = list.size();
                std::string m = list.substr(p, c - p);
                if (m != "keepalive" && m != "close") throw std::runtime_error("--modes: keepalive or close");
                o.modes.push_back(m);
                p = c + 1;
            }
        } else {
            args.unknown();
        }
    }
    if (o.round_trips < 1 || o.floor_requests < 1 || o.pending < 0 || o.pending_delay < 0 || o.probe_interval_ms < 1 ||
        o.approve_after < 0 || o.modes.empty())
        throw std::runtime_error("counts must be positive, delays not negative");
    return o;
}

// "p50 / p95 (max)" in ms with `d` decimals, from samples in ns.
std::string dist_ms(const std::vector<int64_t>& v, int d = 3) {
    if (v.empty()) return "-";
    return fmt(percentile_us(v, 0.5) / 1000, d) + " / " + fmt(percentile_us(v, 0.95) / 1000, d) + " (max " +
           fmt(percentile_us(v, 1.0) / 1000, d) + ")";
}

double median_ms(const std::vector<int64_t>& v) {
    return percentile_us(v, 0.5) / 1000;
}

// ---- the floor: a plain libcurl client ------------------------------------------

// The request kinds the daemon sends, on a new or a reused connection.
enum Kind { PostNew, GetNew, PostReused, GetReused, kKinds };
const char* kKindName[kKinds] = {"POST start, new TLS connection", "GET poll, new TLS connection",
                                 "POST start, reused connection", "GET poll, reused connection"};
Kind kind_of(bool post, bool new_conn) {
    return post ? (new_conn ? PostNew : PostReused) : (new_conn ? GetNew : GetReused);
}

struct FloorSamples {
    std::vector<int64_t> total[kKinds];      // client-observed, per request
    std::vector<int64_t> think[kKinds];      // the server's own time in it
    std::vector<int64_t> handshake[kKinds];  // server: accept -> handshake done (new connections)
    std::vector<int64_t> cpu[kKinds];        // the client thread's CPU time for the request
    int resumed = 0;                         // TLS sessions resumed (should be 0)
};

int64_t thread_cpu_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

size_t discard_body(char*, size_t size, size_t count, void*) {
    return size * count;
}

// Headers are parsed the way the daemon's client does (it keeps them all).
size_t keep_header(char* data, size_t size, size_t count, void* user) {
    auto* list = static_cast<std::vector<std::string>*>(user);
    list->emplace_back(data, size * count);
    return size * count;
}

// The same options as daemon/push/http_client.cpp, plus, for `fresh`, a new
// connection and no TLS session reuse per request (the daemon creates a new
// easy handle per request, and so never resumes a session).
class FloorClient {
public:
    FloorClient(std::string base_url, std::string ca_file, bool fresh)
        : base_url_(std::move(base_url)), ca_file_(std::move(ca_file)), fresh_(fresh), easy_(curl_easy_init()) {
        if (!easy_) throw std::runtime_error("curl_easy_init failed");
    }
    ~FloorClient() { curl_easy_cleanup(easy_); }
    FloorClient(const FloorClient&) = delete;
    FloorClient& operator=(const FloorClient&) = delete;

    // One signed request; returns the client-observed ns and the HTTP status;
    // `cpu` gets this thread's CPU time for it (ns).
    int64_t request(bool post, const std::string& suffix, const std::string& body, long* status, int64_t* cpu) {
        auto signed_req =
            push::sign_request(kSecret, post ? "POST" : "GET", std::string(kBasePath) + suffix, wall_seconds(), body);
        if (!signed_req) throw std::runtime_error(signed_req.error().message);
        const std::string url = base_url_ + suffix;
        headers_seen_.clear();
        const int64_t c0 = thread_cpu_ns();
        const int64_t t0 = now_ns();
        curl_slist* list = nullptr;
        if (post) list = curl_slist_append(list, "Content-Type: application/json");
        list = curl_slist_append(list, "Accept: application/json");
        for (const auto& h : signed_req->headers) list = curl_slist_append(list, h.c_str());
        list = curl_slist_append(list, "Expect:");
        CURL* c = easy_;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(c, CURLOPT_SSLVERSION, long(CURL_SSLVERSION_TLSv1_2));
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers_seen_);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
        if (fresh_) {
            curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
            curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
            curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
        }
        if (post) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
        } else {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        }
        const CURLcode rc = curl_easy_perform(c);
        const int64_t t1 = now_ns();
        *cpu = thread_cpu_ns() - c0;
        curl_slist_free_all(list);
        if (rc != CURLE_OK) throw std::runtime_error(std::string("floor client: ") + curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
        return t1 - t0;
    }

private:
    std::string base_url_, ca_file_;
    bool fresh_;
    CURL* easy_;
    std::vector<std::string> headers_seen_;
};

// A start body like the daemon's (daemon/push/webhook.cpp), same size.
std::string start_body(const std::string& id) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"challenge_id\":\"%s\",\"created\":%lld,\"expires\":%lld,\"host\":\"bench-host\","
                  "\"nonce\":\"0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\"reason\":\"\",\"remote_host\":\"\","
                  "\"role\":\"\",\"service\":\"bench\",\"tty\":\"\",\"user\":\"root\"}",
                  id.c_str(), static_cast<long long>(wall_seconds()), static_cast<long long>(wall_seconds() + 30));
    return buf;
}

// `count` pairs of start + poll through `client`; samples go by the kind the
// server saw (new or reused connection).
void floor_run(WebhookBenchServer& server, FloorClient& client, int count, int& seq, FloorSamples& out) {
    for (int i = 0; i < count; ++i) {
        check_interrupted();
        const std::string id = "floor-" + std::to_string(++seq) + "-0000-0000-000000000000";
        for (bool post : {true, false}) {
            server.take_records();
            long status = 0;
            int64_t cpu = 0;
            const int64_t t = post ? client.request(true, "/challenges", start_body(id), &status, &cpu)
                                   : client.request(false, "/challenges/" + id, "", &status, &cpu);
            auto recs = server.take_records([](const auto& r) { return !r.empty(); });
            if (recs.size() != 1 || status != (post ? 201 : 200))
                throw std::runtime_error("floor: unexpected reply " + std::to_string(status) + " (" +
                                         std::to_string(recs.size()) + " requests at the server)");
            const ServerRequest& r = recs[0];
            const Kind k = kind_of(post, r.new_conn);
            out.total[k].push_back(t);
            out.think[k].push_back(r.think_ns());
            out.cpu[k].push_back(cpu);
            if (r.new_conn) out.handshake[k].push_back(r.handshake_ns - r.accepted_ns);
            out.resumed += r.tls_resumed;
        }
    }
}

void print_floor(const FloorSamples& f) {
    std::printf("  %-34s %6s %22s %18s %22s %16s\n", "request", "count", "client p50 / p95 ms", "client CPU p50",
                "server think p50 / p95", "server TLS p50");
    for (int k = 0; k < kKinds; ++k) {
        if (f.total[k].empty()) continue;
        std::printf("  %-34s %6zu %22s %18s %22s %16s\n", kKindName[k], f.total[k].size(),
                    (fmt(median_ms(f.total[k]), 3) + " / " + fmt(percentile_us(f.total[k], 0.95) / 1000, 3)).c_str(),
                    fmt(median_ms(f.cpu[k]), 3).c_str(),
                    (fmt(median_ms(f.think[k]), 3) + " / " + fmt(percentile_us(f.think[k], 0.95) / 1000, 3)).c_str(),
                    f.handshake[k].empty() ? "-" : fmt(median_ms(f.handshake[k]), 3).c_str());
    }
    std::printf(
        "  (server TLS = accept -> handshake done, at the server.) TLS sessions resumed: %d (the daemon never "
        "resumes one either)\n",
        f.resumed);
    std::fflush(stdout);
}

// ---- the daemon side ------------------------------------------------------------

std::string config_text(const std::string& dir, int port, int push_timeout_s) {
    std::string c = daemon_section(dir) + "\n";
    c += "[push]\n";
    c += "provider = \"webhook\"\n";
    c += "timeout = \"" + std::to_string(push_timeout_s) + "s\"\n";
    c += "[push.webhook]\n";
    c += "url = \"https://127.0.0.1:" + std::to_string(port) + kBasePath + "\"\n";
    c += "secret = \"" + std::string(kSecret) + "\"\n";
    c += "ca_file = \"" + dir + "/pki/ca.pem\"\n";
    c += "poll_interval = \"1s\"\n";  // the smallest the config accepts
    c += "request_timeout = \"5s\"\n";
    return c;
}

struct PushClient {
    wire::ClientOptions options;  // long timeout: verify waits for the answer

    // push_start for root; returns the challenge id (throws on anything but ok).
    std::string start(std::string* error = nullptr) const {
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, "root");
        w->put_str(wire::Tag::Service, "bench");
        auto r = wire::call(options, wire::Op::PushStart, w.take());
        std::string_view id;
        if (r && r->status == wire::Status::Ok && r->fields.get_str(wire::Tag::Challenge, &id)) return std::string(id);
        std::string e = r ? std::string("push_start: ") + wire::status_name(r->status) + ": " + r->message
                          : "push_start: " + r.error().message;
        if (error) {
            *error = e;
            return {};
        }
        throw std::runtime_error(e);
    }
    // verify with the challenge; true when ok.
    bool verify(const std::string& id, std::string* error) const {
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, "root");
        w->put_str(wire::Tag::Challenge, id);
        w->put_str(wire::Tag::Service, "bench");
        auto r = wire::call(options, wire::Op::Verify, w.take());
        if (r && r->status == wire::Status::Ok) return true;
        *error = r ? std::string("verify: ") + wire::status_name(r->status) + ": " + r->message
                   : "verify: " + r.error().message;
        return false;
    }
};

// One sequential round trip, with the server's view of it.
struct RoundTrip {
    int64_t total = 0;         // push_start sent -> verify's ok received
    int64_t start_call = 0;    // push_start latency
    int64_t verify_call = 0;   // verify latency
    int64_t to_server = 0;     // push_start sent -> the POST fully at the server
    int64_t back_start = 0;    // POST reply written -> push_start reply at the client
    int64_t poll_late = 0;     // POST reply written -> first poll at the server, minus poll_interval
    int64_t back_verify = 0;   // last poll's reply written -> verify's reply at the client
    int64_t server_think = 0;  // sum over the requests
    int64_t floor_sum = 0;     // sum of the floor medians of the same requests
    int64_t daemon_cpu = 0;    // elevated's CPU time (all threads) over the round trip
    int64_t floor_cpu = 0;     // sum of the floor client's CPU medians of the same requests
    int requests = 0, polls = 0, new_conns = 0;
    int64_t overhead() const { return total - polls * kPollIntervalMs * 1'000'000 - floor_sum; }
};

RoundTrip round_trip(WebhookBenchServer& server, const PushClient& client, pid_t daemon_pid,
                     const int64_t floor_ns[kKinds], const int64_t floor_cpu_ns[kKinds]) {
    server.take_records();
    RoundTrip rt;
    const double cpu0 = cpu_seconds(daemon_pid);
    const int64_t t0 = now_ns();
    const std::string id = client.start();
    const int64_t t1 = now_ns();
    std::string error;
    if (!client.verify(id, &error)) throw std::runtime_error(error);
    const int64_t t3 = now_ns();
    rt.daemon_cpu = int64_t((cpu_seconds(daemon_pid) - cpu0) * 1e9);
    rt.total = t3 - t0;
    rt.start_call = t1 - t0;
    rt.verify_call = t3 - t1;
    const ServerRequest* post = nullptr;
    const ServerRequest* first_poll = nullptr;
    const ServerRequest* last_poll = nullptr;
    auto recs = server.take_records([&](const std::vector<ServerRequest>& rs) {
        return std::any_of(rs.begin(), rs.end(), [&](const ServerRequest& r) {
            return !r.post && r.challenge_id == id && r.answer == "approved";
        });
    });
    for (const auto& r : recs) {
        if (r.challenge_id != id) continue;
        ++rt.requests;
        rt.new_conns += r.new_conn;
        rt.server_think += r.think_ns();
        rt.floor_sum += floor_ns[kind_of(r.post, r.new_conn)];
        rt.floor_cpu += floor_cpu_ns[kind_of(r.post, r.new_conn)];
        if (r.post) {
            post = &r;
        } else {
            ++rt.polls;
            if (!first_poll) first_poll = &r;
            last_poll = &r;
        }
    }
    if (!post || !first_poll) throw std::runtime_error("round trip: the server did not see a start and a poll");
    rt.to_server = post->complete_ns - t0;
    rt.back_start = t1 - post->replied_ns;
    rt.poll_late = first_poll->complete_ns - post->replied_ns - kPollIntervalMs * 1'000'000;
    rt.back_verify = t3 - last_poll->replied_ns;
    return rt;
}

void print_round_trips(const std::vector<RoundTrip>& v) {
    auto col = [&](auto get) {
        std::vector<int64_t> s;
        for (const auto& r : v) s.push_back(get(r));
        return s;
    };
    int requests = 0, polls = 0, new_conns = 0;
    for (const auto& r : v) requests += r.requests, polls += r.polls, new_conns += r.new_conns;
    std::printf("  %d round trips: %d HTTPS requests (%d polls), %d on new TLS connections\n", int(v.size()), requests,
                polls, new_conns);
    std::printf("  %-58s %s\n", "ms, p50 / p95 (max)", "");
    const std::pair<const char*, std::vector<int64_t>> rows[] = {
        {"round trip (push_start sent -> verify ok)", col([](const RoundTrip& r) { return r.total; })},
        {"  push_start call", col([](const RoundTrip& r) { return r.start_call; })},
        {"  verify call (parked until the answer)", col([](const RoundTrip& r) { return r.verify_call; })},
        {"round trip - poll wait (polls x 1000 ms)",
         col([](const RoundTrip& r) { return r.total - r.polls * kPollIntervalMs * 1'000'000; })},
        {"server think time (sum over the requests)", col([](const RoundTrip& r) { return r.server_think; })},
        {"round trip - server think time", col([](const RoundTrip& r) { return r.total - r.server_think; })},
        {"HTTPS floor of the same requests (sum of medians)", col([](const RoundTrip& r) { return r.floor_sum; })},
        {"DAEMON OVERHEAD = round trip - poll wait - floor", col([](const RoundTrip& r) { return r.overhead(); })},
        {"  client sent push_start -> POST complete at server", col([](const RoundTrip& r) { return r.to_server; })},
        {"  POST reply written -> push_start reply at client", col([](const RoundTrip& r) { return r.back_start; })},
        {"  POST reply written -> first poll at server, - 1000 ms",
         col([](const RoundTrip& r) { return r.poll_late; })},
        {"  last poll reply written -> verify reply at client", col([](const RoundTrip& r) { return r.back_verify; })},
        {"daemon CPU time in the round trip (all threads)", col([](const RoundTrip& r) { return r.daemon_cpu; })},
        {"floor client's CPU for the same requests (medians)", col([](const RoundTrip& r) { return r.floor_cpu; })},
    };
    for (const auto& [label, samples] : rows) std::printf("  %-58s %s\n", label, dist_ms(samples).c_str());
    std::fflush(stdout);
}

// ---- many pending pushes --------------------------------------------------------

// Ping and status from one more client every `interval_ms` until stopped;
// each sample keeps its send time.
struct Probe {
    struct Sample {
        int64_t at, latency;
        bool status, ok;
    };
    std::vector<Sample> samples;
    std::atomic<bool> stop{false};
    std::thread thread;

    void start(const std::string& socket, int interval_ms) {
        thread = std::thread([this, socket, interval_ms] {
            const wire::ClientOptions o = client_options(socket);
            wire::BufferWriter w;
            w->put_str(wire::Tag::User, "root");
            const std::vector<uint8_t> status_payload = w.take();
            int64_t next = now_ns();
            bool status = false;
            while (!stop.load()) {
                status = !status;
                const int64_t t0 = now_ns();
                auto r = status ? wire::call(o, wire::Op::Status, status_payload) : wire::call(o, wire::Op::Ping, {});
                const int64_t t1 = now_ns();
                samples.push_back({t0, t1 - t0, status, r && r->status == wire::Status::Ok});
                next += int64_t(interval_ms) * 1'000'000;
                const int64_t wait = next - now_ns();
                if (wait > 0) {
                    struct timespec ts = {time_t(wait / 1'000'000'000), long(wait % 1'000'000'000)};
                    nanosleep(&ts, nullptr);
                } else {
                    next = now_ns();
                }
            }
        });
    }
    void finish() {
        stop.store(true);
        if (thread.joinable()) thread.join();
    }
    // Latencies of ok samples of one kind sent in [from, to); `failed` counts the rest.
    std::vector<int64_t> window(bool want_status, int64_t from, int64_t to, int* failed) const {
        std::vector<int64_t> out;
        for (const auto& s : samples) {
            if (s.status != want_status || s.at < from || s.at >= to) continue;
            if (s.ok)
                out.push_back(s.latency);
            else
                ++*failed;
        }
        return out;
    }
};

// VmRSS/VmHWM of the daemon every 20 ms until stopped.
struct MemorySampler {
    long max_rss = 0;
    std::atomic<bool> stop{false};
    std::thread thread;
    void start(pid_t pid) {
        thread = std::thread([this, pid] {
            while (!stop.load()) {
                max_rss = std::max(max_rss, read_memory(pid).rss_kb);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
    }
    void finish() {
        stop.store(true);
        if (thread.joinable()) thread.join();
    }
};

std::string mb(long kb) {
    return fmt(double(kb) / 1024.0, 1) + " MB";
}

void print_probe_row(const char* label, const std::vector<int64_t>& v, int failed) {
    if (v.empty()) {
        std::printf("  %-44s (no samples)\n", label);
        return;
    }
    std::printf("  %-44s %5zu  p50 %7s  p95 %7s  p99 %7s  max %8s ms%s\n", label, v.size(),
                fmt(percentile_us(v, 0.5) / 1000, 3).c_str(), fmt(percentile_us(v, 0.95) / 1000, 3).c_str(),
                fmt(percentile_us(v, 0.99) / 1000, 3).c_str(), fmt(percentile_us(v, 1.0) / 1000, 3).c_str(),
                failed ? ("  FAILED " + std::to_string(failed)).c_str() : "");
}

void pending_phase(const Options& o, WebhookBenchServer& server, const std::string& socket, pid_t daemon_pid,
                   const PushClient& client) {
    const int n = o.pending;
    const double d = o.pending_delay;
    server.set_approve_after(d);
    server.take_records();

    // Idle: the same probe, nothing pending.
    const Memory idle_mem = read_memory(daemon_pid);
    Probe idle;
    const int64_t idle_from = now_ns();
    idle.start(socket, o.probe_interval_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(int64_t(std::max(d, 1.0) * 1000)));
    idle.finish();
    const int64_t idle_to = now_ns();

    struct Result {
        int64_t started = 0, done = 0;  // absolute ns
        bool ok = false;
        std::string error;
    };
    std::vector<Result> results(static_cast<size_t>(n));
    std::mutex mu;
    std::condition_variable cv;
    int ready = 0;
    bool go = false;
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            {
                std::unique_lock lock(mu);
                ++ready;
                cv.notify_all();
                cv.wait(lock, [&] { return go; });
            }
            Result& r = results[size_t(i)];
            std::string id = client.start(&r.error);
            r.started = now_ns();
            if (!id.empty()) r.ok = client.verify(id, &r.error);
            r.done = now_ns();
        });
    }
    {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return ready == n; });
    }
    MemorySampler memory;
    memory.start(daemon_pid);
    Probe busy;
    busy.start(socket, o.probe_interval_ms);
    const double cpu0 = cpu_seconds(daemon_pid);
    const double machine0 = machine_busy_seconds();
    const double self0 = self_cpu_seconds();
    const int64_t release = now_ns();
    {
        std::lock_guard lock(mu);
        go = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
    const int64_t all_done = now_ns();
    const double cpu1 = cpu_seconds(daemon_pid);
    const double machine = machine_busy_seconds() - machine0;
    const double self = self_cpu_seconds() - self0;
    busy.finish();
    memory.finish();
    int ok = 0;
    std::string first_error;
    int64_t last_start = 0, first_done = INT64_MAX;
    std::vector<int64_t> start_lat, completion, per_push;
    for (const auto& r : results) {
        ok += r.ok;
        if (!r.ok && first_error.empty()) first_error = r.error;
        last_start = std::max(last_start, r.started);
        first_done = std::min(first_done, r.done);
        start_lat.push_back(r.started - release);
        completion.push_back(r.done - release);
        per_push.push_back(r.done - r.started);
    }
    const Memory after = read_memory(daemon_pid);
    auto recs = server.take_records([&](const std::vector<ServerRequest>& rs) {
        return size_t(std::count_if(rs.begin(), rs.end(),
                                    [](const ServerRequest& r) { return r.answer == "approved"; })) >= size_t(ok);
    });
    server.set_approve_after(o.approve_after);

    int posts = 0, polls = 0, pending_answers = 0, new_conns = 0;
    std::vector<int64_t> think;
    for (const auto& r : recs) {
        posts += r.post;
        polls += !r.post;
        pending_answers += !r.post && r.answer == "pending";
        new_conns += r.new_conn;
        think.push_back(r.think_ns());
    }

    const double wall = double(all_done - release) / 1e9;
    std::printf("  %d of %d pushes ok%s%s\n", ok, n, first_error.empty() ? "" : "; first error: ", first_error.c_str());
    std::printf(
        "  all %d complete after %s s (approval at D = %s s after each start; first poll at or after D "
        "comes %s s after the start)\n",
        n, fmt(wall, 3).c_str(), fmt(d, 1).c_str(), fmt(std::max(1.0, std::ceil(d)), 0).c_str());
    std::printf("  push_start replies, from release:         %s ms\n", dist_ms(start_lat, 1).c_str());
    std::printf("  verify ok, from release:                  %s ms\n", dist_ms(completion, 1).c_str());
    std::printf("  verify ok, from its own push_start reply: %s ms\n", dist_ms(per_push, 1).c_str());
    std::printf(
        "  HTTPS at the server: %d starts, %d polls (%d answered pending), %d new TLS connections, "
        "think time %s ms\n",
        posts, polls, pending_answers, new_conns, dist_ms(think, 3).c_str());
    std::printf(
        "  daemon CPU %s s over %s s (%s ms per push); this process (clients, server) %s s; other CPU on "
        "the machine %s%% of one CPU (noise)\n",
        fmt(cpu1 - cpu0, 3).c_str(), fmt(wall, 2).c_str(), fmt(1000 * (cpu1 - cpu0) / n, 2).c_str(),
        fmt(self, 2).c_str(), fmt(100 * std::max(0.0, machine - self - (cpu1 - cpu0)) / wall, 0).c_str());
    std::printf("  daemon memory: idle VmRSS %s; while pending max VmRSS %s; after VmRSS %s, VmHWM %s\n",
                mb(idle_mem.rss_kb).c_str(), mb(memory.max_rss).c_str(), mb(after.rss_kb).c_str(),
                mb(after.hwm_kb).c_str());

    std::printf("  other client, one request every %d ms (status and ping alternating), latency:\n",
                o.probe_interval_ms);
    int f = 0;
    for (bool st : {true, false}) {
        const char* what = st ? "status" : "ping";
        f = 0;
        auto v = idle.window(st, idle_from, idle_to, &f);
        print_probe_row((std::string(what) + ", idle").c_str(), v, f);
        f = 0;
        v = busy.window(st, last_start, first_done, &f);
        print_probe_row((std::string(what) + ", all " + std::to_string(n) + " parked on their push").c_str(), v, f);
        f = 0;
        v = busy.window(st, release, all_done, &f);
        print_probe_row((std::string(what) + ", whole phase (start and end bursts)").c_str(), v, f);
    }
    std::fflush(stdout);
}

// ---- the run --------------------------------------------------------------------

int run(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    install_interrupt_handlers();
    if (geteuid() != 0) throw std::runtime_error("must run as root (starts elevated on a root-owned state directory)");
    // Nothing may leave loopback, and no proxy may sit in between.
    for (const char* v : {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"})
        unsetenv(v);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    print_machine();
    std::printf(
        "bench_push_roundtrip: %d round trips per mode, %d floor requests per kind, %d pending pushes "
        "approved after %s s; poll_interval 1 s\n",
        o.round_trips, o.floor_requests, o.pending, fmt(o.pending_delay, 1).c_str());

    TempDir dir(o.daemon.dir);
    ::mkdir((dir.path() + "/state").c_str(), 0700);
    // The test PKI of the HTTPS tests: a CA and a 127.0.0.1 certificate (EC P-256).
    if (run_quiet({"/bin/sh", ELEVATE_SOURCE_DIR "/tests/push/make_test_ca.sh", dir.path() + "/pki"}) != 0)
        throw std::runtime_error("tests/push/make_test_ca.sh failed (is openssl installed?)");

    WebhookBenchServer server(dir.path() + "/pki/server.pem", dir.path() + "/pki/server.key", kSecret, kBasePath);
    server.set_approve_after(o.approve_after);
    server.start();
    const std::string base_url = "https://127.0.0.1:" + std::to_string(server.port()) + kBasePath;
    const std::string ca = dir.path() + "/pki/ca.pem";

    const int push_timeout = std::max(30, int(std::ceil(std::max(o.pending_delay, o.approve_after))) + 15);
    write_file(dir.path() + "/elevate.conf", config_text(dir.path(), server.port(), push_timeout));
    const std::string socket = dir.path() + "/elevated.sock";
    DaemonProcess daemon(o.daemon.elevated, dir.path() + "/elevate.conf", socket, dir.path() + "/elevated.log");
    daemon.start();
    std::printf("daemon: %s (pid %d), webhook %s, state %s\n", o.daemon.elevated.c_str(), int(daemon.pid()),
                base_url.c_str(), dir.path().c_str());

    PushClient client{wire::ClientOptions{socket, (push_timeout + 10) * 1000, 0}};
    try {
        int seq = 0;
        for (const std::string& mode : o.modes) {
            check_interrupted();
            const bool keep = mode == "keepalive";
            server.set_keep_alive(keep);
            server.drop_connections();  // none of the last phase's kept-alive connections
            std::printf("\n== server mode: %s\n",
                        keep ? "keep-alive (HTTP/1.1 persistent connections)"
                             : "Connection: close after every reply (every request a new TLS connection)");

            FloorSamples floor;
            {
                FloorClient fresh(base_url, ca, true);
                FloorSamples warm;
                floor_run(server, fresh, 5, seq, warm);  // warm-up, discarded
                floor_run(server, fresh, o.floor_requests, seq, floor);
            }
            if (keep) {
                FloorClient reused(base_url, ca, false);
                FloorSamples warm;
                floor_run(server, reused, 5, seq, warm);  // opens the connection
                floor_run(server, reused, o.floor_requests, seq, floor);
            }
            std::printf("-- floor: plain libcurl client, same requests and TLS options as the daemon\n");
            print_floor(floor);
            int64_t floor_ns[kKinds], floor_cpu_ns[kKinds];
            for (int k = 0; k < kKinds; ++k) {
                floor_ns[k] = floor.total[k].empty() ? 0 : int64_t(percentile_us(floor.total[k], 0.5) * 1000);
                floor_cpu_ns[k] = floor.cpu[k].empty() ? 0 : int64_t(percentile_us(floor.cpu[k], 0.5) * 1000);
            }
            if (!keep) {
                // Never used in this mode (the server closes every connection);
                // kept defined for a reuse that should not happen.
                floor_ns[PostReused] = floor_ns[PostNew];
                floor_ns[GetReused] = floor_ns[GetNew];
                floor_cpu_ns[PostReused] = floor_cpu_ns[PostNew];
                floor_cpu_ns[GetReused] = floor_cpu_ns[GetNew];
            }

            const auto sync = fdatasync_samples(dir.path() + "/state", 50);
            std::printf("-- peer for the daemon's durable writes: one fdatasync in its state directory: %s ms\n",
                        dist_ms(sync).c_str());

            // Warm-up, discarded: the connections of this mode.
            round_trip(server, client, daemon.pid(), floor_ns, floor_cpu_ns);
            std::vector<RoundTrip> rts;
            const double busy0 = machine_busy_seconds(), self0 = self_cpu_seconds();
            const double daemon0 = cpu_seconds(daemon.pid());
            const int64_t rt0 = now_ns();
            for (int i = 0; i < o.round_trips; ++i) {
                check_interrupted();
                rts.push_back(round_trip(server, client, daemon.pid(), floor_ns, floor_cpu_ns));
            }
            const double rt_seconds = double(now_ns() - rt0) / 1e9;
            const double other =
                machine_busy_seconds() - busy0 - (self_cpu_seconds() - self0) - (cpu_seconds(daemon.pid()) - daemon0);
            std::printf(
                "-- sequential push round trips through elevated (server approves %s)\n",
                o.approve_after > 0 ? ("after " + fmt(o.approve_after, 1) + " s").c_str() : "at the first poll");
            print_round_trips(rts);
            std::printf("  other CPU on the machine meanwhile: %s%% of one CPU (noise)\n",
                        fmt(100 * std::max(0.0, other) / rt_seconds, 0).c_str());

            if (o.pending > 0) {
                check_interrupted();
                std::printf("-- %d pushes pending at once, approved %s s after each start\n", o.pending,
                            fmt(o.pending_delay, 1).c_str());
                pending_phase(o, server, socket, daemon.pid(), client);
            }
        }
        std::printf("\nrequests the server refused (bad signature, replay, unknown path): %llu\n",
                    static_cast<unsigned long long>(server.refused()));
    } catch (...) {
        std::fprintf(stderr, "elevated log:\n%s\n", daemon.log().c_str());
        throw;
    }
    daemon.stop();
    server.stop();
    curl_global_cleanup();
    return 0;
}

}  // namespace
}  // namespace elevate::bench

int main(int argc, char** argv) {
    return elevate::bench::bench_main("bench_push_roundtrip", elevate::bench::run, argc, argv);
}
