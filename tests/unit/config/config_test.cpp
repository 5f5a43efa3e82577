#include "config_fixture.h"

#include <regex>

namespace {

TEST_F(ConfigLoad, EmptyFileGivesDefaults) {
    write_main("");
    Config config = load_ok();
    EXPECT_EQ(config.daemon.socket_path, ELEVATE_DEFAULT_SOCKET);
    EXPECT_EQ(config.daemon.state_dir, ELEVATE_DEFAULT_STATEDIR);
    EXPECT_EQ(config.daemon.admin_group, "elevate-admins");
    EXPECT_EQ(config.daemon.client_timeout_ms, 5000);
    EXPECT_EQ(config.daemon.max_clients, 1024);
    EXPECT_EQ(config.daemon.max_clients_per_user, 16);
    EXPECT_TRUE(config.daemon.audit_journal);
    EXPECT_EQ(config.totp.digits, 6);
    EXPECT_EQ(config.totp.period, 30);
    EXPECT_EQ(config.totp.drift_steps, 1);
    EXPECT_EQ(config.totp.algorithm, TotpAlgorithm::Sha1);
    EXPECT_EQ(config.totp.issuer, "elevate");
    EXPECT_EQ(config.lockout.max_failures, 5);
    EXPECT_EQ(config.lockout.window, 900);
    EXPECT_EQ(config.lockout.duration, 900);
    EXPECT_TRUE(config.roles.empty());
    EXPECT_EQ(config.files, std::vector<std::string>{main_});
}

TEST_F(ConfigLoad, MinimalRoleGetsDefaults) {
    write_main(kDbAdmin);
    Config config = load_ok();
    ASSERT_EQ(config.roles.size(), 1u);
    const Role& role = config.roles[0];
    EXPECT_EQ(role.name, "db-admin");
    EXPECT_EQ(role.group, "db-admin");
    EXPECT_EQ(role.gid, 60001u);
    EXPECT_EQ(role.eligible_users, std::vector<std::string>{"alice"});
    EXPECT_TRUE(role.eligible_groups.empty());
    EXPECT_EQ(role.default_duration, 3600);
    EXPECT_EQ(role.max_duration, 8 * 3600);
    EXPECT_EQ(role.factor, Factor::Totp);
    EXPECT_FALSE(role.require_reason);
    EXPECT_EQ(role.on_expiry, OnExpiry::Keep);
}

TEST_F(ConfigLoad, EveryKeyParsed) {
    write_main(R"(
[daemon]
socket = "/run/x/d.sock"
state_dir = "/var/lib/x"
admin_group = "wheel"
audit_file = ""
audit_journal = false
snapshot = "/run/x/groups"
client_timeout_ms = 2500
max_clients = 64

[totp]
digits = 8
period = "1m"
drift_steps = 2
algorithm = "sha512"
issuer = "ACME prod"

[lockout]
max_failures = 3
window = "10m"
duration = "1h"

[[role]]
name = "db-admin"
group = "db_admins"
gid = 60001
eligible_users = ["alice", "bob"]
eligible_groups = ["dba"]
default_duration = "45m"
max_duration = "2h"
factor = "any"
require_reason = true
on_expiry = "terminate"

[push]
provider = "webhook"
timeout = "90s"
hostname = "db1.example.com"

[push.webhook]
url = "https://approvals.example.com/elevate/v1/"
secret = "0123456789abcdef0123456789abcdef"
poll_interval = "2s"
ca_file = "/etc/elevate/ca.pem"
pinned_key = "sha256//AAAA"
proxy = "http://proxy.example.com:3128"
connect_timeout = "3s"
request_timeout = "20s"

[push.duo]
api_host = "api-12345678.duosecurity.com"
integration_key = "DIXXXXXXXXXXXXXXXXXX"
secret_key = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"

[notify]
url = "https://chat.example.com/hooks/elevate"
secret = "fedcba9876543210fedcba9876543210"
max_attempts = 4
max_backoff = "1m"

[[role]]
name = "web-admin"
gid = 60002
eligible_groups = ["web"]
factor = "push"
approval = { approvers = ["group:sec-leads", "user:carol"], count = 2, timeout = "30m" }
)");
    ::chmod(main_.c_str(), 0600);  // it holds secrets
    Config config = load_ok();
    EXPECT_EQ(config.daemon.socket_path, "/run/x/d.sock");
    EXPECT_EQ(config.daemon.state_dir, "/var/lib/x");
    EXPECT_EQ(config.daemon.admin_group, "wheel");
    EXPECT_EQ(config.daemon.audit_file, "");
    EXPECT_FALSE(config.daemon.audit_journal);
    EXPECT_EQ(config.daemon.snapshot_path, "/run/x/groups");
    EXPECT_EQ(config.daemon.client_timeout_ms, 2500);
    EXPECT_EQ(config.daemon.max_clients, 64);
    EXPECT_EQ(config.totp.digits, 8);
    EXPECT_EQ(config.totp.period, 60);
    EXPECT_EQ(config.totp.drift_steps, 2);
    EXPECT_EQ(config.totp.algorithm, TotpAlgorithm::Sha512);
    EXPECT_EQ(config.totp.issuer, "ACME prod");
    EXPECT_EQ(config.lockout.max_failures, 3);
    EXPECT_EQ(config.lockout.window, 600);
    EXPECT_EQ(config.lockout.duration, 3600);

    ASSERT_EQ(config.roles.size(), 2u);
    const Role& db = config.roles[0];
    EXPECT_EQ(db.name, "db-admin");
    EXPECT_EQ(db.group, "db_admins");
    EXPECT_EQ(db.gid, 60001u);
    EXPECT_EQ(db.eligible_users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(db.eligible_groups, std::vector<std::string>{"dba"});
    EXPECT_EQ(db.default_duration, 45 * 60);
    EXPECT_EQ(db.max_duration, 7200);
    EXPECT_EQ(db.factor, Factor::Any);
    EXPECT_TRUE(db.require_reason);
    EXPECT_EQ(db.on_expiry, OnExpiry::Terminate);
    EXPECT_EQ(config.roles[1].factor, Factor::Push);
    EXPECT_EQ(config.roles[1].group, "web-admin");
    EXPECT_FALSE(db.approval.has_value());
    ASSERT_TRUE(config.roles[1].approval.has_value());
    EXPECT_EQ(config.roles[1].approval->approvers, (std::vector<std::string>{"group:sec-leads", "user:carol"}));
    EXPECT_EQ(config.roles[1].approval->count, 2);
    EXPECT_EQ(config.roles[1].approval->timeout, 1800);

    EXPECT_EQ(config.push.provider, PushProviderKind::Webhook);
    EXPECT_EQ(config.push.timeout, 90);
    EXPECT_EQ(config.push.hostname, "db1.example.com");
    EXPECT_EQ(config.push.webhook.endpoint.url, "https://approvals.example.com/elevate/v1");  // trailing '/' dropped
    EXPECT_EQ(config.push.webhook.secret, "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(config.push.webhook.poll_interval_ms, 2000);
    EXPECT_EQ(config.push.webhook.endpoint.ca_file, "/etc/elevate/ca.pem");
    EXPECT_EQ(config.push.webhook.endpoint.pinned_key, "sha256//AAAA");
    EXPECT_EQ(config.push.webhook.endpoint.proxy, "http://proxy.example.com:3128");
    EXPECT_EQ(config.push.webhook.endpoint.connect_timeout_ms, 3000);
    EXPECT_EQ(config.push.webhook.endpoint.request_timeout_ms, 20000);
    EXPECT_EQ(config.push.duo.api_host, "api-12345678.duosecurity.com");
    EXPECT_EQ(config.push.duo.integration_key, "DIXXXXXXXXXXXXXXXXXX");
    EXPECT_EQ(config.notify.endpoint.url, "https://chat.example.com/hooks/elevate");
    EXPECT_EQ(config.notify.max_attempts, 4);
    EXPECT_EQ(config.notify.max_backoff_ms, 60000);

    ASSERT_NE(config.find_role("web-admin"), nullptr);
    EXPECT_EQ(config.find_role("web-admin")->gid, 60002u);
    EXPECT_EQ(config.find_role("nope"), nullptr);
}

TEST_F(ConfigLoad, ClientTimeoutAsDuration) {
    write_main("[daemon]\nclient_timeout = \"10s\"\n");
    EXPECT_EQ(load_ok().daemon.client_timeout_ms, 10000);
}

TEST_F(ConfigLoad, GroupCacheDefaultsToFiveSecondsAndZeroTurnsItOff) {
    write_main("");
    EXPECT_EQ(load_ok().daemon.group_cache_seconds, 5);
    write_main("[daemon]\ngroup_cache = \"30s\"\n");
    EXPECT_EQ(load_ok().daemon.group_cache_seconds, 30);
    write_main("[daemon]\ngroup_cache = \"0s\"\n");
    EXPECT_EQ(load_ok().daemon.group_cache_seconds, 0);
    EXPECT_CONTAINS(error_for("[daemon]\ngroup_cache = \"10m\"\n"),
                    main_ + ":2: key 'daemon.group_cache': must be between 1s and 5m");
    EXPECT_CONTAINS(error_for("[daemon]\ngroup_cache = 5\n"), "must be a duration string");
}

TEST_F(ConfigLoad, ClientTimeoutBothSpellingsInOneFileRejected) {
    EXPECT_CONTAINS(error_for("[daemon]\nclient_timeout = \"10s\"\nclient_timeout_ms = 100\n"),
                    main_ + ":3: key 'daemon.client_timeout_ms': set either");
}

TEST_F(ConfigLoad, ClientTimeoutDropInMayUseOtherSpelling) {
    write_main("[daemon]\nclient_timeout = \"10s\"\n");
    write_drop_in("a.conf", "[daemon]\nclient_timeout_ms = 700\n");
    EXPECT_EQ(load_ok().daemon.client_timeout_ms, 700);
}

TEST_F(ConfigLoad, DropInsSortedByByteOrderLaterWins) {
    write_main("[totp]\ndigits = 6\nissuer = \"main\"\n");
    // Written out of order; "Z" sorts before "a" in byte order.
    std::string b = write_drop_in("b.conf", "[totp]\ndigits = 8\n");
    std::string a = write_drop_in("a.conf", "[totp]\ndigits = 7\ndrift_steps = 3\n");
    std::string z = write_drop_in("Z.conf", "[totp]\ndigits = 6\ndrift_steps = 4\n");
    Config config = load_ok();
    EXPECT_EQ(config.totp.digits, 8);
    EXPECT_EQ(config.totp.drift_steps, 3);
    EXPECT_EQ(config.totp.issuer, "main");  // not mentioned by any drop-in: kept
    EXPECT_EQ(config.files, (std::vector<std::string>{main_, z, a, b}));
}

TEST_F(ConfigLoad, DropInReplacesRoleWhole) {
    write_main(R"(
[[role]]
name = "db-admin"
gid = 60001
eligible_users = ["alice"]
require_reason = true
factor = "push"

[[role]]
name = "web-admin"
gid = 60002
eligible_users = ["carol"]
)");
    write_drop_in("50-db.conf", R"(
[[role]]
name = "db-admin"
gid = 60003
eligible_users = ["bob"]
)");
    Config config = load_ok();
    ASSERT_EQ(config.roles.size(), 2u);
    const Role* db = config.find_role("db-admin");
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->gid, 60003u);
    EXPECT_EQ(db->eligible_users, std::vector<std::string>{"bob"});
    EXPECT_FALSE(db->require_reason);  // not inherited from the main file
    EXPECT_EQ(db->factor, Factor::Totp);
    EXPECT_NE(config.find_role("web-admin"), nullptr);
}

// The commented [policy] and [risk] examples, with their TOML lines
// uncommented, load too: they cannot rot either.
TEST_F(ConfigLoad, ShippedPolicyExampleLoadsUncommented) {
    std::ifstream in(std::string(ELEVATE_SOURCE_DIR) + "/conf/elevate.conf");
    std::string text, line;
    bool in_example = false;
    const std::regex toml_line("^# ((\\[|[a-z_]+ = ).*)$");
    while (std::getline(in, line)) {
        in_example = in_example || line == "# [policy]";
        std::smatch m;
        text += (in_example && std::regex_match(line, m, toml_line) ? m.str(1) : line) + "\n";
    }
    ASSERT_TRUE(in_example) << "no '# [policy]' example in conf/elevate.conf";
    options_.system_group_file = write("group", "root:x:0:\ndba:x:50:alice\nsec-leads:x:51:bob\n");
    write_main(text);
    Config config = load_ok();
    EXPECT_EQ(config.policy.rules.size(), 3u);
    EXPECT_NE(config.policy.find_network("office"), nullptr);
    EXPECT_NE(config.policy.find_schedule("business"), nullptr);
    EXPECT_EQ(config.risk.medium, 40);
}

TEST_F(ConfigLoad, DropInAddsRole) {
    write_main(kDbAdmin);
    write_drop_in("web.conf", "[[role]]\nname = \"web-admin\"\ngid = 60002\neligible_groups = [\"web\"]\n");
    EXPECT_EQ(load_ok().roles.size(), 2u);
}

TEST_F(ConfigLoad, DropInIgnoresOtherNames) {
    write_main("");
    const std::string broken = "this is not toml";
    write_drop_in("x.conf.bak", broken);
    write_drop_in("x.conf~", broken);
    write_drop_in(".hidden.conf", broken);
    write_drop_in("README", broken);
    write_drop_in("dir.conf/inner.conf", broken);  // a directory named *.conf
    std::string good = write_drop_in("good.conf", "[totp]\ndigits = 7\n");
    Config config = load_ok();
    EXPECT_EQ(config.totp.digits, 7);
    EXPECT_EQ(config.files, (std::vector<std::string>{main_, good}));
}

TEST_F(ConfigLoad, ErrorInDropInNamesTheDropIn) {
    write_main("[totp]\nperiod = \"30s\"\n");
    std::string drop_in = write_drop_in("10-totp.conf", "# tighter\n[totp]\nperiod = \"5s\"\n");
    EXPECT_CONTAINS(load_error(), drop_in + ":3: key 'totp.period': must be between 15s and 5m");
}

TEST_F(ConfigLoad, DropInDirectoryThatIsAFileRejected) {
    write_main("");
    write("elevate.conf.d", "");
    EXPECT_CONTAINS(load_error(), "cannot read directory " + main_ + ".d: Not a directory");
}

TEST_F(ConfigLoad, MissingMainFile) {
    main_ = dir_ + "/nope.conf";
    EXPECT_EQ(load_error(), "cannot read " + main_ + ": No such file or directory");
}

TEST_F(ConfigLoad, SyntaxErrorNamesFileAndLine) {
    std::string message = error_for("[daemon]\nsocket = \"/run/x\"\nmax_clients = = 3\n");
    EXPECT_EQ(message.rfind(main_ + ":3: syntax error: ", 0), 0u) << message;
}

TEST_F(ConfigLoad, UnknownKeyNamesFileLineAndKey) {
    EXPECT_EQ(error_for("[daemon]\nsokcet = \"/run/x\"\n"),
              main_ + ":2: unknown key 'daemon.sokcet' (did you mean 'socket'?)");
    EXPECT_EQ(error_for("[lockout]\n\nbanana = 1\n"), main_ + ":3: unknown key 'lockout.banana'");
}

TEST_F(ConfigLoad, UnknownRoleKey) {
    EXPECT_EQ(error_for(std::string(kDbAdmin) + "eligible_user = [\"bob\"]\n"),
              main_ + ":6: unknown key 'role.eligible_user' (did you mean 'eligible_users'?)");
}

TEST_F(ConfigLoad, UnknownSection) {
    EXPECT_EQ(error_for("[deamon]\nsocket = \"/x\"\n"),
              main_ + ":1: unknown section 'deamon' (did you mean 'daemon'?)");
    EXPECT_EQ(error_for("socket = \"/x\"\n"), main_ + ":1: unknown key 'socket'");
    EXPECT_CONTAINS(error_for("[daemon.extra]\nx = 1\n"), "unknown key 'daemon.extra'");
}

TEST_F(ConfigLoad, SectionOfWrongShape) {
    EXPECT_CONTAINS(error_for("[role]\nname = \"x\"\n"), "key 'role': must be an array of tables");
    EXPECT_CONTAINS(error_for("[[daemon]]\nsocket = \"/x\"\n"), "key 'daemon': must be a table");
    EXPECT_CONTAINS(error_for("totp = 3\n"), "key 'totp': must be a table");
}

TEST_F(ConfigLoad, WrongTypes) {
    const std::pair<const char*, const char*> cases[] = {
        {"[daemon]\nsocket = 5\n", ":2: key 'daemon.socket': must be a string"},
        {"[daemon]\naudit_journal = \"yes\"\n", ":2: key 'daemon.audit_journal': must be a boolean"},
        {"[daemon]\nmax_clients = \"10\"\n", ":2: key 'daemon.max_clients': must be an integer"},
        {"[daemon]\nmax_clients = 1.5\n", ":2: key 'daemon.max_clients': must be an integer"},
        {"[totp]\nperiod = 30\n", ":2: key 'totp.period': must be a duration string"},
        {"[totp]\nalgorithm = \"md5\"\n", ":2: key 'totp.algorithm': must be \"sha1\", \"sha256\" or \"sha512\""},
        {"[totp]\nissuer = \"\"\n", ":2: key 'totp.issuer': must not be empty"},
        {"[[role]]\nname = \"r\"\ngid = \"60001\"\n", ":3: key 'role.gid': must be an integer"},
        {"[[role]]\nname = \"r\"\ngid = 60001\neligible_users = \"alice\"\n",
         ":4: key 'role.eligible_users': must be an array of strings"},
        {"[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"alice\", 3]\n",
         ":4: key 'role.eligible_users': must be an array of strings"},
        {"[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"a\"]\nfactor = \"sms\"\n",
         ":5: key 'role.factor': must be \"totp\", \"push\" or \"any\""},
        {"[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"a\"]\non_expiry = \"kill\"\n",
         ":5: key 'role.on_expiry': must be \"keep\" or \"terminate\""},
        {"[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"a\"]\nrequire_reason = 1\n",
         ":5: key 'role.require_reason': must be a boolean"},
    };
    for (const auto& [text, expected] : cases) EXPECT_CONTAINS(error_for(text), main_ + expected);
}

TEST_F(ConfigLoad, OutOfRangeNumbers) {
    const std::pair<const char*, const char*> cases[] = {
        {"[totp]\ndigits = 5\n", "key 'totp.digits': must be between 6 and 8 (got 5)"},
        {"[totp]\ndigits = 9\n", "key 'totp.digits': must be between 6 and 8 (got 9)"},
        {"[totp]\nperiod = \"10s\"\n", "key 'totp.period': must be between 15s and 5m (got 10s)"},
        {"[totp]\nperiod = \"301s\"\n", "key 'totp.period': must be between 15s and 5m (got 5m1s)"},
        {"[totp]\ndrift_steps = -1\n", "key 'totp.drift_steps': must be between 0 and 10"},
        {"[totp]\ndrift_steps = 11\n", "key 'totp.drift_steps': must be between 0 and 10"},
        {"[lockout]\nmax_failures = 0\n", "key 'lockout.max_failures': must be between 1 and 100"},
        {"[daemon]\nmax_clients = 0\n", "key 'daemon.max_clients': must be between 1 and 65536"},
        {"[daemon]\nmax_clients = 65537\n", "key 'daemon.max_clients': must be between 1 and 65536"},
        {"[daemon]\nmax_clients_per_user = 0\n", "key 'daemon.max_clients_per_user': must be between 1 and 65536"},
        {"[daemon]\nclient_timeout_ms = 50\n", "key 'daemon.client_timeout_ms': must be between 100 and 60000"},
        {"[daemon]\nclient_timeout = \"5m\"\n", "key 'daemon.client_timeout': must be between 1s and 1m"},
        {"[[role]]\nname = \"r\"\ngid = 999\n", "key 'role.gid': must be between 1000 and 4294967294"},
        {"[[role]]\nname = \"r\"\ngid = 4294967295\n", "key 'role.gid': must be between 1000 and 4294967294"},
        {"[[role]]\nname = \"r\"\ngid = 65534\n", "key 'role.gid': 65534 is reserved (nogroup)"},
    };
    for (const auto& [text, expected] : cases) EXPECT_CONTAINS(error_for(text), expected);
}

TEST_F(ConfigLoad, BadDurations) {
    EXPECT_EQ(error_for("[lockout]\nwindow = \"2x\"\n"),
              main_ + ":2: key 'lockout.window': '2x' is not a duration (examples: 45m, 2h, 1h30m)");
    for (const char* bad : {"", "0m", "1.5h", "30m1h", "-5m", "1 h"}) {
        EXPECT_CONTAINS(error_for(std::string("[lockout]\nduration = \"") + bad + "\"\n"), "is not a duration");
    }
    EXPECT_CONTAINS(error_for(std::string(kDbAdmin) + "max_duration = \"forever\"\n"),
                    main_ + ":6: key 'role.max_duration': 'forever' is not a duration");
}

TEST_F(ConfigLoad, MaxDurationBelowDefault) {
    EXPECT_EQ(error_for(std::string(kDbAdmin) + "default_duration = \"1h\"\nmax_duration = \"30m\"\n"),
              main_ + ":7: key 'role.max_duration': must be >= default_duration (1h)");
    EXPECT_EQ(error_for(std::string(kDbAdmin) + "max_duration = \"30m\"\n"),
              main_ + ":6: key 'role.max_duration': must be >= default_duration (1h, the default)");
    EXPECT_EQ(error_for(std::string(kDbAdmin) + "default_duration = \"9h\"\n"),
              main_ + ":6: key 'role.default_duration': must be <= max_duration (8h, the default)");
    write_main(std::string(kDbAdmin) + "default_duration = \"2h\"\nmax_duration = \"2h\"\n");
    EXPECT_EQ(load_ok().roles.at(0).max_duration, 7200);
}

TEST_F(ConfigLoad, RoleRequiredKeys) {
    EXPECT_EQ(error_for("[[role]]\ngid = 60001\neligible_users = [\"a\"]\n"),
              main_ + ":1: key 'role.name': is required");
    EXPECT_EQ(error_for("\n[[role]]\nname = \"r\"\neligible_users = [\"a\"]\n"),
              main_ + ":2: key 'role.gid': is required (role 'r')");
}

TEST_F(ConfigLoad, RoleNameCharset) {
    for (const char* bad : {"DB", "1db", "db admin", "db.admin", "", "abcdefghijklmnopqrstuvwxyz0123456"}) {
        EXPECT_CONTAINS(error_for(std::string("[[role]]\nname = \"") + bad + "\"\ngid = 60001\n"),
                        main_ + ":2: key 'role.name': ");
    }
    EXPECT_CONTAINS(error_for("[[role]]\nname = \"r\"\ngroup = \"R\"\ngid = 60001\n"),
                    main_ + ":3: key 'role.group': 'R' is not a valid name");
    write_main("[[role]]\nname = \"abcdefghijklmnopqrstuvwxyz012345\"\ngid = 60001\neligible_users = [\"a\"]\n");
    EXPECT_EQ(load_ok().roles.size(), 1u);
}

TEST_F(ConfigLoad, EligibleListsMustNotBothBeEmpty) {
    EXPECT_EQ(error_for("[[role]]\nname = \"r\"\ngid = 60001\n"),
              main_ + ":1: key 'role.eligible_users': role 'r' has no eligible_users or eligible_groups");
    EXPECT_EQ(error_for("[[role]]\nname = \"r\"\ngid = 60001\neligible_users = []\neligible_groups = []\n"),
              main_ + ":4: key 'role.eligible_users': role 'r' has no eligible_users or eligible_groups");
    write_main("[[role]]\nname = \"r\"\ngid = 60001\neligible_users = []\neligible_groups = [\"ops\"]\n");
    EXPECT_EQ(load_ok().roles.at(0).eligible_groups, std::vector<std::string>{"ops"});
}

TEST_F(ConfigLoad, BadNamesInEligibleLists) {
    EXPECT_EQ(error_for("[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"alice\", \"\"]\n"),
              main_ + ":4: key 'role.eligible_users': must not contain empty strings");
    EXPECT_CONTAINS(error_for("[[role]]\nname = \"r\"\ngid = 60001\neligible_groups = [\n  \"ops\",\n  \"a:b\",\n]\n"),
                    main_ + ":6: key 'role.eligible_groups': 'a:b' is not a valid name");
    EXPECT_CONTAINS(error_for("[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"a b\"]\n"),
                    "'a b' is not a valid name");
}

// The snapshot carries names of at most 255 bytes (common/base/names.h):
// the config refuses what the snapshot writer would refuse later.
TEST_F(ConfigLoad, AccountNamesAreAtMost255BytesLikeTheSnapshots) {
    const std::string longest(255, 'u');
    write_main("[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"" + longest + "\"]\n");
    EXPECT_EQ(load_ok().roles.at(0).eligible_users, std::vector<std::string>{longest});
    EXPECT_CONTAINS(error_for("[[role]]\nname = \"r\"\ngid = 60001\neligible_users = [\"" + longest + "u\"]\n"),
                    "is not a valid name (1-255 bytes");
    EXPECT_CONTAINS(error_for("[[role]]\nname = \"r\"\ngid = 60001\neligible_groups = [\"" + longest + "g\"]\n"),
                    "is not a valid name (1-255 bytes");
}

TEST_F(ConfigLoad, ControlCharactersRejectedAndNotEchoed) {
    std::string message = error_for("[totp]\nissuer = \"ev\\u001bil\"\n");
    EXPECT_CONTAINS(message, main_ + ":2: key 'totp.issuer': must not contain control characters");
    EXPECT_EQ(message.find('\x1b'), std::string::npos);
}

TEST_F(ConfigLoad, PathsMustBeAbsolute) {
    EXPECT_CONTAINS(error_for("[daemon]\nstate_dir = \"var/lib/elevate\"\n"),
                    main_ + ":2: key 'daemon.state_dir': 'var/lib/elevate' must be an absolute path");
    EXPECT_CONTAINS(error_for("[daemon]\nsocket = \"\"\n"), "key 'daemon.socket': must not be empty");
}

TEST_F(ConfigLoad, DuplicateRoleNameInOneFile) {
    EXPECT_EQ(error_for(std::string(kDbAdmin) + kDbAdmin),
              main_ + ":8: key 'role.name': duplicate role 'db-admin' (first defined at line 2)");
}

TEST_F(ConfigLoad, DuplicateGidBetweenRoles) {
    write_main(kDbAdmin);
    std::string drop_in =
        write_drop_in("web.conf", "[[role]]\nname = \"web-admin\"\ngid = 60001\neligible_users = [\"a\"]\n");
    EXPECT_EQ(load_error(),
              drop_in + ":3: key 'role.gid': gid 60001 is already used by role 'db-admin' (" + main_ + ":4)");
}

TEST_F(ConfigLoad, DuplicateGroupBetweenRoles) {
    EXPECT_EQ(error_for(std::string(kDbAdmin) +
                        "[[role]]\nname = \"dba\"\ngroup = \"db-admin\"\ngid = 60002\neligible_users = [\"a\"]\n"),
              main_ + ":8: key 'role.group': group 'db-admin' is already used by role 'db-admin' (" + main_ + ":3)");
}

TEST_F(ConfigLoad, RoleGroupCannotConferEligibility) {
    EXPECT_EQ(error_for(std::string(kDbAdmin) +
                        "[[role]]\nname = \"dba-lead\"\ngid = 60002\neligible_groups = [\"db-admin\"]\n"),
              main_ +
                  ":9: key 'role.eligible_groups': 'db-admin' is the group of role 'db-admin'; eligibility must "
                  "come from a standing group, not from a grant");
}

TEST_F(ConfigLoad, GidClashWithSystemGroup) {
    options_.system_group_file = write("fake-group", "# comment\n+nis\nstaff:x:60001:\n");
    EXPECT_EQ(error_for(kDbAdmin), main_ + ":4: key 'role.gid': gid 60001 is already used by group 'staff' in " +
                                       *options_.system_group_file);
}

TEST_F(ConfigLoad, GroupNameClashWithSystemGroup) {
    EXPECT_EQ(error_for("[[role]]\nname = \"ops\"\ngroup = \"staff\"\ngid = 60001\neligible_users = [\"a\"]\n"),
              main_ + ":3: key 'role.group': group 'staff' already exists in " + *options_.system_group_file);
}

TEST_F(ConfigLoad, SystemGroupFileDefaultsToEtcGroup) {
    options_.system_group_file.reset();
    // Every Linux system has a root group.
    EXPECT_CONTAINS(error_for("[[role]]\nname = \"root\"\ngid = 60001\neligible_users = [\"a\"]\n"),
                    "key 'role.group': group 'root' already exists in /etc/group");
}

TEST_F(ConfigLoad, UnreadableSystemGroupFileIsAnError) {
    options_.system_group_file = dir_ + "/missing-group";
    EXPECT_EQ(error_for(kDbAdmin), "cannot read " + dir_ + "/missing-group: No such file or directory");
}

TEST_F(ConfigLoad, ReplacedRoleNoLongerClashes) {
    // The drop-in moves db-admin off the gid that web-admin takes over.
    write_main(kDbAdmin);
    write_drop_in("a.conf", "[[role]]\nname = \"db-admin\"\ngid = 60005\neligible_users = [\"a\"]\n");
    write_drop_in("b.conf", "[[role]]\nname = \"web-admin\"\ngid = 60001\neligible_users = [\"a\"]\n");
    EXPECT_EQ(load_ok().roles.size(), 2u);
}

TEST(ConfigNames, MatchTheFileSpelling) {
    EXPECT_STREQ(factor_name(Factor::Totp), "totp");
    EXPECT_STREQ(factor_name(Factor::Push), "push");
    EXPECT_STREQ(factor_name(Factor::Any), "any");
    EXPECT_STREQ(algorithm_name(TotpAlgorithm::Sha1), "sha1");
    EXPECT_STREQ(algorithm_name(TotpAlgorithm::Sha256), "sha256");
    EXPECT_STREQ(algorithm_name(TotpAlgorithm::Sha512), "sha512");
    EXPECT_STREQ(on_expiry_name(OnExpiry::Keep), "keep");
    EXPECT_STREQ(on_expiry_name(OnExpiry::Terminate), "terminate");
}

TEST_F(ConfigLoad, ShippedExampleLoads) {
    main_ = std::string(ELEVATE_SOURCE_DIR) + "/conf/elevate.conf";
    Config config = load_ok();
    EXPECT_NE(config.find_role("db-admin"), nullptr);
    EXPECT_NE(config.find_role("web-admin"), nullptr);
}

}  // namespace

// ------------------------------------------------------- push, notify, approval

constexpr const char* kWebhookPush = R"(
[push]
provider = "webhook"
[push.webhook]
url = "https://approvals.example.com"
secret = "0123456789abcdef0123456789abcdef"
)";

TEST_F(ConfigLoad, PushSecretInWorldReadableFileRefused) {
    write_main(kWebhookPush);
    ::chmod(main_.c_str(), 0644);
    std::string error = load_error();
    EXPECT_CONTAINS(error, main_ + ":6: key 'push.webhook.secret': holds a secret, but " + main_);
    EXPECT_CONTAINS(error, "mode 0644");
    EXPECT_EQ(error.find("0123456789abcdef"), std::string::npos) << "the secret itself must not be echoed";
}

TEST_F(ConfigLoad, PushSecretInPrivateDropInAccepted) {
    write_main(std::string(kDbAdmin));
    std::string drop_in = write_drop_in("push.conf", kWebhookPush);
    ::chmod(drop_in.c_str(), 0600);
    Config config = load_ok();
    EXPECT_EQ(config.push.provider, PushProviderKind::Webhook);
}

TEST_F(ConfigLoad, PushProviderNeedsItsKeys) {
    write_main("[push]\nprovider = \"webhook\"\n[push.webhook]\nurl = \"https://a.example\"\n");
    EXPECT_CONTAINS(load_error(), main_ + ":1: key 'push.webhook.secret': is required with provider = \"webhook\"");
    write_main("[push]\nprovider = \"duo\"\n[push.duo]\napi_host = \"api-1.duosecurity.com\"\n");
    EXPECT_CONTAINS(load_error(), "key 'push.duo.integration_key': is required with provider = \"duo\"");
}

TEST_F(ConfigLoad, PushRoleWithoutProviderRefused) {
    EXPECT_CONTAINS(error_for("[[role]]\nname = \"x\"\ngid = 60001\neligible_users = [\"a\"]\nfactor = \"push\"\n"),
                    main_ + ":1: key 'role.factor': role 'x' needs push, but no push provider is configured");
}

TEST_F(ConfigLoad, PushValuesChecked) {
    EXPECT_CONTAINS(error_for("[push]\nprovider = \"sms\"\n"),
                    "key 'push.provider': must be \"none\", \"webhook\" or \"duo\"");
    EXPECT_CONTAINS(error_for("[push]\ntimeout = \"2s\"\n"), "key 'push.timeout': must be between 10s and 5m");
    EXPECT_CONTAINS(error_for("[push.webhook]\nurl = \"http://plain.example\"\n"),
                    "key 'push.webhook.url': 'http://plain.example' must be an https:// URL");
    EXPECT_CONTAINS(error_for("[push.webhook]\npinned_key = \"abc\"\n"),
                    "key 'push.webhook.pinned_key': 'abc' must look like \"sha256//BASE64\"");
    EXPECT_CONTAINS(error_for("[push.webhook]\nsecret = \"short\"\n"),
                    "key 'push.webhook.secret': must be at least 32 characters");
    EXPECT_CONTAINS(error_for("[push.webhook]\nurll = \"https://x\"\n"),
                    "unknown key 'push.webhook.urll' (did you mean 'url'?)");
    EXPECT_CONTAINS(error_for("[push]\nwebhook = 3\n"), "key 'push.webhook': must be a table ([push.webhook])");
    EXPECT_CONTAINS(error_for("[push.duo]\napi_host = \"https://api-1.duosecurity.com/\"\n"),
                    "key 'push.duo.api_host': 'https://api-1.duosecurity.com/' must be a host name");
    EXPECT_CONTAINS(error_for("[push.webhook]\nconnect_timeout = \"5m\"\n"),
                    "key 'push.webhook.connect_timeout': must be between 1s and 1m");
}

TEST_F(ConfigLoad, NotifyNeedsUrlAndSecretTogether) {
    EXPECT_CONTAINS(error_for("[notify]\nurl = \"https://chat.example\"\n"),
                    main_ + ":1: key 'notify.secret': is required when notify.url is set");
    EXPECT_CONTAINS(error_for("[notify]\nmax_attempts = 0\n"), "key 'notify.max_attempts': must be between 1 and 100");
}

TEST_F(ConfigLoad, ApprovalValuesChecked) {
    const std::string role = "[[role]]\nname = \"x\"\ngid = 60001\neligible_users = [\"a\"]\n";
    EXPECT_CONTAINS(error_for(role + "approval = { approvers = [] }\n"),
                    "key 'role.approval.approvers': must be a non-empty array");
    EXPECT_CONTAINS(error_for(role + "approval = { approvers = [\"sec-leads\"] }\n"),
                    "'sec-leads' must be \"group:NAME\" or \"user:NAME\"");
    EXPECT_CONTAINS(error_for(role + "approval = { approvers = [\"team:x\"] }\n"), "'team:x' must be");
    EXPECT_CONTAINS(error_for(role + "approval = { approvers = [\"user:b\"], count = 0 }\n"),
                    "key 'role.approval.count': must be between 1 and 100");
    EXPECT_CONTAINS(error_for(role + "approval = { approvers = [\"user:b\"], timeout = \"2s\" }\n"),
                    "key 'role.approval.timeout': must be between 5s and");
    EXPECT_CONTAINS(error_for(role + "approval = { approvers = [\"user:b\"], quorum = 2 }\n"),
                    "unknown key 'role.approval.quorum'");
    EXPECT_CONTAINS(error_for(role + "approval = { count = 1 }\n"), "key 'role.approval': needs approvers");
    EXPECT_CONTAINS(error_for(role + "approval = \"yes\"\n"), "key 'role.approval': must be a table");
}

TEST_F(ConfigLoad, ApproverMayNotBeARoleGroup) {
    EXPECT_CONTAINS(error_for(R"(
[[role]]
name = "db-admin"
gid = 60001
eligible_users = ["alice"]
approval = { approvers = ["group:sec-admin"] }

[[role]]
name = "sec-admin"
gid = 60002
eligible_users = ["bob"]
)"),
                    "'group:sec-admin' is the group of role 'sec-admin'; approvers must come from a standing group");
}
