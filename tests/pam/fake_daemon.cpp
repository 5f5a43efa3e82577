#include "fake_daemon.h"

#include "common/wire/client.h"
#include "common/wire/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace elevate::pamtest {

namespace {

bool parsed(const FakeRequest& r, wire::FieldList* fields) {
    return fields->parse(r.payload.data(), r.payload.size()) == wire::CodecError::Ok;
}

}  // namespace

bool FakeRequest::has(wire::Tag tag) const {
    wire::FieldList f;
    return parsed(*this, &f) && f.has(tag);
}

std::string FakeRequest::str(wire::Tag tag) const {
    wire::FieldList f;
    std::string_view v;
    if (!parsed(*this, &f) || !f.get_str(tag, &v)) return {};
    return std::string(v);
}

bool FakeRequest::flag(wire::Tag tag) const {
    wire::FieldList f;
    bool v = false;
    return parsed(*this, &f) && f.get_bool(tag, &v) && v;
}

uint64_t FakeRequest::u64(wire::Tag tag) const {
    wire::FieldList f;
    uint64_t v = 0;
    if (!parsed(*this, &f) || !f.get_u64(tag, &v)) return 0;
    return v;
}

std::vector<uint8_t> reply_frame(uint8_t op, const FakeReply& reply) {
    wire::BufferWriter w;
    if (reply.fields) reply.fields(w.fields());
    w->put_u64(wire::Tag::Status, uint64_t(reply.status));
    if (!reply.message.empty()) w->put_str(wire::Tag::Message, reply.message);
    std::vector<uint8_t> payload = w.take();
    std::vector<uint8_t> frame(wire::kHeaderSize);
    wire::encode_header(wire::FrameHeader{wire::kVersion, op, uint32_t(payload.size())}, frame.data());
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

FakeDaemon::FakeDaemon(std::string socket_path, Handler handler)
    : path_(std::move(socket_path)), handler_(std::move(handler)) {
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listen_fd_ < 0 || path_.size() >= sizeof addr.sun_path) throw std::runtime_error("fake daemon: socket");
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0)
        throw std::runtime_error("fake daemon: bind " + path_ + ": " + std::strerror(errno));
    if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("fake daemon: pipe");
    thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
    char c = 'x';
    ssize_t ignored = ::write(stop_pipe_[1], &c, 1);
    (void)ignored;
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
    ::unlink(path_.c_str());
}

std::vector<FakeRequest> FakeDaemon::requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
}

size_t FakeDaemon::count(wire::Op op) {
    size_t n = 0;
    for (const auto& r : requests())
        if (r.op == uint8_t(op)) ++n;
    return n;
}

void FakeDaemon::serve() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[1].revents) return;
        if (!(fds[0].revents & POLLIN)) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        handle(fd);
        ::close(fd);
    }
}

void FakeDaemon::handle(int fd) {
    const int64_t deadline = wire::monotonic_ms() + 5000;
    wire::FrameHeader header;
    if (!wire::read_header(fd, wire::kMaxRequestFrame, deadline, &header).ok()) return;
    FakeRequest request;
    request.op = header.op;
    request.payload.resize(header.length);
    if (!wire::read_exact(fd, request.payload.data(), header.length, deadline).ok()) return;
    {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
    }
    FakeReply reply = handler_(request);
    std::vector<uint8_t> bytes;
    switch (reply.mode) {
        case FakeReply::Mode::Close:
            return;
        case FakeReply::Mode::Hang: {
            // Hold the connection until the client hangs up or the test ends.
            pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
            while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
            }
            return;
        }
        case FakeReply::Mode::Garbage:
            bytes = {'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '2', '0', '0'};
            break;
        case FakeReply::Mode::WrongOp:
            bytes = reply_frame(uint8_t(wire::Op::Ping) | wire::kReplyBit, reply);
            break;
        case FakeReply::Mode::Reply:
            bytes = reply_frame(header.op | wire::kReplyBit, reply);
            break;
    }
    (void)wire::write_all(fd, bytes.data(), bytes.size(), deadline);
}

}  // namespace elevate::pamtest
