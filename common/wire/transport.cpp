#include "common/wire/transport.h"

#include "common/base/unique_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace elevate::wire {

namespace {

IoResult sys_error(int e) {
    return IoResult{IoStatus::SystemError, e, CodecError::Ok};
}

// Waits for `events` on fd until the deadline. EINTR restarts with the
// remaining time so a signal cannot extend the wait.
IoResult wait_for(int fd, short events, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - monotonic_ms();
        if (left <= 0) return IoResult{IoStatus::Timeout, ETIMEDOUT, CodecError::Ok};
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left > 60000 ? 60000 : int(left));
        if (r > 0) return IoResult{};
        if (r < 0 && errno != EINTR) return sys_error(errno);
    }
}

// Moves fd away from 0/1/2: a host process with closed std fds must never
// have its stdout become our socket.
int move_above_stdio(int fd) {
    if (fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return moved;
}

}  // namespace

const char* describe(const IoResult& r, const char* what, const char* path, char* buf, size_t size) {
    switch (r.status) {
        case IoStatus::Ok:
            snprintf(buf, size, "%s %s: ok", what, path);
            break;
        case IoStatus::Timeout:
            snprintf(buf, size, "%s %s: timed out", what, path);
            break;
        case IoStatus::Closed:
            snprintf(buf, size, "%s %s: connection closed by the daemon", what, path);
            break;
        case IoStatus::SystemError: {
            char err[128];
            const char* text = strerror_r(r.sys_errno, err, sizeof err);
            snprintf(buf, size, "%s %s: %s", what, path, text);
            break;
        }
        case IoStatus::NotRootServer:
            snprintf(buf, size, "%s %s: socket is not served by root; refusing to trust it", what, path);
            break;
        case IoStatus::Protocol:
            snprintf(buf, size, "%s %s: %s", what, path, codec_error_text(r.codec));
            break;
    }
    return buf;
}

int64_t monotonic_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

IoResult connect_daemon(const char* path, int64_t deadline_ms, unsigned server_uid, int* fd_out) {
    *fd_out = -1;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof addr.sun_path) return sys_error(ENAMETOOLONG);
    memcpy(addr.sun_path, path, len + 1);

    int raw = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (raw < 0) return sys_error(errno);
    raw = move_above_stdio(raw);
    if (raw < 0) return sys_error(errno);
    base::UniqueFd fd(raw);
    if (fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) | O_NONBLOCK) < 0) return sys_error(errno);

    if (connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) return sys_error(errno);
        IoResult w = wait_for(fd.get(), POLLOUT, deadline_ms);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (w.ok() && getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0) w = sys_error(soerr);
        if (!w.ok()) return w;
    }

    struct ucred cred;
    socklen_t cl = sizeof cred;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) return sys_error(errno);
    if (cred.uid != server_uid) return IoResult{IoStatus::NotRootServer, 0, CodecError::Ok};
    *fd_out = fd.release();
    return IoResult{};
}

IoResult write_all(int fd, const uint8_t* data, size_t length, int64_t deadline_ms) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = send(fd, data + done, length - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += size_t(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            IoResult w = wait_for(fd, POLLOUT, deadline_ms);
            if (!w.ok()) return w;
            continue;
        }
        return n < 0 && errno != EPIPE ? sys_error(errno) : IoResult{IoStatus::Closed, EPIPE, CodecError::Ok};
    }
    return IoResult{};
}

IoResult read_exact(int fd, uint8_t* data, size_t length, int64_t deadline_ms) {
    size_t done = 0;
    while (done < length) {
        ssize_t n = recv(fd, data + done, length - done, 0);
        if (n > 0) {
            done += size_t(n);
            continue;
        }
        if (n == 0) return IoResult{IoStatus::Closed, 0, CodecError::Ok};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            IoResult w = wait_for(fd, POLLIN, deadline_ms);
            if (!w.ok()) return w;
            continue;
        }
        return sys_error(errno);
    }
    return IoResult{};
}

IoResult send_frame(int fd, uint8_t op, const uint8_t* payload, size_t length, int64_t deadline_ms) {
    if (length > kMaxRequestFrame - kHeaderSize) return IoResult{IoStatus::Protocol, 0, CodecError::TooLarge};
    uint8_t header[kHeaderSize];
    encode_header(FrameHeader{kVersion, op, uint32_t(length)}, header);
    IoResult r = write_all(fd, header, sizeof header, deadline_ms);
    if (!r.ok()) return r;
    return write_all(fd, payload, length, deadline_ms);
}

IoResult read_header(int fd, size_t max_frame, int64_t deadline_ms, FrameHeader* out) {
    uint8_t header[kHeaderSize];
    IoResult r = read_exact(fd, header, sizeof header, deadline_ms);
    if (!r.ok()) return r;
    CodecError e = decode_header(header, sizeof header, max_frame, out);
    if (e != CodecError::Ok) return IoResult{IoStatus::Protocol, 0, e};
    return IoResult{};
}

}  // namespace elevate::wire
