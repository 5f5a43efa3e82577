#include "cli/prompt.h"

#include "common/base/unique_fd.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace elevate::cli {

namespace {

// State shared with the signal handler. Only one prompt runs at a time, and
// the handler touches nothing but these and async-signal-safe calls.
volatile sig_atomic_t g_tty_fd = -1;
struct termios g_saved;
struct termios g_quiet;

constexpr int kRestoreSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};

extern "C" void restore_and_reraise(int sig) {
    const int saved_errno = errno;
    const int fd = g_tty_fd;
    if (fd >= 0) tcsetattr(fd, TCSANOW, &g_saved);
    if (sig == SIGTSTP) {
        // Stop with the terminal usable; hide input again when resumed.
        kill(getpid(), SIGSTOP);
        if (fd >= 0) tcsetattr(fd, TCSAFLUSH, &g_quiet);
        errno = saved_errno;
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved_errno;
}

// Turns echo off on `fd` for its lifetime; restores on every exit path.
class EchoOff {
public:
    explicit EchoOff(int fd) {
        if (tcgetattr(fd, &g_saved) != 0) return;
        g_quiet = g_saved;
        g_quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK);
        g_quiet.c_lflag |= ECHONL;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = restore_and_reraise;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < kSignals; ++i) sigaction(kRestoreSignals[i], &sa, &old_[i]);
        g_tty_fd = fd;
        if (tcsetattr(fd, TCSAFLUSH, &g_quiet) != 0) {
            restore();
            return;
        }
        active_ = true;
    }
    ~EchoOff() { restore(); }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;

    bool active() const { return active_; }

private:
    static constexpr size_t kSignals = sizeof kRestoreSignals / sizeof kRestoreSignals[0];

    void restore() {
        const int fd = g_tty_fd;
        if (fd < 0) return;
        tcsetattr(fd, TCSANOW, &g_saved);
        g_tty_fd = -1;
        for (size_t i = 0; i < kSignals; ++i) sigaction(kRestoreSignals[i], &old_[i], nullptr);
        active_ = false;
    }

    struct sigaction old_[kSignals];
    bool active_ = false;
};

void write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        ssize_t n = write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        text.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace

base::Result<base::SecureBuffer> read_secret_line(int fd) {
    char line[kMaxSecretLine + 1];
    size_t len = 0;
    bool too_long = false;
    for (;;) {
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            OPENSSL_cleanse(line, sizeof line);
            return base::errno_error("cannot read the verification code", e);
        }
        if (n == 0) break;
        if (c == '\n') break;
        // Keep reading to the end of an over-long line so nothing of it is
        // left for whoever reads the terminal next, but do not store it.
        if (len < kMaxSecretLine)
            line[len++] = c;
        else
            too_long = true;
    }
    if (len > 0 && line[len - 1] == '\r') --len;
    base::SecureBuffer out(std::string_view(line, len));
    OPENSSL_cleanse(line, sizeof line);
    if (too_long) return base::make_error("verification code is too long");
    if (out.empty()) return base::make_error("no verification code given");
    return out;
}

base::Result<base::SecureBuffer> read_secret(std::string_view prompt) {
    if (!isatty(STDIN_FILENO)) return read_secret_line(STDIN_FILENO);

    // Prompt and read on the controlling terminal, so that a redirected
    // stdout (e.g. --json into a file) neither receives the prompt nor
    // changes where the code is typed.
    base::UniqueFd tty(open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
    const int fd = tty.ok() ? tty.get() : STDIN_FILENO;
    EchoOff quiet(fd);
    if (!quiet.active()) return base::make_error("cannot turn off echo on the terminal; refusing to prompt");
    write_all(tty.ok() ? fd : STDERR_FILENO, prompt);
    return read_secret_line(fd);
}

}  // namespace elevate::cli
