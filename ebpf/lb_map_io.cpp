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

namespace {

// Every (key, value) of a hash map.
template <typename Key, typename Value>
Result<std::vector<std::pair<Key, Value>>> entries(int fd, const char* map) {
  std::vector<std::pair<Key, Value>> result;
  Key key{};
  Key next{};
  const void* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    Value value{};
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) {
      result.emplace_back(next, value);
    }
    key = next;
    previous = &key;
  }
  if (errno != ENOENT) {
    return sys_error("iterate", std::string("BPF map ") + map, errno);
  }
  return result;
}

Error no_mesh() {
  return invalid_argument("published port", "the routing mesh is not set up on this node");
}

}  // namespace

Result<std::vector<std::pair<shoal_lb_frontend, shoal_lb_service>>> BpfLbMapIo::services() {
  return entries<shoal_lb_frontend, shoal_lb_service>(services_fd_, "shoal_lb_services");
}

Status BpfLbMapIo::put_ingress_port(const shoal_ingress_port& key, const shoal_lb_service& value) {
  if (ingress_fd_ < 0)
    return no_mesh();
  return checked(bpf_map_update_elem(ingress_fd_, &key, &value, BPF_ANY), "update",
                 "shoal_ingress_ports");
}

Status BpfLbMapIo::delete_ingress_port(const shoal_ingress_port& key) {
  if (ingress_fd_ < 0)
    return no_mesh();
  return checked(bpf_map_delete_elem(ingress_fd_, &key), "delete", "shoal_ingress_ports", true);
}

Result<std::vector<std::pair<shoal_ingress_port, shoal_lb_service>>> BpfLbMapIo::ingress_ports() {
  if (ingress_fd_ < 0)
    return std::vector<std::pair<shoal_ingress_port, shoal_lb_service>>();
  return entries<shoal_ingress_port, shoal_lb_service>(ingress_fd_, "shoal_ingress_ports");
}

}  // namespace shoal::ebpf
