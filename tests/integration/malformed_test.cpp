// Hostile bytes on the socket: every malformed request gets an error reply
// or a closed connection, and the daemon keeps serving everyone else.
#include "harness.h"

#include "common/wire/codec.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <thread>

using namespace elevate;
using namespace elevate::test;

namespace {

const char kConfig[] = R"(client_timeout = "1s"
)";

int connect_raw(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// Sends raw bytes, then reads until EOF; returns what came back.
std::string send_raw(const std::string& path, const std::vector<uint8_t>& bytes, bool half_close = false) {
    int fd = connect_raw(path);
    EXPECT_GE(fd, 0);
    if (!bytes.empty()) {
        EXPECT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), ssize_t(bytes.size()));
    }
    if (half_close) shutdown(fd, SHUT_WR);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, size_t(n));
    close(fd);
    return out;
}

// Decodes a reply frame: status and message.
struct Parsed {
    bool ok = false;
    wire::Status status = wire::Status::Internal;
    std::string message;
};

Parsed parse_reply(const std::string& bytes) {
    Parsed p;
    wire::FrameHeader h;
    if (bytes.size() < wire::kHeaderSize) return p;
    auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    if (wire::decode_header(data, bytes.size(), wire::kMaxReplyFrame, &h) != wire::CodecError::Ok) return p;
    if (bytes.size() != wire::kHeaderSize + h.length) return p;
    wire::FieldList f;
    if (f.parse(data + wire::kHeaderSize, h.length) != wire::CodecError::Ok) return p;
    uint64_t s;
    std::string_view m;
    if (!f.get_u64(wire::Tag::Status, &s)) return p;
    p.status = wire::Status(s);
    if (f.get_str(wire::Tag::Message, &m)) p.message = m;
    p.ok = true;
    return p;
}

std::vector<uint8_t> frame(uint8_t version, uint8_t op, const std::vector<uint8_t>& payload,
                           uint32_t claimed = UINT32_MAX) {
    std::vector<uint8_t> out(wire::kHeaderSize);
    wire::encode_header({version, op, claimed == UINT32_MAX ? uint32_t(payload.size()) : claimed}, out.data());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

class Malformed : public ::testing::Test {
protected:
    void SetUp() override { daemon.start(); }
    void TearDown() override {
        // After every abuse the daemon still answers a well-formed request.
        auto r = daemon.call(wire::Op::Ping, {});
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->status, wire::Status::Ok);
        EXPECT_TRUE(daemon.running());
    }
    Daemon daemon{kConfig};
};

}  // namespace

TEST_F(Malformed, GarbageGetsBadRequest) {
    std::string g = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    auto p = parse_reply(send_raw(daemon.socket(), std::vector<uint8_t>(g.begin(), g.end())));
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.status, wire::Status::BadRequest);
    EXPECT_NE(p.message.find("magic"), std::string::npos) << p.message;
}

TEST_F(Malformed, WrongVersionGetsUnsupportedVersion) {
    auto p = parse_reply(send_raw(daemon.socket(), frame(9, uint8_t(wire::Op::Ping), {})));
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.status, wire::Status::UnsupportedVersion);
    EXPECT_NE(p.message.find("version 9"), std::string::npos) << p.message;
}

TEST_F(Malformed, UnknownOpGetsBadRequest) {
    auto p = parse_reply(send_raw(daemon.socket(), frame(1, 0x55, {})));
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.status, wire::Status::BadRequest);
}

TEST_F(Malformed, OversizedFrameIsRefusedWithoutReadingIt) {
    auto p = parse_reply(send_raw(daemon.socket(), frame(1, uint8_t(wire::Op::Status), {}, 64 * 1024)));
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.status, wire::Status::TooLarge);
    auto huge = parse_reply(send_raw(daemon.socket(), frame(1, uint8_t(wire::Op::Status), {}, 0xfffffff0u)));
    ASSERT_TRUE(huge.ok);
    EXPECT_EQ(huge.status, wire::Status::TooLarge);
}

TEST_F(Malformed, FrameAtTheLimitIsAccepted) {
    // 64 KiB in total: a reason that large is then refused by the handler,
    // not by the frame reader.
    const size_t payload = wire::kMaxRequestFrame - wire::kHeaderSize;
    wire::BufferWriter w;
    std::string reason(payload - 6, 'x');
    w->put_str(wire::Tag::Reason, reason);
    auto p = parse_reply(send_raw(daemon.socket(), frame(1, uint8_t(wire::Op::Status), w.take())));
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.status, wire::Status::Ok);
}

TEST_F(Malformed, TruncatedFramesAreDropped) {
    auto full = frame(1, uint8_t(wire::Op::Ping), {});
    for (size_t n = 1; n < wire::kHeaderSize; ++n) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + long(n));
        EXPECT_EQ(send_raw(daemon.socket(), cut, true), "") << "cut at " << n;
    }
    // A header promising 100 bytes followed by 10 and EOF.
    auto partial = frame(1, uint8_t(wire::Op::Status), std::vector<uint8_t>(10, 0), 100);
    EXPECT_EQ(send_raw(daemon.socket(), partial, true), "");
}

TEST_F(Malformed, MalformedFieldsGetBadRequest) {
    const std::vector<std::vector<uint8_t>> bad = {
        {0, 10, 0, 0, 0, 5, 'a', 'b'},                     // length past end
        {0x03, 0xe7, 0, 0, 0, 1, 'x'},                     // unknown tag 999
        {0, 21, 0, 0, 0, 3, 1, 2, 3},                      // u64 of 3 bytes
        {0, 10, 0, 0, 0, 3, 'a', 0, 'b'},                  // NUL in a string
        {0, 24, 0, 0, 0, 1, 7},                            // bool of 7
        {0, 10, 0, 0, 0, 1, 'a', 0, 10, 0, 0, 0, 1, 'b'},  // duplicate user
        {0, 1},                                            // truncated field header
    };
    for (const auto& payload : bad) {
        auto p = parse_reply(send_raw(daemon.socket(), frame(1, uint8_t(wire::Op::Status), payload)));
        ASSERT_TRUE(p.ok);
        EXPECT_EQ(p.status, wire::Status::BadRequest) << p.message;
        EXPECT_NE(p.message.find("malformed"), std::string::npos) << p.message;
    }
}

TEST_F(Malformed, OverlongAndControlCharacterFieldsGetBadRequest) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::Role, "db-admin\nFAKE LOG LINE");
    w->put_str(wire::Tag::Code, "123456");
    auto p = parse_reply(send_raw(daemon.socket(), frame(1, uint8_t(wire::Op::Activate), w.take())));
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.status, wire::Status::BadRequest);
    EXPECT_NE(p.message.find("control"), std::string::npos) << p.message;
}

TEST_F(Malformed, InvalidUtf8InAStringGetsBadRequest) {
    for (const char* user : {"adv\xff\xfe", "adv\xc0\xaf", "adv\xed\xa0\x80"}) {
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, user);
        auto p = parse_reply(send_raw(daemon.socket(), frame(1, uint8_t(wire::Op::Status), w.take())));
        ASSERT_TRUE(p.ok);
        EXPECT_EQ(p.status, wire::Status::BadRequest) << p.message;
        EXPECT_EQ(p.message, "malformed request: string field is not valid UTF-8");
    }
}

// A user name the daemon repeats in a reply comes back escaped: terminal
// escapes and C1 controls (valid UTF-8) cannot reach whoever prints it.
TEST_F(Malformed, UnknownUserNameIsEscapedInTheReply) {
    wire::BufferWriter w;
    w->put_str(wire::Tag::User,
               "nobody\x1b]0;owned\x07\xc2\x9b"
               "2J\\x");
    auto p = parse_reply(send_raw(daemon.socket(), frame(1, uint8_t(wire::Op::Enroll), w.take())));
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.status, wire::Status::NotFound) << p.message;
    EXPECT_EQ(p.message, "no such user: nobody\\x1b]0;owned\\x07\\xc2\\x9b2J\\x5cx");
}

TEST_F(Malformed, SilentClientsDoNotBlockOthersAndAreDisconnected) {
    std::vector<int> silent;
    for (int i = 0; i < 100; ++i) silent.push_back(connect_raw(daemon.socket()));
    // Meanwhile everyone else is served at once.
    for (int i = 0; i < 20; ++i) {
        auto r = daemon.call(wire::Op::Ping, {});
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(r->status, wire::Status::Ok);
    }
    // A client that sent half a header is treated the same way.
    auto half = frame(1, uint8_t(wire::Op::Ping), {});
    send(silent[0], half.data(), 3, MSG_NOSIGNAL);
    // After the 1 s client timeout the daemon closes them (EOF here).
    std::this_thread::sleep_for(std::chrono::milliseconds(1600));
    for (int fd : silent) {
        char c;
        EXPECT_EQ(recv(fd, &c, 1, MSG_DONTWAIT), 0);
        close(fd);
    }
}

TEST_F(Malformed, ClientThatVanishesMidReplyDoesNotHurt) {
    for (int i = 0; i < 50; ++i) {
        int fd = connect_raw(daemon.socket());
        auto f = frame(1, uint8_t(wire::Op::Ping), {});
        send(fd, f.data(), f.size(), MSG_NOSIGNAL);
        close(fd);
    }
}
