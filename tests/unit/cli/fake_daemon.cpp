#include "fake_daemon.h"

#include "common/wire/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>

namespace elevate::cli::testing {

namespace {

constexpr int kIoMs = 5000;

}  // namespace

std::vector<uint8_t> make_reply(wire::Status status, const std::function<void(wire::FieldWriter&)>& fill,
                                const std::string& message) {
    wire::BufferWriter w;
    w->put_u64(wire::Tag::Status, static_cast<uint64_t>(status));
    if (!message.empty()) w->put_str(wire::Tag::Message, message);
    if (fill) fill(w.fields());
    if (w->error() != wire::CodecError::Ok) throw std::runtime_error("make_reply: encoding failed");
    return w.take();
}

FakeDaemon::FakeDaemon() {
    char tmpl[] = "/tmp/elevatectl-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    path_ = dir_ + "/elevated.sock";

    listener_ = base::UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    if (!listener_.ok() || bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener_.get(), 8) != 0)
        throw std::runtime_error("cannot listen on " + path_);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    stop_read_ = base::UniqueFd(fds[0]);
    stop_write_ = base::UniqueFd(fds[1]);
    thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
    (void)!write(stop_write_.get(), "x", 1);
    thread_.join();
    unlink(path_.c_str());
    rmdir(dir_.c_str());
}

void FakeDaemon::queue(std::vector<uint8_t> payload, int delay_ms) {
    std::lock_guard lock(mutex_);
    script_.push_back({std::move(payload), delay_ms});
}

std::vector<Received> FakeDaemon::received() {
    std::lock_guard lock(mutex_);
    return received_;
}

Context FakeDaemon::context(bool json) const {
    Context ctx;
    ctx.json = json;
    ctx.client.socket_path = path_;
    ctx.client.timeout_ms = 2000;
    ctx.client.server_uid = getuid();
    ctx.timeout_given = true;
    return ctx;
}

void FakeDaemon::serve() {
    for (;;) {
        pollfd p[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
        if (poll(p, 2, -1) < 0) continue;
        if (p[1].revents != 0) return;
        base::UniqueFd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn.ok()) continue;

        const int64_t deadline = wire::monotonic_ms() + kIoMs;
        wire::FrameHeader header;
        if (!wire::read_header(conn.get(), wire::kMaxRequestFrame, deadline, &header).ok()) continue;
        Received r;
        r.op = static_cast<wire::Op>(header.op);
        r.payload.resize(header.length);
        if (!wire::read_exact(conn.get(), r.payload.data(), header.length, deadline).ok()) continue;

        Scripted next{{}, -1};
        {
            std::lock_guard lock(mutex_);
            received_.push_back(r);
            if (!script_.empty()) {
                next = std::move(script_.front());
                script_.pop_front();
            }
        }
        if (next.delay_ms < 0) continue;  // nothing scripted: hang up
        std::this_thread::sleep_for(std::chrono::milliseconds(next.delay_ms));
        (void)wire::send_frame(conn.get(), header.op | wire::kReplyBit, next.payload.data(), next.payload.size(),
                               wire::monotonic_ms() + kIoMs);
    }
}

Captured::Captured() : old_out_(std::cout.rdbuf(out_.rdbuf())), old_err_(std::cerr.rdbuf(err_.rdbuf())) {}

Captured::~Captured() {
    std::cout.rdbuf(old_out_);
    std::cerr.rdbuf(old_err_);
}

StdinText::StdinText(const std::string& text) : saved_(dup(STDIN_FILENO)) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    base::UniqueFd rd(fds[0]), wr(fds[1]);
    if (write(wr.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw std::runtime_error("pipe write failed");
    dup2(rd.get(), STDIN_FILENO);
}

StdinText::~StdinText() {
    dup2(saved_.get(), STDIN_FILENO);
}

}  // namespace elevate::cli::testing
