// Shared pieces of the snapshot tests: building snapshots through the real
// writer, patching them (and re-signing, so a structural check rather than
// the checksum is what must catch the damage), and reading results back.
#pragma once

#include "common/snapshot/format.h"
#include "common/snapshot/reader.h"
#include "common/snapshot/writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace elevate::snapshot::test {

using Bytes = std::vector<uint8_t>;

// 8-aligned copy of some bytes (View::validate requires the alignment a
// mapping has).
class Aligned {
public:
    explicit Aligned(const Bytes& b) : words_((b.size() + 7) / 8 + 1, 0), size_(b.size()) {
        if (!b.empty()) std::memcpy(words_.data(), b.data(), b.size());
    }
    const void* data() const { return words_.data(); }
    size_t size() const { return size_; }

private:
    std::vector<uint64_t> words_;
    size_t size_;
};

inline Error validate(const Bytes& b, View* out = nullptr) {
    static thread_local std::vector<Aligned> keep;  // views point into it
    keep.emplace_back(b);
    View v;
    Error e = View::validate(keep.back().data(), keep.back().size(), &v);
    if (out) *out = v;
    return e;
}

inline Bytes encode(const std::vector<RoleEntry>& roles, const std::vector<MemberEntry>& members,
                    uint64_t generation = 1, int64_t written_at = 1700000000) {
    auto r = encode_snapshot(roles, members, generation, written_at);
    if (!r) throw std::runtime_error(r.error().message);
    return *r;
}

inline elevate_snapshot_header header_of(const Bytes& b) {
    elevate_snapshot_header h;
    std::memcpy(&h, b.data(), sizeof h);
    return h;
}

inline void put_header(Bytes& b, const elevate_snapshot_header& h) {
    std::memcpy(b.data(), &h, sizeof h);
}

// Recomputes the checksum over the (modified) bytes; a length that is not
// a whole number of words is left alone (the reader refuses it anyway).
inline void resign(Bytes& b) {
    if (b.size() < sizeof(elevate_snapshot_header) || b.size() % 8 != 0) return;
    std::vector<uint64_t> words(b.size() / 8);
    std::memcpy(words.data(), b.data(), b.size());
    uint64_t sum = elevate_snapshot_checksum(words.data(), words.size());
    std::memcpy(b.data() + offsetof(elevate_snapshot_header, checksum), &sum, 8);
}

template <typename T>
T read_at(const Bytes& b, size_t off) {
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

template <typename T>
void write_at(Bytes& b, size_t off, const T& v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

// Active member names of a group, in order.
inline std::vector<std::string> members_of(const View& v, const GroupRef& g, int64_t now) {
    std::vector<std::string> out;
    v.for_each_active_member(g, now, [&](const MemberRef& m) {
        out.emplace_back(m.name, m.name_len);
        return true;
    });
    return out;
}

inline std::vector<std::string> groups_of(const View& v, const std::string& user, int64_t now) {
    std::vector<std::string> out;
    v.for_each_group_of(user.data(), user.size(), now, [&](const GroupRef& g) {
        out.emplace_back(g.name, g.name_len);
        return true;
    });
    return out;
}

// A fresh root-owned 0700 directory (the reader refuses a directory others
// can write), removed with its contents on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& base = "/tmp") {
        std::string tmpl = base + "/elevate-snap-XXXXXX";
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp in " + base);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline void write_raw(const std::string& path, const Bytes& b, mode_t mode = 0644) {
    std::string tmp = path + ".raw";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
    }
    ::chmod(tmp.c_str(), mode);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("rename " + tmp);
}

// A small, varied snapshot: groups with 0, 1 and several members, a user in
// several groups, names that sort in interesting ways.
inline std::vector<RoleEntry> sample_roles() {
    return {{"db", "db-admin", 61001},
            {"web", "web-admin", 61003},
            {"empty", "empty-role", 61002},
            {"solo", "solo", 60999},
            {"pfx", "db", 61010}};  // a proper prefix of "db-admin": sorts first
}

inline std::vector<MemberEntry> sample_members(int64_t t0) {
    return {{"alice", 61001, t0 + 3600}, {"bob", 61001, t0 + 60},   {"carol", 61001, t0 - 1},
            {"alice", 61003, t0 + 7200}, {"dave", 61003, t0 + 1},   {"alice", 60999, t0 + 10},
            {"zed", 61010, t0 + 100},    {"alice", 61010, t0 + 100}};
}

}  // namespace elevate::snapshot::test
