#include "pam_module/daemon_client.h"

#include "common/base/display_text.h"
#include "common/base/unique_fd.h"
#include "common/wire/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace elevate::pam {

namespace {

bool fail(CallError* error, CallFailure kind, const wire::IoResult& io, const char* what, const char* path) {
    error->kind = io.status == wire::IoStatus::NotRootServer ? CallFailure::NotRootServer : kind;
    wire::describe(io, what, path, error->text, sizeof error->text);
    return false;
}

// Transport failures are "unreachable" unless the bytes themselves were bad.
CallFailure kind_of(const wire::IoResult& io) {
    return io.status == wire::IoStatus::Protocol ? CallFailure::Malformed : CallFailure::Unreachable;
}

}  // namespace

Request::~Request() {
    explicit_bzero(bytes_, sizeof bytes_);
}

Reply::~Reply() {
    if (payload_ != nullptr) {
        explicit_bzero(payload_, length_);
        free(payload_);
    }
}

bool Reply::adopt(uint8_t* payload, size_t length) {
    valid_ = false;
    if (payload_ != nullptr) free(payload_);
    payload_ = payload;
    length_ = length;
    if (fields_.parse(payload_, length_) != wire::CodecError::Ok) return false;
    uint64_t status = 0;
    if (!fields_.get_u64(wire::Tag::Status, &status) || !wire::status_known(status)) return false;
    status_ = wire::Status(status);
    std::string_view text;
    message_[0] = '\0';
    if (fields_.get_str(wire::Tag::Message, &text)) base::copy_display_text(text, message_, sizeof message_);
    valid_ = true;
    return true;
}

bool Reply::flag(wire::Tag tag) const {
    bool value = false;
    return fields_.get_bool(tag, &value) && value;
}

bool copy_str(const wire::FieldList& fields, wire::Tag tag, char* out, size_t size) {
    std::string_view text;
    if (!fields.get_str(tag, &text) || text.size() >= size) return false;
    memcpy(out, text.data(), text.size());
    out[text.size()] = '\0';
    return true;
}

bool copy_display(const wire::FieldList& fields, wire::Tag tag, char* out, size_t size) {
    out[0] = '\0';
    std::string_view text;
    if (!fields.get_str(tag, &text)) return false;
    base::copy_display_text(text, out, size);
    return true;
}

bool call(const char* socket_path, int64_t deadline_ms, wire::Op op, const Request& request, Reply* reply,
          CallError* error) {
    if (request.fields().error() != wire::CodecError::Ok) {
        error->kind = CallFailure::Malformed;
        snprintf(error->text, sizeof error->text, "request to %s: %s (a value is too long)", socket_path,
                 wire::codec_error_text(request.fields().error()));
        return false;
    }

    int raw = -1;
    wire::IoResult io = wire::connect_daemon(socket_path, deadline_ms, 0, &raw);
    if (!io.ok()) return fail(error, CallFailure::Unreachable, io, "connect to", socket_path);
    base::UniqueFd fd(raw);

    io = wire::send_frame(fd.get(), uint8_t(op), request.fields().buffer(), request.fields().size(), deadline_ms);
    if (!io.ok()) return fail(error, kind_of(io), io, "send to", socket_path);

    wire::FrameHeader header;
    io = wire::read_header(fd.get(), kMaxReplyFrame, deadline_ms, &header);
    if (!io.ok()) return fail(error, kind_of(io), io, "reply from", socket_path);
    if (!wire::reply_answers(uint8_t(op), header.op)) {
        error->kind = CallFailure::Malformed;
        snprintf(error->text, sizeof error->text, "reply from %s: answers operation %u, not %u", socket_path,
                 unsigned(header.op & ~wire::kReplyBit), unsigned(op));
        return false;
    }

    uint8_t* payload = static_cast<uint8_t*>(malloc(header.length ? header.length : 1));
    if (payload == nullptr) {
        error->kind = CallFailure::Unreachable;
        snprintf(error->text, sizeof error->text, "reply from %s: out of memory", socket_path);
        return false;
    }
    io = wire::read_exact(fd.get(), payload, header.length, deadline_ms);
    if (!io.ok()) {
        free(payload);
        return fail(error, kind_of(io), io, "reply from", socket_path);
    }
    if (!reply->adopt(payload, header.length)) {
        error->kind = CallFailure::Malformed;
        snprintf(error->text, sizeof error->text, "reply from %s: malformed payload or missing status", socket_path);
        return false;
    }
    return true;
}

}  // namespace elevate::pam
