// NetKernel over rtnetlink (libnl-route-3). One netlink socket per namespace, opened inside that
// namespace on first use and kept; no thread ever changes namespace for longer than opening one.
// Not thread-safe: one owner (the agent's dataplane strand) drives it.
#pragma once

#include <map>
#include <memory>

#include "dataplane/kernel.h"
#include "dataplane/netlink_socket.h"
#include "dataplane/netns.h"

namespace shoal::dataplane {

class LibnlKernel final : public NetKernel {
 public:
  // node: the namespace that holds the underlay (the agent's own, or a simulated host's).
  static Result<std::unique_ptr<LibnlKernel>> create(Netns node);
  // The calling thread's namespace is the node's.
  static Result<std::unique_ptr<LibnlKernel>> create_for_current();

  bool netns_exists(const std::string& name) override;
  Status netns_create(const std::string& name) override;
  Status netns_delete(const std::string& name) override;
  Result<std::vector<std::string>> netns_list() override;

  Result<std::vector<LinkInfo>> links(const std::string& ns) override;
  Result<std::optional<LinkInfo>> link(const std::string& ns, const std::string& name) override;
  Status create_bridge(const std::string& ns, const std::string& name, uint32_t mtu) override;
  Status create_vxlan(const std::string& ns, const VxlanConfig& config) override;
  Status create_veth(const std::string& ns, const VethConfig& config) override;
  Status delete_link(const std::string& ns, const std::string& name) override;
  Status change_link(const std::string& ns, const std::string& name,
                     const LinkChange& change) override;

  Result<std::vector<Ipv4Prefix>> addresses(const std::string& ns,
                                            const std::string& link) override;
  Status add_address(const std::string& ns, const std::string& link, Ipv4Prefix address) override;
  Status set_default_route(const std::string& ns, const std::string& link, Ipv4 gateway) override;

  Status set_neighbour(const std::string& ns, const std::string& link, Ipv4 ip, Mac mac) override;
  Status delete_neighbour(const std::string& ns, const std::string& link, Ipv4 ip) override;
  Status set_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) override;
  Status delete_fdb(const std::string& ns, const std::string& link, Mac mac, Ipv4 vtep) override;

  Result<std::vector<std::pair<Ipv4, Mac>>> neighbours(const std::string& ns,
                                                       const std::string& link) override;
  Result<std::vector<std::pair<Mac, Ipv4>>> fdb_entries(const std::string& ns,
                                                        const std::string& link) override;

  Status set_sysctl(const std::string& ns, const std::string& key,
                    const std::string& value) override;
  Result<uint32_t> mtu_of_address(Ipv4 address) override;

 private:
  struct Handle {
    Netns ns;
    NlSocket sock;
  };

  explicit LibnlKernel(Handle node) : node_(std::move(node)) {}

  Result<Handle*> handle(const std::string& ns);
  Result<int> ifindex(const std::string& ns, const std::string& name);
  Status add_link(const std::string& op, const std::string& ns, rtnl_link* link,
                  const std::string& name);
  Result<NlCache> neigh_cache(const std::string& ns, const std::string& link);
  Status write_neigh(const std::string& op, const std::string& ns, const std::string& link,
                     rtnl_neigh* neigh, bool add);

  Handle node_;
  std::map<std::string, Handle> named_;  // by name or path; re-opened when the file changes
};

}  // namespace shoal::dataplane
