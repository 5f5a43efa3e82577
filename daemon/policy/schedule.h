// Named time windows ([policy.schedules.NAME]) in an IANA time zone, using
// the tz database through Howard Hinnant's date library (libdate-tz), never
// by switching TZ. A window may cross midnight ("22:00-06:00": the part
// after midnight belongs to the day the window started), and local times are
// those of the zone on that date, so a DST change moves the window with the
// clocks.
#pragma once

#include "common/base/result.h"
#include "common/config/config.h"
#include "common/config/zone.h"

#include <cstdint>
#include <memory>
#include <string>

namespace elevate::policy {

class Schedule {
public:
    // Fails (with a message naming the zone) for an unknown zone.
    static base::Result<Schedule> compile(const config::ScheduleWindow& window);
    // Whether the epoch second `t` falls inside the window.
    bool contains(int64_t t) const;
    // "mon-fri 08:00-18:00 Europe/Berlin", for explain.
    std::string describe() const;
    const std::string& name() const;

    Schedule(Schedule&&) noexcept;
    Schedule& operator=(Schedule&&) noexcept;
    ~Schedule();

private:
    struct Impl;
    explicit Schedule(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// True when `zone` names a zone of the tz database ("Europe/Berlin", "UTC").
// Defined in common/config, where the loader checks schedules with it.
using config::zone_exists;

}  // namespace elevate::policy
