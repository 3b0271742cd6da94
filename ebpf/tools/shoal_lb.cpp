// shoal-lb: converges one node's load balancing to a declared state.
//
//   shoal-lb --node TAG [MESH] apply [--file F|-]   load/attach (or re-use the pinned) programs,
//                                                   upsert every listed service, remove the rest
//   shoal-lb --node TAG [MESH] down                 detach and unpin everything of this node
//   MESH = --mesh-netns NS --node-ip IP --ingress-ip IP [--uplink LINK] [--ingress-link ingress0]
//
// The VIP hooks act on processes in <cgroup2>/shoal/<TAG>; with MESH, the routing-mesh programs
// go on tc ingress of the uplink and the ingress interface inside network namespace NS. Run it
// where the node's bpffs pins should live: under `ip netns exec` the bpffs it mounts is private
// and goes with it.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>

#include "ebpf/ebpf_lb.h"
#include "ebpf/ingress_program.h"
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

struct MeshOptions {
  std::string netns;
  std::string node_ip;
  std::string ingress_ip;
  std::string uplink;  // empty: the interface holding the node IP
  std::string ingress_link = "ingress0";
};

Result<std::unique_ptr<ebpf::IngressProgram>> load_mesh(const MeshOptions& options,
                                                        const ebpf::LbProgram& lb,
                                                        uint32_t max_slots) {
  ebpf::IngressConfig config;
  config.pin_dir = lb.pin_dir();
  config.max_slots = max_slots;
  SHOAL_ASSIGN_OR_RETURN(config.node_ip, Ipv4::parse(options.node_ip));
  SHOAL_ASSIGN_OR_RETURN(config.ingress_ip, Ipv4::parse(options.ingress_ip));
  config.uplink = options.uplink;
  config.ingress_link = options.ingress_link;
  return ebpf::IngressProgram::load(config);
}

Status apply_services(ebpf::LbProgram& lb, ebpf::IngressProgram* mesh,
                      const std::vector<lb::Service>& services) {
  ebpf::BpfLbMapIo maps(lb.services_fd(), lb.slots_fd(), mesh ? mesh->ports_fd() : -1);
  SHOAL_ASSIGN_OR_RETURN(auto balancer, ebpf::EbpfLoadBalancer::create(maps));
  for (const lb::Service& service : services) {
    SHOAL_TRY(balancer->upsert(service));
    std::cout << "service " << service.id << ": " << service.frontends.size() << " VIP(s), "
              << service.published.size() << " published port(s)\n";
  }
  return balancer->prune();
}

Status run(const ebpf::LbProgramConfig& config, const MeshOptions& mesh_options, bool apply,
           const std::vector<lb::Service>& services) {
  SHOAL_ASSIGN_OR_RETURN(auto lb, ebpf::LbProgram::load(config));
  std::unique_ptr<ebpf::IngressProgram> mesh;
  std::optional<dataplane::Netns> node;
  if (!mesh_options.netns.empty()) {
    SHOAL_ASSIGN_OR_RETURN(mesh, load_mesh(mesh_options, *lb, config.max_slots));
    SHOAL_ASSIGN_OR_RETURN(dataplane::Netns opened,
                           dataplane::Netns::open_named(mesh_options.netns));
    node.emplace(std::move(opened));
  }
  if (apply) {
    if (mesh)
      SHOAL_TRY(mesh->attach(*node));
    SHOAL_TRY(apply_services(*lb, mesh.get(), services));
  } else {
    if (mesh) {
      SHOAL_TRY(mesh->detach(*node));
      SHOAL_TRY(mesh->unpin());
    }
    SHOAL_TRY(lb->uninstall());
  }
  std::cout << "cgroup " << lb->cgroup() << ", pins " << lb->pin_dir() << "\n";
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Converges one node's Shoal load balancing to a declared state"};
  ebpf::LbProgramConfig config;
  MeshOptions mesh;
  std::string file = "-";
  app.add_option("--node", config.node, "node tag: scopes the cgroup and the pins")->required();
  app.add_option("--max-frontends", config.max_frontends, "size of the frontend map");
  app.add_option("--max-slots", config.max_slots, "size of the backend slot map");
  auto* netns = app.add_option("--mesh-netns", mesh.netns, "routing mesh: the node's netns");
  app.add_option("--node-ip", mesh.node_ip, "routing mesh: the address clients reach")
      ->needs(netns);
  app.add_option("--ingress-ip", mesh.ingress_ip, "routing mesh: the node's ingress address")
      ->needs(netns);
  app.add_option("--uplink", mesh.uplink,
                 "routing mesh: the uplink interface (default: the one holding --node-ip)");
  app.add_option("--ingress-link", mesh.ingress_link, "routing mesh: the ingress interface");
  app.require_subcommand(1);
  CLI::App* apply_cmd = app.add_subcommand("apply", "converge to the services in a JSON document");
  apply_cmd->add_option("--file,-f", file, "JSON document, - for standard input");
  app.add_subcommand("down", "detach and unpin everything of this node");
  CLI11_PARSE(app, argc, argv);
  if (!mesh.netns.empty() && (mesh.node_ip.empty() || mesh.ingress_ip.empty())) {
    return fail(invalid_argument("--mesh-netns", "needs --node-ip and --ingress-ip"));
  }

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
  Status done = run(config, mesh, apply_cmd->parsed(), services);
  return done.ok() ? 0 : fail(done.error());
}
