// Time source behind an interface so TOTP windows, lockouts and expiry can
// be tested as exact tables with an injected clock (no special build).
#pragma once

#include <cstdint>
#include <ctime>

namespace elevate::base {

class Clock {
public:
    virtual ~Clock() = default;
    // Seconds since the Unix epoch (wall clock: grants end at wall times).
    virtual int64_t now() const = 0;
    // Milliseconds on CLOCK_BOOTTIME: never set, never jumps, counts
    // suspend. What the daemon measures a grant's remaining life with, so a
    // wall clock set back cannot lengthen it.
    virtual int64_t boot_ms() const = 0;
};

class SystemClock final : public Clock {
public:
    int64_t now() const override { return static_cast<int64_t>(::time(nullptr)); }
    int64_t boot_ms() const override {
        struct timespec ts;
        ::clock_gettime(CLOCK_BOOTTIME, &ts);
        return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
    }
};

// A test clock. advance() moves both clocks, as time passing does; set()
// moves only the wall clock, as an administrator or NTP stepping it does.
class FixedClock final : public Clock {
public:
    explicit FixedClock(int64_t t) : t_(t) {}
    int64_t now() const override { return t_; }
    int64_t boot_ms() const override { return boot_ms_; }
    void set(int64_t t) { t_ = t; }
    void advance(int64_t d) {
        t_ += d;
        boot_ms_ += d * 1000;
    }

private:
    int64_t t_;
    int64_t boot_ms_ = 1000000;
};

}  // namespace elevate::base
