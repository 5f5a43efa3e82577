// Small file-system helpers for the daemon.
#pragma once

#include "common/base/result.h"

#include <sys/types.h>

#include <string>

namespace elevate::daemon {

// Creates the directory that will hold `path` with exactly `mode` (the
// daemon's umask is 077, so mkdir alone would not give clients access).
// An existing directory is left as it is.
base::Result<void> make_parent_dir(const std::string& path, mode_t mode);

}  // namespace elevate::daemon
