#include "common/wire/client.h"

#include "common/base/unique_fd.h"

#include <algorithm>

namespace elevate::wire {

std::vector<uint8_t> BufferWriter::take() {
    buffer_.resize(writer_.size());
    return std::move(buffer_);
}

bool BufferWriter::grow(void* ctx, size_t needed, uint8_t** buffer, size_t* capacity) {
    auto* self = static_cast<BufferWriter*>(ctx);
    self->buffer_.resize(std::max({needed, self->buffer_.size() * 2, size_t(256)}));
    *buffer = self->buffer_.data();
    *capacity = self->buffer_.size();
    return true;
}

Reply::Reply(Reply&& o) noexcept {
    *this = std::move(o);
}

Reply& Reply::operator=(Reply&& o) noexcept {
    status = o.status;
    message = std::move(o.message);
    // The FieldList points into the payload; a moved vector keeps its heap
    // block, so re-parse to be safe rather than rely on that.
    payload = std::move(o.payload);
    fields = FieldList();
    (void)fields.parse(payload.data(), payload.size());
    return *this;
}

namespace {
base::Error io_error(const IoResult& r, const char* what, const std::string& path) {
    char buf[512];
    return base::make_error(describe(r, what, path.c_str(), buf, sizeof buf), r.sys_errno);
}
}  // namespace

base::Result<Reply> call(const ClientOptions& options, Op op, const std::vector<uint8_t>& payload) {
    const int64_t deadline = monotonic_ms() + options.timeout_ms;
    int raw = -1;
    IoResult r = connect_daemon(options.socket_path.c_str(), deadline, options.server_uid, &raw);
    if (!r.ok()) return io_error(r, "cannot connect to elevated at", options.socket_path);
    base::UniqueFd fd(raw);

    r = send_frame(fd.get(), uint8_t(op), payload.data(), payload.size(), deadline);
    if (!r.ok()) return io_error(r, "cannot send request to", options.socket_path);

    FrameHeader header;
    r = read_header(fd.get(), kMaxReplyFrame, deadline, &header);
    if (!r.ok()) return io_error(r, "no valid reply from", options.socket_path);
    if (!reply_answers(uint8_t(op), header.op))
        return base::make_error("elevated at " + options.socket_path + " replied to a different request");

    Reply reply;
    reply.payload.resize(header.length);
    r = read_exact(fd.get(), reply.payload.data(), header.length, deadline);
    if (!r.ok()) return io_error(r, "truncated reply from", options.socket_path);
    CodecError e = reply.fields.parse(reply.payload.data(), reply.payload.size());
    if (e != CodecError::Ok)
        return base::make_error(std::string("malformed reply from elevated: ") + codec_error_text(e));
    uint64_t status = 0;
    if (!reply.fields.get_u64(Tag::Status, &status))
        return base::make_error("malformed reply from elevated: no status");
    if (!status_known(status))
        return base::make_error("malformed reply from elevated: unknown status " + std::to_string(status));
    reply.status = Status(status);
    std::string_view message;
    if (reply.fields.get_str(Tag::Message, &message)) reply.message.assign(message);
    return reply;
}

}  // namespace elevate::wire
