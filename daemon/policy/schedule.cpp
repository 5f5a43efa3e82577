#include "daemon/policy/schedule.h"

#include "common/base/text.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace elevate::policy {

struct Schedule::Impl {
    config::ScheduleWindow window;
    const date::time_zone* zone = nullptr;
    bool every_day = true;
    bool day[7] = {};

    bool day_listed(int d) const { return every_day || day[(d + 7) % 7]; }
    bool in_window(int64_t t) const;

    // The last second asked about and its answer: every request in the
    // same second asks again (decisions are made on the daemon's one
    // thread), and the zone conversion is the costly part.
    int64_t last_t = INT64_MIN;
    bool last_in = false;
};

Schedule::Schedule(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Schedule::Schedule(Schedule&&) noexcept = default;
Schedule& Schedule::operator=(Schedule&&) noexcept = default;
Schedule::~Schedule() = default;

base::Result<Schedule> Schedule::compile(const config::ScheduleWindow& window) {
    auto impl = std::make_unique<Impl>();
    impl->zone = config::find_zone(window.zone);
    if (!impl->zone) {
        return base::make_error("schedule '" + base::escaped(window.name) + "': unknown time zone '" +
                                base::escaped(window.zone) + "' (not in the tz database)");
    }
    if (window.start_minute < 0 || window.start_minute > 1439 || window.end_minute < 1 || window.end_minute > 1440)
        return base::make_error("schedule '" + base::escaped(window.name) + "': hours out of range");
    for (int d : window.days) {
        if (d < 0 || d > 6) return base::make_error("schedule '" + base::escaped(window.name) + "': bad day");
        impl->day[d] = true;
        impl->every_day = false;
    }
    impl->window = window;
    return Schedule(std::move(impl));
}

// The wall clock of `t` in the zone decides, with the offset the zone has at
// that instant: a local time skipped by DST is never reached, and a repeated
// one is inside the window both times.
bool Schedule::Impl::in_window(int64_t t) const {
    using namespace std::chrono;
    const auto local = zone->to_local(date::sys_seconds(seconds(t)));
    const auto local_day = date::floor<date::days>(local);
    const int minute = static_cast<int>(date::floor<minutes>(local - local_day).count());
    const int weekday = static_cast<int>(date::weekday(local_day).c_encoding());  // 0 = Sunday

    const config::ScheduleWindow& w = window;
    if (w.start_minute < w.end_minute) return day_listed(weekday) && minute >= w.start_minute && minute < w.end_minute;
    // Across midnight: the part after midnight belongs to the day before.
    return (minute >= w.start_minute && day_listed(weekday)) || (minute < w.end_minute && day_listed(weekday - 1));
}

bool Schedule::contains(int64_t t) const {
    if (t != impl_->last_t) {
        impl_->last_in = impl_->in_window(t);
        impl_->last_t = t;
    }
    return impl_->last_in;
}

namespace {

std::string hhmm(int minute) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60, minute % 60);
    return buf;
}

// "mon-fri", "sat,sun", "mon,wed,fri": Monday first, runs of three or more
// days as a range.
std::string describe_days(const bool (&listed)[7]) {
    std::string out;
    int i = 0;
    while (i < 7) {
        const int day = (i + 1) % 7;  // i = 0 is Monday
        if (!listed[day]) {
            ++i;
            continue;
        }
        int j = i;
        while (j + 1 < 7 && listed[(j + 2) % 7]) ++j;
        if (!out.empty()) out += ",";
        out += config::weekday_name(day);
        if (j - i >= 2) {
            out += std::string("-") + config::weekday_name((j + 1) % 7);
        } else if (j > i) {
            out += std::string(",") + config::weekday_name((j + 1) % 7);
        }
        i = j + 1;
    }
    return out;
}

}  // namespace

std::string Schedule::describe() const {
    const config::ScheduleWindow& w = impl_->window;
    std::string out = impl_->every_day ? "daily" : describe_days(impl_->day);
    return out + " " + hhmm(w.start_minute) + "-" + hhmm(w.end_minute) + " " + w.zone;
}

const std::string& Schedule::name() const {
    return impl_->window.name;
}

}  // namespace elevate::policy
