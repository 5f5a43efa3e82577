// The open is a walk rather than one open(2) because O_NOFOLLOW only covers
// the last component; openat2(RESOLVE_NO_SYMLINKS) would do the same in one
// call but is newer than some kernels and seccomp filters we run under.
#include "cli/import/secret_file.h"

#include "common/base/unique_fd.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace elevate::cli {
namespace {

std::string owner_text(uid_t uid) {
    struct passwd pw;
    struct passwd* found = nullptr;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) return found->pw_name;
    return "uid " + std::to_string(uid);
}

// Why `name` in `dir` could not be opened: a symbolic link gets its own
// message (the path up to it), anything else the errno.
base::Error open_error(const std::string& path, size_t component_end, int dir, const std::string& name, int err) {
    struct stat st;
    if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return base::make_error("cannot read " + path + ": " + path.substr(0, component_end) +
                                " is a symbolic link (none is followed on an import path); give the real path");
    return base::errno_error("cannot read " + path, err);
}

base::Result<base::UniqueFd> open_without_links(const std::string& path) {
    if (path.empty()) return base::make_error("no file given");
    if (path.back() == '/') return base::make_error("cannot read " + path + ": names a directory");
    base::UniqueFd dir(open(path.front() == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.ok()) return base::errno_error("cannot read " + path);

    size_t pos = 0;
    for (;;) {
        while (pos < path.size() && path[pos] == '/') ++pos;
        const size_t slash = path.find('/', pos);
        const size_t end = slash == std::string::npos ? path.size() : slash;
        const std::string name = path.substr(pos, end - pos);
        if (slash == std::string::npos) {
            // Look before opening: a FIFO or device is never opened at all
            // (opening some devices acts on them).
            struct stat st;
            if (fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                return base::errno_error("cannot read " + path);
            if (S_ISLNK(st.st_mode)) return open_error(path, end, dir.get(), name, ELOOP);
            if (!S_ISREG(st.st_mode)) return base::make_error("refusing " + path + ": not a regular file");
            base::UniqueFd fd(
                openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
            if (!fd.ok()) return open_error(path, end, dir.get(), name, errno);
            return fd;
        }
        // O_PATH needs only search permission; with O_NOFOLLOW a symbolic
        // link is refused (ENOTDIR, as a link is not a directory).
        base::UniqueFd next(openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next.ok()) return open_error(path, end, dir.get(), name, errno);
        dir = std::move(next);
        pos = end;
    }
}

}  // namespace

base::Result<base::SecureBuffer> read_secret_file(const std::string& path, const SecretFileOwner& owner) {
    auto opened = open_without_links(path);
    if (!opened) return std::move(opened).error();
    const base::UniqueFd fd = std::move(opened).value();

    // Checked on the open file: what was looked at above may have been
    // replaced since.
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return base::errno_error("cannot read " + path);
    if (!S_ISREG(st.st_mode)) return base::make_error("refusing " + path + ": not a regular file");
    if (st.st_uid != owner.uid)
        return base::make_error("refusing " + path + ": owned by " + owner_text(st.st_uid) + ", not by " + owner.name +
                                " (" + owner.rule + ")");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
        return base::make_error("refusing " + path + ": writable by others than its owner (mode " + mode +
                                "); run chmod go-w on it first");
    }
    if (static_cast<uint64_t>(st.st_size) > kMaxSecretFileBytes)
        return base::make_error("refusing " + path + ": larger than 64 KiB, so not a secret file");

    char buf[kMaxSecretFileBytes + 1];
    size_t len = 0;
    for (;;) {
        const ssize_t n = read(fd.get(), buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int e = errno;
            OPENSSL_cleanse(buf, len);
            return base::errno_error("cannot read " + path, e);
        }
        if (n == 0) break;
        len += static_cast<size_t>(n);
        if (len > kMaxSecretFileBytes) {  // grew while we read it
            OPENSSL_cleanse(buf, len);
            return base::make_error("refusing " + path + ": larger than 64 KiB, so not a secret file");
        }
    }
    base::SecureBuffer out(std::string_view(buf, len));
    OPENSSL_cleanse(buf, len);
    return out;
}

}  // namespace elevate::cli
