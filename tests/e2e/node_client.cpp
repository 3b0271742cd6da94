// A node's side of the manager port, for e2e tests that play a misbehaving node or a stranger:
// run inside a host's namespace (`ip netns exec`), it makes one kind of call and prints one
// line per call, "<status code> <message>". With a state dir it uses that node's certificate
// files (certificates/ under it); `join` uses none, as a joining node does.
//
//   shoal-e2e-node-client MANAGER join TOKEN HOSTNAME ADDR [COUNT]
//   shoal-e2e-node-client MANAGER session STATE_DIR HOSTNAME ADDR
//   shoal-e2e-node-client MANAGER start-run STATE_DIR NETWORK NAME
//   shoal-e2e-node-client MANAGER publish-logs STATE_DIR SUBSCRIPTION TASK
//   shoal-e2e-node-client MANAGER call METHOD CA_PEM CERT_PEM KEY_PEM
//
// `call` makes one Control or Dispatcher call (METHOD: ListNodes, GetJoinTokens, Backup or
// StartRun) with the certificate files given, for tests that play a node whose certificate
// should no longer count; it exits 0 when the call succeeded and 1 when it was refused.
//
// HOSTNAME "long:N" means N bytes of 'a' (an argument cannot hold 3 MB); "escapes" means the
// review's terminal escapes, "\e]0;owned-title\a\e[2J\e[31mh2".
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "control/api/tls.h"
#include "control/pki/identity.h"
#include "control/pki/node_files.h"
#include "swarm.grpc.pb.h"

namespace {

using namespace shoal;
using namespace std::chrono_literals;

std::string hostname_arg(const std::string& arg) {
  if (arg.starts_with("long:"))
    return std::string(std::stoul(arg.substr(5)), 'a');
  if (arg == "escapes")
    return "\x1b]0;owned-title\a\x1b[2J\x1b[31mh2";
  return arg;
}

const char* code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    default:
      return "OTHER";
  }
}

void print(const grpc::Status& status) {
  std::printf("%s %s\n", code_name(status.error_code()), status.error_message().c_str());
}

std::unique_ptr<grpc::ClientContext> call() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + 20s);
  return context;
}

std::unique_ptr<api::Dispatcher::Stub> dispatcher(const std::string& manager,
                                                  const std::string& state_dir) {
  auto files = pki::load_node_files(state_dir);
  if (!files.ok()) {
    std::fprintf(stderr, "%s\n", files.error().message().c_str());
    std::exit(2);
  }
  return api::Dispatcher::NewStub(api::node_channel(manager, *files));
}

int join(const std::string& manager, const std::vector<std::string>& args) {
  auto key = pki::make_key_and_csr();
  if (!key.ok())
    return 2;
  auto stub = api::Ca::NewStub(api::unverified_channel(manager));
  int count = args.size() > 3 ? std::stoi(args[3]) : 1;
  for (int i = 0; i < count; ++i) {
    api::IssueNodeCertificateRequest request;
    request.set_token(args[0]);
    request.set_hostname(hostname_arg(args[1]));
    request.set_addr(args[2]);
    request.set_csr_pem(key->csr_pem);
    api::IssueNodeCertificateResponse response;
    print(stub->IssueNodeCertificate(call().get(), request, &response));
  }
  return 0;
}

int session(const std::string& manager, const std::vector<std::string>& args) {
  auto stub = dispatcher(manager, args[0]);
  api::SessionRequest request;
  request.set_hostname(hostname_arg(args[1]));
  request.set_addr(args[2]);
  auto context = call();
  auto stream = stub->Session(context.get(), request);
  api::Assignments first;
  if (stream->Read(&first)) {
    context->TryCancel();
    stream->Finish();
    print(grpc::Status::OK);
    return 0;
  }
  print(stream->Finish());
  return 0;
}

int start_run(const std::string& manager, const std::vector<std::string>& args) {
  auto stub = dispatcher(manager, args[0]);
  api::StartRunRequest request;
  request.set_network(args[1]);
  request.set_name(args[2]);
  request.add_command("/bin/true");
  api::StartRunResponse response;
  print(stub->StartRun(call().get(), request, &response));
  return 0;
}

int publish_logs(const std::string& manager, const std::vector<std::string>& args) {
  auto stub = dispatcher(manager, args[0]);
  api::PublishLogsRequest request;
  request.set_subscription_id(args[1]);
  auto* line = request.add_lines();
  line->set_task_id(args[2]);
  line->set_stream("stdout");
  line->set_line("forged line");
  api::Empty empty;
  print(stub->PublishLogs(call().get(), request, &empty));
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

grpc::Status call_method(const std::string& manager, const std::string& method,
                         const pki::NodeFiles& files) {
  auto channel = api::node_channel(manager, files, 64 << 20);
  auto control = api::Control::NewStub(channel);
  api::Empty empty;
  if (method == "ListNodes") {
    api::ListNodesResponse nodes;
    return control->ListNodes(call().get(), empty, &nodes);
  }
  if (method == "GetJoinTokens") {
    api::JoinTokens tokens;
    return control->GetJoinTokens(call().get(), empty, &tokens);
  }
  if (method == "Backup") {
    api::BackupData backup;
    return control->Backup(call().get(), empty, &backup);
  }
  api::StartRunRequest run;
  run.add_command("true");
  api::StartRunResponse started;
  return api::Dispatcher::NewStub(channel)->StartRun(call().get(), run, &started);
}

int call_with_files(const std::string& manager, const std::vector<std::string>& args) {
  const std::string methods = "ListNodes GetJoinTokens Backup StartRun ";
  if (methods.find(args[0] + " ") == std::string::npos) {
    std::fprintf(stderr, "METHOD is one of: %s\n", methods.c_str());
    return 2;
  }
  pki::NodeFiles files{.ca_cert_pem = read_file(args[1]),
                       .node_cert_pem = read_file(args[2]),
                       .node_key_pem = read_file(args[3])};
  auto status = call_method(manager, args[0], files);
  print(status);
  return status.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 2) {
    std::fprintf(stderr, "usage: %s MANAGER CALL ARGS...\n", argv[0]);
    return 2;
  }
  const std::string manager = args[0];
  const std::string what = args[1];
  std::vector<std::string> rest(args.begin() + 2, args.end());
  if (what == "join" && rest.size() >= 3)
    return join(manager, rest);
  if (what == "session" && rest.size() == 3)
    return session(manager, rest);
  if (what == "start-run" && rest.size() == 3)
    return start_run(manager, rest);
  if (what == "publish-logs" && rest.size() == 3)
    return publish_logs(manager, rest);
  if (what == "call" && rest.size() == 4)
    return call_with_files(manager, rest);
  std::fprintf(stderr, "bad arguments for %s\n", what.c_str());
  return 2;
}
