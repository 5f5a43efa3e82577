// The verbs of elevatectl, one file each (cli/verb_*.cpp). A verb is its
// argument table, its help text and a run function; main.cpp parses the
// verb's arguments with the table, handles `VERB --help`, and calls run().
#pragma once

#include "cli/args.h"
#include "cli/reply.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace elevate::cli {

struct Verb {
    std::string_view name;
    std::string_view summary;  // one line for `elevatectl --help`
    std::string_view usage;    // the whole text for `elevatectl VERB --help`
    ArgSpec spec;              // includes --help/-h
    // Returns the process exit status; errors are already reported.
    int (*run)(const Context& ctx, const ParsedArgs& args);
};

const Verb& status_verb();
const Verb& activate_verb();
const Verb& drop_verb();
const Verb& list_verb();
const Verb& revoke_verb();
const Verb& enroll_verb();
const Verb& ping_verb();
// Approval requests (docs/PROTOCOL.md, "Approval requests").
const Verb& requests_verb();
const Verb& approve_verb();
const Verb& deny_verb();
const Verb& cancel_verb();
const Verb& wait_verb();
const Verb& unlock_verb();
// Risk (docs/RISK.md).
const Verb& risk_verb();
// Conditional access (docs/POLICY.md).
const Verb& explain_verb();
// Parses explain --at ("2026-12-02T23:30Z", UTC, or "@EPOCH").
std::optional<int64_t> parse_explain_time(std::string_view text);

}  // namespace elevate::cli
