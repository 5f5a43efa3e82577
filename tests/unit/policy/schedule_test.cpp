// Schedules against the system tz database. Expected instants are written in
// UTC (timegm, which knows no zones) and were checked against Python's
// zoneinfo, an implementation independent of the date library.
#include "daemon/policy/schedule.h"

#include <gtest/gtest.h>

#include <time.h>

#include <string>
#include <vector>

using namespace elevate;
using elevate::policy::Schedule;

namespace {

int64_t utc(int year, int month, int day, int hour, int minute, int second = 0) {
    struct tm tm {};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return ::timegm(&tm);
}

Schedule compile(std::vector<int> days, int start, int end, const char* zone) {
    config::ScheduleWindow w;
    w.name = "test";
    w.days = std::move(days);
    w.start_minute = start;
    w.end_minute = end;
    w.zone = zone;
    auto s = Schedule::compile(w);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return std::move(s).value();
}

constexpr int kSun = 0, kMon = 1, kTue = 2, kWed = 3, kThu = 4, kFri = 5, kSat = 6;

int at(int hour, int minute = 0) {
    return hour * 60 + minute;
}

// Whether [start, end) is exactly where `s` holds, looking one second either side.
void expect_window(const Schedule& s, int64_t start, int64_t end) {
    EXPECT_FALSE(s.contains(start - 1)) << "just before " << start;
    EXPECT_TRUE(s.contains(start)) << "at " << start;
    EXPECT_TRUE(s.contains(end - 1)) << "just before " << end;
    EXPECT_FALSE(s.contains(end)) << "at " << end;
}

}  // namespace

TEST(Schedule, InsideAndOutside) {
    Schedule s = compile({}, at(8), at(18), "UTC");
    expect_window(s, utc(2026, 3, 25, 8, 0), utc(2026, 3, 25, 18, 0));
    EXPECT_FALSE(s.contains(utc(2026, 3, 25, 3, 0)));
    EXPECT_FALSE(s.contains(utc(2026, 3, 25, 23, 0)));
    EXPECT_EQ(s.name(), "test");
}

TEST(Schedule, WholeDay) {
    Schedule s = compile({kSun}, at(0), at(24), "UTC");
    expect_window(s, utc(2026, 3, 29, 0, 0), utc(2026, 3, 30, 0, 0));  // a Sunday
}

TEST(Schedule, AcrossMidnightBelongsToTheStartDay) {
    // Friday 22:00 until Saturday 06:00; 2026-03-27 is a Friday.
    Schedule s = compile({kFri}, at(22), at(6), "UTC");
    expect_window(s, utc(2026, 3, 27, 22, 0), utc(2026, 3, 28, 6, 0));
    EXPECT_TRUE(s.contains(utc(2026, 3, 28, 3, 0)));     // Saturday 03:00
    EXPECT_FALSE(s.contains(utc(2026, 3, 28, 22, 30)));  // Saturday night: sat not listed
    EXPECT_FALSE(s.contains(utc(2026, 3, 29, 3, 0)));    // Sunday 03:00
    EXPECT_FALSE(s.contains(utc(2026, 3, 27, 3, 0)));    // Friday 03:00 belongs to Thursday
}

TEST(Schedule, AcrossMidnightEveryDay) {
    Schedule s = compile({}, at(22), at(6), "UTC");
    EXPECT_TRUE(s.contains(utc(2026, 3, 25, 23, 0)));
    EXPECT_TRUE(s.contains(utc(2026, 3, 25, 5, 59)));
    EXPECT_FALSE(s.contains(utc(2026, 3, 25, 6, 0)));
    EXPECT_FALSE(s.contains(utc(2026, 3, 25, 21, 59)));
}

TEST(Schedule, DayList) {
    Schedule s = compile({kMon, kWed, kFri}, at(9), at(17), "UTC");
    EXPECT_TRUE(s.contains(utc(2026, 3, 23, 12, 0)));   // Monday
    EXPECT_FALSE(s.contains(utc(2026, 3, 24, 12, 0)));  // Tuesday
    EXPECT_TRUE(s.contains(utc(2026, 3, 25, 12, 0)));   // Wednesday
    EXPECT_FALSE(s.contains(utc(2026, 3, 26, 12, 0)));  // Thursday
    EXPECT_TRUE(s.contains(utc(2026, 3, 27, 12, 0)));   // Friday
    EXPECT_FALSE(s.contains(utc(2026, 3, 28, 12, 0)));  // Saturday
    EXPECT_FALSE(s.contains(utc(2026, 3, 29, 12, 0)));  // Sunday
}

TEST(Schedule, BerlinSpringForward) {
    // 2026-03-29 (a Sunday): 02:00 CET becomes 03:00 CEST.
    Schedule day = compile({kSat, kSun}, at(8), at(18), "Europe/Berlin");
    expect_window(day, utc(2026, 3, 28, 7, 0), utc(2026, 3, 28, 17, 0));  // Saturday, UTC+1
    expect_window(day, utc(2026, 3, 29, 6, 0), utc(2026, 3, 29, 16, 0));  // Sunday, UTC+2

    // 01:00-04:00 local on the change day lasts two real hours: 02:00-03:00 never happens.
    Schedule night = compile({kSun}, at(1), at(4), "Europe/Berlin");
    expect_window(night, utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 2, 0));
    EXPECT_TRUE(night.contains(utc(2026, 3, 29, 0, 59, 59)));  // 01:59:59 CET
    EXPECT_TRUE(night.contains(utc(2026, 3, 29, 1, 0)));       // 03:00 CEST
}

TEST(Schedule, BerlinFallBack) {
    // 2026-10-25 (a Sunday): 03:00 CEST becomes 02:00 CET.
    Schedule day = compile({kSat, kSun}, at(8), at(18), "Europe/Berlin");
    expect_window(day, utc(2026, 10, 24, 6, 0), utc(2026, 10, 24, 16, 0));  // Saturday, UTC+2
    expect_window(day, utc(2026, 10, 25, 7, 0), utc(2026, 10, 25, 17, 0));  // Sunday, UTC+1

    // 01:00-04:00 local on the change day lasts four real hours: 02:00-03:00 happens twice.
    Schedule night = compile({kSun}, at(1), at(4), "Europe/Berlin");
    expect_window(night, utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 3, 0));
    EXPECT_TRUE(night.contains(utc(2026, 10, 25, 0, 30)));  // 02:30 CEST
    EXPECT_TRUE(night.contains(utc(2026, 10, 25, 1, 30)));  // 02:30 CET
}

TEST(Schedule, NewYork) {
    Schedule s = compile({kMon, kTue, kWed, kThu, kFri}, at(8), at(18), "America/New_York");
    expect_window(s, utc(2026, 1, 15, 13, 0), utc(2026, 1, 15, 23, 0));  // EST, UTC-5
    expect_window(s, utc(2026, 3, 9, 12, 0), utc(2026, 3, 9, 22, 0));    // EDT, UTC-4 (Monday after the change)
    EXPECT_FALSE(s.contains(utc(2026, 3, 8, 14, 0)));                    // Sunday
    // Local Friday 20:00 is Saturday 01:00 UTC: the local day decides.
    Schedule evening = compile({kFri}, at(20), at(21), "America/New_York");
    EXPECT_TRUE(evening.contains(utc(2026, 3, 28, 0, 30)));
}

TEST(Schedule, UnknownZoneFailsWithItsName) {
    config::ScheduleWindow w;
    w.name = "business";
    w.zone = "Mars/Olympus_Mons";
    auto s = Schedule::compile(w);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().message, "schedule 'business': unknown time zone 'Mars/Olympus_Mons' (not in the tz database)");
}

TEST(Schedule, ZoneExists) {
    EXPECT_TRUE(policy::zone_exists("Europe/Berlin"));
    EXPECT_TRUE(policy::zone_exists("America/New_York"));
    EXPECT_TRUE(policy::zone_exists("UTC"));
    for (const char* bad : {"", "Mars/Olympus_Mons", "europe/berlin", "../../../etc/passwd", "/etc/localtime",
                            "Europe/", "Europe/Berlin "})
        EXPECT_FALSE(policy::zone_exists(bad)) << bad;
}

TEST(Schedule, Describe) {
    EXPECT_EQ(compile({kMon, kTue, kWed, kThu, kFri}, at(8), at(18), "Europe/Berlin").describe(),
              "mon-fri 08:00-18:00 Europe/Berlin");
    EXPECT_EQ(compile({kSat, kSun}, at(0), at(24), "UTC").describe(), "sat,sun 00:00-24:00 UTC");
    EXPECT_EQ(compile({kMon, kWed, kFri}, at(9, 30), at(17), "UTC").describe(), "mon,wed,fri 09:30-17:00 UTC");
    EXPECT_EQ(compile({}, at(22), at(6), "UTC").describe(), "daily 22:00-06:00 UTC");
    EXPECT_EQ(compile({kSun, kMon, kTue, kThu}, at(1), at(2), "UTC").describe(), "mon,tue,thu,sun 01:00-02:00 UTC");
}
