// NSS lookup cost, libnss_elevate.so.2 against libnss_files in the same run
// (DESIGN.md, "Performance targets"): getgrnam_r, getgrgid_r and
// getgrouplist through glibc, with a small snapshot and with 10k roles and
// 100k active members. Reports the median ns per lookup over many batches
// and the ratios; asserts nothing (these machines are noisy).
//
// The process selects services with __nss_configure_lookup; glibc dlopens
// "libnss_elevate.so.2" from the build tree through LD_LIBRARY_PATH (set by
// re-executing itself). Needs root: the module reads root-owned snapshots
// only. The breakdown rows show where the time goes: the module called
// directly (no glibc dispatch), the one lstat() it makes per call, and the
// in-memory lookup alone (no system call at all).
#include "common/snapshot/reader.h"
#include "common/snapshot/writer.h"

#include <dlfcn.h>
#include <grp.h>
#include <nss.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace elevate;

namespace {

int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Options {
    int batches = 31;
    double batch_ms = 20;
    int roles = 10000;
    int members = 100000;
    int users = 20000;
};

struct Stat {
    double median = 0, p10 = 0, p90 = 0;
};

// Median (and spread) of ns per call over `batches` batches; the batch size
// is calibrated so one batch takes about batch_ms.
Stat measure(const Options& o, const std::function<void(size_t)>& fn) {
    size_t n = 1;
    for (;;) {  // calibrate
        int64_t t0 = now_ns();
        for (size_t i = 0; i < n; ++i) fn(i);
        double ms = double(now_ns() - t0) / 1e6;
        if (ms >= o.batch_ms / 4 || n >= (size_t(1) << 24)) {
            n = std::max<size_t>(1, size_t(double(n) * o.batch_ms / std::max(ms, 0.001)));
            break;
        }
        n *= 4;
    }
    std::vector<double> per_call;
    size_t k = 0;
    for (int b = 0; b < o.batches; ++b) {
        int64_t t0 = now_ns();
        for (size_t i = 0; i < n; ++i) fn(k++);
        per_call.push_back(double(now_ns() - t0) / double(n));
    }
    std::sort(per_call.begin(), per_call.end());
    auto q = [&](double p) { return per_call[size_t(p * double(per_call.size() - 1) + 0.5)]; };
    return {q(0.5), q(0.1), q(0.9)};
}

std::vector<std::pair<std::string, gid_t>> etc_groups() {
    std::vector<std::pair<std::string, gid_t>> out;
    std::ifstream f("/etc/group");
    std::string line;
    while (std::getline(f, line)) {
        auto a = line.find(':');
        auto b = line.find(':', a + 1);
        auto c = line.find(':', b + 1);
        if (a == std::string::npos || c == std::string::npos) continue;
        out.emplace_back(line.substr(0, a), gid_t(std::stoul(line.substr(b + 1, c - b - 1))));
    }
    return out;
}

struct Scenario {
    std::string label;
    std::vector<snapshot::RoleEntry> roles;
    std::vector<snapshot::MemberEntry> members;
    std::vector<std::string> users;  // each holds at least one active grant
};

Scenario small_scenario(int64_t t) {
    Scenario s{"small (5 roles, 10 members)", {}, {}, {}};
    const char* names[] = {"db-admin", "web-admin", "backup-op", "net-admin", "audit-ro"};
    for (int i = 0; i < 5; ++i) s.roles.push_back({names[i], names[i], gid_t(61000 + i)});
    for (int i = 0; i < 10; ++i) s.members.push_back({"user" + std::to_string(i % 4), gid_t(61000 + i % 5), t + 3600});
    for (int i = 0; i < 4; ++i) s.users.push_back("user" + std::to_string(i));
    return s;
}

Scenario large_scenario(const Options& o, int64_t t) {
    Scenario s{"large (" + std::to_string(o.roles) + " roles, " + std::to_string(o.members) + " members)", {}, {}, {}};
    std::mt19937 rng(4711);
    for (int i = 0; i < o.roles; ++i) {
        std::string name = "role-" + std::to_string(i) + "-admin";
        s.roles.push_back({name, name, gid_t(200000 + i)});
    }
    for (int i = 0; i < o.members; ++i) {
        // Each user holds members/users grants spread over random roles.
        std::string user = "user" + std::to_string(i % o.users);
        s.members.push_back({user, gid_t(200000 + rng() % unsigned(o.roles)), t + 3600});
    }
    for (int i = 0; i < o.users; ++i) s.users.push_back("user" + std::to_string(i));
    return s;
}

void print_row(const std::string& what, const std::string& service, const Stat& s, double reference) {
    std::printf("  %-13s %-14s %9.0f %9.0f %9.0f", what.c_str(), service.c_str(), s.median, s.p10, s.p90);
    if (reference > 0)
        std::printf("   %5.2fx\n", s.median / reference);
    else
        std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> int { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
        if (a == "--batches")
            o.batches = std::max(3, next());
        else if (a == "--roles")
            o.roles = std::max(1, next());
        else if (a == "--members")
            o.members = std::max(1, next());
        else if (a == "--users")
            o.users = std::max(1, next());
        else {
            std::fprintf(stderr, "usage: %s [--batches N] [--roles N] [--members N] [--users N]\n", argv[0]);
            return 2;
        }
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "bench_nss_lookup: must run as root (the module reads root-owned snapshots only)\n");
        return 1;
    }
    // glibc finds libnss_elevate.so.2 through LD_LIBRARY_PATH, which the
    // loader reads at start-up only.
    const char* lp = std::getenv("LD_LIBRARY_PATH");
    if (lp == nullptr || std::string(lp).rfind(NSS_MODULE_DIR, 0) != 0) {
        std::string v = std::string(NSS_MODULE_DIR) + (lp && *lp ? std::string(":") + lp : "");
        setenv("LD_LIBRARY_PATH", v.c_str(), 1);
        execv("/proc/self/exe", argv);
        std::perror("re-exec");
        return 1;
    }
    char tmpl[] = "/tmp/elevate-bench-nss-XXXXXX";
    if (!mkdtemp(tmpl)) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::string dir = tmpl, path = dir + "/groups.snapshot";
    setenv("ELEVATE_NSS_SNAPSHOT", path.c_str(), 1);

    const int64_t t = int64_t(time(nullptr));
    const auto system_groups = etc_groups();
    struct utsname u;
    uname(&u);
    std::printf("bench_nss_lookup: %s %s, %ld CPUs; /etc/group has %zu groups; %d batches of ~%.0f ms each\n",
                u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN), system_groups.size(), o.batches, o.batch_ms);
    std::printf("ns per lookup: median, p10, p90 over batches; ratio = median / libnss_files' median\n");

    std::vector<char> buf(1 << 16);
    std::mt19937 rng(1);
    // Random order, precomputed, so the timed loop is lookups only.
    auto shuffled = [&](size_t n) {
        std::vector<size_t> v(8192);
        for (auto& x : v) x = rng() % n;
        return v;
    };

    // libnss_files on /etc/group: the peer, measured once per scenario so
    // the ratios come from neighbouring measurements.
    auto files_rows = [&](Stat* nam, Stat* gid, Stat* list) {
        if (__nss_configure_lookup("group", "files") != 0) std::perror("__nss_configure_lookup");
        auto order = shuffled(system_groups.size());
        *nam = measure(o, [&](size_t i) {
            struct group gr, *res;
            getgrnam_r(system_groups[order[i % order.size()]].first.c_str(), &gr, buf.data(), buf.size(), &res);
        });
        *gid = measure(o, [&](size_t i) {
            struct group gr, *res;
            getgrgid_r(system_groups[order[i % order.size()]].second, &gr, buf.data(), buf.size(), &res);
        });
        *list = measure(o, [&](size_t) {
            gid_t groups[256];
            int n = 256;
            getgrouplist("root", 0, groups, &n);
        });
    };

    using GetGrNam = enum nss_status (*)(const char*, struct group*, char*, size_t, int*);
    GetGrNam direct = nullptr;
    double large_nam = 0, small_nam = 0, large_list = 0, small_list = 0;

    for (int which = 0; which < 2; ++which) {
        Scenario s = which == 0 ? small_scenario(t) : large_scenario(o, t);
        int64_t w0 = now_ns();
        auto written = snapshot::write_snapshot(path, s.roles, s.members, uint64_t(which + 1));
        int64_t write_ns = now_ns() - w0;
        if (!written) {
            std::fprintf(stderr, "%s\n", written.error().message.c_str());
            return 1;
        }
        struct stat st;
        stat(path.c_str(), &st);

        Stat f_nam, f_gid, f_list;
        files_rows(&f_nam, &f_gid, &f_list);

        if (__nss_configure_lookup("group", "elevate") != 0) std::perror("__nss_configure_lookup");
        // First lookup after a replacement: lstat, open, map, validate
        // everything. What each process pays once per snapshot it sees.
        std::vector<double> firsts;
        for (int r = 0; r < 9; ++r) {
            if (r > 0 && !snapshot::write_snapshot(path, s.roles, s.members, uint64_t(100 + r))) return 1;
            int64_t m0 = now_ns();
            struct group gr, *res = nullptr;
            getgrnam_r(s.roles[0].group.c_str(), &gr, buf.data(), buf.size(), &res);
            firsts.push_back(double(now_ns() - m0));
            if (res == nullptr) {
                std::fprintf(stderr, "the module did not answer; is it built?\n");
                return 1;
            }
        }
        std::sort(firsts.begin(), firsts.end());
        const double first_ns = firsts[firsts.size() / 2];
        auto order = shuffled(s.roles.size());
        auto uorder = shuffled(s.users.size());
        Stat e_nam = measure(o, [&](size_t i) {
            struct group g, *r;
            getgrnam_r(s.roles[order[i % order.size()]].group.c_str(), &g, buf.data(), buf.size(), &r);
        });
        Stat e_gid = measure(o, [&](size_t i) {
            struct group g, *r;
            getgrgid_r(s.roles[order[i % order.size()]].gid, &g, buf.data(), buf.size(), &r);
        });
        Stat e_list = measure(o, [&](size_t i) {
            gid_t groups[256];
            int n = 256;
            getgrouplist(s.users[uorder[i % uorder.size()]].c_str(), 100, groups, &n);
        });
        Stat e_miss = measure(o, [&](size_t) {
            struct group g, *r;
            getgrnam_r("not-a-role", &g, buf.data(), buf.size(), &r);
        });
        // The realistic configuration: files first, then the module.
        __nss_configure_lookup("group", "files elevate");
        Stat chain_nam = measure(o, [&](size_t i) {
            struct group g, *r;
            getgrnam_r(s.roles[order[i % order.size()]].group.c_str(), &g, buf.data(), buf.size(), &r);
        });
        __nss_configure_lookup("group", "elevate");

        // Breakdown.
        if (direct == nullptr) {
            void* h = dlopen("libnss_elevate.so.2", RTLD_NOW | RTLD_NOLOAD);
            direct = h ? reinterpret_cast<GetGrNam>(dlsym(h, "_nss_elevate_getgrnam_r")) : nullptr;
        }
        Stat d_nam{};
        if (direct != nullptr)
            d_nam = measure(o, [&](size_t i) {
                struct group g;
                int err;
                direct(s.roles[order[i % order.size()]].group.c_str(), &g, buf.data(), buf.size(), &err);
            });
        Stat just_stat = measure(o, [&](size_t) {
            struct stat x;
            lstat(path.c_str(), &x);
        });
        std::vector<uint64_t> words(size_t(st.st_size) / 8 + 1);
        {
            std::ifstream f(path, std::ios::binary);
            f.read(reinterpret_cast<char*>(words.data()), st.st_size);
        }
        snapshot::View view;
        snapshot::View::validate(words.data(), size_t(st.st_size), &view);
        Stat mem = measure(o, [&](size_t i) {
            const std::string& name = s.roles[order[i % order.size()]].group;
            snapshot::GroupRef g;
            if (view.find_group(name.data(), name.size(), &g)) {
                uint32_t count;
                size_t bytes;
                view.active_members(g, t, &count, &bytes);
            }
        });

        std::printf(
            "\n%s: snapshot %lld bytes, written (encode + fsync + rename) in %.2f ms, "
            "first lookup after a replacement (map + validate, median of 9) %.2f ms\n",
            s.label.c_str(), (long long)st.st_size, double(write_ns) / 1e6, first_ns / 1e6);
        std::printf("  %-13s %-14s %9s %9s %9s   %s\n", "lookup", "service", "median", "p10", "p90", "vs files");
        print_row("getgrnam_r", "files", f_nam, f_nam.median);
        print_row("getgrnam_r", "elevate", e_nam, f_nam.median);
        print_row("getgrnam_r", "files elevate", chain_nam, f_nam.median);
        print_row("getgrnam_r", "elevate, miss", e_miss, f_nam.median);
        print_row("getgrgid_r", "files", f_gid, f_gid.median);
        print_row("getgrgid_r", "elevate", e_gid, f_gid.median);
        print_row("getgrouplist", "files", f_list, f_list.median);
        print_row("getgrouplist", "elevate", e_list, f_list.median);
        std::printf("  breakdown of an elevate getgrnam_r:\n");
        if (direct != nullptr) print_row("  module call", "(no glibc)", d_nam, 0);
        print_row("  lstat()", "(1 syscall)", just_stat, 0);
        print_row("  in memory", "(no syscall)", mem, 0);
        (which == 0 ? small_nam : large_nam) = e_nam.median;
        (which == 0 ? small_list : large_list) = e_list.median;
    }
    std::printf("\nflatness, large / small (elevate): getgrnam_r %.2fx, getgrouplist %.2fx\n", large_nam / small_nam,
                large_list / small_list);
    std::filesystem::remove_all(dir);
    return 0;
}
