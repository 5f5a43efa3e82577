#include "daemon/push/provider.h"

#include "daemon/push/webhook.h"

// duo.cpp is written separately; until it is in the tree, a Duo
// configuration fails with a clear error instead of breaking the build.
#if __has_include("daemon/push/duo.h")
#include "daemon/push/duo.h"
#define ELEVATE_HAVE_DUO 1
#endif

namespace elevate::push {

const char* push_outcome_name(PushOutcome o) {
    switch (o) {
        case PushOutcome::Approved:
            return "approved";
        case PushOutcome::Denied:
            return "denied";
        case PushOutcome::Fraud:
            return "fraud";
        case PushOutcome::Timeout:
            return "timeout";
        case PushOutcome::Failed:
            return "failed";
    }
    return "unknown";
}

base::Result<std::unique_ptr<PushProvider>> make_provider(const config::PushConfig& push, HttpClient& http,
                                                          const base::Clock& clock) {
    switch (push.provider) {
        case config::PushProviderKind::None:
            return std::unique_ptr<PushProvider>();
        case config::PushProviderKind::Webhook: {
            auto webhook = WebhookProvider::create(push.webhook, http, clock);
            if (!webhook) return std::move(webhook).error();
            return std::unique_ptr<PushProvider>(std::move(*webhook));
        }
        case config::PushProviderKind::Duo:
#ifdef ELEVATE_HAVE_DUO
            return make_duo_provider(push, http, clock);
#else
            return base::make_error("duo provider not built");
#endif
    }
    return base::make_error("unknown push provider");
}

}  // namespace elevate::push
