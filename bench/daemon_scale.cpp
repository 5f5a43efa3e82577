// bench_daemon_scale: elevated with 100k active grants (DESIGN.md: resident
// memory under 20 MB with 100k grants; start-up with 100k grants under 1 s).
//
//   1. start-up with an empty state directory (the same daemon, the same
//      config): the baseline;
//   2. fill the state: grants are written through elevate::store::Store
//      (one durable commit each, as the daemon writes them). If that would
//      take longer than --max-store-seconds, the rest go in one SQLite
//      transaction with the same INSERT (the daemon then reads the file like
//      any other); both rates are printed;
//   3. start-up with the full state (exec until the first Op::Ping reply),
//      VmRSS/VmHWM right after each start;
//   4. on the last start: 1000 sequential Op::Status requests for users with
//      10 active grants each (latency), memory again; Status from 64
//      concurrent clients; memory again;
//   5. one admin Op::List of every active grant, last because it is the
//      largest allocation the daemon makes (reply size and memory after).
//
// Prints numbers; asserts nothing about time.
#include "bench/support.h"

#include "daemon/store/store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace elevate::bench {
namespace {

const char kUsage[] =
    "Usage: bench_daemon_scale [OPTIONS]\n"
    "\n"
    "Fills a temporary state directory with active grants, starts elevated on it\n"
    "and measures start-up time, resident memory and Status latency. Run as root.\n"
    "\n"
    "  --grants N              active grants (default 100000)\n"
    "  --roles N               roles; users = grants / roles (default 10)\n"
    "  --starts N              timed start-ups each, empty and full (default 5)\n"
    "  --status-requests N     sequential Status requests (default 1000)\n"
    "  --clients N             concurrent clients for the Status throughput (default 64)\n"
    "  --duration SECONDS      length of the concurrent Status phase (default 5)\n"
    "  --max-store-seconds S   budget for one-commit-per-grant inserts (default 120)\n"
    "  --no-list               skip the admin List of every grant\n"
    "  --hold                  at the end, keep the daemon and its state until Ctrl-C\n"
    "                          (to attach perf or copy the state); then clean up\n"
    "  --dir PATH              where the temporary directory is made (default /tmp)\n"
    "  --elevated PATH         the daemon binary (default: the one built with this benchmark)\n";

struct Options {
    int grants = 100000;
    int roles = 10;
    int starts = 5;
    int status_requests = 1000;
    int clients = 64;
    double duration = 5;
    double max_store_seconds = 120;
    bool list = true;
    bool hold = false;
    DaemonOptions daemon{.elevated = ELEVATED_BIN};
};

Options parse_args(int argc, char** argv) {
    Options o;
    BenchArgs args(argc, argv, kUsage, &o.daemon);
    while (args.next()) {
        if (args.is("--grants")) {
            o.grants = args.integer();
        } else if (args.is("--roles")) {
            o.roles = args.integer();
        } else if (args.is("--starts")) {
            o.starts = args.integer();
        } else if (args.is("--status-requests")) {
            o.status_requests = args.integer();
        } else if (args.is("--clients")) {
            o.clients = args.integer();
        } else if (args.is("--duration")) {
            o.duration = args.real();
        } else if (args.is("--max-store-seconds")) {
            o.max_store_seconds = args.real();
        } else if (args.is("--no-list")) {
            o.list = false;
        } else if (args.is("--hold")) {
            o.hold = true;
        } else {
            args.unknown();
        }
    }
    if (o.grants < 1 || o.roles < 1 || o.roles > 100 || o.starts < 1 || o.clients < 1 || o.duration <= 0)
        throw std::runtime_error("counts and durations must be positive (roles at most 100)");
    return o;
}

std::string user_name(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "elvb-u%05d", i);
    return buf;
}

std::string role_name(int r) {
    return "elvb-r" + std::to_string(r);
}

std::string config_text(const std::string& dir, const std::string& state, const std::vector<unsigned>& gids) {
    std::string c = daemon_section(dir, state);
    for (size_t r = 0; r < gids.size(); ++r) {
        c += "\n[[role]]\n"
             "name = \"" +
             role_name(int(r)) +
             "\"\n"
             "gid = " +
             std::to_string(gids[r]) +
             "\n"
             "eligible_groups = [\"elvb-bench-users\"]\n"
             "default_duration = \"1h\"\n"
             "max_duration = \"8h\"\n";
    }
    return c;
}

// Grant number i: user i / roles, role i % roles, started up to an hour ago,
// ending 1 to 8 hours from now (nothing expires during the run).
store::Grant make_grant(int i, int roles, int64_t now, std::mt19937& rng) {
    store::Grant g;
    g.id = store::new_grant_id();
    g.user = user_name(i / roles);
    g.role = role_name(i % roles);
    g.start = now - int64_t(rng() % 3600);
    g.end = now + 3600 + int64_t(rng() % (7 * 3600));
    g.reason = "INC-" + std::to_string(100000 + i);
    g.factor = "totp";
    g.source = "pam:sudo from 10.0.0." + std::to_string(i % 250 + 1) + " on pts/" + std::to_string(i % 10);
    g.state = store::GrantState::Active;
    return g;
}

struct FillResult {
    int via_store = 0;
    double store_seconds = 0;
    int via_batch = 0;
    double batch_seconds = 0;
};

// The same INSERT the store uses (docs/STATE.md), inside one transaction.
void bulk_insert(const std::string& db_path, int from, int to, int roles, int64_t now, std::mt19937& rng) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr) != SQLITE_OK) {
        std::string m = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw std::runtime_error("sqlite3 open " + db_path + ": " + m);
    }
    std::unique_ptr<sqlite3, int (*)(sqlite3*)> owner(db, sqlite3_close);
    auto exec = [&](const char* sql) {
        if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string(sql) + ": " + sqlite3_errmsg(db));
    };
    exec("PRAGMA busy_timeout = 5000");
    exec("BEGIN IMMEDIATE");
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "INSERT INTO grants (id, user, role, start, \"end\", reason, factor, source, state, ended_at, ended_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
        throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(st, sqlite3_finalize);
    for (int i = from; i < to; ++i) {
        const store::Grant g = make_grant(i, roles, now, rng);
        sqlite3_bind_text(st, 1, g.id.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, g.user.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, g.role.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, g.start);
        sqlite3_bind_int64(st, 5, g.end);
        sqlite3_bind_text(st, 6, g.reason.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 7, g.factor.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 8, g.source.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 9, "active", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, 0);
        sqlite3_bind_text(st, 11, "", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) throw std::runtime_error(std::string("insert: ") + sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    exec("COMMIT");
    exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

FillResult fill(const Options& o, const std::string& state_dir) {
    FillResult f;
    std::mt19937 rng(20240601);
    const int64_t now = wall_seconds();
    {
        auto store = store::Store::open(state_dir);
        if (!store) throw std::runtime_error(store.error().message);
        // One durable commit per grant, as the daemon writes them, until the
        // budget is spent; the rate is reported either way.
        const int64_t budget_ns = int64_t(o.max_store_seconds * 1e9);
        int i = 0;
        const int64_t t0 = now_ns();
        for (; i < o.grants; ++i) {
            check_interrupted();
            if (auto r = (*store)->insert_grant(make_grant(i, o.roles, now, rng)); !r)
                throw std::runtime_error("insert_grant: " + r.error().message);
            if ((i & 255) == 255 && now_ns() - t0 > budget_ns) {
                ++i;
                break;
            }
        }
        f.via_store = i;
        f.store_seconds = double(now_ns() - t0) / 1e9;
    }
    if (f.via_store < o.grants) {
        const int64_t t0 = now_ns();
        bulk_insert(state_dir + "/elevate.db", f.via_store, o.grants, o.roles, now, rng);
        f.via_batch = o.grants - f.via_store;
        f.batch_seconds = double(now_ns() - t0) / 1e9;
    }
    return f;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string mb(long kb) {
    return fmt(double(kb) / 1024.0, 1) + " MB";
}

void print_memory(const std::string& when, const Memory& m) {
    std::printf("%-44s VmRSS %8s   VmHWM %8s\n", when.c_str(), mb(m.rss_kb).c_str(), mb(m.hwm_kb).c_str());
}

// Times `n` start-ups; the daemon of the last one is left running in `keep`.
std::vector<double> time_starts(const Options& o, const std::string& dir, const std::string& config, int n,
                                std::unique_ptr<DaemonProcess>* keep, std::vector<Memory>* memory) {
    std::vector<double> ms;
    for (int i = 0; i < n; ++i) {
        check_interrupted();
        auto d =
            std::make_unique<DaemonProcess>(o.daemon.elevated, config, dir + "/elevated.sock", dir + "/elevated.log");
        ms.push_back(double(d->start()) / 1e6);
        memory->push_back(read_memory(d->pid()));
        if (i + 1 == n && keep) {
            *keep = std::move(d);
        } else {
            d->stop();
        }
    }
    return ms;
}

std::string list_ms(const std::vector<double>& v) {
    std::string s;
    for (double x : v) s += (s.empty() ? "" : ", ") + fmt(x, 1);
    return s;
}

int run(int argc, char** argv) {
    const Options o = parse_args(argc, argv);
    install_interrupt_handlers();
    if (geteuid() != 0) throw std::runtime_error("must run as root (the state directory must be root-owned)");
    print_machine();
    const int users = (o.grants + o.roles - 1) / o.roles;
    std::printf("bench_daemon_scale: %d active grants (%d users x %d roles)\n", o.grants, users, o.roles);

    TempDir dir(o.daemon.dir);
    const std::string state = dir.path() + "/state";
    ::mkdir(state.c_str(), 0700);
    std::vector<unsigned> gids;
    unsigned next = 64980;
    for (int r = 0; r < o.roles; ++r) {
        gids.push_back(free_gid(next));
        next = gids.back() - 1;
    }
    const std::string config = dir.path() + "/elevate.conf";
    write_file(config, config_text(dir.path(), state, gids));

    // 1. Baseline: the same daemon on an empty state (the first start
    //    creates the database and runs the schema migration).
    std::printf("\n-- start-up, empty state (exec until the first ping reply)\n");
    std::vector<Memory> empty_memory;
    auto empty = time_starts(o, dir.path(), config, o.starts, nullptr, &empty_memory);
    std::printf("runs: %s ms; median %s ms\n", list_ms(empty).c_str(), fmt(median(empty), 1).c_str());
    print_memory("after start-up, empty state (last run)", empty_memory.back());

    // 2. Fill.
    std::printf("\n-- writing %d grants\n", o.grants);
    const FillResult f = fill(o, state);
    std::printf("through Store::insert_grant (one durable commit each): %d grants in %s s (%s grants/s, %s ms each)\n",
                f.via_store, fmt(f.store_seconds, 1).c_str(), fmt(double(f.via_store) / f.store_seconds, 0).c_str(),
                fmt(1e3 * f.store_seconds / double(f.via_store), 2).c_str());
    if (f.via_batch)
        std::printf("then in one SQLite transaction (budget of %s s spent): %d grants in %s s\n",
                    fmt(o.max_store_seconds, 0).c_str(), f.via_batch, fmt(f.batch_seconds, 1).c_str());
    struct stat st {};
    ::stat((state + "/elevate.db").c_str(), &st);
    std::printf("elevate.db: %s\n", mb(long(st.st_size / 1024)).c_str());

    // 3. Start-up with the full state.
    std::printf("\n-- start-up with %d active grants\n", o.grants);
    std::unique_ptr<DaemonProcess> daemon;
    std::vector<Memory> full_memory;
    auto full = time_starts(o, dir.path(), config, o.starts, &daemon, &full_memory);
    std::printf("runs: %s ms; median %s ms (%s x the empty start-up)   target < 1000 ms: %s\n", list_ms(full).c_str(),
                fmt(median(full), 1).c_str(), fmt(median(full) / median(empty), 1).c_str(),
                median(full) < 1000 ? "met" : "MISSED");
    if (daemon->log().find("loaded " + std::to_string(o.grants) + " active grant(s)") == std::string::npos)
        throw std::runtime_error("the daemon did not report loading every grant:\n" + daemon->log());
    const Memory after_start = read_memory(daemon->pid());
    print_memory("after start-up (last run)", after_start);

    // 4. Status at 100k grants.
    const std::string socket = dir.path() + "/elevated.sock";
    std::mt19937 rng(7);
    std::vector<int64_t> lat;
    size_t reply_bytes = 0;
    int grants_in_reply = -1;
    for (int i = 0; i < o.status_requests; ++i) {
        check_interrupted();
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, user_name(int(rng() % unsigned(users))));
        auto payload = w.take();
        const int64_t t0 = now_ns();
        auto reply = call_expect(socket, wire::Op::Status, payload);
        lat.push_back(now_ns() - t0);
        if (i == 0) {
            reply_bytes = reply.payload.size() + wire::kHeaderSize;
            grants_in_reply = 0;
            auto it = reply.fields.iterate();
            for (wire::Field fld; it.next(&fld);) grants_in_reply += fld.tag == uint16_t(wire::Tag::Grant);
        }
    }
    const Summary s = summarize(lat);
    std::printf("\n-- status at %d grants: %d sequential requests, %d grants / %zu bytes per reply\n", o.grants,
                o.status_requests, grants_in_reply, reply_bytes);
    std::printf("latency: median %s us, p90 %s us, p99 %s us, max %s us\n", fmt(s.median_us).c_str(),
                fmt(s.p90_us).c_str(), fmt(s.p99_us).c_str(), fmt(s.max_us).c_str());
    const Memory after_status = read_memory(daemon->pid());
    print_memory("after " + std::to_string(o.status_requests) + " status requests", after_status);

    std::vector<std::string> payloads;
    // One payload per thread keeps the request loop free of encoding work.
    for (int t = 0; t < o.clients; ++t) {
        wire::BufferWriter w;
        w->put_str(wire::Tag::User, user_name(int(rng() % unsigned(users))));
        auto p = w.take();
        payloads.emplace_back(p.begin(), p.end());
    }
    const wire::ClientOptions options = client_options(socket);
    auto load = run_load(o.clients, o.duration, daemon->pid(), [&](int t, std::string* error) {
        const std::string& p = payloads[size_t(t)];
        auto r = wire::call(options, wire::Op::Status, std::vector<uint8_t>(p.begin(), p.end()));
        if (!r) {
            *error = r.error().message;
            return false;
        }
        if (r->status != wire::Status::Ok) {
            *error = std::string(wire::status_name(r->status)) + ": " + r->message;
            return false;
        }
        return true;
    });
    std::printf("\n");
    print_load("status at " + std::to_string(o.grants) + " grants", load);
    print_memory("after the concurrent status phase", read_memory(daemon->pid()));

    // 5. The largest reply: every active grant.
    if (o.list) {
        const int64_t t0 = now_ns();
        auto r = wire::call(options, wire::Op::List, {});
        const double ms = double(now_ns() - t0) / 1e6;
        std::printf("\n-- admin list of every active grant\n");
        if (!r) {
            std::printf("list: FAILED after %s ms: %s\n", fmt(ms, 1).c_str(), r.error().message.c_str());
        } else {
            int n = 0;
            auto it = r->fields.iterate();
            for (wire::Field fld; it.next(&fld);) n += fld.tag == uint16_t(wire::Tag::Grant);
            std::printf("list: %s, %d grants, %s reply in %s ms\n", wire::status_name(r->status), n,
                        mb(long((r->payload.size() + wire::kHeaderSize) / 1024)).c_str(), fmt(ms, 1).c_str());
        }
        print_memory("after the list", read_memory(daemon->pid()));
    }

    std::printf("\n-- summary (targets from DESIGN.md)\n");
    std::printf("start-up with %d grants: median %s ms (empty: %s ms)   target < 1000 ms: %s\n", o.grants,
                fmt(median(full), 1).c_str(), fmt(median(empty), 1).c_str(), median(full) < 1000 ? "met" : "MISSED");
    // The peak before the list counts: start-up and serving decisions.
    std::printf(
        "resident memory with %d grants: VmRSS %s after start-up, %s after %d status; peak VmHWM %s   "
        "target < 20 MB: %s\n",
        o.grants, mb(after_start.rss_kb).c_str(), mb(after_status.rss_kb).c_str(), o.status_requests,
        mb(after_status.hwm_kb).c_str(), after_status.hwm_kb < 20 * 1024 ? "met" : "MISSED");
    std::printf("status latency at %d grants: median %s us, p99 %s us\n", o.grants, fmt(s.median_us).c_str(),
                fmt(s.p99_us).c_str());
    if (o.hold) {
        std::printf("\nholding: elevated pid %d, config %s, state %s; Ctrl-C cleans up\n", int(daemon->pid()),
                    config.c_str(), state.c_str());
        std::fflush(stdout);
        while (!g_interrupted.load()) pause();
    }
    daemon->stop();
    return 0;
}

}  // namespace
}  // namespace elevate::bench

int main(int argc, char** argv) {
    return elevate::bench::bench_main("bench_daemon_scale", elevate::bench::run, argc, argv);
}
