#include "control/agent/rows/endpoint_table.h"

#include "endpoint_record.pb.h"

namespace shoal::agent {
namespace {

constexpr size_t kMaxRecordBytes = 64 * 1024;
constexpr int kMaxPorts = 256;
constexpr int kMaxAliases = 64;

Result<Ipv4> address(const std::string& text, const std::string& what) {
  // Docker writes the VIP with or without a prefix length.
  const std::string bare = text.substr(0, text.find('/'));
  auto ip = Ipv4::parse(bare);
  if (!ip.ok()) {
    return invalid_argument("endpoint record", what + " '" + text + "' is not an IPv4 address");
  }
  return ip;
}

Result<PublishedPortRecord> port_of(const wire::PortConfig& config) {
  if (config.published_port() == 0 || config.published_port() > 65535 ||
      config.target_port() > 65535) {
    return invalid_argument("endpoint record", "port " + std::to_string(config.published_port()) +
                                                   "->" + std::to_string(config.target_port()) +
                                                   " is out of range");
  }
  if (config.protocol() != wire::TCP && config.protocol() != wire::UDP) {
    return invalid_argument("endpoint record", "only TCP and UDP ports can be published");
  }
  PublishedPortRecord port;
  port.port = static_cast<uint16_t>(config.published_port());
  port.target_port = static_cast<uint16_t>(config.target_port());
  port.protocol = config.protocol() == wire::TCP ? lb::Protocol::kTcp : lb::Protocol::kUdp;
  port.mode = config.host_mode() ? PublishMode::kHost : PublishMode::kIngress;
  port.preserve_source = config.preserve_source();
  return port;
}

}  // namespace

Bytes encode_endpoint(const EndpointRecord& record) {
  wire::EndpointRecord out;
  out.set_name(record.task_id);
  out.set_service_name(record.service_name);
  out.set_service_id(record.service_id);
  if (record.vip && record.mode == dataplane::dns::EndpointMode::kVip) {
    out.set_virtual_ip(record.vip->str());
  }
  out.set_endpoint_ip(record.task_ip.str());
  for (const PublishedPortRecord& p : record.published) {
    wire::PortConfig* port = out.add_ingress_ports();
    port->set_protocol(p.protocol == lb::Protocol::kTcp ? wire::TCP : wire::UDP);
    port->set_target_port(p.target_port);
    port->set_published_port(p.port);
    port->set_host_mode(p.mode == PublishMode::kHost);
    port->set_preserve_source(p.preserve_source);
  }
  for (const std::string& alias : record.aliases)
    out.add_aliases(alias);
  out.set_service_disabled(!record.running);
  const std::string bytes = out.SerializeAsString();
  return Bytes(bytes.begin(), bytes.end());
}

Result<EndpointRecord> decode_endpoint(const Bytes& value, const std::string& network,
                                       const std::string& key, bool local) {
  if (value.size() > kMaxRecordBytes) {
    return invalid_argument("endpoint record " + key, "is larger than 64 KiB");
  }
  wire::EndpointRecord in;
  if (!in.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return invalid_argument("endpoint record " + key, "is not a valid protobuf EndpointRecord");
  }
  if (in.service_id().empty()) {
    return invalid_argument("endpoint record " + key, "has no service id");
  }
  if (in.ingress_ports_size() > kMaxPorts || in.aliases_size() > kMaxAliases) {
    return invalid_argument("endpoint record " + key, "has too many ports or aliases");
  }
  EndpointRecord record;
  record.service_id = in.service_id();
  record.service_name = in.service_name();
  record.aliases.assign(in.aliases().begin(), in.aliases().end());
  record.network_id = network;
  record.task_id = key;
  SHOAL_ASSIGN_OR_RETURN(record.task_ip, address(in.endpoint_ip(), "endpoint_ip"));
  if (in.virtual_ip().empty()) {
    record.mode = dataplane::dns::EndpointMode::kDnsrr;
  } else {
    SHOAL_ASSIGN_OR_RETURN(Ipv4 vip, address(in.virtual_ip(), "virtual_ip"));
    record.vip = vip;
  }
  for (const wire::PortConfig& config : in.ingress_ports()) {
    SHOAL_ASSIGN_OR_RETURN(PublishedPortRecord port, port_of(config));
    record.published.push_back(port);
  }
  record.running = !in.service_disabled();
  record.local = local;
  return record;
}

Status EndpointTableFeed::on_event(const gossip::networkdb::WatchEvent& event) {
  const auto row = std::make_pair(event.network, event.key);
  if (event.type == gossip::networkdb::WatchEventType::kDelete) {
    auto known = services_.find(row);
    if (known == services_.end()) {
      return {};
    }
    const std::string service_id = known->second;
    services_.erase(known);
    return feed_->remove(service_id, event.network, event.key);
  }
  auto record = decode_endpoint(event.value, event.network, event.key, event.owner == self_);
  if (!record.ok()) {
    ++rejected_;
    return std::move(record).error();
  }
  auto [it, inserted] = services_.try_emplace(row, record->service_id);
  if (!inserted && it->second != record->service_id) {
    // The endpoint now belongs to another service: it leaves the old one first.
    SHOAL_TRY(feed_->remove(it->second, event.network, event.key));
    it->second = record->service_id;
  }
  return feed_->upsert(*record);
}

}  // namespace shoal::agent
