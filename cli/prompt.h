// Reading a verification code without echoing it.
//
// With a terminal on stdin the prompt goes to /dev/tty and echo is turned
// off there via termios; the previous terminal settings come back on every
// path out: normal return, error, and SIGINT/SIGTERM/SIGHUP/SIGQUIT (the
// handler restores, then re-raises with the default action). ^Z restores the
// terminal while stopped and turns echo off again on resume.
//
// Without a terminal on stdin (scripts, tests) one line is read from stdin
// and no prompt is printed.
#pragma once

#include "common/base/result.h"
#include "common/base/secure_buffer.h"

#include <string_view>

namespace elevate::cli {

// Longest accepted line; codes are 6-8 digits, backup codes a little more.
inline constexpr size_t kMaxSecretLine = 256;

// Returns the line without its newline (and without a trailing '\r').
// An empty line or end of input is an error.
base::Result<base::SecureBuffer> read_secret(std::string_view prompt);

// Reads one line from `fd` into a wiped buffer (exposed for tests).
base::Result<base::SecureBuffer> read_secret_line(int fd);

}  // namespace elevate::cli
