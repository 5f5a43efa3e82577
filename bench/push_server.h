// A small, fast implementation of the webhook push API (docs/PUSH-WEBHOOK.md)
// over real HTTPS (OpenSSL), inside the benchmark process, for
// bench_push_roundtrip. It checks every request's signature and nonce and
// signs every reply with the same HMAC scheme as the daemon
// (daemon/push/signature.h); a challenge answers "pending" until
// `approve_after` seconds after its POST arrived, then "approved".
//
// One thread per connection (blocking OpenSSL), HTTP/1.1 with keep-alive
// unless set_keep_alive(false), which answers with "Connection: close" and
// closes after every reply. Every request is recorded with its
// timestamps on CLOCK_MONOTONIC (the benchmark's own clock), so the time the
// server spends can be subtracted from what a client observes.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace elevate::bench {

// One HTTP request as the server saw it.
struct ServerRequest {
    uint64_t conn = 0;         // connection number, from 1
    bool new_conn = false;     // the first request on its connection (a TLS handshake before it)
    bool tls_resumed = false;  // that handshake resumed a TLS session
    bool post = false;         // POST .../challenges (else a GET poll)
    int status = 0;            // HTTP status sent
    std::string challenge_id;
    std::string answer;        // "pending", "approved" (polls and starts), or the error
    int64_t accepted_ns = 0;   // TCP accept of its connection
    int64_t handshake_ns = 0;  // TLS handshake finished (new_conn only)
    int64_t arrived_ns = 0;    // the first bytes of the request were read
    int64_t complete_ns = 0;   // headers and body read
    int64_t replied_ns = 0;    // the whole reply was handed to the kernel
    int64_t think_ns() const { return replied_ns - complete_ns; }  // the server's own time
};

class WebhookBenchServer {
public:
    // `cert_chain` and `key` are PEM files; `base_path` is the URL path the
    // daemon's url ends with ("/elevate").
    WebhookBenchServer(const std::string& cert_chain, const std::string& key, std::string secret,
                       std::string base_path);
    ~WebhookBenchServer();  // stop()
    WebhookBenchServer(const WebhookBenchServer&) = delete;
    WebhookBenchServer& operator=(const WebhookBenchServer&) = delete;

    // Listens on 127.0.0.1 (ephemeral port) and starts accepting.
    void start();
    // Closes the listener and every connection, waits for their threads.
    void stop();
    int port() const { return port_; }

    void set_approve_after(double seconds) { approve_after_ns_.store(int64_t(seconds * 1e9)); }
    void set_keep_alive(bool on) { keep_alive_.store(on); }
    // Closes every open connection (a client finds them dead and reconnects):
    // a new phase starts without the kept-alive connections of the last one.
    void drop_connections();

    // The requests answered since the last call. A record is added just
    // after its reply was written, so a client may see the reply first:
    // with `ready`, waits (up to 2 s) until ready(records) holds.
    std::vector<ServerRequest> take_records(
        const std::function<bool(const std::vector<ServerRequest>&)>& ready = nullptr);
    uint64_t connections() const { return conn_counter_.load(); }
    int open_connections() const { return live_.load(); }
    // Requests refused (bad signature, replayed nonce, unknown path): must stay 0.
    uint64_t refused() const { return refused_.load(); }

private:
    void accept_loop();
    void serve(uint64_t conn, int fd, int64_t accepted_ns);
    // Builds the reply for one parsed request; fills the record's status/answer.
    std::string handle(const std::string& method, const std::string& target,
                       const std::unordered_map<std::string, std::string>& headers, const std::string& body,
                       bool keep_alive, ServerRequest& rec);

    std::string secret_, base_path_;
    SSL_CTX* ctx_ = nullptr;
    int listen_fd_ = -1;
    int port_ = 0;
    std::thread acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<int64_t> approve_after_ns_{0};
    std::atomic<bool> keep_alive_{true};
    std::atomic<uint64_t> conn_counter_{0};
    std::atomic<uint64_t> refused_{0};

    std::mutex mu_;  // everything below
    std::condition_variable idle_;
    std::condition_variable recorded_;
    std::atomic<int> live_{0};                             // connection threads running
    std::map<uint64_t, int> open_fds_;                     // conn -> fd, for stop()
    std::vector<ServerRequest> records_;                   // since take_records()
    std::unordered_map<std::string, int64_t> challenges_;  // id -> POST arrival (ns)
    std::unordered_set<std::string> nonces_;               // seen request nonces
};

}  // namespace elevate::bench
