// elevatectl's presentation: time formats, tables, sanitising, and the JSON
// shape of a grant decoded from a real wire record.
#include "cli/grant.h"
#include "cli/output.h"

#include "common/wire/client.h"

#include <gtest/gtest.h>

#include <sstream>

namespace elevate::cli {
namespace {

// 2026-11-26 14:05:00 UTC
constexpr int64_t kT = 1795701900;

TEST(OutputTest, Timestamp) {
    EXPECT_EQ(format_timestamp(kT), "2026-11-26 14:05 UTC");
    EXPECT_EQ(format_timestamp(0), "1970-01-01 00:00 UTC");
}

TEST(OutputTest, Span) {
    const struct {
        int64_t seconds;
        const char* text;
    } cases[] = {
        {0, "0s"},      {1, "1s"},     {59, "59s"},   {60, "1m"},      {89, "1m"},     {90, "2m"},
        {2659, "44m"},  {2699, "45m"}, {2700, "45m"}, {3599, "1h"},    {3600, "1h"},   {5400, "1h30m"},
        {7500, "2h5m"}, {86399, "1d"}, {86400, "1d"}, {97200, "1d3h"}, {-2700, "45m"},
    };
    for (const auto& c : cases) EXPECT_EQ(format_span(c.seconds), c.text) << c.seconds;
}

TEST(OutputTest, Relative) {
    EXPECT_EQ(format_relative(kT, kT), "now");
    EXPECT_EQ(format_relative(kT + 2640, kT), "in 44m");
    EXPECT_EQ(format_relative(kT - 180, kT), "3m ago");
    EXPECT_EQ(format_relative(kT + 30, kT), "in 30s");
    EXPECT_EQ(format_relative(kT + 2 * 86400, kT), "in 2d");
}

TEST(OutputTest, TimeWithRelativeHint) {
    EXPECT_EQ(format_time(kT, kT - 2640), "2026-11-26 14:05 UTC (in 44m)");
    EXPECT_EQ(format_time(kT, kT + 60), "2026-11-26 14:05 UTC (1m ago)");
}

TEST(OutputTest, UntilShowsTheDateOnlyWhenNotToday) {
    EXPECT_EQ(format_until(kT + 2700, kT), "14:50 UTC");
    // 14:05 tomorrow must not read as 14:05 today.
    EXPECT_EQ(format_until(kT + 86400, kT), "2026-11-27 14:05 UTC");
}

TEST(OutputTest, ShortId) {
    EXPECT_EQ(short_id("1a2b3c4d-0000-4000-8000-000000000000"), "1a2b3c4d");
    EXPECT_EQ(short_id("abc"), "abc");
}

TEST(OutputTest, PrintableStripsControlCharacters) {
    EXPECT_EQ(printable("INC-4711 naïve"), "INC-4711 naïve");
    EXPECT_EQ(printable("a\x1b[2Jb"), "a?[2Jb");
    EXPECT_EQ(printable("line\nbreak\r\x7f"), "line?break??");
    EXPECT_EQ(printable("c1\xc2\x9b"
                        "31m"),
              "c1?31m");  // U+009B CSI
}

TEST(OutputTest, TableAlignsColumns) {
    Table t({"ID", "ROLE", "REASON"});
    t.add_row({"1a2b3c4d", "db-admin", "INC-4711"});
    t.add_row({"ffff0000", "web", "naïve\x1b"});
    std::ostringstream out;
    t.render(out);
    EXPECT_EQ(out.str(),
              "ID        ROLE      REASON\n"
              "1a2b3c4d  db-admin  INC-4711\n"
              "ffff0000  web       naïve?\n");
}

TEST(OutputTest, JsonIsOneLineAndSurvivesBadUtf8) {
    std::ostringstream out;
    print_json(out, {{"reason", std::string("bad \xff byte")}});
    EXPECT_EQ(out.str(), "{\"reason\":\"bad \xef\xbf\xbd byte\"}\n");
}

// A grant record built the way the daemon sends it, decoded by the CLI.
std::vector<uint8_t> reply_with_grants(int count, bool ended) {
    wire::BufferWriter w;
    w->put_u64(wire::Tag::Status, 0);
    for (int i = 0; i < count; ++i) {
        w->begin_record(wire::Tag::Grant);
        w->put_str(wire::Tag::GrantId, "1a2b3c4d-5e6f-4a0b-8c0d-00000000000" + std::to_string(i));
        w->put_str(wire::Tag::User, "alice");
        w->put_str(wire::Tag::Role, "db-admin");
        w->put_u64(wire::Tag::Start, uint64_t(kT));
        w->put_u64(wire::Tag::End, uint64_t(kT + 2700));
        w->put_str(wire::Tag::State, ended ? "revoked" : "active");
        w->put_str(wire::Tag::Reason, "INC-4711");
        w->put_str(wire::Tag::Factor, "totp");
        w->put_str(wire::Tag::Source, "elevatectl");
        if (ended) {
            w->put_u64(wire::Tag::EndedAt, uint64_t(kT + 600));
            w->put_str(wire::Tag::EndedBy, "root");
        }
        w->end_record();
    }
    EXPECT_EQ(w->error(), wire::CodecError::Ok);
    return w.take();
}

TEST(GrantTest, JsonShapeOfADecodedGrant) {
    auto bytes = reply_with_grants(1, false);
    wire::FieldList fields;
    ASSERT_EQ(fields.parse(bytes.data(), bytes.size()), wire::CodecError::Ok);
    auto grant = decode_one_grant(fields);
    ASSERT_TRUE(grant.ok()) << grant.error().message;

    const nlohmann::json expected = {
        {"id", "1a2b3c4d-5e6f-4a0b-8c0d-000000000000"},
        {"user", "alice"},
        {"role", "db-admin"},
        {"start", kT},
        {"end", kT + 2700},
        {"state", "active"},
        {"reason", "INC-4711"},
        {"factor", "totp"},
        {"source", "elevatectl"},
    };
    EXPECT_EQ(grant_to_json(*grant), expected);
}

TEST(GrantTest, EndedGrantCarriesEndedFields) {
    auto bytes = reply_with_grants(1, true);
    wire::FieldList fields;
    ASSERT_EQ(fields.parse(bytes.data(), bytes.size()), wire::CodecError::Ok);
    auto grant = decode_one_grant(fields);
    ASSERT_TRUE(grant.ok());
    auto j = grant_to_json(*grant);
    EXPECT_EQ(j["ended_at"], kT + 600);
    EXPECT_EQ(j["ended_by"], "root");
    EXPECT_EQ(j["state"], "revoked");
}

TEST(GrantTest, DecodesEveryRecordInOrder) {
    auto bytes = reply_with_grants(3, false);
    wire::FieldList fields;
    ASSERT_EQ(fields.parse(bytes.data(), bytes.size()), wire::CodecError::Ok);
    auto grants = decode_grants(fields);
    ASSERT_TRUE(grants.ok());
    ASSERT_EQ(grants->size(), 3u);
    EXPECT_EQ((*grants)[2].id, "1a2b3c4d-5e6f-4a0b-8c0d-000000000002");
    auto j = grants_to_json(*grants);
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j.size(), 3u);

    wire::FieldList none;
    auto empty_bytes = reply_with_grants(0, false);
    ASSERT_EQ(none.parse(empty_bytes.data(), empty_bytes.size()), wire::CodecError::Ok);
    auto zero = decode_grants(none);
    ASSERT_TRUE(zero.ok());
    EXPECT_TRUE(zero->empty());
    EXPECT_EQ(grants_to_json(*zero), nlohmann::json::array());
    EXPECT_FALSE(decode_one_grant(none).ok());
}

TEST(GrantTest, RecordWithoutRequiredFieldIsAnError) {
    wire::BufferWriter w;
    w->begin_record(wire::Tag::Grant);
    w->put_str(wire::Tag::GrantId, "1a2b3c4d-5e6f-4a0b-8c0d-000000000000");
    w->put_str(wire::Tag::User, "alice");
    w->put_str(wire::Tag::Role, "db-admin");
    w->put_u64(wire::Tag::Start, uint64_t(kT));
    w->end_record();  // no end time
    auto bytes = w.take();
    wire::FieldList fields;
    ASSERT_EQ(fields.parse(bytes.data(), bytes.size()), wire::CodecError::Ok);
    auto grants = decode_grants(fields);
    ASSERT_FALSE(grants.ok());
    EXPECT_EQ(grants.error().message, "malformed reply from elevated: grant record has no end");
}

TEST(GrantTest, IdsAndPrefixes) {
    EXPECT_TRUE(is_grant_id("1a2b3c4d-5e6f-4a0b-8c0d-000000000000"));
    EXPECT_FALSE(is_grant_id("1a2b3c4d"));
    EXPECT_FALSE(is_grant_id("1a2b3c4d-5e6f-4a0b-8c0d-00000000000g"));
    EXPECT_FALSE(is_grant_id("1a2b3c4d5e6f4a0b8c0d000000000000xxxx"));
    EXPECT_TRUE(is_grant_id_prefix("1a2b3c4d"));
    EXPECT_TRUE(is_grant_id_prefix("1A2B3C4D-5e"));
    EXPECT_FALSE(is_grant_id_prefix("1a2b3c4"));
    EXPECT_FALSE(is_grant_id_prefix("db-admin"));
    EXPECT_FALSE(is_grant_id_prefix("deadbeefx"));

    std::vector<Grant> grants(3);
    grants[0].id = "1a2b3c4d-0000-4000-8000-000000000000";
    grants[1].id = "1a2b3c4d-1111-4000-8000-000000000000";
    grants[2].id = "ffff0000-0000-4000-8000-000000000000";
    EXPECT_EQ(grants_with_prefix(grants, "1a2b3c4d").size(), 2u);
    ASSERT_EQ(grants_with_prefix(grants, "1A2B3C4D-1").size(), 1u);
    EXPECT_EQ(grants_with_prefix(grants, "1a2b3c4d-1")[0], &grants[1]);
    EXPECT_TRUE(grants_with_prefix(grants, "00000000").empty());
}

}  // namespace
}  // namespace elevate::cli
