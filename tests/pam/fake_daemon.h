// A scripted stand-in for elevated on a real Unix socket, for the paths a
// real daemon will not take on request: hanging, garbage, a reply to the
// wrong operation, a grant that already ended, a daemon that fails, and the
// push and approval operations (a phone and approvers on demand). It
// records every request so tests can check what the module sent. It runs as
// the test process (root), so the module's SO_PEERCRED check accepts it.
#pragma once

#include "common/wire/codec.h"
#include "common/wire/protocol.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace elevate::pamtest {

struct FakeReply {
    enum class Mode {
        Reply,    // a well-formed reply: status, message, extra fields
        Hang,     // read the request, never answer (until the client gives up)
        Garbage,  // bytes that are not a frame
        WrongOp,  // a well-formed reply to another operation
        Close,    // close without answering
    };
    Mode mode = Mode::Reply;
    wire::Status status = wire::Status::Ok;
    std::string message;
    std::function<void(wire::FieldWriter&)> fields;  // written before status/message
    int delay_ms = 0;                                // answer this late (a user answering a push, approvers deciding)
};

// One request as received: op and a copy of its payload.
struct FakeRequest {
    uint8_t op = 0;
    std::vector<uint8_t> payload;
    bool has(wire::Tag tag) const;
    std::string str(wire::Tag tag) const;  // "" when absent
    bool flag(wire::Tag tag) const;        // false when absent
    uint64_t u64(wire::Tag tag) const;     // 0 when absent
};

class FakeDaemon {
public:
    using Handler = std::function<FakeReply(const FakeRequest&)>;
    FakeDaemon(std::string socket_path, Handler handler);
    ~FakeDaemon();
    FakeDaemon(const FakeDaemon&) = delete;
    FakeDaemon& operator=(const FakeDaemon&) = delete;

    const std::string& socket() const { return path_; }
    std::vector<FakeRequest> requests();
    size_t count(wire::Op op);

private:
    void serve();
    void handle(int fd);

    std::string path_;
    Handler handler_;
    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::mutex mu_;
    std::vector<FakeRequest> requests_;
    std::thread thread_;
};

// A reply frame's bytes for `op` (tests that build replies by hand).
std::vector<uint8_t> reply_frame(uint8_t op, const FakeReply& reply);

// Answers each operation from its own queue, in order; the last reply of a
// queue repeats; an operation with no queue gets bad_request "unexpected
// operation N". Copies share the queues, so a test may add replies while the
// daemon runs its handler.
class Script {
public:
    Script();
    Script& on(wire::Op op, FakeReply reply);
    FakeDaemon::Handler handler() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

// Reply builders for the operations of docs/PROTOCOL.md.
FakeReply ok_reply(std::function<void(wire::FieldWriter&)> fields = {});
FakeReply status_reply(wire::Status status, std::string message);

// A grant record for `role` of root that ends at `end`.
void put_grant(wire::FieldWriter& w, const std::string& role, int64_t end);

// An approval request record (tag 65).
struct FakeApproval {
    uint64_t id = 7;
    std::string user = "root";
    std::string role = "db-admin";
    std::string state = "pending";
    std::string approvers = "group:sec-leads";
    std::string decided_by;  // omitted when empty
    uint64_t approvals = 0;
    uint64_t needed = 1;
};
void put_request(wire::FieldWriter& w, const FakeApproval& request);

// authorize: which factors may be used (and whether a reason is needed).
FakeReply authorize_reply(bool need_code, bool push_ok, bool need_reason = false);
// push_start: the provider has the challenge.
FakeReply push_started(std::string challenge, std::string label, uint64_t timeout);
// activate: a grant of `role` until `end`.
FakeReply granted_reply(std::string role, int64_t end);
// activate, authorize or request_wait carrying a request (+ a grant when approved).
FakeReply request_reply(FakeApproval request, int64_t grant_end = 0);

}  // namespace elevate::pamtest
