// Errors as values: Error carries a message with its context (the call, its
// key arguments, errno text); Result<T> is a value or an Error.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace simrun {

struct Error {
    Error(std::string message_, int err_ = 0, std::string call_ = {})
        : message(std::move(message_)), err(err_), call(std::move(call_)) {}
    std::string message;  // the whole text, as shown: "semget(key=0x3e8, nsems=3): File exists"
    int err = 0;          // errno when a system call failed, else 0
    std::string call;     // that call with its key arguments: "semget(key=0x3e8, nsems=3)"
};

// "semget(key=0x3e8, nsems=3): File exists" — call is the caller's context.
Error sys_error(std::string call, int err = errno);

template <typename T, typename E = Error>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(E e) : v_(std::move(e)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& value() const& { return std::get<0>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const E& error() const { return std::get<1>(v_); }

private:
    std::variant<T, E> v_;
};

struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace simrun
