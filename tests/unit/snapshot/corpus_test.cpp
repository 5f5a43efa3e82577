// The fuzz seed corpus (tests/fuzz/corpus/snapshot) is what the writer
// produces today: when the format changes this test fails, and
//   ELEVATE_REGENERATE_SNAPSHOT_CORPUS=1 snapshot_test --gtest_filter='*Corpus*'
// rewrites the seeds from the definitions below.
#include "snapshot_test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

using namespace elevate::snapshot;
using namespace elevate::snapshot::test;

namespace {

constexpr int64_t T0 = 1700000000;

std::map<std::string, Bytes> seeds() {
    std::map<std::string, Bytes> s;
    s["valid_empty"] = encode({}, {}, 1, T0);
    s["valid_no_members"] = encode({{"r", "lonely", 5000}}, {}, 2, T0);
    const Bytes sample = encode(sample_roles(), sample_members(T0), 3, T0);
    s["valid_sample"] = sample;
    std::vector<RoleEntry> roles;
    std::vector<MemberEntry> members;
    for (uint32_t i = 0; i < 40; ++i) {
        roles.push_back({"r" + std::to_string(i), "role-" + std::to_string(i), 20000 + i * 3});
        for (uint32_t j = 0; j < i % 7; ++j)
            members.push_back({"user" + std::to_string((i * 5 + j) % 23), 20000 + i * 3, T0 + int64_t(j) * 100 - 200});
    }
    s["valid_many"] = encode(roles, members, 4, T0);
    for (size_t n : {size_t(16), size_t(112), size_t(200), sample.size() - 1})
        s["truncated_" + std::to_string(n)] = Bytes(sample.begin(), sample.begin() + long(n));
    Bytes bad = sample;
    bad[bad.size() / 2] ^= 0x10;
    s["bad_checksum"] = bad;
    return s;
}

TEST(SnapshotCorpus, SeedsMatchTheWriter) {
    const std::filesystem::path dir = std::filesystem::path(ELEVATE_SOURCE_DIR) / "tests/fuzz/corpus/snapshot";
    const bool regenerate = std::getenv("ELEVATE_REGENERATE_SNAPSHOT_CORPUS") != nullptr;
    if (regenerate) std::filesystem::create_directories(dir);
    for (const auto& [name, bytes] : seeds()) {
        const auto path = dir / name;
        if (regenerate) {
            std::ofstream f(path, std::ios::binary | std::ios::trunc);
            f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        }
        std::ifstream f(path, std::ios::binary);
        ASSERT_TRUE(f) << path << " missing; regenerate the corpus (see the top of this file)";
        Bytes stored((std::istreambuf_iterator<char>(f)), {});
        EXPECT_EQ(stored, bytes) << path << " is stale; regenerate the corpus (see the top of this file)";
        EXPECT_EQ(validate(stored) == Error::None, name.rfind("valid_", 0) == 0) << name;
    }
}

}  // namespace
