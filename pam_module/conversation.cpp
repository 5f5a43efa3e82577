#include "pam_module/conversation.h"

#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

namespace elevate::pam {

namespace {

void wipe_and_free(char* text) {
    if (text == nullptr) return;
    explicit_bzero(text, strlen(text));
    free(text);
}

// Frees a response array the way libpam's own pam_vprompt does: every answer
// wiped, then the array. The array may be non-null even on error.
void drop_responses(struct pam_response* responses, int count) {
    if (responses == nullptr) return;
    for (int i = 0; i < count; ++i) wipe_and_free(responses[i].resp);
    free(responses);
}

ConvResult converse(pam_handle_t* pamh, int style, const char* text, Answer* answer) {
    const void* item = nullptr;
    if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || item == nullptr)
        return {ConvStatus::NoConversation, PAM_CONV_ERR};
    const struct pam_conv* conv = static_cast<const struct pam_conv*>(item);
    if (conv->conv == nullptr) return {ConvStatus::NoConversation, PAM_CONV_ERR};

    struct pam_message message;
    message.msg_style = style;
    message.msg = text;
    const struct pam_message* messages[1] = {&message};
    struct pam_response* responses = nullptr;
    int rc = conv->conv(1, messages, &responses, conv->appdata_ptr);
    if (rc != PAM_SUCCESS) {
        drop_responses(responses, 1);
        return {ConvStatus::Failed, rc};
    }
    if (answer == nullptr) {
        drop_responses(responses, 1);
        return {};
    }
    if (responses == nullptr || responses[0].resp == nullptr) {
        drop_responses(responses, 1);
        return {ConvStatus::NoResponse, PAM_CONV_ERR};
    }
    answer->reset(responses[0].resp);  // ownership moves; the array itself is freed here
    responses[0].resp = nullptr;
    free(responses);
    return {};
}

}  // namespace

size_t Answer::size() const {
    return text_ ? strlen(text_) : 0;
}

void Answer::reset(char* text) {
    if (text_ != text) wipe_and_free(text_);
    text_ = text;
}

const char* conv_status_text(ConvStatus status) {
    switch (status) {
        case ConvStatus::Ok:
            return "ok";
        case ConvStatus::NoConversation:
            return "the application provides no conversation function (non-interactive)";
        case ConvStatus::Failed:
            return "the conversation function failed";
        case ConvStatus::NoResponse:
            return "the conversation returned no answer";
    }
    return "unknown conversation status";
}

ConvResult ask(pam_handle_t* pamh, int style, const char* prompt, Answer* answer) {
    answer->reset();
    return converse(pamh, style, prompt, answer);
}

ConvResult tell(pam_handle_t* pamh, int style, const char* text) {
    return converse(pamh, style, text, nullptr);
}

}  // namespace elevate::pam
