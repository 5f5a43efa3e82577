// The `webhook` push provider: an organisation's own approval service behind
// a small signed HTTPS JSON API (docs/PUSH-WEBHOOK.md). start() POSTs the
// challenge, then the challenge is polled until it has an answer or expires.
// Every reply must carry a valid signature bound to the request it answers;
// anything else is a definite refusal, never an approval.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/base/secure_buffer.h"
#include "common/config/config.h"
#include "daemon/push/http_client.h"
#include "daemon/push/provider.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace elevate::push {

class WebhookProvider final : public PushProvider {
public:
    // Checks the configuration (https URL, secret of at least 32 bytes).
    // `http` and `clock` must outlive the provider.
    static base::Result<std::unique_ptr<WebhookProvider>> create(const config::WebhookConfig& config, HttpClient& http,
                                                                 const base::Clock& clock);
    // Cancels every transfer: no callback runs afterwards.
    ~WebhookProvider() override;

    WebhookProvider(const WebhookProvider&) = delete;
    WebhookProvider& operator=(const WebhookProvider&) = delete;

    const char* name() const override { return "webhook"; }
    void start(const PushChallenge& c, Sent sent, Done done) override;
    void cancel(const std::string& challenge_id) override;

    size_t active() const { return challenges_.size(); }

private:
    struct Challenge;
    enum class Step { Start, Poll };

    WebhookProvider(const config::WebhookConfig& config, HttpClient& http, const base::Clock& clock);

    // Submits a signed request for `ch`; on a local failure (no random
    // bytes) the error is reported through the same completion path, so
    // callbacks still run from run_completions().
    void submit(Challenge& ch, Step step, int64_t delay_ms);
    void on_reply(const std::string& id, Step step, const std::string& request_nonce, HttpResponse r);
    void on_start_reply(Challenge& ch, const std::string& request_nonce, const HttpResponse& r);
    void on_poll_reply(Challenge& ch, const std::string& request_nonce, const HttpResponse& r);
    // HTTP 429: the same step again after the wait, or a denial past the deadline.
    void on_rate_limited(Challenge& ch, Step step, const HttpResponse& r);
    // Ends the start step: `sent` with `result`; polling follows a success.
    void report_start(Challenge& ch, PushSent result);
    void schedule_poll(Challenge& ch);
    void finish(Challenge& ch, PushAnswer answer);

    config::HttpEndpoint endpoint_;
    std::string base_url_;   // endpoint url without a trailing '/'
    std::string base_path_;  // its path, as signed ("" for the root)
    base::SecureBuffer secret_;
    int64_t poll_interval_ms_;
    HttpClient& http_;
    const base::Clock& clock_;
    std::unordered_map<std::string, std::unique_ptr<Challenge>> challenges_;
};

}  // namespace elevate::push
