#include "daemon/sessions/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

namespace elevate::sessions {

std::optional<ProcessInfo> read_process(pid_t pid) {
    // Plain read(2): a request's source resolution reads a few of these.
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%d/stat", int(pid));
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    char buf[1024];  // the line is far shorter (comm is at most 16 bytes)
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return std::nullopt;
    return parse_stat(pid, std::string_view(buf, size_t(n)));
}

std::optional<ProcessInfo> parse_stat(pid_t pid, std::string_view line) {
    auto close = line.rfind(')');
    if (close == std::string_view::npos || close + 2 >= line.size()) return std::nullopt;
    const std::string rest(line.substr(close + 2));  // from field 3 (state)
    ProcessInfo info;
    info.pid = pid;
    char state;
    int ppid, pgrp, session, tty_nr;
    unsigned long long start = 0;
    // fields: 3 state, 4 ppid, 5 pgrp, 6 session, 7 tty_nr, 8..21 skipped, 22 starttime
    if (std::sscanf(rest.c_str(), "%c %d %d %d %d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
                    &ppid, &pgrp, &session, &tty_nr, &start) != 6)
        return std::nullopt;
    info.ppid = ppid;
    info.tty_nr = tty_nr;
    info.start_time = start;
    return info;
}

std::vector<ProcessInfo> process_tree(pid_t root) {
    std::vector<ProcessInfo> all;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc"), closedir);
    if (!dir) return {};
    while (struct dirent* e = readdir(dir.get())) {
        char* end;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end != 0 || pid <= 0) continue;
        if (auto info = read_process(pid_t(pid))) all.push_back(*info);
    }
    std::multimap<pid_t, ProcessInfo> children;
    std::optional<ProcessInfo> top;
    for (const auto& p : all) {
        children.emplace(p.ppid, p);
        if (p.pid == root) top = p;
    }
    std::vector<ProcessInfo> tree;
    if (!top) return tree;
    tree.push_back(*top);
    for (size_t i = 0; i < tree.size() && tree.size() < 100000; ++i) {
        auto range = children.equal_range(tree[i].pid);
        for (auto it = range.first; it != range.second; ++it) tree.push_back(it->second);
    }
    return tree;
}

namespace {
// tty_nr packs the device number as the kernel's new_encode_dev does.
unsigned tty_major(int tty_nr) {
    return (unsigned(tty_nr) >> 8) & 0xfff;
}
unsigned tty_minor(int tty_nr) {
    return (unsigned(tty_nr) & 0xff) | ((unsigned(tty_nr) >> 12) & 0xfff00);
}
}  // namespace

bool is_local_terminal(int tty_nr) {
    return tty_nr != 0 && tty_major(tty_nr) == 4;
}

std::optional<std::string> tty_path(int tty_nr) {
    if (tty_nr == 0) return std::nullopt;
    const unsigned major = tty_major(tty_nr);
    const unsigned minor = tty_minor(tty_nr);
    if (major >= 136 && major <= 143) return "/dev/pts/" + std::to_string((major - 136) * 256 + minor);
    if (major == 4 && minor < 64) return "/dev/tty" + std::to_string(minor);
    return std::nullopt;
}

}  // namespace elevate::sessions
