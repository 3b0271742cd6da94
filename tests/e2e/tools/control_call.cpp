// shoal-test-call: one Control or Dispatcher call to a manager with the certificate files given,
// for tests that play a node whose certificate should no longer count (the attacks of issue #18).
//
//   shoal-test-call ADDR CA_PEM CERT_PEM KEY_PEM METHOD
//
// METHOD: ListNodes | GetJoinTokens | Backup | StartRun. Prints "OK" or "<code> <message>" and
// exits 0 when the call succeeded, 1 when it was refused, 2 on bad arguments.
#include <fstream>
#include <iostream>
#include <sstream>

#include "control/daemon/tls.h"
#include "swarm.grpc.pb.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

grpc::Status call(shoal::api::Control::Stub& control, shoal::api::Dispatcher::Stub& dispatcher,
                  const std::string& method) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  shoal::api::Empty empty;
  if (method == "ListNodes") {
    shoal::api::ListNodesResponse nodes;
    return control.ListNodes(&context, empty, &nodes);
  }
  if (method == "GetJoinTokens") {
    shoal::api::JoinTokens tokens;
    return control.GetJoinTokens(&context, empty, &tokens);
  }
  if (method == "Backup") {
    shoal::api::BackupData backup;
    return control.Backup(&context, empty, &backup);
  }
  shoal::api::StartRunRequest run;
  run.add_command("true");
  shoal::api::StartRunResponse started;
  return dispatcher.StartRun(&context, run, &started);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string methods = "ListNodes GetJoinTokens Backup StartRun ";
  if (argc != 6 || methods.find(std::string(argv[5]) + " ") == std::string::npos) {
    std::cerr << "usage: shoal-test-call ADDR CA_PEM CERT_PEM KEY_PEM " << methods << "\n";
    return 2;
  }
  shoal::pki::NodeFiles files{.ca_cert_pem = read_file(argv[2]),
                              .node_cert_pem = read_file(argv[3]),
                              .node_key_pem = read_file(argv[4])};
  auto channel = shoal::daemon::node_channel(argv[1], files, 64 << 20);
  auto control = shoal::api::Control::NewStub(channel);
  auto dispatcher = shoal::api::Dispatcher::NewStub(channel);
  auto status = call(*control, *dispatcher, argv[5]);
  if (status.ok()) {
    std::cout << "OK\n";
    return 0;
  }
  std::cout << status.error_code() << " " << status.error_message() << "\n";
  return 1;
}
