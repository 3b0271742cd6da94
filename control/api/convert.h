// The manager's objects to and from the API's messages.
//
// Outgoing conversions cannot fail. Incoming ones (a ServiceSpec or a task report from a client)
// check every word and address and say which field is wrong; network names in a spec are
// resolved by the caller, since that needs the store.
#pragma once

#include "common/result.h"
#include "control/manager/rules/types.h"
#include "swarm.pb.h"

namespace shoal::api {

void to_proto(const manager::Node& node, bool leader, Node& out);
void to_proto(const manager::Network& network, Network& out);
void to_proto(const manager::ServiceSpec& spec, ServiceSpec& out);
void to_proto(const manager::Service& service, Service& out);
void to_proto(const manager::Task& task, const std::string& service_name, Task& out);
// Lists and inspect leave the data out unless asked (Docker's inspect never shows it).
void to_proto(const manager::Config& config, bool with_data, Config& out);
// The service's endpoint on a task message (what the node's service plane programs).
void endpoint_to_proto(const manager::Service& service, Task& out);

Result<manager::ServiceSpec> from_proto(const ServiceSpec& spec);
Result<manager::PortConfig> from_proto(const PortConfig& port);

// What an agent needs to run a task, back from the wire (agents do not see the store).
struct TaskAssignment {
  std::string id;
  std::string service_id;
  std::string service_name;
  uint64_t slot = 0;
  manager::TaskState desired = manager::TaskState::kRunning;
  manager::TaskRuntime runtime;
  std::map<std::string, Ipv4Prefix> addresses;  // by network id
  std::map<std::string, Ipv4Prefix> vips;       // the service's, by network id
  std::vector<manager::PortConfig> ports;       // the service's published ports
  bool dnsrr = false;
  // The content of each config in runtime.configs, by config id (from Assignments.configs).
  std::map<std::string, std::string> config_data;
};
Result<TaskAssignment> assignment_from_proto(const Task& task);
Result<manager::Network> network_from_proto(const Network& network);

}  // namespace shoal::api
