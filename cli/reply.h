// Talking to elevated and turning its answer into output and an exit code.
// exit_code_for() is the one place where a wire::Status becomes an exit
// status; report_*() are the one place where errors are printed (a line on
// stderr prefixed "elevatectl: ", or with --json an object on stdout).
#pragma once

#include "cli/grant.h"
#include "common/base/result.h"
#include "common/wire/client.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace elevate::cli {

// Exit statuses (documented in docs/man/elevatectl.1).
enum ExitCode : int {
    kExitOk = 0,
    kExitDenied = 1,       // denied, or locked out
    kExitUsage = 2,        // bad command line, or a request the daemon called malformed
    kExitDaemonError = 3,  // the daemon failed or is shutting down
    kExitForbidden = 4,
    kExitNotFound = 5,
    kExitNotEnrolled = 6,
    kExitConflict = 7,
    kExitPending = 8,       // an approval request is waiting for approvers
    kExitUnreachable = 69,  // EX_UNAVAILABLE: no valid answer from the daemon
};

int exit_code_for(wire::Status status);
// The protocol's name for a status ("denied", "bad_request", ...), used as
// the "status" member of JSON errors.
const char* status_word(wire::Status status);

// What every verb needs: where the daemon is, and how to print.
struct Context {
    wire::ClientOptions client;
    bool timeout_given = false;  // --timeout was explicit (verbs may default longer)
    bool json = false;
};

// `ctx` with a deadline `seconds` longer, for a call the daemon answers only
// after waiting on someone (a push to be answered, an approval request to be
// decided): that wait plus the usual deadline.
Context with_extra_time(const Context& ctx, int64_t seconds);

// Adds the context fields that requests which make a decision carry
// (docs/PROTOCOL.md: service, tty), for the audit trail.
void put_client_context(wire::FieldWriter& request);

// Prints an error; returns `exit_code`. `extra` members are merged into the
// JSON object (e.g. locked_until).
int report_error(const Context& ctx, int exit_code, std::string_view status, std::string_view message,
                 const nlohmann::json& extra = nlohmann::json::object());
// A usage error: the message plus a hint naming `verb`'s --help (or the
// global --help when verb is empty). Returns kExitUsage.
int report_usage(const Context& ctx, std::string_view verb, std::string_view message);
// A reply whose status is not Ok.
int report_reply(const Context& ctx, const wire::Reply& reply);

// Sends one request and returns the reply, whatever its status; nullopt,
// reported and with *exit_code set, only when no valid reply came. The
// request bytes are wiped afterwards: they may hold a code or an imported
// secret. For callers that read a non-Ok reply (activate's conflict names the
// pending request); others use call_daemon.
std::optional<wire::Reply> exchange(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code);

// Sends one request and returns the reply when its status is Ok. Otherwise
// reports the failure, stores the exit code in *exit_code and returns
// nullopt. The request bytes are wiped as by exchange().
std::optional<wire::Reply> call_daemon(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code);

// The grants in an Ok reply; a malformed record is reported like a
// transport failure (no usable answer) and gives nullopt.
std::optional<std::vector<Grant>> grants_from(const Context& ctx, const wire::Reply& reply, int* exit_code);
std::optional<Grant> grant_from(const Context& ctx, const wire::Reply& reply, int* exit_code);

// For verbs whose Ok reply carries one grant (activate, drop, revoke): sends
// the request and returns the grant, already printed when --json is on, so a
// caller does `if (!grant || ctx.json) return exit_code;`. *exit_code is
// kExitOk on success.
std::optional<Grant> call_for_grant(const Context& ctx, wire::Op op, std::vector<uint8_t> request, int* exit_code);

}  // namespace elevate::cli
