// PAM-stack test support: real PAM transactions through pam_wrapper (so the
// service files live in a private directory, never in /etc/pam.d) and
// libpamtest, against pam_elevate.so from the build tree.
//
// main() (pam_support.cpp) re-executes the test binary with
// LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=...,
// then removes LD_PRELOAD from its own environment so the daemon and tools
// the tests start run without the wrapper. Service files are written into
// pam_wrapper's runtime directory (PAM_WRAPPER_RUNTIME_DIR), which is where
// its libpam reads them from.
#pragma once

#include <security/pam_appl.h>

// libpamtest.h has no C++ guards.
extern "C" {
#include <libpamtest.h>
}

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace elevate::pamtest {

std::string module_path();

// Writes service `name` (mode 0644) into pam_wrapper's runtime directory,
// and into its source directory for children that fork later.
void write_service(const std::string& name, const std::string& content);

// pam_wrapper gives a forked child its own runtime directory (atfork); a
// child that leaves with _exit() calls this first so it leaves nothing in /tmp.
void discard_child_runtime_dir(const std::string& parent_runtime_dir);

// "auth required /abs/pam_elevate.so socket=... ARGS\n"
std::string elevate_line(const std::string& type, const std::string& control, const std::string& socket,
                         const std::string& args = "");

// Six digits that are the TOTP code of no time-step a daemon with
// `drift_steps` accepts now for `base32` (computed with oathtool).
std::string wrong_totp_code(const std::string& base32, int drift_steps);

// Inputs for libpamtest's conversation, and what the module told the user.
class Conversation {
public:
    explicit Conversation(std::vector<std::string> echo_off = {}, std::vector<std::string> echo_on = {});
    Conversation(const Conversation&) = delete;
    Conversation& operator=(const Conversation&) = delete;
    pamtest_conv_data* data() { return &data_; }
    std::vector<std::string> errors() const;
    std::vector<std::string> infos() const;
    std::string all_errors() const;
    std::string all_infos() const;

private:
    static constexpr size_t kSlots = 16;
    std::vector<std::string> off_, on_;
    std::vector<const char*> off_ptrs_, on_ptrs_;
    char err_buf_[kSlots][PAM_MAX_MSG_SIZE + 1] = {};
    char info_buf_[kSlots][PAM_MAX_MSG_SIZE + 1] = {};
    char* err_ptrs_[kSlots];
    char* info_ptrs_[kSlots];
    pamtest_conv_data data_{};
};

// Runs the cases in one PAM transaction with run_pamtest; the assertion
// names the first case whose return code differs, with both codes.
::testing::AssertionResult run_cases(const std::string& service, const std::string& user, Conversation& conv,
                                     std::vector<pam_testcase> cases);

// A conversation function of our own for what libpamtest cannot do: record
// the prompt texts, fail, or return no answer.
struct ScriptedConv {
    enum class Mode { Answer, ConvErr, NullResponseArray, NullAnswer } mode = Mode::Answer;
    std::vector<std::string> answers;  // in order, for any prompt style
    size_t next = 0;
    std::vector<std::pair<int, std::string>> seen;  // (style, text) of every message
    static int fn(int n, const pam_message** msg, pam_response** resp, void* self);
    pam_conv conv() { return pam_conv{&ScriptedConv::fn, this}; }
    std::vector<std::string> prompts() const;
};

// A whole transaction through pam_start with any pam_conv (or none):
// optional items, then the listed steps. Returns each step's code.
struct DirectRun {
    std::string service, user;
    const pam_conv* conv = nullptr;  // nullptr: a conversation struct with a null function
    std::string rhost, tty;
    std::vector<int> steps;  // PAMTEST_AUTHENTICATE, PAMTEST_ACCOUNT, ...
    int flags = 0;           // for every step, e.g. PAM_SILENT (sudo passes it to pam_authenticate)
};
std::vector<int> run_direct(const DirectRun& run);

// Captures what pam_syslog writes while alive. Under pam_wrapper,
// pam_syslog goes to stderr (PWRAP_*: SYSLOG(n): ...), so this sets
// PAM_WRAPPER_DEBUGLEVEL to 2 (LOG_NOTICE and above... and debug) and
// redirects fd 2 to a file.
class LogCapture {
public:
    LogCapture();
    ~LogCapture();
    std::string text();  // everything logged so far

private:
    std::string path_;
    int saved_ = -1;
};

}  // namespace elevate::pamtest
