// The few /proc facts session termination needs. Process identity is
// (pid, start time): a pid alone may have been reused by the time a grant
// ends.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::sessions {

struct ProcessInfo {
    pid_t pid = 0;
    pid_t ppid = 0;
    uint64_t start_time = 0;  // clock ticks since boot (stat field 22)
    int tty_nr = 0;           // controlling terminal (stat field 7), 0 if none
};

std::optional<ProcessInfo> read_process(pid_t pid);

// One line of /proc/PID/stat. The command name (field 2) may hold spaces and
// ')', so the fields are read after the last ')'.
std::optional<ProcessInfo> parse_stat(pid_t pid, std::string_view line);

// Whether tty_nr is a virtual console or a serial line (major 4: tty1..63,
// ttyS0..), a terminal only someone at the machine can be on.
bool is_local_terminal(int tty_nr);

// pid and every process below it (by parent links), root first.
std::vector<ProcessInfo> process_tree(pid_t pid);

// /dev/pts/N or /dev/ttyN for a tty_nr, if it is one of those.
std::optional<std::string> tty_path(int tty_nr);

}  // namespace elevate::sessions
