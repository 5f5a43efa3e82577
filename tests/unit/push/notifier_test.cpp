// Notification events: signed delivery to webhook_server.py's event sink,
// retries with backoff, dropping after max_attempts, the bounded queue.
#include "daemon/notify/notifier.h"
#include "tests/unit/push/test_server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

namespace elevate::push::test {
namespace {

using nlohmann::json;
using notify::Notifier;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lower-case hex.
bool is_uuid_v4(const std::string& s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

class NotifierTest : public HttpsTest {
protected:
    config::NotifyConfig notify_config() const {
        config::NotifyConfig c;
        c.endpoint = endpoint();
        c.endpoint.url = server.url("/hooks/events");
        c.secret = kSecret;
        c.max_attempts = 3;
        c.max_backoff_ms = 200;
        return c;
    }

    size_t event_posts() const {
        auto log = server.log_lines();
        return static_cast<size_t>(std::count(log.begin(), log.end(), "POST /hooks/events -"));
    }

    base::SystemClock clock;
};

TEST_F(NotifierTest, DeliveredSignedWithEnvelope) {
    start_server({});
    Notifier n(*http, clock);
    n.configure(notify_config());
    const int64_t before = clock.now();
    n.send("grant.activated", {{"user", "alice"}, {"role", "db-admin"}, {"type", "spoofed"}, {"time", 5}});
    EXPECT_EQ(n.queued(), 1u);
    ASSERT_TRUE(drive([&] { return n.delivered() == 1; }));
    EXPECT_EQ(n.queued(), 0u);
    EXPECT_EQ(n.dropped(), 0u);

    // The sink stores only events whose signature it verified.
    auto events = server.events();
    ASSERT_EQ(events.size(), 1u);
    const json& e = events[0];
    EXPECT_EQ(e["type"], "grant.activated");  // the envelope wins over fields
    EXPECT_EQ(e["user"], "alice");
    EXPECT_EQ(e["role"], "db-admin");
    EXPECT_TRUE(is_uuid_v4(e["id"].get<std::string>())) << e["id"];
    EXPECT_GE(e["time"].get<int64_t>(), before);
    EXPECT_FALSE(e["host"].get<std::string>().empty());
}

TEST_F(NotifierTest, HostMayBeNamedByTheCaller) {
    start_server({});
    Notifier n(*http, clock);
    n.configure(notify_config());
    n.send("push.fraud", {{"user", "alice"}, {"host", "db1.example.com"}});
    n.send("push.fraud", {{"user", "alice"}, {"host", 7}});  // not a name: the envelope's own
    ASSERT_TRUE(drive([&] { return n.delivered() == 2; }));
    auto events = server.events();
    ASSERT_EQ(events.size(), 2u);
    std::set<std::string> hosts;
    for (const auto& e : events) hosts.insert(e["host"].get<std::string>());
    EXPECT_TRUE(hosts.count("db1.example.com"));
    EXPECT_EQ(hosts.size(), 2u);
}

TEST_F(NotifierTest, EventsKeepDistinctIds) {
    start_server({});
    Notifier n(*http, clock);
    n.configure(notify_config());
    for (int i = 0; i < 10; ++i) n.send("approval.requested", {{"n", i}});
    ASSERT_TRUE(drive([&] { return n.delivered() == 10; }));
    auto events = server.events();
    ASSERT_EQ(events.size(), 10u);
    std::set<std::string> ids;
    for (const auto& e : events) ids.insert(e["id"].get<std::string>());
    EXPECT_EQ(ids.size(), 10u);
}

TEST_F(NotifierTest, RetriedAfterServiceUnavailable) {
    start_server({{"events_fail_first", 2}});
    Notifier n(*http, clock);
    n.configure(notify_config());
    n.send("grant.expired", {{"user", "bob"}});
    ASSERT_TRUE(drive([&] { return n.delivered() == 1; }));
    EXPECT_EQ(event_posts(), 3u);  // 503, 503, 200
    EXPECT_EQ(server.events().size(), 1u);
    EXPECT_EQ(n.dropped(), 0u);
}

TEST_F(NotifierTest, BackoffDoublesFromOneSecond) {
    start_server({{"events_fail_first", 2}});
    Notifier n(*http, clock);
    auto c = notify_config();
    c.max_backoff_ms = 300000;
    n.configure(c);
    const auto t0 = steady_clock::now();
    n.send("grant.revoked", {});
    ASSERT_TRUE(drive([&] { return n.delivered() == 1; }));
    EXPECT_GE(steady_clock::now() - t0, milliseconds(3000));  // 1 s, then 2 s
    EXPECT_EQ(event_posts(), 3u);
}

TEST_F(NotifierTest, DroppedAfterMaxAttempts) {
    start_server({{"events_fail_first", 100}});
    Notifier n(*http, clock);
    n.configure(notify_config());
    n.send("grant.activated", {{"user", "carol"}});
    ASSERT_TRUE(drive([&] { return n.dropped() == 1; }));
    EXPECT_EQ(n.delivered(), 0u);
    EXPECT_EQ(n.queued(), 0u);
    drive([] { return false; }, milliseconds(500));
    EXPECT_EQ(event_posts(), 3u);  // max_attempts, no more
    EXPECT_TRUE(server.events().empty());
}

TEST_F(NotifierTest, WrongSecretIsNeverAccepted) {
    start_server({});
    Notifier n(*http, clock);
    auto c = notify_config();
    c.secret = "another-secret-of-enough-length-0123456789";
    c.max_attempts = 2;
    n.configure(c);
    n.send("grant.activated", {});
    ASSERT_TRUE(drive([&] { return n.dropped() == 1; }));
    EXPECT_EQ(n.delivered(), 0u);
    EXPECT_TRUE(server.events().empty());
    EXPECT_EQ(server.log_lines(), (std::vector<std::string>{"POST /hooks/events - 401", "POST /hooks/events - 401"}));
}

TEST_F(NotifierTest, UnreachableEndpointIsRetriedThenDropped) {
    Notifier n(*http, clock);
    auto c = notify_config();
    c.endpoint.url = "https://127.0.0.1:" + std::to_string(closed_port()) + "/events";
    n.configure(c);
    n.send("grant.activated", {});
    ASSERT_TRUE(drive([&] { return n.dropped() == 1; }));
    EXPECT_EQ(n.delivered(), 0u);
}

TEST_F(NotifierTest, DisabledWithoutUrl) {
    Notifier n(*http, clock);
    n.send("grant.activated", {});  // never configured
    EXPECT_EQ(n.queued(), 0u);
    config::NotifyConfig c;
    n.configure(c);
    n.send("grant.activated", {});
    EXPECT_EQ(n.queued(), 0u);
    EXPECT_EQ(n.dropped(), 0u);
    EXPECT_EQ(http->in_flight(), 0u);
}

TEST_F(NotifierTest, QueueIsBoundedAndNeverBlocks) {
    Notifier n(*http, clock);
    auto c = notify_config();
    c.endpoint.url = "https://127.0.0.1:" + std::to_string(closed_port()) + "/events";
    n.configure(c);
    const auto t0 = steady_clock::now();
    for (int i = 0; i < 10005; ++i) n.send("grant.activated", {{"n", i}});
    EXPECT_LT(steady_clock::now() - t0, seconds(10));
    EXPECT_EQ(n.queued(), 10000u);
    EXPECT_EQ(n.dropped(), 5u);
    // Turning notifications off drops what is queued.
    n.configure(config::NotifyConfig{});
    EXPECT_EQ(n.queued(), 0u);
    EXPECT_EQ(n.dropped(), 10005u);
    EXPECT_EQ(http->in_flight(), 0u);
}

}  // namespace
}  // namespace elevate::push::test
