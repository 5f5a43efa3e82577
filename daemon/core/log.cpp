#include "daemon/core/log.h"

#include <stdio.h>
#include <stdlib.h>

#include <string>

namespace elevate::daemon {

namespace {
bool g_debug = false;

// Under systemd, stderr is a journal stream and "<N>" sets the priority.
bool stderr_is_journal() {
    static const bool journal = secure_getenv("JOURNAL_STREAM") != nullptr;
    return journal;
}
}  // namespace

void set_debug(bool on) {
    g_debug = on;
}

void log(LogLevel level, std::string_view message) {
    if (level == LogLevel::Debug && !g_debug) return;
    std::string line;
    if (stderr_is_journal()) {
        const char prefix[] = {'<', char('0' + int(level)), '>', 0};
        line.append(prefix);
    } else {
        static const char* names[] = {"", "", "", "error: ", "warning: ", "", "", "debug: "};
        line.append("elevated: ");
        line.append(names[int(level)]);
    }
    line.append(message);
    line.push_back('\n');
    fwrite(line.data(), 1, line.size(), stderr);
    fflush(stderr);
}

}  // namespace elevate::daemon
