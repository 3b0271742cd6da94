// A recording IpvsKernel: every request, nft script and VIP change in order, as text events.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ipvs/ipvs_kernel.h"

namespace shoal::ipvs {

class FakeIpvsKernel final : public IpvsKernel {
 public:
  Status send(const Request& request) override {
    if (fail_next) {
      fail_next = false;
      return sys_error(describe(request), "in the fake", EINVAL);
    }
    requests.push_back(request);
    events.push_back(describe(request));
    return {};
  }
  // Reports every destination of the mark with the active count set in `active` (0 by default),
  // or, for a mark in `dests_of`, those destinations; a mark in `gone` has no IPVS service.
  Result<std::vector<DestStats>> dests(uint32_t fwmark) override {
    events.push_back("list destinations fwmark " + std::to_string(fwmark));
    if (gone.contains(fwmark))
      return sys_error("list destinations", "fwmark " + std::to_string(fwmark), ESRCH);
    if (auto it = dests_of.find(fwmark); it != dests_of.end())
      return it->second;
    std::vector<DestStats> out;
    for (const auto& [ip, count] : active) {
      DestStats d;
      d.ip = ip;
      d.active = count;
      out.push_back(d);
    }
    return out;
  }
  Status nft(const std::string& script) override {
    if (fail_nft_once) {
      fail_nft_once = false;
      events.push_back("nft refused");
      return sys_error("apply nftables script", "in the fake", 0, "Could not process rule");
    }
    scripts.push_back(script);
    events.push_back("nft");
    return {};
  }
  // `listing` as nft's JSON; none: the table does not exist.
  Result<std::string> nft_json(const std::string& command) override {
    events.push_back("nft list");
    if (listing.empty())
      return sys_error("run nft", command, ENOENT, "No such file or directory");
    return listing;
  }
  Status add_vip(Ipv4 vip) override {
    vips.insert(vip);
    events.push_back("add vip " + vip.str());
    return {};
  }
  Status remove_vip(Ipv4 vip) override {
    vips.erase(vip);
    events.push_back("remove vip " + vip.str());
    return {};
  }
  Status remove_vip_link() override {
    vips.clear();
    events.push_back("remove vip link");
    return {};
  }

  std::vector<Request> requests;
  std::vector<std::string> scripts;
  std::vector<std::string> events;
  std::set<Ipv4> vips;
  std::map<Ipv4, uint32_t> active;
  std::map<uint32_t, std::vector<DestStats>> dests_of;
  std::set<uint32_t> gone;
  std::string listing;
  bool fail_next = false;
  bool fail_nft_once = false;
};

}  // namespace shoal::ipvs
