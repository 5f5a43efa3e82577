#include "common/config/zone.h"

#include <date/tz.h>

#include <exception>

namespace elevate::config {

const date::time_zone* find_zone(const std::string& zone) {
    // locate_zone looks the name up in the list read from the zoneinfo
    // directory (it is never used as a path) and throws when it is absent,
    // or when the database cannot be read at all.
    try {
        return date::locate_zone(zone);
    } catch (const std::exception&) {
        return nullptr;
    }
}

bool zone_exists(const std::string& zone) {
    return find_zone(zone) != nullptr;
}

}  // namespace elevate::config
