// Errors as values at module boundaries. A Result<T> holds either a value or
// an Error that carries an errno (0 when not applicable) and a message a
// sysadmin can act on. C++20 has no std::expected; this is the small subset
// elevate needs.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace elevate::base {

struct Error {
    int code = 0;  // errno value, or 0
    std::string message;
};

inline Error make_error(std::string message, int code = 0) {
    return Error{code, std::move(message)};
}

// Appends ": <strerror(code)>" to the message.
Error errno_error(std::string message, int code = errno);

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const& { return error_; }
    Error&& error() && { return std::move(error_); }

private:
    Error error_;
    bool ok_ = true;
};

}  // namespace elevate::base
