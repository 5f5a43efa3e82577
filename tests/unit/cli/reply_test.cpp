// The one mapping from a daemon status to elevatectl's exit status, and the
// JSON name of each status.
#include "cli/reply.h"

#include <gtest/gtest.h>

namespace elevate::cli {
namespace {

TEST(ReplyTest, StatusToExitCode) {
    const struct {
        wire::Status status;
        int exit_code;
        const char* word;
    } cases[] = {
        {wire::Status::Ok, 0, "ok"},
        {wire::Status::Denied, 1, "denied"},
        {wire::Status::Locked, 1, "locked"},
        {wire::Status::BadRequest, 2, "bad_request"},
        {wire::Status::TooLarge, 2, "too_large"},
        {wire::Status::UnsupportedVersion, 2, "unsupported_version"},
        {wire::Status::Internal, 3, "internal"},
        {wire::Status::Unavailable, 3, "unavailable"},
        {wire::Status::Forbidden, 4, "forbidden"},
        {wire::Status::NotFound, 5, "not_found"},
        {wire::Status::NotEnrolled, 6, "not_enrolled"},
        {wire::Status::Conflict, 7, "conflict"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(exit_code_for(c.status), c.exit_code) << c.word;
        EXPECT_STREQ(status_word(c.status), c.word);
    }
}

TEST(ReplyTest, UnknownStatusFailsClosed) {
    EXPECT_EQ(exit_code_for(static_cast<wire::Status>(99)), kExitDaemonError);
    EXPECT_STREQ(status_word(static_cast<wire::Status>(99)), "unknown");
}

TEST(ReplyTest, UnreachableIsExUnavailable) {
    EXPECT_EQ(kExitUnreachable, 69);
}

// Not a daemon status: a request filed and waiting for approvers.
TEST(ReplyTest, PendingApprovalIsItsOwnExitCode) {
    EXPECT_EQ(kExitPending, 8);
}

TEST(ReplyTest, ExtraTimeIsAddedAndBounded) {
    Context ctx;
    ctx.client.timeout_ms = 30000;
    EXPECT_EQ(with_extra_time(ctx, 60).client.timeout_ms, 90000);
    EXPECT_EQ(with_extra_time(ctx, -5).client.timeout_ms, 30000);
    EXPECT_EQ(with_extra_time(ctx, int64_t{1} << 40).client.timeout_ms, 30000 + 3600 * 1000);
    EXPECT_EQ(ctx.client.timeout_ms, 30000);
}

}  // namespace
}  // namespace elevate::cli
