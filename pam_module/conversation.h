// The PAM conversation: prompts for what the daemon asks for, and messages
// for the user. Every answer is owned by an Answer, which wipes and frees it
// on every path, so a typed code never outlives the call in the heap.
#pragma once

#include <security/pam_modules.h>
#include <stddef.h>

namespace elevate::pam {

// What was typed at a prompt. Move-only; wiped (explicit_bzero) and freed on
// destruction.
class Answer {
public:
    Answer() = default;
    ~Answer() { reset(); }
    Answer(const Answer&) = delete;
    Answer& operator=(const Answer&) = delete;

    const char* get() const { return text_; }
    size_t size() const;
    bool empty() const { return text_ == nullptr || text_[0] == '\0'; }
    // Takes ownership of a malloc'd string (from the application).
    void reset(char* text = nullptr);

private:
    char* text_ = nullptr;
};

enum class ConvStatus {
    Ok = 0,
    NoConversation,  // no PAM_CONV item or a null function: a non-interactive caller
    Failed,          // the application's function returned an error (pam_rc)
    NoResponse,      // success, but a null response array or a null answer
};

struct ConvResult {
    ConvStatus status = ConvStatus::Ok;
    int pam_rc = 0;  // PAM_SUCCESS, or what the conversation function returned
    bool ok() const { return status == ConvStatus::Ok; }
};

// A one-line reason for the log ("the application has no conversation function").
const char* conv_status_text(ConvStatus status);

// Asks one question; `style` is PAM_PROMPT_ECHO_OFF or PAM_PROMPT_ECHO_ON.
ConvResult ask(pam_handle_t* pamh, int style, const char* prompt, Answer* answer);

// Shows a message (PAM_TEXT_INFO or PAM_ERROR_MSG). Best effort: a caller
// without a conversation simply does not see it.
ConvResult tell(pam_handle_t* pamh, int style, const char* text);

}  // namespace elevate::pam
