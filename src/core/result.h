#pragma once
// A value or a typed error. Expected failures travel as values (docs/architecture.md);
// exceptions are kept for programming errors and start-up failures.
#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace tbpay {

// Why a call into a store or a publisher did not succeed.
enum class ErrorKind {
  Unavailable,  // the database or broker cannot be reached now; retry later
  Conflict,     // a constraint said no (e.g. duplicate order code)
  NotFound,
  Invalid,      // the caller passed something the adapter refuses
  Internal,
};

struct Error {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;
};

inline Error unavailable(std::string m) { return {ErrorKind::Unavailable, std::move(m)}; }
inline Error internal_error(std::string m) { return {ErrorKind::Internal, std::move(m)}; }

template <class T, class E = Error>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

struct Ok {};
template <class E = Error>
using Status = Result<Ok, E>;

}  // namespace tbpay
