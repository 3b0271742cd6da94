#include "control/agent/rows/service_feed.h"

#include <algorithm>
#include <utility>

namespace shoal::agent {
namespace {

std::string lb_id(const std::string& service_id, const std::string& network_id) {
  return service_id + "/" + network_id;
}

bool only_local_tasks(const PublishedPortRecord& port) {
  return port.mode == PublishMode::kHost || port.preserve_source;
}

}  // namespace

Status ServiceFeed::upsert(const EndpointRecord& record) {
  if (record.service_id.empty() || record.network_id.empty() || record.task_id.empty()) {
    return invalid_argument("endpoint record", "needs a service, a network and a task");
  }
  rows_[record.service_id][Key{record.network_id, record.task_id}] = record;
  return refresh(record.service_id, record.network_id);
}

Status ServiceFeed::remove(const std::string& service_id, const std::string& network_id,
                           const std::string& task_id) {
  auto service = rows_.find(service_id);
  if (service == rows_.end() || service->second.erase(Key{network_id, task_id}) == 0) {
    return {};
  }
  return refresh(service_id, network_id);
}

Status ServiceFeed::set_ingress_network(std::string network_id) {
  if (network_id == ingress_network_) {
    return {};
  }
  const std::string old = std::exchange(ingress_network_, std::move(network_id));
  std::vector<std::pair<std::string, std::string>> affected;  // service, network
  for (const auto& [service_id, rows] : rows_) {
    for (const std::string& network : {old, ingress_network_}) {
      const bool present = std::any_of(rows.begin(), rows.end(), [&](const auto& row) {
        return std::get<0>(row.first) == network;
      });
      if (present)
        affected.emplace_back(service_id, network);
    }
  }
  Status first;
  auto keep_first = [&first](Status status) {
    if (first.ok() && !status.ok())
      first = std::move(status);
  };
  for (const auto& [service_id, network] : affected) {
    const std::string id = lb_id(service_id, network);
    if (network == old) {  // it was programmed as the ingress network: published ports
      keep_first(balancer_->remove(id));
      keep_first(balancer_->remove(id + "/local"));
    } else {  // it was programmed as an ordinary network: a VIP and names
      dns_->remove_service(service_id, network);
      keep_first(balancer_->remove(id));
    }
    keep_first(refresh(service_id, network));
  }
  return first;
}

Status ServiceFeed::refresh(const std::string& service_id, const std::string& network_id) {
  std::vector<const EndpointRecord*> rows;
  auto service = rows_.find(service_id);
  if (service != rows_.end()) {
    for (const auto& [key, row] : service->second) {
      if (std::get<0>(key) == network_id)
        rows.push_back(&row);
    }
    if (service->second.empty())
      rows_.erase(service);
  }
  return network_id == ingress_network_ ? refresh_ingress(service_id, rows)
                                        : refresh_network(service_id, network_id, rows);
}

Status ServiceFeed::refresh_network(const std::string& service_id, const std::string& network_id,
                                    const std::vector<const EndpointRecord*>& rows) {
  const std::string id = lb_id(service_id, network_id);
  if (rows.empty()) {
    dns_->remove_service(service_id, network_id);
    return balancer_->remove(id);
  }
  // Service-level fields are the same on every row; the newest row speaks for them.
  const EndpointRecord& any = *rows.back();
  dataplane::dns::ServiceRecord names{service_id, network_id, any.service_name, any.aliases,
                                      any.vip,    {},         any.mode};
  lb::Service service;
  service.id = id;
  service.network = network_id;
  for (const EndpointRecord* row : rows) {
    if (!row->running)
      continue;
    names.task_ips.push_back(row->task_ip);
    service.backends.push_back(lb::Backend{row->task_ip});
  }
  if (any.vip && any.mode == dataplane::dns::EndpointMode::kVip) {
    service.frontends = {lb::Frontend{*any.vip, 0, lb::Protocol::kTcp, 0},
                         lb::Frontend{*any.vip, 0, lb::Protocol::kUdp, 0}};
  }
  SHOAL_TRY(dns_->upsert_service(std::move(names)));
  return service.frontends.empty() ? balancer_->remove(id) : balancer_->upsert(service);
}

Status ServiceFeed::refresh_ingress(const std::string& service_id,
                                    const std::vector<const EndpointRecord*>& rows) {
  const std::string id = lb_id(service_id, ingress_network_);
  if (rows.empty() || rows.back()->published.empty()) {
    return balancer_->remove(id);
  }
  // One load-balancer service per backend set: ports served by every task, and ports served by
  // this node's tasks only.
  lb::Service everywhere{id, {}, {}, {}, {}, {}, ingress_network_};
  lb::Service local_only{id + "/local", {}, {}, {}, {}, {}, ingress_network_};
  for (const PublishedPortRecord& port : rows.back()->published) {
    lb::Service& target = only_local_tasks(port) ? local_only : everywhere;
    target.published.push_back(
        lb::PublishedPort{port.port, port.protocol, port.target_port, port.preserve_source});
  }
  for (const EndpointRecord* row : rows) {
    if (!row->running)
      continue;
    everywhere.ingress_backends.push_back(lb::Backend{row->task_ip});
    if (row->local)
      local_only.ingress_backends.push_back(lb::Backend{row->task_ip});
  }
  for (lb::Service* service : {&everywhere, &local_only}) {
    SHOAL_TRY(service->published.empty() ? balancer_->remove(service->id)
                                         : balancer_->upsert(*service));
  }
  return {};
}

}  // namespace shoal::agent
