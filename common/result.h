// Errors as values at kernel and network boundaries.
//
// An Error says what was being done (op), to what (object) and why (the errno text and/or a
// detail), so that a message read in a log names everything needed to find the failing object.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace shoal {

struct Error {
  std::string op;      // what we were doing: "create vxlan", "parse subnet"
  std::string object;  // what it was about: "vx-4096 in netns shoal-h1-net-app"
  int errnum = 0;      // errno when the kernel said no; 0 otherwise
  std::string detail;  // anything else worth saying (a library's own text, a reason)

  // "create vxlan vx-4096 in netns shoal-h1-net-app: File exists (VNI already in use)"
  std::string message() const;
};

Error sys_error(std::string op, std::string object, int errnum, std::string detail = {});
Error invalid_argument(std::string object, std::string reason);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

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
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace shoal

#define SHOAL_CONCAT_INNER(a, b) a##b
#define SHOAL_CONCAT(a, b) SHOAL_CONCAT_INNER(a, b)

// Returns the error of a failed Result/Status from the enclosing function. Each expansion names
// its temporary uniquely, so the macro nests (a lambda inside a SHOAL_TRY may use it too).
#define SHOAL_TRY(expr) SHOAL_TRY_IMPL(SHOAL_CONCAT(shoal_try_result_, __COUNTER__), expr)
#define SHOAL_TRY_IMPL(tmp, expr)    \
  do {                               \
    auto&& tmp = (expr);             \
    if (!tmp.ok()) {                 \
      return std::move(tmp).error(); \
    }                                \
  } while (0)

// Declares `lhs` from a Result's value, or returns its error from the enclosing function.
#define SHOAL_ASSIGN_OR_RETURN(lhs, expr) \
  SHOAL_ASSIGN_OR_RETURN_IMPL(SHOAL_CONCAT(shoal_result_, __COUNTER__), lhs, expr)
#define SHOAL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) {                                  \
    return std::move(tmp).error();                  \
  }                                                 \
  lhs = std::move(tmp).value()
