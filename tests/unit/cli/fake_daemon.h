// A scripted stand-in for elevated, for driving whole verbs in unit tests:
// it listens on a Unix socket in a fresh temporary directory, answers each
// connection with the next queued reply (after an optional delay, to test
// deadlines), and records every request. The CLI accepts it because the
// test's Context expects the socket to be served by the test's own uid.
#pragma once

#include "cli/reply.h"

#include "common/base/unique_fd.h"
#include "common/wire/client.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace elevate::cli::testing {

struct Received {
    wire::Op op;
    std::vector<uint8_t> payload;
    wire::FieldList fields;  // view into payload; call parse() after copying

    Received() = default;
    Received(const Received& o) : op(o.op), payload(o.payload) { (void)fields.parse(payload.data(), payload.size()); }
};

// Builds a reply payload: status first, then whatever `fill` adds.
std::vector<uint8_t> make_reply(wire::Status status, const std::function<void(wire::FieldWriter&)>& fill = {},
                                const std::string& message = "");

class FakeDaemon {
public:
    FakeDaemon();
    ~FakeDaemon();
    FakeDaemon(const FakeDaemon&) = delete;
    FakeDaemon& operator=(const FakeDaemon&) = delete;

    // Queues the answer to the next request; without one the connection is
    // closed unanswered.
    void queue(std::vector<uint8_t> payload, int delay_ms = 0);
    std::vector<Received> received();
    // A Context for this daemon: 2 s deadline (as if --timeout were given).
    Context context(bool json = false) const;

private:
    void serve();

    struct Scripted {
        std::vector<uint8_t> payload;
        int delay_ms;
    };
    std::string dir_;
    std::string path_;
    base::UniqueFd listener_;
    base::UniqueFd stop_read_, stop_write_;
    std::mutex mutex_;
    std::deque<Scripted> script_;
    std::vector<Received> received_;
    std::thread thread_;
};

// Captures std::cout and std::cerr for its lifetime.
class Captured {
public:
    Captured();
    ~Captured();
    std::string out() const { return out_.str(); }
    std::string err() const { return err_.str(); }

private:
    std::ostringstream out_, err_;
    std::streambuf* old_out_;
    std::streambuf* old_err_;
};

// Puts `text` on file descriptor 0 (as a pipe, so not a terminal) for its
// lifetime: the code prompt reads it.
class StdinText {
public:
    explicit StdinText(const std::string& text);
    ~StdinText();

private:
    base::UniqueFd saved_;
};

}  // namespace elevate::cli::testing
