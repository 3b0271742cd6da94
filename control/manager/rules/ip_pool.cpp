#include "control/manager/rules/ip_pool.h"

namespace shoal::manager {

IpPool::IpPool(Ipv4Prefix subnet, Ipv4 gateway) : subnet_(subnet), gateway_(gateway) {
  uint64_t size = uint64_t{1} << (32 - subnet.length());
  used_.assign(size, false);
  for (uint32_t i = 0; i < size; ++i) {
    Ipv4 ip(subnet.network().host_order() + i);
    if (!subnet.is_host_address(ip) || ip == gateway) {
      used_[i] = true;
    } else {
      ++free_;
    }
  }
}

Result<Ipv4> IpPool::allocate() {
  if (free_ == 0) {
    return invalid_argument("subnet " + subnet_.str(), "no free address left");
  }
  auto size = static_cast<uint32_t>(used_.size());
  for (uint32_t step = 0; step < size; ++step) {
    uint32_t i = (cursor_ + step) % size;
    if (!used_[i]) {
      used_[i] = true;
      --free_;
      cursor_ = (i + 1) % size;
      return Ipv4(subnet_.network().host_order() + i);
    }
  }
  return invalid_argument("subnet " + subnet_.str(), "no free address left");
}

Status IpPool::claim(Ipv4 ip) {
  if (!subnet_.contains(ip)) {
    return invalid_argument("address " + ip.str(), "is outside subnet " + subnet_.str());
  }
  if (used_[offset(ip)]) {
    return invalid_argument("address " + ip.str(), "is already in use in subnet " + subnet_.str());
  }
  used_[offset(ip)] = true;
  --free_;
  return {};
}

void IpPool::release(Ipv4 ip) {
  // The reserved addresses stay reserved whatever a caller asks.
  if (!subnet_.is_host_address(ip) || ip == gateway_ || !used_[offset(ip)]) {
    return;
  }
  used_[offset(ip)] = false;
  ++free_;
}

bool IpPool::in_use(Ipv4 ip) const {
  return subnet_.contains(ip) && used_[offset(ip)];
}

}  // namespace shoal::manager
