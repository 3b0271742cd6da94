// The narrow interface between the eBPF load balancer's logic and its BPF maps: the real one
// writes through map file descriptors, the unit tests' one is a plain map.
#pragma once

#include <utility>
#include <vector>

#include "common/result.h"
#include "ebpf/lb_maps.h"

namespace shoal::ebpf {

class LbMapIo {
 public:
  virtual ~LbMapIo() = default;
  virtual Status put_service(const shoal_lb_frontend& key, const shoal_lb_service& value) = 0;
  virtual Status delete_service(const shoal_lb_frontend& key) = 0;
  virtual Status put_slot(const shoal_lb_slot_key& key, const shoal_lb_backend& value) = 0;
  // True when the slot existed.
  virtual Result<bool> delete_slot(const shoal_lb_slot_key& key) = 0;
  virtual Result<std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>>> services() = 0;
  virtual Status put_ingress_port(const shoal_ingress_port& key, const shoal_lb_service& value) = 0;
  virtual Status delete_ingress_port(const shoal_ingress_port& key) = 0;
  virtual Result<std::vector<std::pair<shoal_ingress_port, shoal_lb_service>>> ingress_ports() = 0;
};

// Over BPF map file descriptors (owned elsewhere, by the loaded program).
class BpfLbMapIo final : public LbMapIo {
 public:
  // ingress_fd: the published-ports map, or -1 when the node has no routing mesh.
  BpfLbMapIo(int services_fd, int slots_fd, int ingress_fd = -1)
      : services_fd_(services_fd), slots_fd_(slots_fd), ingress_fd_(ingress_fd) {}
  Status put_service(const shoal_lb_frontend& key, const shoal_lb_service& value) override;
  Status delete_service(const shoal_lb_frontend& key) override;
  Status put_slot(const shoal_lb_slot_key& key, const shoal_lb_backend& value) override;
  Result<bool> delete_slot(const shoal_lb_slot_key& key) override;
  Result<std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>>> services() override;
  Status put_ingress_port(const shoal_ingress_port& key, const shoal_lb_service& value) override;
  Status delete_ingress_port(const shoal_ingress_port& key) override;
  Result<std::vector<std::pair<shoal_ingress_port, shoal_lb_service>>> ingress_ports() override;

 private:
  int services_fd_;
  int slots_fd_;
  int ingress_fd_;
};

}  // namespace shoal::ebpf
