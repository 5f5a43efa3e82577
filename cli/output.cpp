#include "cli/output.h"

#include "common/base/display_text.h"

#include "common/base/parse.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace elevate::cli {

namespace {

bool to_utc(int64_t t, struct tm* out) {
    const time_t tt = static_cast<time_t>(t);
    return gmtime_r(&tt, out) != nullptr;
}

// "2026-11-26 14:05 UTC", or "14:05 UTC" without the date.
std::string utc_text(int64_t t, bool with_date) {
    struct tm tm;
    if (!to_utc(t, &tm)) return "?";
    char buf[64];
    if (with_date)
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min);
    else
        snprintf(buf, sizeof buf, "%02d:%02d UTC", tm.tm_hour, tm.tm_min);
    return buf;
}

// Display width of a UTF-8 string: one column per code point (continuation
// bytes do not count). Good enough for the names and reasons shown here.
size_t display_width(std::string_view s) {
    size_t width = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++width;
    return width;
}

}  // namespace

int64_t now_seconds() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec);
}

std::string format_timestamp(int64_t t) {
    return utc_text(t, true);
}

std::string format_until(int64_t t, int64_t now) {
    struct tm a, b;
    if (to_utc(t, &a) && to_utc(now, &b) && a.tm_year == b.tm_year && a.tm_yday == b.tm_yday) return utc_text(t, false);
    return format_timestamp(t);
}

std::string format_span(int64_t seconds) {
    if (seconds < 0) seconds = -seconds;
    if (seconds < 60) return std::to_string(seconds) + "s";
    // Round to the unit people read at this size: a 45-minute grant seen a
    // second after it started is "45m", not "44m59s".
    if (seconds < 86400 - 30) return base::format_duration((seconds + 30) / 60 * 60);
    return base::format_duration((seconds + 1800) / 3600 * 3600);
}

std::string format_relative(int64_t t, int64_t now) {
    const int64_t delta = t - now;
    if (delta == 0) return "now";
    if (delta > 0) return "in " + format_span(delta);
    return format_span(delta) + " ago";
}

std::string format_time(int64_t t, int64_t now) {
    return format_timestamp(t) + " (" + format_relative(t, now) + ")";
}

std::string short_id(std::string_view id) {
    return std::string(id.substr(0, 8));
}

std::string printable(std::string_view untrusted) {
    return base::display_text(untrusted);
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    for (auto& cell : cells) cell = printable(cell);
    rows_.push_back(std::move(cells));
}

void Table::render(std::ostream& out) const {
    std::vector<size_t> widths(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) {
        widths[c] = display_width(headers_[c]);
        for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
    }
    auto line = [&](const std::vector<std::string>& cells) {
        std::string text;
        for (size_t c = 0; c < cells.size(); ++c) {
            text += cells[c];
            if (c + 1 < cells.size()) text.append(widths[c] - display_width(cells[c]) + 2, ' ');
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out << text << '\n';
    };
    line(headers_);
    for (const auto& row : rows_) line(row);
}

void print_json(std::ostream& out, const nlohmann::json& value) {
    out << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

}  // namespace elevate::cli
