// The daemon's listening socket: from systemd socket activation when
// present, otherwise created at the configured path.
#pragma once

#include "common/base/result.h"
#include "common/base/unique_fd.h"

#include <string>

namespace elevate::server {

// Creates the parent directory (0755) if needed, replaces a stale socket
// (only if the path is a socket), binds, and makes it connectable by
// everyone (0666): who the caller is comes from SO_PEERCRED, not from file
// permissions.
base::Result<base::UniqueFd> listen_unix(const std::string& path);

}  // namespace elevate::server
