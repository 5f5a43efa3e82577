#include "common/base/parse.h"

#include <time.h>

#include <charconv>

namespace elevate::base {

std::optional<uint64_t> parse_u64(std::string_view text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::optional<uint64_t> parse_u64_in(std::string_view text, uint64_t min, uint64_t max) {
    auto v = parse_u64(text);
    if (!v || *v < min || *v > max) return std::nullopt;
    return v;
}

namespace {
constexpr int64_t kMaxDuration = 10LL * 366 * 86400;

int64_t unit_seconds(char unit) {
    switch (unit) {
        case 's':
            return 1;
        case 'm':
            return 60;
        case 'h':
            return 3600;
        case 'd':
            return 86400;
        case 'w':
            return 7 * 86400;
        default:
            return 0;
    }
}
}  // namespace

std::optional<int64_t> parse_duration(std::string_view text) {
    if (text.empty() || text.size() > 32) return std::nullopt;
    if (auto bare = parse_u64(text)) {
        if (*bare == 0 || *bare > static_cast<uint64_t>(kMaxDuration)) return std::nullopt;
        return static_cast<int64_t>(*bare);
    }
    int64_t total = 0;
    int64_t last_unit = 0;  // units must strictly decrease: "1h30m", not "30m1h" or "1m1m"
    size_t i = 0;
    while (i < text.size()) {
        size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
        if (i == start || i == text.size()) return std::nullopt;
        auto number = parse_u64(text.substr(start, i - start));
        int64_t unit = unit_seconds(text[i]);
        if (!number || unit == 0) return std::nullopt;
        if (last_unit != 0 && unit >= last_unit) return std::nullopt;
        last_unit = unit;
        ++i;
        if (*number > static_cast<uint64_t>(kMaxDuration / unit)) return std::nullopt;
        total += static_cast<int64_t>(*number) * unit;
        if (total > kMaxDuration) return std::nullopt;
    }
    if (total == 0) return std::nullopt;
    return total;
}

std::string format_utc(int64_t epoch) {
    time_t t = time_t(epoch);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string format_duration(int64_t seconds) {
    if (seconds <= 0) return "0s";
    std::string out;
    const struct {
        int64_t size;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    for (const auto& u : units) {
        if (seconds >= u.size) {
            out += std::to_string(seconds / u.size);
            out += u.unit;
            seconds %= u.size;
        }
    }
    return out;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

}  // namespace elevate::base
