// A LoadBalancer and a DNS sink that keep the latest state they were given, for tests of what
// drives them.
#pragma once

#include <map>
#include <string>

#include "control/agent/rows/service_feed.h"
#include "dataplane/lb/load_balancer.h"

namespace shoal::testing {

class RecordingBalancer final : public lb::LoadBalancer {
 public:
  std::map<std::string, lb::Service> services;

  std::string backend_name() const override { return "recording"; }
  Status upsert(const lb::Service& service) override {
    services[service.id] = service;
    return {};
  }
  Status set_backends(const std::string& id, const std::vector<lb::Backend>& backends,
                      const std::vector<lb::Backend>& ingress_backends) override {
    auto it = services.find(id);
    if (it == services.end())
      return invalid_argument("service " + id, "is not known");
    it->second.backends = backends;
    it->second.ingress_backends = ingress_backends;
    return {};
  }
  Status remove(const std::string& id) override {
    services.erase(id);
    return {};
  }
  std::vector<lb::Service> list() const override {
    std::vector<lb::Service> out;
    for (const auto& [id, service] : services)
      out.push_back(service);
    return out;
  }
};

class RecordingDns final : public agent::DnsSink {
 public:
  std::map<std::pair<std::string, std::string>, dataplane::dns::ServiceRecord> records;

  Status upsert_service(dataplane::dns::ServiceRecord record) override {
    records[{record.service_id, record.network_id}] = std::move(record);
    return {};
  }
  void remove_service(const std::string& service, const std::string& network) override {
    records.erase({service, network});
  }
};

}  // namespace shoal::testing
