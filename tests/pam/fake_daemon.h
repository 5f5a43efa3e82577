// A scripted stand-in for elevated on a real Unix socket, for the paths a
// real daemon will not take on request: hanging, garbage, a reply to the
// wrong operation, a grant that already ended, a daemon that fails. It
// records every request so tests can check what the module sent. It runs as
// the test process (root), so the module's SO_PEERCRED check accepts it.
#pragma once

#include "common/wire/codec.h"
#include "common/wire/protocol.h"

#include <cstdint>
#include <functional>
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

}  // namespace elevate::pamtest
