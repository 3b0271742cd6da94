#include "ebpf/lb_map_io.h"

#include <bpf/bpf.h>

#include <cerrno>

namespace shoal::ebpf {
namespace {

Status checked(int rc, const char* op, const char* map, bool missing_ok = false) {
  if (rc == 0 || (missing_ok && errno == ENOENT)) {
    return {};
  }
  return sys_error(op, std::string("BPF map ") + map, errno);
}

}  // namespace

Status BpfLbMapIo::put_service(const shoal_lb_frontend& key, const shoal_lb_service& value) {
  return checked(bpf_map_update_elem(services_fd_, &key, &value, BPF_ANY), "update",
                 "shoal_lb_services");
}

Status BpfLbMapIo::delete_service(const shoal_lb_frontend& key) {
  return checked(bpf_map_delete_elem(services_fd_, &key), "delete", "shoal_lb_services", true);
}

Status BpfLbMapIo::put_slot(const shoal_lb_slot_key& key, const shoal_lb_backend& value) {
  return checked(bpf_map_update_elem(slots_fd_, &key, &value, BPF_ANY), "update", "shoal_lb_slots");
}

Result<bool> BpfLbMapIo::delete_slot(const shoal_lb_slot_key& key) {
  if (bpf_map_delete_elem(slots_fd_, &key) == 0) {
    return true;
  }
  if (errno == ENOENT) {
    return false;
  }
  return sys_error("delete", "BPF map shoal_lb_slots", errno);
}

Result<std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>>> BpfLbMapIo::services() {
  std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>> result;
  shoal_lb_frontend key{};
  shoal_lb_frontend next{};
  const void* previous = nullptr;
  while (bpf_map_get_next_key(services_fd_, previous, &next) == 0) {
    shoal_lb_service value{};
    if (bpf_map_lookup_elem(services_fd_, &next, &value) == 0) {
      result.emplace_back(next, value);
    }
    key = next;
    previous = &key;
  }
  if (errno != ENOENT) {
    return sys_error("iterate", "BPF map shoal_lb_services", errno);
  }
  return result;
}

}  // namespace shoal::ebpf
