// Push through Duo: the Auth API v2 (https://duo.com/docs/authapi).
//
// Set-up: in the Duo Admin Panel, protect an "Auth API" application and copy
// its integration key, secret key and API hostname into elevate.conf:
//
//   [push]
//   provider = "duo"
//   timeout = "60s"
//   [push.duo]
//   api_host = "api-XXXXXXXX.duosecurity.com"
//   integration_key = "DIXXXXXXXXXXXXXXXXXX"
//   secret_key = "..."        # in a root-owned 0600 file; never logged
//   poll_interval = "1s"      # optional
//   # ca_file, pinned_key, proxy, connect_timeout, request_timeout: optional
//
// Unix user names are sent to Duo as Duo user names, unchanged.
//
// One challenge is three calls, each signed with the secret key:
//   POST /auth/v2/preauth      which device? (or: allow / deny / enroll)
//   POST /auth/v2/auth         push to the user's first push-capable device,
//                              async=1, with host/service/role in pushinfo
//   GET  /auth/v2/auth_status  polled every poll_interval until an answer
//
// Preauth "allow" means Duo's own policy lets this user through without a
// second factor (bypass status, "allow access without 2FA"). Duo is the
// authority for this factor, so that is reported as Approved with the detail
// "Duo bypass: ..." for the audit trail; to forbid it, change the user's or
// the application's policy in Duo, not here.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "daemon/push/http_client.h"
#include "daemon/push/provider.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elevate::push {

// Checks [push.duo] (api_host, integration_key and secret_key present and
// well-formed) and returns the provider. `http` and `clock` must outlive it.
base::Result<std::unique_ptr<PushProvider>> make_duo_provider(const config::PushConfig& push, HttpClient& http,
                                                              const base::Clock& clock);

// Request signing, exposed for tests. Duo's documented scheme: canonical
// string "date\nMETHOD\nhost\npath\nparams", HMAC keyed with the secret key,
// sent as HTTP Basic "ikey:hex(hmac)".
namespace duo_sign {

using Params = std::vector<std::pair<std::string, std::string>>;

// Percent-encoding by Duo's rule: RFC 3986 unreserved bytes stay, every
// other byte becomes %XX (upper case), so a space is %20, never '+'.
std::string encode(std::string_view s);
// "k1=v1&k2=v2", encoded, sorted by key then value (bytewise). This is both
// the signed parameter string and the query string / form body sent.
std::string canon_params(Params params);
// The host as signed: api_host's name without a port ("[v6]:port" gives
// the bare address), lower-cased, as duo_unix and duo_client_python sign it.
std::string host_name(std::string_view api_host);
// RFC 2822 date in UTC, e.g. "Tue, 21 Aug 2012 17:29:18 +0000".
std::string rfc2822_date(int64_t epoch_seconds);
// The string that is signed. `host` is lower-cased here.
std::string canonical_request(std::string_view date, std::string_view method, std::string_view host,
                              std::string_view path, std::string_view canon_params);
// Lower-case hex HMAC-SHA512 of `canonical` keyed with `secret_key`.
std::string hmac_sha512_hex(std::string_view secret_key, std::string_view canonical);
// "Basic " + base64(ikey ":" signature).
std::string authorization(std::string_view integration_key, std::string_view signature_hex);

}  // namespace duo_sign

}  // namespace elevate::push
