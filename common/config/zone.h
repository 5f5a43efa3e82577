// Time zones of the tz database (/usr/share/zoneinfo), read through Howard
// Hinnant's date library; TZ is never switched. Here rather than in
// daemon/policy so that the loader can check a schedule's zone.
#pragma once

#include <string>

namespace date {
class time_zone;
}

namespace elevate::config {

// The zone (or link) of the tz database named `zone` ("Europe/Berlin",
// "UTC"); nullptr when there is none or the database cannot be read.
const date::time_zone* find_zone(const std::string& zone);

// True when find_zone finds `zone`.
bool zone_exists(const std::string& zone);

}  // namespace elevate::config
