// Errors at the API boundary: our Error values become gRPC statuses whose message is the one
// line the CLI prints.
#pragma once

#include <grpcpp/support/status.h>

#include "common/result.h"

namespace shoal::api {

inline grpc::Status to_grpc(const Error& error,
                            grpc::StatusCode code = grpc::StatusCode::INVALID_ARGUMENT) {
  return {code, error.message()};
}

inline grpc::Status not_found(const std::string& what) {
  return {grpc::StatusCode::NOT_FOUND, what + " not found"};
}

inline grpc::Status failed_precondition(std::string message) {
  return {grpc::StatusCode::FAILED_PRECONDITION, std::move(message)};
}

inline grpc::Status invalid(std::string message) {
  return {grpc::StatusCode::INVALID_ARGUMENT, std::move(message)};
}

inline constexpr const char* kNotAManager =
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster "
    "state. Please run this command on a manager node or promote the current node to a manager.";

}  // namespace shoal::api
