// The eBPF load balancer's logic: services and backends turned into BPF map entries.
//
// Each frontend (VIP:port/proto) owns a numeric id and two generations of backend slots. An
// update writes the generation not in use, then flips the frontend's entry in one map write, so
// a connecting task sees either the old backend set or the new one, never a mix or a gap. Old
// slots are left in place (the next update overwrites them) so a program that read the old entry
// an instant earlier still finds its slot. After a restart the frontends already in the pinned
// maps are adopted, keeping their ids; prune() removes those nobody claimed again. A published
// port is one more frontend, keyed by VIP 0.0.0.0 here and kept in the ingress-ports map.
#pragma once

#include <map>
#include <optional>
#include <tuple>

#include "dataplane/lb/load_balancer.h"
#include "ebpf/lb_map_io.h"

namespace shoal::ebpf {

class EbpfLoadBalancer final : public lb::LoadBalancer {
 public:
  // Reads the frontends the maps already hold (left by an earlier run of the agent).
  static Result<std::unique_ptr<EbpfLoadBalancer>> create(LbMapIo& maps);

  std::string backend_name() const override { return "ebpf"; }
  Status upsert(const lb::Service& service) override;
  Status set_backends(const std::string& service_id, const std::vector<lb::Backend>& backends,
                      const std::vector<lb::Backend>& ingress_backends) override;
  Status remove(const std::string& service_id) override;
  std::vector<lb::Service> list() const override;

  // Deletes adopted frontends that no upsert has claimed since start-up.
  Status prune();

 private:
  using Key = std::tuple<uint32_t, uint16_t, uint8_t>;  // vip, port (network order), protocol
  struct FrontendState {
    uint32_t id = 0;
    uint32_t generation = 0;
    uint32_t slot_count = 0;
    std::string owner;  // service id; empty while adopted and unclaimed
  };

  explicit EbpfLoadBalancer(LbMapIo& maps) : maps_(&maps) {}
  static Key key_of(const lb::Frontend& frontend);
  static shoal_lb_frontend map_key(const Key& key);
  // A VIP frontend or a published port (VIP 0), with the port its backends answer on.
  struct Target {
    Key key;
    uint16_t backend_port = 0;
    const std::vector<lb::Backend>* backends = nullptr;
    uint32_t flags = 0;
  };
  static std::vector<Target> targets_of(const lb::Service& service);
  static std::string describe(const Key& key);
  Status write_entry(const Key& key, const shoal_lb_service& value);
  Status delete_entry(const Key& key);
  Status program(const Target& target, FrontendState& state);
  Status drop(const Key& key);

  LbMapIo* maps_;
  std::map<std::string, lb::Service> services_;
  std::map<Key, FrontendState> frontends_;
  uint32_t next_id_ = 1;
};

}  // namespace shoal::ebpf
