// Parsers for TOTP secrets that users already have, so they can be migrated
// into elevate without re-enrolling their phones:
//   ~/.google_authenticator   (pam_google_authenticator; format in its FILEFORMAT)
//   /etc/users.oath           (pam_oath / liboath usersfile)
// Pure functions over the file's bytes: the caller reads the file (into a
// wiped buffer). Errors name the line and what is wrong, never a byte of the
// file (root may have been pointed at any file), nor where a bad one sits.
#pragma once

#include "common/base/result.h"
#include "common/base/secure_buffer.h"
#include "common/config/config.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace elevate::cli {

struct ImportedSecret {
    base::SecureBuffer secret;  // raw seed bytes
    int digits = 6;
    int64_t period = 30;
    config::TotpAlgorithm algorithm = config::TotpAlgorithm::Sha1;
    // Human-readable remarks for the admin: options that were not carried
    // over (window, rate limit, scratch codes, PIN). Never contains secrets.
    std::string note;
};

// Seeds shorter than this (80 bits, what google-authenticator writes by
// default) are refused as too weak to carry over.
inline constexpr size_t kMinImportedSecretBytes = 10;
// Input larger than this is refused before parsing.
inline constexpr size_t kMaxImportFileBytes = 4 * 1024 * 1024;

// ~/.google_authenticator: line 1 the base32 secret, then `" OPTION ...`
// lines and 8-digit scratch codes. Only TOTP files (`" TOTP_AUTH`, no
// `" HOTP_COUNTER`) are accepted; the period comes from `" STEP_SIZE`.
base::Result<ImportedSecret> parse_google_authenticator(std::string_view file_contents);

// pam_oath usersfile: `TYPE USER PIN SECRET_HEX [COUNTER [LASTOTP [TIME]]]`.
// Returns the first line for `user`. Only time-based types
// (`HOTP/T<period>[/<digits>]`) are accepted; event-based HOTP is refused.
base::Result<ImportedSecret> parse_oath_usersfile(std::string_view contents, std::string_view user);

}  // namespace elevate::cli
