#include "control/cli/client.h"

#include <utility>

#include "common/printable.h"

namespace shoal::cli {

Error usage_error(std::string message) {
  return Error{"usage", "", 0, std::move(message)};
}

Error reported_error() {
  return Error{kReportedOp, "", 0, ""};
}

std::string user_message(const Error& error) {
  if (error.op == kDaemonOp) {
    // The daemon's words may quote what a node sent (its name, a task's error).
    return "Error response from daemon: " + printable(error.detail, {.keep_newlines = true});
  }
  if (error.op == kConnectOp) {
    return "Cannot connect to the shoal daemon at " + error.object + ": is shoald running?";
  }
  if (error.op == "usage") {
    return "Error: " + error.detail;
  }
  return "Error: " + error.message();
}

Result<Client> Client::create(const std::string& host) {
  constexpr std::string_view kScheme = "unix://";
  if (host.rfind(kScheme, 0) != 0 || host.size() == kScheme.size()) {
    return usage_error("invalid host \"" + host +
                       "\": only unix:///path/to/shoald.sock is supported");
  }
  std::string path = host.substr(kScheme.size());
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  auto channel =
      grpc::CreateCustomChannel("unix:" + path, grpc::InsecureChannelCredentials(), args);
  return Client(host, std::move(channel));
}

Client::Client(std::string host, std::shared_ptr<grpc::Channel> channel)
    : host_(std::move(host)),
      channel_(std::move(channel)),
      local_(api::Local::NewStub(channel_)),
      control_(api::Control::NewStub(channel_)) {}

Error Client::failure(const grpc::Status& status) {
  // UNAVAILABLE or a deadline on a channel that never became READY means nobody answered on
  // the socket; the same codes on a live channel are the daemon's own answer.
  bool unreachable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                     status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  if (unreachable && channel_->GetState(false) != GRPC_CHANNEL_READY) {
    return Error{kConnectOp, host_, 0, status.error_message()};
  }
  return Error{kDaemonOp, "", 0, status.error_message()};
}

}  // namespace shoal::cli
