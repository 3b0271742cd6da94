// The daemon connection: one gRPC channel on the unix socket named by -H / SHOAL_HOST, and
// unary calls that turn a failed status into an Error the user can read.
//
// Errors carry their kind in Error::op, which decides the words main() prints before them:
//   kDaemonOp   "Error response from daemon: <status message>"
//   kConnectOp  "Cannot connect to the shoal daemon at <host>: is shoald running?"
//   kReportedOp the command has already printed its errors; only exit 1
//   anything else is a usage or local error: "Error: <message>"
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>

#include <grpcpp/grpcpp.h>

#include "common/result.h"
#include "swarm.grpc.pb.h"

namespace shoal::cli {

inline constexpr const char* kDaemonOp = "daemon";
inline constexpr const char* kConnectOp = "connect";
inline constexpr const char* kReportedOp = "reported";
inline constexpr const char* kDefaultHost = "unix:///var/lib/shoal/shoald.sock";
inline constexpr std::chrono::milliseconds kCallTimeout = std::chrono::seconds(30);
// gRPC's default of 4 MiB is too small for a swarm backup (at most 64 MiB) and its envelope.
inline constexpr int kMaxMessageBytes = 72 * 1024 * 1024;

Error usage_error(std::string message);
Error reported_error();

// The line main() prints for a failed command.
std::string user_message(const Error& error);

class Client {
 public:
  // `host` is "unix:///path/to/shoald.sock"; no connection is made until the first call.
  static Result<Client> create(const std::string& host);

  const std::string& host() const { return host_; }

  // One unary call with a deadline: client.control(&api::Control::Stub::GetNode, request).
  // Polling passes a short timeout.
  template <typename Req, typename Resp>
  Result<Resp> control(grpc::Status (api::Control::Stub::*rpc)(grpc::ClientContext*, const Req&,
                                                               Resp*),
                       const std::type_identity_t<Req>& request,
                       std::chrono::milliseconds timeout = kCallTimeout) {
    return call(*control_, rpc, request, timeout);
  }
  // For the streaming calls; failure() turns their final status into an Error.
  api::Local::Stub& local_stub() { return *local_; }
  Error failure(const grpc::Status& status);

  template <typename Req, typename Resp>
  Result<Resp> local(grpc::Status (api::Local::Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                     const std::type_identity_t<Req>& request,
                     std::chrono::milliseconds timeout = kCallTimeout) {
    return call(*local_, rpc, request, timeout);
  }

 private:
  template <typename Stub, typename Req, typename Resp>
  Result<Resp> call(Stub& stub, grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                    const std::type_identity_t<Req>& request,
                    std::chrono::milliseconds timeout = kCallTimeout) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    Resp response;
    grpc::Status status = (stub.*rpc)(&context, request, &response);
    if (!status.ok()) {
      return failure(status);
    }
    return response;
  }

  Client(std::string host, std::shared_ptr<grpc::Channel> channel);

  std::string host_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<api::Local::Stub> local_;
  std::unique_ptr<api::Control::Stub> control_;
};

}  // namespace shoal::cli
