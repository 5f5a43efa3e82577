#include "daemon/server/listener.h"

#include "daemon/core/fs.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>

namespace elevate::server {

base::Result<base::UniqueFd> listen_unix(const std::string& path) {
    // systemd socket activation: one inherited stream socket.
    int n = sd_listen_fds(1);
    if (n == 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, nullptr, 0) > 0) {
        int fd = SD_LISTEN_FDS_START;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        return base::UniqueFd(fd);
    }

    struct sockaddr_un addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return base::make_error("socket path '" + path + "' is empty or too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

    // Clients of every user must reach the socket through this directory.
    if (auto r = daemon::make_parent_dir(path, 0755); !r) return std::move(r).error();

    struct stat st;
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return base::make_error(path + " exists and is not a socket; refusing to replace it");
        if (unlink(path.c_str()) < 0) return base::errno_error("cannot remove stale socket " + path);
    }

    base::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.ok()) return base::errno_error("socket");
    if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0)
        return base::errno_error("cannot bind " + path);
    if (chmod(path.c_str(), 0666) < 0) return base::errno_error("cannot chmod " + path);
    if (listen(fd.get(), SOMAXCONN) < 0) return base::errno_error("cannot listen on " + path);
    return fd;
}

}  // namespace elevate::server
