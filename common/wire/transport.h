// Client side of the socket: connect, send one frame, read one frame, all
// bounded by one monotonic deadline. No allocation and no C++ runtime, so the
// PAM module can use it inside sshd and sudo (the same hygiene as sssd's
// client: fd never 0/1/2, close-on-exec, non-blocking, MSG_NOSIGNAL, server
// checked to be root by SO_PEERCRED).
#pragma once

#include "common/wire/codec.h"

#include <cstddef>
#include <cstdint>

namespace elevate::wire {

enum class IoStatus {
    Ok = 0,
    Timeout,
    Closed,         // peer closed before a whole frame arrived
    SystemError,    // see IoResult::sys_errno
    NotRootServer,  // the socket's owner is not uid 0: refuse to talk
    Protocol,       // see IoResult::codec
};

struct IoResult {
    IoStatus status = IoStatus::Ok;
    int sys_errno = 0;
    CodecError codec = CodecError::Ok;
    bool ok() const { return status == IoStatus::Ok; }
};

// Writes a one-line description ("connect to /run/elevate/elevated.sock:
// No such file or directory") into buf; returns buf.
const char* describe(const IoResult& r, const char* what, const char* path, char* buf, size_t size);

int64_t monotonic_ms();

// Connects to the daemon's Unix socket. `server_uid` is the uid the peer
// must have (0 in production).
IoResult connect_daemon(const char* path, int64_t deadline_ms, unsigned server_uid, int* fd_out);

IoResult write_all(int fd, const uint8_t* data, size_t length, int64_t deadline_ms);
IoResult read_exact(int fd, uint8_t* data, size_t length, int64_t deadline_ms);

// Sends header + payload.
IoResult send_frame(int fd, uint8_t op, const uint8_t* payload, size_t length, int64_t deadline_ms);

// Reads and validates a frame header (magic, version, size <= max_frame).
IoResult read_header(int fd, size_t max_frame, int64_t deadline_ms, FrameHeader* out);

}  // namespace elevate::wire
