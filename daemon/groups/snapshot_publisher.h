// Publishes the group snapshot that libnss_elevate reads (docs/SNAPSHOT.md):
// every configured role as a group, with the users whose grant for it is
// active. Written at start-up, after every grant change and after a reload.
// Readers check end times themselves, so a stale snapshot never extends a
// grant; publishing only makes new grants and early ends visible.
#pragma once

#include "common/base/clock.h"
#include "common/base/result.h"
#include "common/config/config.h"
#include "daemon/store/store.h"

#include <cstdint>

namespace elevate::groups {

class SnapshotPublisher {
public:
    SnapshotPublisher(store::Store& store, const base::Clock& clock);

    base::Result<void> publish(const config::Config& config);

private:
    store::Store& store_;
    const base::Clock& clock_;
    uint64_t generation_;
};

}  // namespace elevate::groups
