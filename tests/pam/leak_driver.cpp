// Runs pam_elevate.so through many whole PAM transactions in one process,
// for valgrind (ctest: pam.valgrind_leak_check): dlopen twice, then
// pam_start..pam_end loops over every path that allocates (prompts and
// answers, session ids kept with pam_set_data, replies of every kind,
// denials, daemon down, bad options, no conversation, the code-or-push
// prompt, push, approval requests awaited, approved and left pending).
// Scripted daemons (fake_daemon.h) answer on sockets in a temporary
// directory; the service files live there too (pam_start_confdir, no
// pam_wrapper needed).
#include "fake_daemon.h"

#include <dlfcn.h>
#include <security/pam_appl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

using namespace elevate;
using namespace elevate::pamtest;

namespace {

int g_failures = 0;

// Answers every prompt with a fresh copy of "123456" (freed by the module).
int answer_all(int n, const pam_message** msg, pam_response** resp, void*) {
    auto* replies = static_cast<pam_response*>(calloc(size_t(n), sizeof(pam_response)));
    if (!replies) return PAM_BUF_ERR;
    for (int i = 0; i < n; ++i)
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
            replies[i].resp = strdup("123456");
    *resp = replies;
    return PAM_SUCCESS;
}

constexpr int kAny = -1;  // libpam decides (a close after a failed open reports the open)

void expect(const char* what, int got, int want) {
    if (got == want || want == kAny) return;
    std::fprintf(stderr, "%s: got %d (%s), want %d (%s)\n", what, got, pam_strerror(nullptr, got), want,
                 pam_strerror(nullptr, want));
    ++g_failures;
}

struct Expect {
    int auth, account, open, close;
};

void transaction(const std::string& confdir, const char* service, const char* user, const pam_conv* conv,
                 const Expect& e) {
    pam_handle_t* pamh = nullptr;
    int rc = pam_start_confdir(service, user, conv, confdir.c_str(), &pamh);
    if (rc != PAM_SUCCESS) {
        expect("pam_start_confdir", rc, PAM_SUCCESS);
        return;
    }
    pam_set_item(pamh, PAM_RHOST, "192.0.2.10");
    pam_set_item(pamh, PAM_TTY, "pts/1");
    expect(service, pam_authenticate(pamh, 0), e.auth);
    expect(service, pam_acct_mgmt(pamh, 0), e.account);
    expect(service, pam_open_session(pamh, 0), e.open);
    expect(service, pam_close_session(pamh, 0), e.close);
    // A second open without close: pam_end's cleanup must free the id.
    pam_open_session(pamh, 0);
    pam_end(pamh, PAM_SUCCESS);
}

void write(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s /path/to/pam_elevate.so\n", argv[0]);
        return 2;
    }
    const std::string module = argv[1];

    for (int i = 0; i < 3; ++i) {
        void* a = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
        void* b = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!a || !b || !dlsym(a, "pam_sm_authenticate")) {
            std::fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        dlclose(b);
        dlclose(a);
    }

    char tmpl[] = "/tmp/elevate-pamleak-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    const std::string dir = tmpl;
    const std::string sock = dir + "/fake.sock";
    const std::string down = dir + "/down.sock";
    const std::string push_sock = dir + "/push.sock";

    int counter = 0;
    {
        FakeDaemon fake(sock, [&](const FakeRequest& r) {
            FakeReply reply;
            const int64_t end = int64_t(time(nullptr)) + 3600;
            switch (wire::Op(r.op)) {
                case wire::Op::Authorize:
                    // Alternate: already granted / needs a code and a reason.
                    if (++counter % 2) {
                        reply.fields = [](wire::FieldWriter& w) { w.put_bool(wire::Tag::Granted, true); };
                    } else {
                        reply.fields = [](wire::FieldWriter& w) {
                            w.put_bool(wire::Tag::NeedCode, true);
                            w.put_bool(wire::Tag::NeedReason, true);
                        };
                    }
                    break;
                case wire::Op::Activate:
                case wire::Op::Account:
                    reply.fields = [end](wire::FieldWriter& w) {
                        w.begin_record(wire::Tag::Grant);
                        w.put_str(wire::Tag::Role, "db-admin");
                        w.put_u64(wire::Tag::End, uint64_t(end));
                        w.end_record();
                    };
                    break;
                case wire::Op::SessionOpen:
                    reply.fields = [](wire::FieldWriter& w) { w.put_str(wire::Tag::SessionId, "sess-leak"); };
                    break;
                case wire::Op::Verify:
                    reply.status = wire::Status::Denied;
                    reply.message = "wrong verification code";
                    break;
                default:
                    break;
            }
            return reply;
        });

        // Push and approvals: authorize alternates between "code or push,
        // with a reason" and "a request of yours is pending"; a push-backed
        // activation creates a request; a code-backed one grants at once.
        std::atomic<int> push_counter{0};
        FakeDaemon push_fake(push_sock, [&](const FakeRequest& r) {
            const int64_t end = int64_t(time(nullptr)) + 3600;
            FakeApproval pending;
            FakeApproval approved;
            approved.state = "approved";
            approved.decided_by = "alice";
            switch (wire::Op(r.op)) {
                case wire::Op::Authorize:
                    return ++push_counter % 2 ? authorize_reply(true, true, true) : request_reply(pending);
                case wire::Op::PushStart:
                    return push_started("5f0c8a52-8d7e-4c59-9a43-0e6f3f1c2b7d", "Pixel 8", 30);
                case wire::Op::Activate:
                    return r.has(wire::Tag::Challenge) ? request_reply(pending) : granted_reply("db-admin", end);
                case wire::Op::RequestWait:
                    approved.id = r.u64(wire::Tag::RequestId);
                    return request_reply(approved, end);
                case wire::Op::Account:
                    return granted_reply("db-admin", end);
                case wire::Op::SessionOpen:
                    return ok_reply([](wire::FieldWriter& w) { w.put_str(wire::Tag::SessionId, "sess-push"); });
                default:
                    return ok_reply();
            }
        });

        write(dir + "/other",
              "auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n");
        const std::string opts = " socket=" + sock + " activate=db-admin";
        write(dir + "/ok", "auth required " + module + opts + "\naccount required " + module + opts +
                               " require_grant=db-admin\nsession required " + module + opts + "\n");
        write(dir + "/verify", "auth required " + module + " socket=" + sock + " reauth=always\naccount required " +
                                   module + " socket=" + sock + " require_grant=db-admin\nsession required " + module +
                                   " socket=" + sock + "\n");
        write(dir + "/down", "auth required " + module + " socket=" + down + "\naccount required " + module +
                                 " socket=" + down + " require_grant=db-admin\nsession required " + module +
                                 " socket=" + down + " failmode=open\n");
        write(dir + "/typo", "auth required " + module + " sockett=" + sock + "\naccount required " + module +
                                 " bogus\nsession required " + module + " bogus\n");
        write(dir + "/bg", "auth [success=ok ignore=ignore default=die] " + module + " socket=" + down +
                               " breakglass_users=root\nauth required pam_permit.so\naccount [success=ok "
                               "ignore=ignore default=die] " +
                               module + " socket=" + down +
                               " require_grant=x breakglass_users=root\naccount required pam_permit.so\nsession "
                               "required " +
                               module + " socket=" + down + " breakglass_users=root\n");

        const std::string push_opts = " socket=" + push_sock + " activate=db-admin";
        // autopush: push -> pending request -> wait -> approved; or the pending request from authorize.
        write(dir + "/push", "auth required " + module + push_opts + " autopush approval_wait=5\naccount required " +
                                 module + push_opts + " require_grant=db-admin\nsession required " + module +
                                 push_opts + "\n");
        // The code-or-push prompt answered with a code -> granted; or the pending request, not awaited.
        write(dir + "/combo", "auth required " + module + push_opts + " approval_wait=0\naccount required " + module +
                                  push_opts + " require_grant=db-admin\nsession required " + module + push_opts + "\n");

        const pam_conv conv = {answer_all, nullptr};
        const pam_conv none = {nullptr, nullptr};
        for (int i = 0; i < 20; ++i) {
            transaction(dir, "ok", "root", &conv, {PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS});
            transaction(dir, "verify", "root", &conv, {PAM_AUTH_ERR, PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS});
            transaction(dir, "down", "root", &conv, {PAM_AUTHINFO_UNAVAIL, PAM_PERM_DENIED, PAM_SUCCESS, PAM_SUCCESS});
            transaction(dir, "typo", "root", &conv, {PAM_SERVICE_ERR, PAM_SERVICE_ERR, PAM_SERVICE_ERR, kAny});
            transaction(dir, "bg", "root", &none, {PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS});
            transaction(dir, "push", "root", &conv, {PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS});
            // Odd rounds prompt (code: granted), even ones find the request pending (not awaited: denied).
            transaction(dir, "combo", "root", &conv,
                        {push_counter % 2 ? PAM_AUTH_ERR : PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS, PAM_SUCCESS});
        }
        // No conversation: the granted/prompt alternation gives both paths.
        for (int i = 0; i < 4; ++i) {
            pam_handle_t* pamh = nullptr;
            if (pam_start_confdir("ok", "root", &none, dir.c_str(), &pamh) == PAM_SUCCESS) {
                int rc = pam_authenticate(pamh, 0);
                if (rc != PAM_SUCCESS && rc != PAM_CONV_ERR) expect("ok/no conversation", rc, PAM_CONV_ERR);
                pam_end(pamh, rc);
            }
        }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    if (g_failures) std::fprintf(stderr, "%d unexpected results\n", g_failures);
    return g_failures ? 1 : 0;
}
