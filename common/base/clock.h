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
};

class SystemClock final : public Clock {
public:
    int64_t now() const override { return static_cast<int64_t>(::time(nullptr)); }
};

class FixedClock final : public Clock {
public:
    explicit FixedClock(int64_t t) : t_(t) {}
    int64_t now() const override { return t_; }
    void set(int64_t t) { t_ = t; }
    void advance(int64_t d) { t_ += d; }

private:
    int64_t t_;
};

}  // namespace elevate::base
