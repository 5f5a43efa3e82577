// The rule for untrusted text repeated inside a message (a reply, an error,
// a log line): printable ASCII is kept, every other byte and the backslash
// itself become \xNN, so nothing in it can drive a terminal, forge a line or
// be mistaken for an escape that was not there.
#pragma once

#include <string>
#include <string_view>

namespace elevate::base {

std::string escaped(std::string_view untrusted);

// RFC 3986 percent-encoding: the unreserved bytes (A-Z a-z 0-9 - . _ ~)
// stay, every other byte becomes %XX in upper case (a space is %20, never
// '+'). For otpauth:// URIs and Duo's signed parameters alike.
std::string percent_encode(std::string_view text);

}  // namespace elevate::base
