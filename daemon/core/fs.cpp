#include "daemon/core/fs.h"

#include <sys/stat.h>

namespace elevate::daemon {

base::Result<void> make_parent_dir(const std::string& path, mode_t mode) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return {};
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), mode) == 0) {
        if (chmod(dir.c_str(), mode) < 0) return base::errno_error("cannot chmod " + dir);
    } else if (errno != EEXIST) {
        return base::errno_error("cannot create " + dir);
    }
    return {};
}

}  // namespace elevate::daemon
