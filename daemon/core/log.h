// Operational log of elevated (not the audit trail): one line per event on
// stderr, which systemd routes to the journal with the priority prefix.
#pragma once

#include <string_view>

namespace elevate::daemon {

enum class LogLevel { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

void log(LogLevel level, std::string_view message);
void set_debug(bool on);

inline void log_error(std::string_view m) {
    log(LogLevel::Error, m);
}
inline void log_warning(std::string_view m) {
    log(LogLevel::Warning, m);
}
inline void log_notice(std::string_view m) {
    log(LogLevel::Notice, m);
}
inline void log_info(std::string_view m) {
    log(LogLevel::Info, m);
}
inline void log_debug(std::string_view m) {
    log(LogLevel::Debug, m);
}

}  // namespace elevate::daemon
