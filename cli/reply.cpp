#include "cli/reply.h"

#include "cli/output.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace elevate::cli {

int exit_code_for(wire::Status status) {
    switch (status) {
        case wire::Status::Ok:
            return kExitOk;
        case wire::Status::Denied:
        case wire::Status::Locked:
            return kExitDenied;
        case wire::Status::BadRequest:
        case wire::Status::TooLarge:
        case wire::Status::UnsupportedVersion:
            return kExitUsage;
        case wire::Status::Forbidden:
            return kExitForbidden;
        case wire::Status::NotFound:
            return kExitNotFound;
        case wire::Status::NotEnrolled:
            return kExitNotEnrolled;
        case wire::Status::Conflict:
            return kExitConflict;
        case wire::Status::Internal:
        case wire::Status::Unavailable:
            return kExitDaemonError;
    }
    // A status this client does not know: the daemon is newer. Fail closed.
    return kExitDaemonError;
}

const char* status_word(wire::Status status) {
    switch (status) {
        case wire::Status::Ok:
            return "ok";
        case wire::Status::Denied:
            return "denied";
        case wire::Status::BadRequest:
            return "bad_request";
        case wire::Status::UnsupportedVersion:
            return "unsupported_version";
        case wire::Status::TooLarge:
            return "too_large";
        case wire::Status::Forbidden:
            return "forbidden";
        case wire::Status::NotFound:
            return "not_found";
        case wire::Status::Locked:
            return "locked";
        case wire::Status::Conflict:
            return "conflict";
        case wire::Status::NotEnrolled:
            return "not_enrolled";
        case wire::Status::Internal:
            return "internal";
        case wire::Status::Unavailable:
            return "unavailable";
    }
    return "unknown";
}

int report_error(const Context& ctx, int exit_code, std::string_view status, std::string_view message,
                 const nlohmann::json& extra) {
    const std::string text = printable(message);
    if (ctx.json) {
        nlohmann::json j = {{"error", text}, {"status", status}};
        for (const auto& [key, value] : extra.items()) j[key] = value;
        print_json(std::cout, j);
        std::cout.flush();
    } else {
        std::cerr << "elevatectl: " << text << '\n';
    }
    return exit_code;
}

int report_usage(const Context& ctx, std::string_view verb, std::string_view message) {
    report_error(ctx, kExitUsage, "usage", message);
    if (!ctx.json) {
        std::cerr << "Try 'elevatectl " << verb << (verb.empty() ? "" : " ") << "--help'.\n";
    }
    return kExitUsage;
}

int report_reply(const Context& ctx, const wire::Reply& reply) {
    const int code = exit_code_for(reply.status);
    std::string message = reply.message.empty() ? wire::status_name(reply.status) : reply.message;
    nlohmann::json extra = nlohmann::json::object();
    switch (reply.status) {
        case wire::Status::Forbidden:
            message = "permission denied: " + message;
            break;
        case wire::Status::Locked: {
            uint64_t until = 0;
            if (reply.fields.get_u64(wire::Tag::LockedUntil, &until)) {
                const auto t = static_cast<int64_t>(until);
                message += "; locked until " + format_until(t, now_seconds());
                extra["locked_until"] = t;
            }
            break;
        }
        case wire::Status::UnsupportedVersion:
            message = "elevated does not speak this elevatectl's protocol version: " + message;
            break;
        default:
            break;
    }
    return report_error(ctx, code, status_word(reply.status), message, extra);
}

Context with_extra_time(const Context& ctx, int64_t seconds) {
    // Bounded so the millisecond deadline cannot overflow whatever a daemon
    // says a push may take; no wait here is longer than an hour.
    constexpr int64_t kMaxExtraSeconds = 3600;
    Context longer = ctx;
    longer.client.timeout_ms += static_cast<int>(std::clamp<int64_t>(seconds, 0, kMaxExtraSeconds) * 1000);
    return longer;
}

void put_client_context(wire::FieldWriter& request) {
    request.put_str(wire::Tag::Service, "elevatectl");
    char tty[256];
    if (ttyname_r(STDIN_FILENO, tty, sizeof tty) == 0) request.put_str(wire::Tag::Tty, tty);
}

std::optional<wire::Reply> exchange(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code) {
    auto reply = wire::call(ctx.client, op, request);
    if (!request.empty()) OPENSSL_cleanse(request.data(), request.size());
    if (!reply) {
        // The transport's message already names the socket and the errno
        // text: "cannot connect to elevated at PATH: No such file or directory".
        *exit_code = report_error(ctx, kExitUnreachable, "unreachable", reply.error().message);
        return std::nullopt;
    }
    *exit_code = kExitOk;
    return std::move(reply).value();
}

std::optional<wire::Reply> call_daemon(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code) {
    auto reply = exchange(ctx, op, std::move(request), exit_code);
    if (!reply) return std::nullopt;
    if (reply->status != wire::Status::Ok) {
        *exit_code = report_reply(ctx, *reply);
        return std::nullopt;
    }
    return reply;
}

std::optional<std::vector<Grant>> grants_from(const Context& ctx, const wire::Reply& reply, int* exit_code) {
    auto grants = decode_grants(reply.fields);
    if (!grants) {
        *exit_code = report_error(ctx, kExitUnreachable, "unreachable", grants.error().message);
        return std::nullopt;
    }
    *exit_code = kExitOk;
    return std::move(grants).value();
}

std::optional<Grant> grant_from(const Context& ctx, const wire::Reply& reply, int* exit_code) {
    auto grant = decode_one_grant(reply.fields);
    if (!grant) {
        *exit_code = report_error(ctx, kExitUnreachable, "unreachable", grant.error().message);
        return std::nullopt;
    }
    *exit_code = kExitOk;
    return std::move(grant).value();
}

std::optional<Grant> call_for_grant(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code) {
    *exit_code = kExitOk;
    auto reply = call_daemon(ctx, op, std::move(request), exit_code);
    if (!reply) return std::nullopt;
    auto grant = grant_from(ctx, *reply, exit_code);
    if (grant && ctx.json) print_json(std::cout, {{"grant", grant_to_json(*grant)}});
    return grant;
}

}  // namespace elevate::cli
