// libFuzzer target for the snapshot reader: the bytes every process that
// resolves a group maps from /run/elevate. View::validate runs on the input
// as is (so the checksum path is covered) and again with the checksum
// recomputed (so the fuzzer reaches the structural checks behind it, which
// it could not pass by mutation alone); whatever validates is then walked
// through every lookup. ASan/UBSan catch what the checks miss.
#include "common/snapshot/format.h"
#include "common/snapshot/reader.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace elevate::snapshot;

namespace {

void walk(const View& v) {
    const int64_t times[] = {INT64_MIN, 0, 1700000000, INT64_MAX};
    GroupRef g, h;
    for (uint32_t i = 0; i < v.group_count() && i < 4096; ++i) {
        if (!v.group_at(i, &g)) __builtin_trap();  // validated: every group is reachable
        if (!v.find_group(g.name, g.name_len, &h) || h.index != i) __builtin_trap();
        if (!v.find_gid(g.gid, &h) || h.index != i) __builtin_trap();
        for (int64_t now : times) {
            uint32_t count = 0;
            size_t bytes = 0;
            v.active_members(g, now, &count, &bytes);
            if (count > g.member_count) __builtin_trap();
            v.for_each_active_member(g, now, [&](const MemberRef& m) {
                v.for_each_group_of(m.name, m.name_len, now, [](const GroupRef&) { return true; });
                return true;
            });
        }
        v.group_after(g.name, g.name_len, &h);
    }
    v.group_after("", 0, &g);
    v.find_group("root", 4, &g);
    v.find_gid(0, &g);
    v.for_each_group_of("root", 4, 0, [](const GroupRef&) { return true; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A mapping is page-aligned; give the reader the same alignment.
    std::vector<uint64_t> words(size / 8 + 1);
    if (size > 0) std::memcpy(words.data(), data, size);
    View v;
    if (View::validate(words.data(), size, &v) == Error::None) walk(v);

    if (size >= sizeof(elevate_snapshot_header) && size % 8 == 0) {
        words[ELEVATE_SNAPSHOT_CHECKSUM_WORD] = elevate_snapshot_checksum(words.data(), size / 8);
        if (View::validate(words.data(), size, &v) == Error::None) walk(v);
    }
    return 0;
}
