// C++ convenience layer over the freestanding codec and transport, for the
// CLI, tests and benchmarks (not for the PAM module, which stays libc-only).
#pragma once

#include "common/base/result.h"
#include "common/wire/codec.h"
#include "common/wire/transport.h"

#include <cstdint>
#include <string>
#include <vector>

namespace elevate::wire {

// A FieldWriter backed by a std::vector that grows as needed.
class BufferWriter {
public:
    BufferWriter() : writer_(nullptr, 0, &BufferWriter::grow, this) {}
    BufferWriter(const BufferWriter&) = delete;
    BufferWriter& operator=(const BufferWriter&) = delete;

    FieldWriter& fields() { return writer_; }
    FieldWriter* operator->() { return &writer_; }
    // The encoded bytes; the writer must not be used afterwards.
    std::vector<uint8_t> take();

private:
    static bool grow(void* ctx, size_t needed, uint8_t** buffer, size_t* capacity);
    std::vector<uint8_t> buffer_;
    FieldWriter writer_;
};

struct Reply {
    Status status = Status::Internal;
    std::string message;
    std::vector<uint8_t> payload;
    FieldList fields;  // view into payload

    Reply() = default;
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    Reply(Reply&& o) noexcept;
    Reply& operator=(Reply&& o) noexcept;
};

struct ClientOptions {
    std::string socket_path;
    int timeout_ms = 5000;
    unsigned server_uid = 0;
};

// One request, one reply, one connection. Transport failures come back as
// an Error whose message names the socket path and the errno text.
base::Result<Reply> call(const ClientOptions& options, Op op, const std::vector<uint8_t>& payload);

}  // namespace elevate::wire
