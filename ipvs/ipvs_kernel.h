// What the IPVS load balancer asks of the kernel, behind a narrow interface so that its logic is
// tested against a fake: IPVS requests (generic netlink), nftables scripts (its own table only),
// and the VIP addresses on a dummy link that make VIPs local, as IPVS needs for local clients.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net_types.h"
#include "common/result.h"
#include "dataplane/netns.h"
#include "ipvs/ipvs_messages.h"

namespace shoal::ipvs {

inline constexpr const char* kVipLink = "shoal-ipvs0";

class IpvsKernel {
 public:
  virtual ~IpvsKernel() = default;
  virtual Status send(const Request& request) = 0;
  // The destinations of the service with this mark, with their connection counts.
  virtual Result<std::vector<DestStats>> dests(uint32_t fwmark) = 0;
  // One nft script, applied as a single transaction.
  virtual Status nft(const std::string& script) = 0;
  // One nft list command (such as "list table ip shoal-ipvs"), its output as nft's JSON.
  virtual Result<std::string> nft_json(const std::string& command) = 0;
  virtual Status add_vip(Ipv4 vip) = 0;
  virtual Status remove_vip(Ipv4 vip) = 0;
  // Removes the dummy link and with it every VIP address.
  virtual Status remove_vip_link() = 0;
};

// The sysctls set in the namespace at open (under net/ipv4/), with the reason for each value.
struct Sysctl {
  const char* key;
  const char* value;
};
extern const Sysctl kIpvsSysctls[5];

// The real kernel, in the namespace `ns` (the caller's when empty). Opening sets the IPVS
// sysctls of that namespace and creates the dummy VIP link if missing.
class LinuxIpvsKernel final : public IpvsKernel {
 public:
  static Result<std::unique_ptr<LinuxIpvsKernel>> open(std::optional<dataplane::Netns> ns);
  ~LinuxIpvsKernel() override;
  LinuxIpvsKernel(const LinuxIpvsKernel&) = delete;
  LinuxIpvsKernel& operator=(const LinuxIpvsKernel&) = delete;

  Status send(const Request& request) override;
  Result<std::vector<DestStats>> dests(uint32_t fwmark) override;
  Status nft(const std::string& script) override;
  Result<std::string> nft_json(const std::string& command) override;
  Status add_vip(Ipv4 vip) override;
  Status remove_vip(Ipv4 vip) override;
  Status remove_vip_link() override;

 private:
  struct Sockets;
  explicit LinuxIpvsKernel(std::unique_ptr<Sockets> sockets);
  std::unique_ptr<Sockets> sockets_;
};

}  // namespace shoal::ipvs
