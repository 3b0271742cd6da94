// shoal-control-bench: control calls against a shoald's CLI socket, timed in-process (a CLI
// process per call would time its own start-up). bench/managers.sh drives it.
//
//   shoal-control-bench latency SOCKET NODE N
//       N writes (UpdateNode: a label on NODE, one store commit each), one at a time; prints
//       "p50_ms p99_ms max_ms".
//   shoal-control-bench first-ok SOCKET NODE TIMEOUT_S
//       the same write every 50 ms until one succeeds; prints the milliseconds that took
//       (exit 1 after TIMEOUT_S).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "swarm.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

grpc::Status write_label(shoal::api::Control::Stub& stub, const std::string& node, int i) {
  shoal::api::UpdateNodeRequest request;
  request.set_id(node);
  (*request.mutable_label_add())["bench"] = std::to_string(i);
  shoal::api::Node response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  return stub.UpdateNode(&context, request, &response);
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

int latency(shoal::api::Control::Stub& stub, const std::string& node, int count) {
  std::vector<double> samples;
  for (int i = 0; i < count; ++i) {
    auto start = Clock::now();
    auto status = write_label(stub, node, i);
    if (!status.ok()) {
      std::fprintf(stderr, "write %d: %s\n", i, status.error_message().c_str());
      return 1;
    }
    samples.push_back(ms(Clock::now() - start));
  }
  std::sort(samples.begin(), samples.end());
  auto at = [&](size_t percent) { return samples[percent * (samples.size() - 1) / 100]; };
  std::printf("%.2f %.2f %.2f\n", at(50), at(99), samples.back());
  return 0;
}

int first_ok(shoal::api::Control::Stub& stub, const std::string& node, int timeout_s) {
  auto start = Clock::now();
  for (int i = 0; Clock::now() - start < std::chrono::seconds(timeout_s); ++i) {
    if (write_label(stub, node, i).ok()) {
      std::printf("%.0f\n", ms(Clock::now() - start));
      return 0;
    }
    std::this_thread::sleep_for(50ms);
  }
  std::fprintf(stderr, "no write succeeded in %d s\n", timeout_s);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s latency|first-ok SOCKET NODE N|TIMEOUT_S\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  auto channel =
      grpc::CreateChannel(std::string("unix:") + argv[2], grpc::InsecureChannelCredentials());
  auto stub = shoal::api::Control::NewStub(channel);
  const int n = std::atoi(argv[4]);
  if (mode == "latency" && n > 0) {
    return latency(*stub, argv[3], n);
  }
  if (mode == "first-ok" && n > 0) {
    return first_ok(*stub, argv[3], n);
  }
  std::fprintf(stderr, "unknown mode %s or bad count %s\n", argv[1], argv[4]);
  return 2;
}
