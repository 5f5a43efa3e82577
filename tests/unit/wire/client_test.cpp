// The CLI's client (wire::call) reads replies by the same rules as the PAM
// module's (common/wire/protocol.h: reply_answers, status_known), against a
// server on a real Unix socket that answers with one scripted frame.
#include "common/wire/client.h"

#include "common/base/unique_fd.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

using namespace elevate;
using namespace elevate::wire;

namespace {

class OneReplyServer {
public:
    OneReplyServer(uint8_t reply_op, uint64_t status, std::string message) {
        char dir[] = "/tmp/elevate-wire-XXXXXX";
        EXPECT_NE(mkdtemp(dir), nullptr);
        dir_ = dir;
        path_ = dir_ + "/sock";
        listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
        EXPECT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        EXPECT_EQ(listen(listener_.get(), 1), 0);
        thread_ = std::thread([this, reply_op, status, message] {
            base::UniqueFd c(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            const int64_t deadline = monotonic_ms() + 5000;
            FrameHeader header;
            if (read_header(c.get(), kMaxRequestFrame, deadline, &header).ok()) {
                std::vector<uint8_t> request(header.length);
                (void)read_exact(c.get(), request.data(), request.size(), deadline);
            }
            BufferWriter w;
            w->put_u64(Tag::Status, status);
            w->put_str(Tag::Message, message);
            const std::vector<uint8_t> payload = w.take();
            (void)send_frame(c.get(), reply_op, payload.data(), payload.size(), deadline);
        });
    }
    ~OneReplyServer() {
        thread_.join();
        unlink(path_.c_str());
        rmdir(dir_.c_str());
    }
    ClientOptions options() const { return {path_, 5000, unsigned(getuid())}; }

private:
    std::string dir_, path_;
    base::UniqueFd listener_;
    std::thread thread_;
};

std::vector<uint8_t> ping_request() {
    BufferWriter w;
    w->put_str(Tag::User, "root");
    return w.take();
}

}  // namespace

TEST(WireClient, TakesTheReplyToItsOwnRequest) {
    OneReplyServer server(uint8_t(Op::Ping) | kReplyBit, uint64_t(Status::Ok), "pong");
    auto reply = call(server.options(), Op::Ping, ping_request());
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ(reply->status, Status::Ok);
    EXPECT_EQ(reply->message, "pong");
}

// What elevated sends for a request whose header it could not read: the
// reply bit without an op. The PAM module always took it; so does the CLI.
TEST(WireClient, TakesTheOplessErrorReplyToAnUnreadableRequest) {
    OneReplyServer server(kReplyBit, uint64_t(Status::UnsupportedVersion), "protocol version 9 is not supported");
    auto reply = call(server.options(), Op::Ping, ping_request());
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ(reply->status, Status::UnsupportedVersion);
    EXPECT_EQ(reply->message, "protocol version 9 is not supported");
}

TEST(WireClient, RefusesTheReplyToAnotherRequest) {
    OneReplyServer server(uint8_t(Op::Status) | kReplyBit, uint64_t(Status::Ok), "");
    auto reply = call(server.options(), Op::Ping, ping_request());
    ASSERT_FALSE(reply);
    EXPECT_NE(reply.error().message.find("replied to a different request"), std::string::npos);
}

TEST(WireClient, RefusesAStatusOutsideTheProtocol) {
    OneReplyServer server(uint8_t(Op::Ping) | kReplyBit, uint64_t(Status::Unavailable) + 1, "");
    auto reply = call(server.options(), Op::Ping, ping_request());
    ASSERT_FALSE(reply);
    EXPECT_NE(reply.error().message.find("unknown status 12"), std::string::npos) << reply.error().message;
}

TEST(WireProtocol, ReplyRules) {
    EXPECT_TRUE(reply_answers(uint8_t(Op::Ping), uint8_t(Op::Ping) | kReplyBit));
    EXPECT_TRUE(reply_answers(uint8_t(Op::Ping), kReplyBit));
    EXPECT_FALSE(reply_answers(uint8_t(Op::Ping), uint8_t(Op::Ping)));
    EXPECT_FALSE(reply_answers(uint8_t(Op::Ping), uint8_t(Op::Status) | kReplyBit));
    EXPECT_TRUE(status_known(uint64_t(Status::Ok)));
    EXPECT_TRUE(status_known(uint64_t(Status::Unavailable)));
    EXPECT_FALSE(status_known(uint64_t(Status::Unavailable) + 1));
    EXPECT_FALSE(status_known(~uint64_t(0)));
}
