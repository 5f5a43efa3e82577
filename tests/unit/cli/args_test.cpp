// Table tests for elevatectl's argument parser (cli/args.h): every accepted
// form, and every malformed one with the message a user would see.
#include "cli/args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace elevate::cli {
namespace {

// The shape of `activate`: one positional, typed and free-text values, a flag.
ArgSpec activate_like() {
    return ArgSpec{{{"help", 'h', ValueKind::None},
                    {"for", 0, ValueKind::Duration},
                    {"reason", 0, ValueKind::Text},
                    {"force", 0, ValueKind::None},
                    {"timeout", 0, ValueKind::Seconds}},
                   {"ROLE"},
                   1,
                   false};
}

struct Good {
    std::vector<std::string> args;
    std::string role;
    int64_t duration;    // 0: --for absent
    std::string reason;  // "" : --reason absent
    bool force;
};

TEST(ArgsTest, AcceptsEveryGoodForm) {
    const Good cases[] = {
        {{"db"}, "db", 0, "", false},
        {{"db", "--for", "45m"}, "db", 2700, "", false},
        {{"db", "--for=45m"}, "db", 2700, "", false},
        {{"--for", "1h30m", "db"}, "db", 5400, "", false},
        {{"db", "--for", "90"}, "db", 90, "", false},
        {{"db", "--reason", "INC-4711"}, "db", 0, "INC-4711", false},
        {{"db", "--reason=INC 4711 = outage"}, "db", 0, "INC 4711 = outage", false},
        {{"db", "--reason", "-x"}, "db", 0, "-x", false},
        {{"db", "--reason=--x"}, "db", 0, "--x", false},
        {{"db", "--force"}, "db", 0, "", true},
        {{"--force", "--for=2h", "--reason", "r", "db"}, "db", 7200, "r", true},
        {{"--", "-db"}, "-db", 0, "", false},
        {{"--force", "--", "--for"}, "--for", 0, "", true},
        {{"-"}, "-", 0, "", false},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::PrintToString(c.args));
        auto r = parse_args(activate_like(), c.args);
        ASSERT_TRUE(r.ok()) << r.error().message;
        ASSERT_EQ(r->positionals().size(), 1u);
        EXPECT_EQ(r->positionals()[0], c.role);
        EXPECT_EQ(r->number("for").value_or(0), c.duration);
        EXPECT_EQ(r->has("for"), c.duration != 0);
        EXPECT_EQ(r->value("reason").value_or(""), c.reason);
        EXPECT_EQ(r->has("force"), c.force);
        EXPECT_FALSE(r->has("help"));
    }
}

struct Bad {
    std::vector<std::string> args;
    std::string message;
};

TEST(ArgsTest, RejectsEveryMalformedForm) {
    const Bad cases[] = {
        {{}, "missing ROLE"},
        {{"db", "--bogus"}, "unknown option '--bogus'"},
        {{"db", "--bogus=1"}, "unknown option '--bogus'"},
        {{"db", "-x"}, "unknown option '-x'"},
        {{"db", "-hh"}, "unknown option '-hh'"},
        {{"db", "--fo", "45m"}, "unknown option '--fo'"},
        {{"db", "--for"}, "option --for needs a value"},
        {{"db", "--for="}, "option --for needs a value"},
        {{"db", "--reason", "--force"}, "option --reason needs a value"},
        {{"db", "--reason="}, "option --reason needs a value"},
        {{"db", "--reason", ""}, "option --reason needs a value"},
        {{"db", "--force=yes"}, "option --force takes no value"},
        {{"db", "--force", "--force"}, "option --force given twice"},
        {{"db", "--for", "1h", "--for=2h"}, "option --for given twice"},
        {{"db", "extra"}, "unexpected argument 'extra'"},
        {{"db", "--", "extra"}, "unexpected argument 'extra'"},
        {{"db", "--for", "45x"}, "invalid duration '45x' for --for (use e.g. 45m, 2h, 1h30m)"},
        {{"db", "--for", "0"}, "invalid duration '0' for --for (use e.g. 45m, 2h, 1h30m)"},
        {{"db", "--for", "-5m"}, "invalid duration '-5m' for --for (use e.g. 45m, 2h, 1h30m)"},
        {{"db", "--for", "30m1h"}, "invalid duration '30m1h' for --for (use e.g. 45m, 2h, 1h30m)"},
        {{"db", "--for=m"}, "invalid duration 'm' for --for (use e.g. 45m, 2h, 1h30m)"},
        {{"db", "--timeout", "0"}, "invalid value '0' for --timeout (whole seconds, 1 to 3600)"},
        {{"db", "--timeout", "1.5"}, "invalid value '1.5' for --timeout (whole seconds, 1 to 3600)"},
        {{"db", "--timeout", "99999"}, "invalid value '99999' for --timeout (whole seconds, 1 to 3600)"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::PrintToString(c.args));
        auto r = parse_args(activate_like(), c.args);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message, c.message);
        // One line: main prints it after "elevatectl: ".
        EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
    }
}

TEST(ArgsTest, HelpNeedsNoPositionals) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"}, {"-h"}, {"db", "-h"}}) {
        auto r = parse_args(activate_like(), args);
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(r->has("help"));
    }
}

TEST(ArgsTest, OptionalPositional) {
    const ArgSpec spec{{{"help", 'h', ValueKind::None}}, {"USER"}, 0, false};
    auto none = parse_args(spec, {});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->positionals().empty());
    auto one = parse_args(spec, {"alice"});
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(one->positionals(), std::vector<std::string>{"alice"});
    auto two = parse_args(spec, {"alice", "bob"});
    ASSERT_FALSE(two.ok());
    EXPECT_EQ(two.error().message, "unexpected argument 'bob'");
}

TEST(ArgsTest, NoPositionalsAllowed) {
    const ArgSpec spec{{{"user", 0, ValueKind::Text}}, {}, 0, false};
    auto r = parse_args(spec, {"--user", "alice", "bob"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message, "unexpected argument 'bob'");
}

// `--wait` alone or `--wait=SECONDS`; the next argument is never its value.
TEST(ArgsTest, OptionalValue) {
    const ArgSpec spec{
        {{.name = "wait", .kind = ValueKind::Seconds, .value_optional = true}, {"reason", 0, ValueKind::Text}},
        {"ROLE"},
        1,
        false};
    auto bare = parse_args(spec, {"--wait", "db"});
    ASSERT_TRUE(bare.ok()) << bare.error().message;
    EXPECT_TRUE(bare->has("wait"));
    EXPECT_EQ(bare->number("wait"), std::nullopt);
    EXPECT_EQ(bare->value("wait"), std::nullopt);
    EXPECT_EQ(bare->positionals(), std::vector<std::string>{"db"});

    auto given = parse_args(spec, {"db", "--wait=90"});
    ASSERT_TRUE(given.ok());
    EXPECT_EQ(given->number("wait"), 90);
    EXPECT_EQ(given->value("wait"), "90");

    auto absent = parse_args(spec, {"db"});
    ASSERT_TRUE(absent.ok());
    EXPECT_FALSE(absent->has("wait"));

    auto separate = parse_args(spec, {"db", "--wait", "90"});
    ASSERT_FALSE(separate.ok());
    EXPECT_EQ(separate.error().message, "unexpected argument '90' (write --wait=90 to give it a value)");
    auto after_other = parse_args(spec, {"db", "--wait", "--reason", "r", "x"});
    ASSERT_FALSE(after_other.ok());
    EXPECT_EQ(after_other.error().message, "unexpected argument 'x'");
    auto empty = parse_args(spec, {"db", "--wait="});
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().message, "option --wait needs a value");
}

TEST(ArgsTest, RequiredOption) {
    const ArgSpec spec{{{"help", 'h', ValueKind::None}, {.name = "reason", .kind = ValueKind::Text, .required = true}},
                       {"ID"},
                       1,
                       false};
    auto missing = parse_args(spec, {"7"});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().message, "option --reason is required");
    // A missing positional is named first.
    auto neither = parse_args(spec, {});
    ASSERT_FALSE(neither.ok());
    EXPECT_EQ(neither.error().message, "missing ID");
    EXPECT_TRUE(parse_args(spec, {"7", "--reason", "r"}).ok());
    EXPECT_TRUE(parse_args(spec, {"-h"}).ok());
}

// Global options stop at the verb and leave the rest untouched, including
// options that only the verb knows.
TEST(ArgsTest, GlobalOptionsStopAtVerb) {
    const ArgSpec global{{{"json", 0, ValueKind::None}, {"socket", 0, ValueKind::Text}}, {}, 0, true};
    auto r = parse_args(global, {"--socket=/tmp/s", "--json", "activate", "db", "--for", "1h", "--json"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->value("socket"), "/tmp/s");
    EXPECT_TRUE(r->has("json"));
    EXPECT_EQ(r->rest(), (std::vector<std::string>{"activate", "db", "--for", "1h", "--json"}));

    auto bad = parse_args(global, {"--for", "1h", "activate"});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().message, "unknown option '--for'");

    auto empty = parse_args(global, {"--json"});
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->rest().empty());
}

}  // namespace
}  // namespace elevate::cli
