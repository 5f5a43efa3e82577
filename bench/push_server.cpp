#include "bench/push_server.h"

#include "bench/support.h"
#include "daemon/push/signature.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace elevate::bench {

namespace {

constexpr size_t kMaxHead = 16 * 1024;
constexpr size_t kMaxBody = 64 * 1024;
constexpr int64_t kMaxSkew = 60;

std::string openssl_error(const char* what) {
    char buf[256] = {};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    return std::string(what) + ": " + buf;
}

const char* reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 404:
            return "Not Found";
        default:
            return "Error";
    }
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return s;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t");
    size_t e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool is_nonce(const std::string& n) {
    return n.size() == 32 &&
           std::all_of(n.begin(), n.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string get(const std::unordered_map<std::string, std::string>& h, const char* key) {
    auto it = h.find(key);
    return it == h.end() ? std::string() : it->second;
}

}  // namespace

WebhookBenchServer::WebhookBenchServer(const std::string& cert_chain, const std::string& key, std::string secret,
                                       std::string base_path)
    : secret_(std::move(secret)), base_path_(std::move(base_path)) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (!ctx_) throw std::runtime_error(openssl_error("SSL_CTX_new"));
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx_, cert_chain.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx_) != 1) {
        std::string e = openssl_error(("server certificate " + cert_chain).c_str());
        SSL_CTX_free(ctx_);
        throw std::runtime_error(e);
    }
}

WebhookBenchServer::~WebhookBenchServer() {
    stop();
    SSL_CTX_free(ctx_);
}

void WebhookBenchServer::start() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
        listen(listen_fd_, SOMAXCONN) < 0 || getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) < 0)
        throw std::runtime_error(std::string("webhook server: cannot listen on 127.0.0.1: ") + strerror(errno));
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

void WebhookBenchServer::stop() {
    if (listen_fd_ < 0) return;
    stopping_.store(true);
    ::shutdown(listen_fd_, SHUT_RDWR);  // accept() returns
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
    std::unique_lock lock(mu_);
    for (auto& [conn, fd] : open_fds_) ::shutdown(fd, SHUT_RDWR);  // blocked reads return
    idle_.wait(lock, [this] { return live_.load() == 0; });
}

void WebhookBenchServer::drop_connections() {
    std::unique_lock lock(mu_);
    for (auto& [conn, fd] : open_fds_) ::shutdown(fd, SHUT_RDWR);
    idle_.wait_for(lock, std::chrono::seconds(5), [this] { return live_.load() == 0; });
}

void WebhookBenchServer::accept_loop() {
    while (!stopping_.load()) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        const int64_t accepted = now_ns();
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (stopping_.load()) break;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const uint64_t conn = conn_counter_.fetch_add(1) + 1;
        {
            std::lock_guard lock(mu_);
            open_fds_[conn] = fd;
            live_.fetch_add(1);
        }
        std::thread([this, conn, fd, accepted] { serve(conn, fd, accepted); }).detach();
    }
}

void WebhookBenchServer::serve(uint64_t conn, int fd, int64_t accepted_ns) {
    SSL* ssl = SSL_new(ctx_);
    bool first = true;
    if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
        const int64_t handshake = now_ns();
        const bool resumed = SSL_session_reused(ssl) == 1;
        std::string buf;
        char chunk[16384];
        bool open = true;
        while (open && !stopping_.load()) {
            ServerRequest rec;
            rec.conn = conn;
            rec.accepted_ns = accepted_ns;
            if (first) {
                rec.new_conn = true;
                rec.tls_resumed = resumed;
                rec.handshake_ns = handshake;
            }
            if (!buf.empty()) rec.arrived_ns = now_ns();  // pipelined
            size_t head_end;
            while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
                if (buf.size() > kMaxHead) {
                    open = false;
                    break;
                }
                int n = SSL_read(ssl, chunk, sizeof chunk);
                if (n <= 0) {
                    open = false;
                    break;
                }
                if (!rec.arrived_ns) rec.arrived_ns = now_ns();
                buf.append(chunk, size_t(n));
            }
            if (!open) break;

            // Request line and headers.
            std::unordered_map<std::string, std::string> headers;
            std::string method, target;
            {
                size_t line_end = buf.find("\r\n");
                std::string line = buf.substr(0, line_end);
                size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
                if (sp1 == std::string::npos || sp2 == sp1) break;
                method = line.substr(0, sp1);
                target = line.substr(sp1 + 1, sp2 - sp1 - 1);
                size_t pos = line_end + 2;
                while (pos < head_end) {
                    size_t e = buf.find("\r\n", pos);
                    std::string h = buf.substr(pos, e - pos);
                    pos = e + 2;
                    size_t colon = h.find(':');
                    if (colon != std::string::npos) headers[lower(h.substr(0, colon))] = trim(h.substr(colon + 1));
                }
            }
            size_t length = 0;
            if (auto cl = get(headers, "content-length"); !cl.empty()) length = std::stoul(cl);
            if (length > kMaxBody) break;
            const size_t body_start = head_end + 4;
            while (buf.size() < body_start + length) {
                int n = SSL_read(ssl, chunk, sizeof chunk);
                if (n <= 0) {
                    open = false;
                    break;
                }
                buf.append(chunk, size_t(n));
            }
            if (!open) break;
            rec.complete_ns = now_ns();
            const std::string body = buf.substr(body_start, length);
            buf.erase(0, body_start + length);

            const bool keep = keep_alive_.load() && lower(get(headers, "connection")) != "close";
            const std::string reply = handle(method, target, headers, body, keep, rec);
            if (SSL_write(ssl, reply.data(), int(reply.size())) != int(reply.size())) break;
            rec.replied_ns = now_ns();
            {
                std::lock_guard lock(mu_);
                records_.push_back(std::move(rec));
            }
            recorded_.notify_all();
            first = false;
            open = keep;
        }
        SSL_shutdown(ssl);
    }
    if (ssl) SSL_free(ssl);
    std::lock_guard lock(mu_);
    open_fds_.erase(conn);
    ::close(fd);
    if (live_.fetch_sub(1) == 1) idle_.notify_all();
}

std::string WebhookBenchServer::handle(const std::string& method, const std::string& target,
                                       const std::unordered_map<std::string, std::string>& headers,
                                       const std::string& body, bool keep_alive, ServerRequest& rec) {
    using nlohmann::json;
    const int64_t now = int64_t(::time(nullptr));
    const std::string nonce = get(headers, "x-elevate-nonce");
    const std::string stamp = get(headers, "x-elevate-timestamp");
    const std::string signature = get(headers, "x-elevate-signature");
    rec.post = method == "POST";

    int status = 0;
    json reply;
    // The request's signature, timestamp and nonce, as a real service must check them.
    int64_t ts = 0;
    bool valid = !nonce.empty() && !stamp.empty() && !signature.empty() && is_nonce(nonce);
    if (valid) {
        try {
            ts = std::stoll(stamp);
        } catch (...) {
            valid = false;
        }
    }
    if (valid) valid = std::llabs(ts - now) <= kMaxSkew;
    if (valid)
        valid = push::signature_matches(secret_, push::request_canonical(method, target, ts, nonce, body), signature);
    if (valid) {
        std::lock_guard lock(mu_);
        valid = nonces_.insert(nonce).second;
    }

    const std::string challenges = base_path_ + "/challenges";
    if (!valid) {
        status = 401;
        reply = {{"error", "bad or replayed signature"}};
    } else if (method == "POST" && target == challenges) {
        json j = json::parse(body, nullptr, false);
        std::string id = j.is_object() && j.contains("challenge_id") && j["challenge_id"].is_string()
                             ? j["challenge_id"].get<std::string>()
                             : std::string();
        if (id.empty()) {
            status = 400;
            reply = {{"error", "no challenge_id"}};
        } else {
            {
                std::lock_guard lock(mu_);
                challenges_[id] = rec.complete_ns;
            }
            rec.challenge_id = id;
            status = 201;
            reply = {{"challenge_id", id}, {"status", "pending"}, {"device", "bench"}};
        }
    } else if (method == "GET" && target.starts_with(challenges + "/")) {
        const std::string id = target.substr(challenges.size() + 1);
        rec.challenge_id = id;
        int64_t posted = -1;
        {
            std::lock_guard lock(mu_);
            if (auto it = challenges_.find(id); it != challenges_.end()) posted = it->second;
        }
        if (posted < 0) {
            status = 404;
            reply = {{"error", "unknown challenge"}};
        } else {
            status = 200;
            const bool approved = now_ns() - posted >= approve_after_ns_.load();
            reply = {{"challenge_id", id}, {"status", approved ? "approved" : "pending"}};
        }
    } else {
        status = 404;
        reply = {{"error", "no such endpoint"}};
    }
    if (status >= 400) refused_.fetch_add(1);
    rec.status = status;
    rec.answer = reply.contains("status") ? reply["status"].get<std::string>() : reply["error"].get<std::string>();

    const std::string out = reply.dump();
    const std::string sig = push::sign(secret_, push::response_canonical(status, nonce, now, out));
    std::string http = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                       "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(out.size()) +
                       "\r\nX-Elevate-Timestamp: " + std::to_string(now) + "\r\nX-Elevate-Signature: " + sig + "\r\n";
    if (!keep_alive) http += "Connection: close\r\n";
    http += "\r\n";
    http += out;
    return http;
}

std::vector<ServerRequest> WebhookBenchServer::take_records(
    const std::function<bool(const std::vector<ServerRequest>&)>& ready) {
    std::unique_lock lock(mu_);
    if (ready) recorded_.wait_for(lock, std::chrono::seconds(2), [&] { return ready(records_); });
    std::vector<ServerRequest> out;
    out.swap(records_);
    return out;
}

}  // namespace elevate::bench
