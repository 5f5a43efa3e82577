#include "pam_support.h"

#include "harness.h"

#include <fcntl.h>
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace elevate::pamtest {

std::string module_path() {
    return PAM_ELEVATE_MODULE;
}

std::string wrong_totp_code(const std::string& base32, int drift_steps) {
    std::set<std::string> valid;
    const int64_t at = test::now();
    for (int i = -drift_steps - 1; i <= drift_steps + 1; ++i) valid.insert(test::oathtool_code(base32, at + i * 30));
    for (int n = 0;; ++n) {
        char buf[8];
        snprintf(buf, sizeof buf, "%06d", (n * 7919 + 123457) % 1000000);
        if (!valid.count(buf)) return buf;
    }
}

namespace {
void write_file_0644(const std::string& path, const std::string& content) {
    std::ofstream f(path, std::ios::trunc);
    f << content;
    f.close();
    if (!f) throw std::runtime_error("cannot write " + path);
    chmod(path.c_str(), 0644);
}
}  // namespace

void write_service(const std::string& name, const std::string& content) {
    const char* runtime = std::getenv("PAM_WRAPPER_RUNTIME_DIR");
    const char* source = std::getenv("PAM_WRAPPER_SERVICE_DIR");
    if (runtime == nullptr || source == nullptr) throw std::runtime_error("pam_wrapper is not active");
    // This process reads the runtime copy; a forked child re-initialises
    // pam_wrapper (its atfork handler) and copies the source directory.
    write_file_0644(std::string(runtime) + "/" + name, content);
    write_file_0644(std::string(source) + "/" + name, content);
}

void discard_child_runtime_dir(const std::string& parent_runtime_dir) {
    const char* mine = std::getenv("PAM_WRAPPER_RUNTIME_DIR");
    if (mine == nullptr || parent_runtime_dir == mine) return;
    std::error_code ec;
    std::filesystem::remove_all(mine, ec);
}

std::string elevate_line(const std::string& type, const std::string& control, const std::string& socket,
                         const std::string& args) {
    return type + " " + control + " " + module_path() + " socket=" + socket + (args.empty() ? "" : " " + args) + "\n";
}

Conversation::Conversation(std::vector<std::string> echo_off, std::vector<std::string> echo_on)
    : off_(std::move(echo_off)), on_(std::move(echo_on)) {
    // libpamtest indexes these arrays without a bound; pad with NULLs (a NULL
    // echo-off entry becomes a NULL answer, a NULL echo-on entry PAM_CONV_ERR).
    for (auto& s : off_) off_ptrs_.push_back(s.c_str());
    for (auto& s : on_) on_ptrs_.push_back(s.c_str());
    off_ptrs_.resize(off_ptrs_.size() + kSlots, nullptr);
    on_ptrs_.resize(on_ptrs_.size() + kSlots, nullptr);
    for (size_t i = 0; i < kSlots; ++i) {
        err_ptrs_[i] = err_buf_[i];
        info_ptrs_[i] = info_buf_[i];
    }
    data_.in_echo_off = off_ptrs_.data();
    data_.in_echo_on = on_ptrs_.data();
    data_.out_err = err_ptrs_;
    data_.out_info = info_ptrs_;
}

namespace {
std::vector<std::string> collect(const char (*bufs)[PAM_MAX_MSG_SIZE + 1], size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i)
        if (bufs[i][0]) out.emplace_back(bufs[i]);
    return out;
}
std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + "\n";
    return out;
}
}  // namespace

std::vector<std::string> Conversation::errors() const {
    return collect(err_buf_, kSlots);
}
std::vector<std::string> Conversation::infos() const {
    return collect(info_buf_, kSlots);
}
std::string Conversation::all_errors() const {
    return join(errors());
}
std::string Conversation::all_infos() const {
    return join(infos());
}

::testing::AssertionResult run_cases(const std::string& service, const std::string& user, Conversation& conv,
                                     std::vector<pam_testcase> cases) {
    enum pamtest_err perr = _pamtest(service.c_str(), user.c_str(), conv.data(), cases.data(), cases.size(), nullptr);
    if (perr == PAMTEST_ERR_OK) return ::testing::AssertionSuccess();
    if (perr == PAMTEST_ERR_CASE) {
        const pam_testcase* failed = _pamtest_failed_case(cases.data(), cases.size());
        if (failed) {
            return ::testing::AssertionFailure()
                   << "step " << (failed - cases.data()) << " (op " << failed->pam_operation << ") returned "
                   << failed->op_rv << " (" << pam_strerror(nullptr, failed->op_rv) << "), expected "
                   << failed->expected_rv << " (" << pam_strerror(nullptr, failed->expected_rv) << ")"
                   << "; errors: " << conv.all_errors() << "infos: " << conv.all_infos();
        }
    }
    return ::testing::AssertionFailure() << "libpamtest: " << pamtest_strerror(perr);
}

int ScriptedConv::fn(int n, const pam_message** msg, pam_response** resp, void* appdata) {
    auto* self = static_cast<ScriptedConv*>(appdata);
    for (int i = 0; i < n; ++i) self->seen.emplace_back(msg[i]->msg_style, msg[i]->msg ? msg[i]->msg : "");
    switch (self->mode) {
        case Mode::ConvErr:
            return PAM_CONV_ERR;
        case Mode::NullResponseArray:
            *resp = nullptr;
            return PAM_SUCCESS;
        default:
            break;
    }
    auto* replies = static_cast<pam_response*>(calloc(size_t(n), sizeof(pam_response)));
    if (replies == nullptr) return PAM_BUF_ERR;
    for (int i = 0; i < n; ++i) {
        int style = msg[i]->msg_style;
        if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON) continue;
        if (self->mode == Mode::NullAnswer) continue;
        if (self->next < self->answers.size()) replies[i].resp = strdup(self->answers[self->next++].c_str());
    }
    *resp = replies;
    return PAM_SUCCESS;
}

std::vector<std::string> ScriptedConv::prompts() const {
    std::vector<std::string> out;
    for (const auto& [style, text] : seen)
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) out.push_back(text);
    return out;
}

std::vector<int> run_direct(const DirectRun& run) {
    static const pam_conv kNoConversation = {nullptr, nullptr};
    pam_handle_t* pamh = nullptr;
    int rc = pam_start(run.service.c_str(), run.user.c_str(), run.conv ? run.conv : &kNoConversation, &pamh);
    if (rc != PAM_SUCCESS) throw std::runtime_error(std::string("pam_start: ") + pam_strerror(nullptr, rc));
    if (!run.rhost.empty()) pam_set_item(pamh, PAM_RHOST, run.rhost.c_str());
    if (!run.tty.empty()) pam_set_item(pamh, PAM_TTY, run.tty.c_str());
    std::vector<int> out;
    for (int step : run.steps) {
        switch (step) {
            case PAMTEST_AUTHENTICATE:
                rc = pam_authenticate(pamh, run.flags);
                break;
            case PAMTEST_SETCRED:
                rc = pam_setcred(pamh, PAM_ESTABLISH_CRED | run.flags);
                break;
            case PAMTEST_ACCOUNT:
                rc = pam_acct_mgmt(pamh, run.flags);
                break;
            case PAMTEST_OPEN_SESSION:
                rc = pam_open_session(pamh, run.flags);
                break;
            case PAMTEST_CLOSE_SESSION:
                rc = pam_close_session(pamh, run.flags);
                break;
            case PAMTEST_CHAUTHTOK:
                rc = pam_chauthtok(pamh, run.flags);
                break;
            default:
                throw std::runtime_error("run_direct: unknown step");
        }
        out.push_back(rc);
    }
    pam_end(pamh, rc);
    return out;
}

LogCapture::LogCapture() {
    char tmpl[] = "/tmp/elevate-pamlog-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp");
    path_ = tmpl;
    std::fflush(stderr);
    saved_ = dup(2);
    dup2(fd, 2);
    close(fd);
    setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1);
}

LogCapture::~LogCapture() {
    unsetenv("PAM_WRAPPER_DEBUGLEVEL");
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    unlink(path_.c_str());
}

std::string LogCapture::text() {
    std::fflush(stderr);
    std::ifstream f(path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace elevate::pamtest

// Re-executes under pam_wrapper (see pam_support.h), then runs the tests.
int main(int argc, char** argv) {
    if (std::getenv("ELEVATE_PAM_TEST_WRAPPED") == nullptr) {
        setenv("ELEVATE_PAM_TEST_WRAPPED", "1", 1);
        setenv("PAM_WRAPPER", "1", 1);
        setenv("PAM_WRAPPER_SERVICE_DIR", PAM_TEST_SERVICE_DIR, 1);
        setenv("LD_PRELOAD", PAM_WRAPPER_LIBRARY, 1);
#if defined(__SANITIZE_ADDRESS__)
        // ASan insists on coming first in the library list; the preloaded
        // wrapper comes before it, which is harmless here.
        std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
        setenv("ASAN_OPTIONS", (asan.empty() ? "" : asan + ":").append("verify_asan_link_order=0").c_str(), 1);
        // pam_wrapper dlopens libpam with RTLD_DEEPBIND, which ASan refuses;
        // this variable (spelt UID_ in pam_wrapper 1.1.4) turns it off.
        setenv("UID_WRAPPER_DISABLE_DEEPBIND", "1", 1);
#endif
        execv("/proc/self/exe", argv);
        std::perror("re-exec under pam_wrapper");
        return 2;
    }
    // The wrapper is loaded now; what we start (elevated, elevatectl,
    // oathtool) needs no PAM and should not carry it.
    unsetenv("LD_PRELOAD");
    ::testing::InitGoogleTest(&argc, argv);
    if (std::getenv("PAM_WRAPPER_RUNTIME_DIR") == nullptr) {
        std::fprintf(stderr, "pam_wrapper did not initialise (no PAM_WRAPPER_RUNTIME_DIR)\n");
        return 2;
    }
    return RUN_ALL_TESTS();
}
