// The module's option parser on its own: every option, every bad value,
// unknown and repeated options, and the list helpers. The PAM-level effect
// (PAM_SERVICE_ERR, the log line) is in pam_stack_test.cpp.
#include "pam_module/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace elevate::pam;

namespace {

struct Parsed {
    bool ok = false;
    Options options;
    std::string error;
};

Parsed parse(std::vector<const char*> args) {
    Parsed p;
    char error[256] = "untouched";
    p.ok = parse_options(int(args.size()), args.data(), &p.options, error, sizeof error);
    p.error = error;
    return p;
}

}  // namespace

TEST(PamOptions, DefaultsAreFailClosed) {
    Parsed p = parse({});
    ASSERT_TRUE(p.ok);
    EXPECT_STREQ(p.options.socket, ELEVATE_DEFAULT_SOCKET);
    EXPECT_EQ(p.options.timeout_seconds, 10u);
    EXPECT_EQ(p.options.failmode, FailMode::Secure);
    EXPECT_EQ(p.options.activate, nullptr);
    EXPECT_EQ(p.options.require_grant, nullptr);
    EXPECT_FALSE(p.options.reauth);
    EXPECT_STREQ(p.options.prompt, "Verification code: ");
    EXPECT_FALSE(p.options.debug);
    EXPECT_FALSE(p.options.quiet);
    EXPECT_EQ(p.options.breakglass_users, nullptr);
    EXPECT_FALSE(p.options.autopush);
    EXPECT_EQ(p.options.approval_wait_seconds, 60u);
}

TEST(PamOptions, APromptInAnyScriptIsKept) {
    Parsed p =
        parse({"prompt=C\xc3\xb3"
               "digo de verificaci\xc3\xb3n: "});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_STREQ(p.options.prompt,
                 "C\xc3\xb3"
                 "digo de verificaci\xc3\xb3n: ");
}

TEST(PamOptions, EveryOptionIsRead) {
    Parsed p = parse({"socket=/run/x/elevated.sock", "timeout=60", "failmode=open", "activate=db-admin",
                      "require_grant=db-admin,web_2", "reauth=always", "prompt=Enter code: ", "debug", "quiet",
                      "breakglass_users=root,ops@corp", "autopush", "approval_wait=600"});
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_STREQ(p.options.socket, "/run/x/elevated.sock");
    EXPECT_EQ(p.options.timeout_seconds, 60u);
    EXPECT_EQ(p.options.failmode, FailMode::Open);
    EXPECT_STREQ(p.options.activate, "db-admin");
    EXPECT_STREQ(p.options.require_grant, "db-admin,web_2");
    EXPECT_TRUE(p.options.reauth);
    EXPECT_STREQ(p.options.prompt, "Enter code: ");
    EXPECT_TRUE(p.options.debug);
    EXPECT_TRUE(p.options.quiet);
    EXPECT_STREQ(p.options.breakglass_users, "root,ops@corp");
    EXPECT_TRUE(p.options.autopush);
    EXPECT_EQ(p.options.approval_wait_seconds, 600u);

    Parsed q = parse({"failmode=secure", "reauth=never", "timeout=1", "approval_wait=0"});
    ASSERT_TRUE(q.ok) << q.error;
    EXPECT_EQ(q.options.failmode, FailMode::Secure);
    EXPECT_FALSE(q.options.reauth);
    EXPECT_EQ(q.options.timeout_seconds, 1u);
    EXPECT_EQ(q.options.approval_wait_seconds, 0u);  // do not wait for approvers
}

TEST(PamOptions, BadInputIsRefusedWithAReasonNamingIt) {
    struct Case {
        std::vector<const char*> args;
        const char* error;
    } cases[] = {
        {{"requre_grant=db-admin"}, "unknown option \"requre_grant=db-admin\""},
        {{"Debug"}, "unknown option \"Debug\""},
        {{""}, "unknown option \"\""},
        {{"=x"}, "unknown option \"=x\""},
        {{"debug", "debug"}, "option \"debug\" given twice"},
        {{"timeout=5", "timeout=5"}, "option \"timeout\" given twice"},
        {{"debug=1"}, "option \"debug\" takes no value"},
        {{"quiet="}, "option \"quiet\" takes no value"},
        {{"timeout"}, "option \"timeout\" needs a value"},
        {{"timeout="}, "timeout="},
        {{"timeout=0"}, "1 to 60"},
        {{"timeout=61"}, "1 to 60"},
        {{"timeout=-1"}, "1 to 60"},
        {{"timeout= 5"}, "1 to 60"},
        {{"timeout=5s"}, "1 to 60"},
        {{"timeout=99999999999999999999999"}, "1 to 60"},
        {{"failmode=closed"}, "\"secure\" or \"open\""},
        {{"failmode="}, "\"secure\" or \"open\""},
        {{"reauth=yes"}, "\"always\" or \"never\""},
        {{"socket=relative.sock"}, "absolute path"},
        {{"socket="}, "absolute path"},
        {{"activate=DB"}, "not a role name"},
        {{"activate=1db"}, "not a role name"},
        {{"activate=db admin"}, "not a role name"},
        {{"activate=abcdefghijabcdefghijabcdefghijabc"}, "not a role name"},
        {{"require_grant="}, "comma-separated list of role names"},
        {{"require_grant=a,"}, "comma-separated list of role names"},
        {{"require_grant=,a"}, "comma-separated list of role names"},
        {{"require_grant=a,,b"}, "comma-separated list of role names"},
        {{"breakglass_users=root,"}, "comma-separated list of user names"},
        {{"breakglass_users=ro ot"}, "comma-separated list of user names"},
        {{"breakglass_users=a:b"}, "comma-separated list of user names"},
        {{"autopush=1"}, "option \"autopush\" takes no value"},
        {{"autopush="}, "option \"autopush\" takes no value"},
        {{"autopush", "autopush"}, "option \"autopush\" given twice"},
        {{"approval_wait"}, "option \"approval_wait\" needs a value"},
        {{"approval_wait=5", "approval_wait=5"}, "option \"approval_wait\" given twice"},
        {{"approval_wait="}, "0 to 600"},
        {{"approval_wait=601"}, "0 to 600"},
        {{"approval_wait=-1"}, "0 to 600"},
        {{"approval_wait=60s"}, "0 to 600"},
        {{"approval_wait= 60"}, "0 to 600"},
        {{"approval_wait=1e2"}, "0 to 600"},
        {{"approval_wait=99999999999999999999999"}, "0 to 600"},
        {{"prompt="}, "1-128 printable bytes"},
        {{"prompt=a\x1b[2Jb"}, "1-128 printable bytes"},
        {{"prompt=a\xc2\x9b"
          "2Jb"},
         "1-128 printable bytes"},                               // C1 CSI, in UTF-8
        {{"prompt=code\xe2\x80\xae"}, "1-128 printable bytes"},  // bidi override
        {{"prompt=code\xff"}, "1-128 printable bytes"},          // not UTF-8
    };
    for (const auto& c : cases) {
        Parsed p = parse(c.args);
        EXPECT_FALSE(p.ok) << c.args[0];
        EXPECT_NE(p.error.find(c.error), std::string::npos) << c.args[0] << " -> " << p.error;
    }
    std::string long_socket = "socket=/" + std::string(107, 's');
    EXPECT_FALSE(parse({long_socket.c_str()}).ok);
    std::string long_prompt = "prompt=" + std::string(129, 'p');
    EXPECT_FALSE(parse({long_prompt.c_str()}).ok);
    std::string many = "require_grant=r";
    for (int i = 0; i < 32; ++i) many += ",r";
    EXPECT_FALSE(parse({many.c_str()}).ok);
}

TEST(PamOptions, NullArgumentsAreSkipped) {
    std::vector<const char*> args = {nullptr, "debug"};
    Options o;
    char error[64];
    EXPECT_TRUE(parse_options(2, args.data(), &o, error, sizeof error));
    EXPECT_TRUE(o.debug);
}

TEST(PamOptions, ListContainsMatchesWholeElementsOnly) {
    EXPECT_TRUE(list_contains("root,admin2", "root"));
    EXPECT_TRUE(list_contains("root,admin2", "admin2"));
    EXPECT_TRUE(list_contains("root", "root"));
    EXPECT_FALSE(list_contains("root,admin2", "admin"));
    EXPECT_FALSE(list_contains("root,admin2", "roo"));
    EXPECT_FALSE(list_contains("root,admin2", "root,admin2"));
    EXPECT_FALSE(list_contains("root", ""));
    EXPECT_FALSE(list_contains(nullptr, "root"));
}

TEST(PamOptions, CheckedNumberParser) {
    unsigned v = 7;
    EXPECT_TRUE(parse_unsigned("42", 1, 60, &v));
    EXPECT_EQ(v, 42u);
    EXPECT_TRUE(parse_unsigned("007", 1, 60, &v));
    EXPECT_EQ(v, 7u);
    for (const char* bad : {"", "0", "61", "+5", "-5", "5 ", " 5", "0x10", "1e1", "18446744073709551617"}) {
        v = 99;
        EXPECT_FALSE(parse_unsigned(bad, 1, 60, &v)) << bad;
        EXPECT_EQ(v, 99u) << bad;  // untouched on failure
    }
    EXPECT_FALSE(parse_unsigned(nullptr, 0, 1, &v));
}
