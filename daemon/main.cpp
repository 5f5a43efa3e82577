// elevated: argument parsing, start-up order and the systemd handshake.
// Everything else lives in the parts (server/, handlers/, grants/, ...).
#include "common/config/config.h"
#include "daemon/auth/totp.h"
#include "daemon/core/log.h"
#include "daemon/daemon.h"
#include "daemon/server/listener.h"
#include "daemon/server/server.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace {

const char kUsage[] =
    "Usage: elevated [OPTIONS]\n"
    "\n"
    "The elevate daemon: holds second-factor secrets and time-limited elevation\n"
    "grants, and answers pam_elevate and elevatectl over a Unix socket.\n"
    "\n"
    "Options:\n"
    "  -c, --config PATH   configuration file (default " ELEVATE_DEFAULT_CONFIG
    ")\n"
    "                      drop-ins are read from PATH.d/*.conf\n"
    "      --check-config  validate the configuration, print warnings and exit\n"
    "  -d, --debug         log debug messages\n"
    "  -h, --help          show this help\n"
    "  -V, --version       show the version\n"
    "\n"
    "Signals: SIGHUP reloads the configuration; SIGTERM stops.\n";

struct Options {
    std::string config = ELEVATE_DEFAULT_CONFIG;
    bool check_only = false;
    bool debug = false;
};

int usage_error(const std::string& message) {
    std::fprintf(stderr, "elevated: %s\nTry 'elevated --help'.\n", message.c_str());
    return 2;
}

int run(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "-V" || a == "--version") {
            std::puts("elevated " ELEVATE_VERSION);
            return 0;
        } else if (a == "-c" || a == "--config") {
            if (i + 1 >= argc) return usage_error("option '" + a + "' needs a path");
            opt.config = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            opt.config = a.substr(9);
        } else if (a == "--check-config") {
            opt.check_only = true;
        } else if (a == "-d" || a == "--debug") {
            opt.debug = true;
        } else {
            return usage_error("unknown option '" + a + "'");
        }
    }
    using namespace elevate;
    daemon::set_debug(opt.debug);
    umask(077);

    auto config = config::load_config(opt.config);
    if (!config) {
        std::fprintf(stderr, "elevated: %s\n", config.error().message.c_str());
        return 1;
    }
    if (opt.check_only) {
        // Legal but probably not meant (a shadowed rule): said, not fatal.
        for (const std::string& w : config->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        std::printf("%s: configuration OK (%zu role(s), %zu file(s) read)\n", opt.config.c_str(), config->roles.size(),
                    config->files.size());
        return 0;
    }
    for (const std::string& w : config->warnings) daemon::log_warning(w);
    if (auto r = auth::totp_init(); !r) {
        daemon::log_error(r.error().message);
        return 1;
    }

    // Room for max_clients connections plus the daemon's own files; without
    // it accept() would hit EMFILE first and leave the listener readable.
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        rlim_t want = rlim_t(config->daemon.max_clients) + 64;
        if (files.rlim_cur < want) {
            files.rlim_cur = std::min(want, files.rlim_max);
            setrlimit(RLIMIT_NOFILE, &files);
        }
    }

    // Blocked before any thread exists (the HTTPS worker), so every thread
    // inherits the mask and these signals reach only the server's signalfd.
    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, sig);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    static base::SystemClock clock;
    const std::string socket_path = config->daemon.socket_path;
    auto d = daemon::Daemon::create(std::move(*config), opt.config, clock);
    if (!d) {
        daemon::log_error(d.error().message);
        return 1;
    }
    const bool socket_activated = sd_listen_fds(0) > 0;  // before listen_unix() consumes it
    auto listener = server::listen_unix(socket_path);
    if (!listener) {
        daemon::log_error(listener.error().message);
        return 1;
    }
    daemon::Daemon& daemon_ref = **d;
    server::ServerHooks hooks;
    hooks.reload = [&] { daemon_ref.reload(); };
    hooks.next_timer_ms = [&] { return daemon_ref.next_timer_ms(); };
    hooks.timer = [&] { daemon_ref.on_timer(); };
    hooks.after_replies = [&] { daemon_ref.after_replies(); };
    // Finished HTTPS transfers (push providers, notifications) run their
    // callbacks on this thread, between requests.
    hooks.watched.push_back({daemon_ref.http().wake_fd(), [&] { daemon_ref.http().run_completions(); }});
    hooks.abandoned = [&](uint64_t ticket) { daemon_ref.abandoned(ticket); };
    // WatchdogSec= of the unit: systemd restarts the daemon when WATCHDOG=1
    // stops coming. Sent from the event loop (never from a thread of its
    // own) at half the interval, so one late round is not yet a restart.
    uint64_t watchdog_usec = 0;
    if (int w = sd_watchdog_enabled(0, &watchdog_usec); w > 0) {
        hooks.heartbeat_ms = std::max<int64_t>(1, int64_t(watchdog_usec / 2000));
        hooks.heartbeat = [] { sd_notify(0, "WATCHDOG=1"); };
        daemon::log_debug("systemd watchdog: WATCHDOG=1 every " + std::to_string(hooks.heartbeat_ms) + " ms");
    } else if (w < 0) {
        daemon::log_warning(std::string("ignoring the systemd watchdog settings (WATCHDOG_USEC, WATCHDOG_PID): ") +
                            std::strerror(-w));
    }
    server::Server srv(daemon_ref, std::move(*listener), std::move(hooks));
    daemon_ref.set_resume([&](uint64_t ticket) { srv.resume(ticket); });
    if (auto r = srv.init(); !r) {
        daemon::log_error(r.error().message);
        return 1;
    }
    // Grants that ended while the daemon was down are expired (and audited)
    // before the first client is answered.
    daemon_ref.on_timer();
    daemon::log_info("elevated " ELEVATE_VERSION " listening on " + socket_path);
    sd_notify(0, "READY=1\nSTATUS=serving");
    auto r = srv.run();
    sd_notify(0, "STOPPING=1");
    // A socket we created is removed, so clients see "no such file" rather
    // than "connection refused"; a socket-activated one belongs to systemd.
    if (!socket_activated) ::unlink(socket_path.c_str());
    if (!r) {
        daemon::log_error(r.error().message);
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // The one exception boundary of the daemon.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "elevated: fatal: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "elevated: fatal: unknown exception\n");
    }
    return 1;
}
