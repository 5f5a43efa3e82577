#include "fake_daemon.h"

#include "common/wire/client.h"
#include "common/wire/transport.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
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

struct Script::State {
    std::mutex mu;
    std::map<uint8_t, std::vector<FakeReply>> queues;
    std::map<uint8_t, size_t> next;
};

Script::Script() : state_(std::make_shared<State>()) {}

Script& Script::on(wire::Op op, FakeReply reply) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->queues[uint8_t(op)].push_back(std::move(reply));
    return *this;
}

FakeDaemon::Handler Script::handler() const {
    std::shared_ptr<State> state = state_;
    return [state](const FakeRequest& r) {
        std::lock_guard<std::mutex> lock(state->mu);
        auto it = state->queues.find(r.op);
        if (it == state->queues.end() || it->second.empty())
            return status_reply(wire::Status::BadRequest, "unexpected operation " + std::to_string(r.op));
        size_t& n = state->next[r.op];
        const FakeReply& reply = it->second[n < it->second.size() ? n : it->second.size() - 1];
        ++n;
        return reply;
    };
}

FakeReply ok_reply(std::function<void(wire::FieldWriter&)> fields) {
    FakeReply r;
    r.fields = std::move(fields);
    return r;
}

FakeReply status_reply(wire::Status status, std::string message) {
    FakeReply r;
    r.status = status;
    r.message = std::move(message);
    return r;
}

void put_grant(wire::FieldWriter& w, const std::string& role, int64_t end) {
    w.begin_record(wire::Tag::Grant);
    w.put_str(wire::Tag::GrantId, "00000000-0000-4000-8000-000000000001");
    w.put_str(wire::Tag::User, "root");
    w.put_str(wire::Tag::Role, role);
    w.put_u64(wire::Tag::Start, uint64_t(end - 3600));
    w.put_u64(wire::Tag::End, uint64_t(end));
    w.put_str(wire::Tag::State, "active");
    w.end_record();
}

void put_request(wire::FieldWriter& w, const FakeApproval& q) {
    const int64_t now = int64_t(time(nullptr));
    w.begin_record(wire::Tag::Request);
    w.put_u64(wire::Tag::RequestId, q.id);
    w.put_str(wire::Tag::User, q.user);
    w.put_str(wire::Tag::Role, q.role);
    w.put_str(wire::Tag::Reason, "INC-1");
    w.put_u64(wire::Tag::Duration, 3600);
    w.put_u64(wire::Tag::Start, uint64_t(now));
    w.put_u64(wire::Tag::Expires, uint64_t(now + 7200));
    w.put_str(wire::Tag::State, q.state);
    w.put_str(wire::Tag::Approvers, q.approvers);
    w.put_u64(wire::Tag::Approvals, q.approvals);
    w.put_u64(wire::Tag::Needed, q.needed);
    if (!q.decided_by.empty()) w.put_str(wire::Tag::DecidedBy, q.decided_by);
    w.put_bool(wire::Tag::Mine, true);
    w.put_bool(wire::Tag::CanDecide, false);
    w.end_record();
}

FakeReply authorize_reply(bool need_code, bool push_ok, bool need_reason) {
    return ok_reply([=](wire::FieldWriter& w) {
        if (need_code) w.put_bool(wire::Tag::NeedCode, true);
        if (push_ok) w.put_bool(wire::Tag::PushOk, true);
        if (need_reason) w.put_bool(wire::Tag::NeedReason, true);
    });
}

FakeReply push_started(std::string challenge, std::string label, uint64_t timeout) {
    return ok_reply([=](wire::FieldWriter& w) {
        w.put_str(wire::Tag::Challenge, challenge);
        w.put_str(wire::Tag::Label, label);
        w.put_u64(wire::Tag::Timeout, timeout);
    });
}

FakeReply granted_reply(std::string role, int64_t end) {
    return ok_reply([=](wire::FieldWriter& w) { put_grant(w, role, end); });
}

FakeReply request_reply(FakeApproval request, int64_t grant_end) {
    return ok_reply([=](wire::FieldWriter& w) {
        put_request(w, request);
        if (grant_end != 0) put_grant(w, request.role, grant_end);
    });
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
    if (reply.delay_ms > 0) {
        // Answer late, unless the client hangs up or the test ends first.
        pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        const int64_t until = wire::monotonic_ms() + reply.delay_ms;
        for (int64_t left = reply.delay_ms; left > 0; left = until - wire::monotonic_ms()) {
            int n = ::poll(fds, 2, int(left));
            if (n < 0 && errno == EINTR) continue;
            if (n != 0) return;
        }
    }
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
    (void)wire::write_all(fd, bytes.data(), bytes.size(), wire::monotonic_ms() + 5000);
}

}  // namespace elevate::pamtest
