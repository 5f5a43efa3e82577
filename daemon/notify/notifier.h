// Notifications: activation, approval requests and decisions, expiry and
// revocation are POSTed as signed JSON events (docs/PUSH-WEBHOOK.md,
// "Events") to [notify] url, so chat or ticketing can show them. Sending
// never blocks a decision: events are queued, failures retried with
// exponential backoff up to max_attempts, and the queue is bounded.
#pragma once

#include "common/base/clock.h"
#include "common/config/config.h"
#include "daemon/push/http_client.h"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace elevate::notify {

class Notifier {
public:
    Notifier(push::HttpClient& http, const base::Clock& clock);
    ~Notifier();

    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // At start-up and on reload; an empty url disables sending (queued
    // events are dropped).
    void configure(const config::NotifyConfig& config);

    // Queues one event: {"type": type, "time": now, "id": uuid, ...fields}.
    // Main thread only.
    void send(const std::string& type, const nlohmann::json& fields);

    size_t queued() const;  // waiting or in flight
    uint64_t delivered() const;
    uint64_t dropped() const;  // gave up after max_attempts or queue full

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace elevate::notify
