// shoal-dataplane: converges one node's overlay networks to a declared state.
//
//   shoal-dataplane --tag TAG --underlay IP [--underlay-mtu N] apply [--file F|-]
//   shoal-dataplane --tag TAG --underlay IP down
//
// `apply` ensures every listed network, attaches its endpoints, makes its peers exactly those
// listed, and removes every other network or endpoint namespace of this node; `down` removes them
// all. Run it in the node's network namespace (for a simulated host: `ip netns exec HOST ...`).
// The agent drives the same Overlay API from gossip and assignments; this tool is for operators,
// the demo and the benchmarks.
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <set>

#include "dataplane/libnl_kernel.h"
#include "dataplane/overlay.h"
#include "dataplane/tools/node_state.h"

namespace {

using namespace shoal;
using namespace shoal::dataplane;

int fail(const Error& error) {
  std::cerr << "shoal-dataplane: " << error.message() << "\n";
  return 1;
}

Result<std::string> read_input(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(file);
  if (!in) {
    return sys_error("read", file, errno);
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Status validate_all(const NodeState& state, const Overlay& overlay) {
  for (const NetworkState& network : state.networks) {
    SHOAL_TRY(validate_network(network.spec, overlay.underlay_mtu()));
    for (const EndpointSpec& endpoint : network.endpoints) {
      SHOAL_TRY(validate_endpoint(endpoint, network.spec));
    }
  }
  return {};
}

Status apply(Overlay& overlay, const NodeState& state) {
  // Everything is checked before the kernel is touched, so bad input changes nothing.
  SHOAL_TRY(validate_all(state, overlay));
  std::set<std::string> networks;
  std::set<std::string> endpoints;
  for (const NetworkState& network : state.networks) {
    networks.insert(network.spec.id);
    for (const EndpointSpec& endpoint : network.endpoints)
      endpoints.insert(endpoint.id);
  }
  SHOAL_ASSIGN_OR_RETURN(SweepReport swept, overlay.sweep(networks, endpoints));
  for (const std::string& name : swept.removed)
    std::cout << "removed " << name << "\n";
  for (const NetworkState& network : state.networks) {
    SHOAL_TRY(overlay.ensure(network.spec));
    for (const EndpointSpec& endpoint : network.endpoints) {
      SHOAL_ASSIGN_OR_RETURN(Endpoint made, overlay.attach(endpoint));
      std::cout << "endpoint " << endpoint.id << ": " << made.address.str() << " " << made.mac.str()
                << " in netns " << made.netns << "\n";
    }
    SHOAL_TRY(overlay.sync_peers(network.spec.id, network.peers));
    std::cout << "network " << network.spec.id << ": VNI " << network.spec.vni << ", MTU "
              << *overlay.mtu_of(network.spec.id) << ", " << network.endpoints.size()
              << " endpoint(s), " << network.peers.size() << " peer(s)\n";
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Converges one node's Shoal overlay networks to a declared state"};
  std::string tag;
  std::string underlay;
  uint32_t underlay_mtu = 0;
  std::string file = "-";
  app.add_option("--tag", tag, "node tag that prefixes every global name")->required();
  app.add_option("--underlay", underlay, "this node's underlay IPv4 address")->required();
  app.add_option("--underlay-mtu", underlay_mtu, "underlay MTU (default: read from the kernel)");
  app.require_subcommand(1);
  CLI::App* apply_cmd = app.add_subcommand("apply", "converge to the state in a JSON document");
  apply_cmd->add_option("--file,-f", file, "JSON document, - for standard input");
  CLI::App* down_cmd = app.add_subcommand("down", "remove every network and endpoint of this node");
  CLI11_PARSE(app, argc, argv);

  auto underlay_ip = Ipv4::parse(underlay);
  if (!underlay_ip.ok())
    return fail(underlay_ip.error());
  auto kernel = LibnlKernel::create_for_current();
  if (!kernel.ok())
    return fail(kernel.error());
  NodeConfig node{tag, *underlay_ip, std::nullopt};
  if (underlay_mtu != 0)
    node.underlay_mtu = underlay_mtu;
  auto overlay = Overlay::create(node, **kernel);
  if (!overlay.ok())
    return fail(overlay.error());

  NodeState state;
  if (apply_cmd->parsed()) {
    auto text = read_input(file);
    if (!text.ok())
      return fail(text.error());
    auto parsed = parse_node_state(*text);
    if (!parsed.ok())
      return fail(parsed.error());
    state = std::move(*parsed);
  }
  (void)down_cmd;
  Status done = apply(*overlay, state);
  return done.ok() ? 0 : fail(done.error());
}
