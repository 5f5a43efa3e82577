// How elevatectl shows things to people and to scripts: times in UTC with a
// relative hint, aligned tables, and one JSON object per invocation.
// Everything that came from the daemon goes through printable() before it
// reaches a terminal, so a reason text cannot carry escape sequences.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace elevate::cli {

int64_t now_seconds();

// "2026-11-26 14:05 UTC"
std::string format_timestamp(int64_t t);
// "14:05 UTC" when `t` falls on the same UTC day as `now`, else the full
// timestamp: "until 14:05 UTC" must not hide that it is tomorrow.
std::string format_until(int64_t t, int64_t now);
// A coarse length for people: "45s", "44m", "2h5m", "1d3h".
std::string format_span(int64_t seconds);
// "in 44m", "3m ago", "now"
std::string format_relative(int64_t t, int64_t now);
// "2026-11-26 14:05 UTC (in 44m)"
std::string format_time(int64_t t, int64_t now);

// The first 8 characters of a grant id, as shown in tables.
std::string short_id(std::string_view id);

// Text for the terminal: base::display_text (common/base/display_text.h).
std::string printable(std::string_view untrusted);

// Columns padded to the widest cell; the last column is not padded.
class Table {
public:
    explicit Table(std::vector<std::string> headers);
    void add_row(std::vector<std::string> cells);
    void render(std::ostream& out) const;
    bool empty() const { return rows_.empty(); }

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

// One compact JSON document and a newline; invalid UTF-8 is replaced
// rather than thrown on.
void print_json(std::ostream& out, const nlohmann::json& value);

}  // namespace elevate::cli
