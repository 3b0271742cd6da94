// shoal-lb: converges one node's VIP load balancing to a declared state.
//
//   shoal-lb --node TAG apply [--file F|-]   load/attach (or re-use the pinned) programs,
//                                            upsert every listed service, remove the rest
//   shoal-lb --node TAG down                 detach and unpin everything of this node
//
// The hooks act on processes in <cgroup2>/shoal/<TAG>. Run it where the node's bpffs pins
// should live: under `ip netns exec` the bpffs it mounts is private and goes with it.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

#include "ebpf/ebpf_lb.h"
#include "ebpf/lb_program.h"
#include "ebpf/tools/service_state.h"

namespace {

using namespace shoal;

int fail(const Error& error) {
  std::cerr << "shoal-lb: " << error.message() << "\n";
  return 1;
}

Result<std::string> read_input(const std::string& file) {
  if (file == "-")
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  std::ifstream in(file);
  if (!in)
    return sys_error("read", file, errno);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Status apply_services(ebpf::LbProgram& program, const std::vector<lb::Service>& services) {
  ebpf::BpfLbMapIo maps(program.services_fd(), program.slots_fd());
  SHOAL_ASSIGN_OR_RETURN(auto balancer, ebpf::EbpfLoadBalancer::create(maps));
  for (const lb::Service& service : services) {
    SHOAL_TRY(balancer->upsert(service));
    std::cout << "service " << service.id << ": " << service.frontends.size() << " frontend(s), "
              << service.backends.size() << " backend(s)\n";
  }
  return balancer->prune();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Converges one node's Shoal VIP load balancing to a declared state"};
  ebpf::LbProgramConfig config;
  std::string file = "-";
  app.add_option("--node", config.node, "node tag: scopes the cgroup and the pins")->required();
  app.add_option("--max-frontends", config.max_frontends, "size of the frontend map");
  app.add_option("--max-slots", config.max_slots, "size of the backend slot map");
  app.require_subcommand(1);
  CLI::App* apply_cmd = app.add_subcommand("apply", "converge to the services in a JSON document");
  apply_cmd->add_option("--file,-f", file, "JSON document, - for standard input");
  app.add_subcommand("down", "detach and unpin everything of this node");
  CLI11_PARSE(app, argc, argv);

  std::vector<lb::Service> services;
  if (apply_cmd->parsed()) {
    auto text = read_input(file);
    if (!text.ok())
      return fail(text.error());
    auto parsed = ebpf::parse_services(*text);  // checked before anything is loaded
    if (!parsed.ok())
      return fail(parsed.error());
    services = std::move(*parsed);
  }
  auto program = ebpf::LbProgram::load(config);
  if (!program.ok())
    return fail(program.error());
  Status done = apply_cmd->parsed() ? apply_services(**program, services) : (*program)->uninstall();
  if (!done.ok())
    return fail(done.error());
  std::cout << "cgroup " << (*program)->cgroup() << ", pins " << (*program)->pin_dir() << "\n";
  return 0;
}
