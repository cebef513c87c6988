// Seatflow's one error vocabulary.
//
// Every fallible operation returns Result<T> (a value or an Error) or Status
// (success or an Error). An Error carries a canonical code, modelled on the
// gRPC/Abseil codes, and a message written for the person reading the log or
// the problem+json body. Codes are mapped to HTTP statuses only at the edge.
//
// Exceptions are reserved for start-up and configuration; request paths
// return errors as values.
//
// Thread safety: values; copy freely.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace seatflow {

enum class ErrorCode {
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kConflict,  // the request is valid but clashes with the current state (HTTP 409)
  kAborted,   // a concurrency conflict; retrying the whole operation may succeed
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

// "not_found", "invalid_argument", ...: stable names for logs and metrics.
std::string_view error_code_name(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "not_found: order 0192... does not exist"
  std::string to_string() const;

  // Returns a copy whose message is "<context>: <message>".
  Error with_context(std::string_view context) const;

  friend bool operator==(const Error&, const Error&) = default;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
using Result = tl::expected<T, Error>;

using Status = tl::expected<void, Error>;

// `return fail(ErrorCode::kNotFound, "no such order");` from a function
// returning Result<T> or Status.
inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error(code, std::move(message)));
}
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

inline Status ok() { return {}; }

}  // namespace seatflow
