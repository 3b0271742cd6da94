#include "dataplane/firewall/node_firewall.h"

namespace shoal::dataplane::firewall {
namespace {

// After IPVS at the input hook (98 and 99): a published port IPVS takes never comes here.
constexpr int kInputPriority = 110;

const std::string kFamilyTable = std::string("inet ") + kTable;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string command(const std::string& verb, const std::string& rest) {
  return verb + " " + kFamilyTable + " " + rest + "\n";
}

}  // namespace

Status FirewallConfig::validate() const {
  if (vxlan_port == 0)
    return invalid_argument("node firewall", "the VXLAN port must not be 0");
  for (const auto& link : task_links) {
    if (link.empty() || link.size() > 15 ||
        link.find_first_of("\"'\\/ \t\n;{}") != std::string::npos) {
      return invalid_argument("node firewall task link \"" + link + "\"",
                              "is not an interface name (1-15 bytes, no quote, space or slash)");
    }
  }
  return {};
}

std::string install_script(const FirewallConfig& config) {
  std::vector<std::string> links;
  for (const auto& link : config.task_links)
    links.push_back("\"" + link + "\"");
  const std::string vxlan = std::to_string(config.vxlan_port);
  std::string script = "add table " + kFamilyTable + "\n";
  script += command("add set", "swarm_nodes { type ipv4_addr; }");
  script += command("add set", "task_links { type ifname; }");
  script += command("add chain", "input { type filter hook input priority " +
                                     std::to_string(kInputPriority) + "; policy accept; }");
  script += command("flush chain", "input");
  script += command("flush set", "task_links");
  if (!links.empty())
    script += command("add element", "task_links { " + join(links) + " }");
  // Overlay traffic from the swarm's nodes only; the underlay is IPv4, so none over IPv6.
  script +=
      command("add rule", "input udp dport " + vxlan + " ip saddr != @swarm_nodes counter drop");
  script += command("add rule", "input meta nfproto ipv6 udp dport " + vxlan + " counter drop");
  // From tasks: answers to what the node opened pass, nothing else reaches the node itself.
  // Refused rather than dropped: a task is told at once instead of waiting out its timeout.
  script += command("add rule", "input iifname @task_links ct state established,related accept");
  script +=
      command("add rule", "input iifname @task_links counter reject with icmpx admin-prohibited");
  return script;
}

std::string overlay_sources_script(const std::set<Ipv4>& nodes) {
  std::vector<std::string> addresses;
  for (Ipv4 node : nodes)
    addresses.push_back(node.str());
  std::string script = command("flush set", "swarm_nodes");
  if (!addresses.empty())
    script += command("add element", "swarm_nodes { " + join(addresses) + " }");
  return script;
}

std::string remove_script() {
  // "add" first: deleting a table that is not there is no error then.
  return "add table " + kFamilyTable + "\ndelete table " + kFamilyTable + "\n";
}

Result<std::unique_ptr<NodeFirewall>> NodeFirewall::install(std::unique_ptr<NftRunner> runner,
                                                            FirewallConfig config) {
  SHOAL_TRY(config.validate());
  const std::string script = install_script(config);
  if (!runner->apply(script).ok()) {
    // A table of another layout: replaced whole in one transaction, so the node is never
    // without its filter in between. Its set is lost; the next assignment fills it again.
    SHOAL_TRY(runner->apply(remove_script() + script));
  }
  return std::unique_ptr<NodeFirewall>(new NodeFirewall(std::move(runner), std::move(config)));
}

Status NodeFirewall::set_overlay_sources(const std::set<Ipv4>& nodes) {
  if (applied_ == nodes)
    return {};
  const std::string script = overlay_sources_script(nodes);
  if (!runner_->apply(script).ok()) {
    // The table went under us (someone flushed the ruleset): made again with the set.
    SHOAL_TRY(runner_->apply(install_script(config_) + script));
  }
  applied_ = nodes;
  return {};
}

Status NodeFirewall::remove() {
  SHOAL_TRY(runner_->apply(remove_script()));
  applied_.reset();
  return {};
}

}  // namespace shoal::dataplane::firewall
