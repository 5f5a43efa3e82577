// The second factor a request carries: a verification code (typed without
// echo, piped on stdin, or given with --code) or a push the user answers on
// their phone (docs/PROTOCOL.md, "Push"). activate and approve both get
// theirs here, so the prompt, the push and the longer deadline that a push
// needs behave the same in both.
#pragma once

#include "cli/reply.h"

#include "common/base/secure_buffer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace elevate::cli {

struct Factor {
    base::SecureBuffer code;   // empty when a push is used
    std::string challenge;     // from push_start; empty when a code is used
    int64_t push_timeout = 0;  // seconds the user has to answer the push
};

struct FactorChoice {
    bool push = false;
    std::optional<std::string> code;  // --code; prompted for when absent
    // What the push is for, shown on the phone; empty for an approver's push.
    std::string_view role;
    std::string_view reason;
};

// Prompts for the code, or sends push_start and says on stderr (not with
// --json) "Push sent to DEVICE, waiting up to N s...". On failure the error
// is reported, *exit_code set, and nullopt returned.
std::optional<Factor> obtain_factor(const Context& ctx, const FactorChoice& choice, int* exit_code);

// Adds `code` or `challenge` to the request, and wipes the code.
void put_factor(wire::FieldWriter& request, Factor& factor);

// The context for the call that presents the factor: with a push, the daemon
// answers only once the user has, so the deadline is the push's timeout plus
// the usual one.
Context context_for(const Context& ctx, const Factor& factor);

}  // namespace elevate::cli
