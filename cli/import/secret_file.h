// Reading a file of secrets that someone else may control. elevatectl runs
// as root on paths such as ~alice/.google_authenticator, so a user must not
// be able to make it read another file (a symbolic link anywhere on the
// path, CVE-2024-47191 and CVE-2025-6020 are this mistake), block it (a
// FIFO), or substitute content (a file they may write but should not).
#pragma once

#include "common/base/result.h"
#include "common/base/secure_buffer.h"

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace elevate::cli {

// Both source formats are a few lines per user; anything larger is not one.
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// Who must own the file, and why (for the message).
struct SecretFileOwner {
    uid_t uid = 0;
    std::string name;  // "alice", "root"
    std::string rule;  // "a google-authenticator file must belong to the user being enrolled"
};

// Opens `path` one component at a time from "/" (or the working directory
// for a relative path) with O_NOFOLLOW, so no symbolic link is followed
// anywhere; the last component must be a regular file (nothing else is
// opened), owned by `owner`, not writable by group or others, at most
// kMaxSecretFileBytes. Reads it into a wiped buffer. Errors name the path and
// the rule that failed, never the file's content.
base::Result<base::SecureBuffer> read_secret_file(const std::string& path, const SecretFileOwner& owner);

}  // namespace elevate::cli
