// The rule for untrusted text repeated inside a message (a reply, an error,
// a log line): printable ASCII is kept, every other byte and the backslash
// itself become \xNN, so nothing in it can drive a terminal, forge a line or
// be mistaken for an escape that was not there.
#pragma once

#include <string>
#include <string_view>

namespace elevate::base {

std::string escaped(std::string_view untrusted);

}  // namespace elevate::base
