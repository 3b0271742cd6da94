#include "tests/unit/cli/fake_daemon.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace shoal::cli::testing {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 25-character ids like swarmkit's, distinct in their first 12 characters.
std::string make_id(const std::string& kind, int n) {
  std::string id = kind + std::to_string(n) + "x";
  id.resize(25, '0');
  return id;
}

grpc::Status not_found(const std::string& what, const std::string& name) {
  return {grpc::StatusCode::NOT_FOUND, "No such " + what + ": " + name};
}

template <typename T, typename NameFn>
T* find(std::vector<T>& items, const std::string& key, NameFn name) {
  for (auto& item : items) {
    if (item.id() == key || name(item) == key) {
      return &item;
    }
  }
  for (auto& item : items) {
    if (!key.empty() && item.id().rfind(key, 0) == 0) {
      return &item;
    }
  }
  return nullptr;
}

const char* kStates[] = {"new", "assigned", "starting", "running"};

std::string next_state(const std::string& state) {
  for (size_t i = 0; i + 1 < std::size(kStates); ++i) {
    if (state == kStates[i]) {
      return kStates[i + 1];
    }
  }
  return state;
}

void create_tasks(FakeState& s, const api::Service& service) {
  if (service.spec().mode() == "global") {
    for (const auto& node : s.nodes) {
      if (node.status() != "down") {
        s.tasks.push_back(make_task(s, service, 0, node.id(), "new"));
      }
    }
    return;
  }
  for (uint64_t slot = 1; slot <= service.spec().replicas(); ++slot) {
    bool present = false;
    for (const auto& t : s.tasks) {
      present = present || (t.service_id() == service.id() && t.slot() == slot &&
                            t.desired_state() == "running");
    }
    if (!present) {
      const auto& node = s.nodes[(slot - 1) % s.nodes.size()];
      s.tasks.push_back(make_task(s, service, slot, node.id(), "new"));
    }
  }
}

class Local final : public api::Local::Service {
 public:
  explicit Local(FakeDaemon& d) : d_(d) {}

  grpc::Status Info(grpc::ServerContext*, const api::Empty*, api::InfoResponse* out) override {
    return d_.with([&](FakeState& s) {
      s.calls.push_back("Local.Info");
      out->set_state("active");
      out->set_node_id(s.self_id);
      out->set_role("manager");
      out->set_manager_addr("192.168.1.10:2377");
      return grpc::Status::OK;
    });
  }
  grpc::Status Init(grpc::ServerContext*, const api::InitRequest* in,
                    api::InitResponse* out) override {
    return d_.with([&](FakeState& s) {
      s.calls.push_back("Local.Init");
      s.last_init = *in;
      out->set_node_id(s.self_id);
      out->set_worker_token(s.tokens.worker());
      out->set_manager_addr("192.168.1.10:2377");
      return grpc::Status::OK;
    });
  }
  grpc::Status Join(grpc::ServerContext*, const api::JoinRequest* in,
                    api::JoinResponse* out) override {
    return d_.with([&](FakeState& s) {
      s.calls.push_back("Local.Join");
      s.last_join = *in;
      if (in->token() != s.tokens.worker() && in->token() != s.tokens.manager()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "invalid join token");
      }
      out->set_node_id(s.self_id);
      out->set_role(in->token() == s.tokens.manager() ? "manager" : "worker");
      return grpc::Status::OK;
    });
  }
  grpc::Status Leave(grpc::ServerContext*, const api::LeaveRequest* in, api::Empty*) override {
    return d_.with([&](FakeState& s) {
      s.calls.push_back(in->force() ? "Local.Leave(force)" : "Local.Leave");
      return grpc::Status::OK;
    });
  }

 private:
  FakeDaemon& d_;
};

class Control final : public api::Control::Service {
 public:
  explicit Control(FakeDaemon& d) : d_(d) {}

  // Each handler: record the call, fail if told to, then act on the state.
  template <typename Fn>
  grpc::Status handle(const char* name, Fn fn) {
    return d_.with([&](FakeState& s) {
      s.calls.push_back(std::string("Control.") + name);
      if (!s.fail_with.empty()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.fail_with);
      }
      return fn(s);
    });
  }

  grpc::Status ListNodes(grpc::ServerContext*, const api::Empty*,
                         api::ListNodesResponse* out) override {
    return handle("ListNodes", [&](FakeState& s) {
      for (const auto& n : s.nodes) {
        *out->add_nodes() = n;
      }
      return grpc::Status::OK;
    });
  }
  grpc::Status GetNode(grpc::ServerContext*, const api::IdRequest* in, api::Node* out) override {
    return handle("GetNode", [&](FakeState& s) {
      auto* n = find(s.nodes, in->id(), [](const api::Node& x) { return x.hostname(); });
      if (n == nullptr) {
        return not_found("node", in->id());
      }
      *out = *n;
      return grpc::Status::OK;
    });
  }
  grpc::Status UpdateNode(grpc::ServerContext*, const api::UpdateNodeRequest* in,
                          api::Node* out) override {
    return handle("UpdateNode", [&](FakeState& s) {
      s.last_node_update = *in;
      auto* n = find(s.nodes, in->id(), [](const api::Node& x) { return x.hostname(); });
      if (n == nullptr) {
        return not_found("node", in->id());
      }
      *out = *n;
      return grpc::Status::OK;
    });
  }
  grpc::Status RemoveNode(grpc::ServerContext*, const api::RemoveNodeRequest* in,
                          api::Empty*) override {
    return handle("RemoveNode", [&](FakeState& s) {
      auto* n = find(s.nodes, in->id(), [](const api::Node& x) { return x.hostname(); });
      if (n == nullptr) {
        return not_found("node", in->id());
      }
      return grpc::Status::OK;
    });
  }

  grpc::Status CreateNetwork(grpc::ServerContext*, const api::CreateNetworkRequest* in,
                             api::Network* out) override {
    return handle("CreateNetwork", [&](FakeState& s) {
      s.last_network = *in;
      api::Network n;
      n.set_id(make_id("net", ++s.counter));
      n.set_name(in->name());
      n.set_driver(in->driver());
      n.set_subnet(in->subnet().empty() ? "10.0.1.0/24" : in->subnet());
      s.networks.push_back(n);
      *out = n;
      return grpc::Status::OK;
    });
  }
  grpc::Status ListNetworks(grpc::ServerContext*, const api::Empty*,
                            api::ListNetworksResponse* out) override {
    return handle("ListNetworks", [&](FakeState& s) {
      for (const auto& n : s.networks) {
        *out->add_networks() = n;
      }
      return grpc::Status::OK;
    });
  }
  grpc::Status GetNetwork(grpc::ServerContext*, const api::IdRequest* in,
                          api::Network* out) override {
    return handle("GetNetwork", [&](FakeState& s) {
      auto* n = find(s.networks, in->id(), [](const api::Network& x) { return x.name(); });
      if (n == nullptr) {
        return not_found("network", in->id());
      }
      *out = *n;
      return grpc::Status::OK;
    });
  }
  grpc::Status RemoveNetwork(grpc::ServerContext*, const api::IdRequest* in, api::Empty*) override {
    return handle("RemoveNetwork", [&](FakeState& s) {
      auto* n = find(s.networks, in->id(), [](const api::Network& x) { return x.name(); });
      if (n == nullptr) {
        return not_found("network", in->id());
      }
      return grpc::Status::OK;
    });
  }

  grpc::Status CreateService(grpc::ServerContext*, const api::ServiceSpec* in,
                             api::Service* out) override {
    return handle("CreateService", [&](FakeState& s) {
      s.last_create = *in;
      api::Service svc;
      svc.set_id(make_id("svc", ++s.counter));
      *svc.mutable_spec() = *in;
      *svc.mutable_endpoint_ports() = in->ports();
      svc.set_spec_version(1);
      svc.set_version(1);
      s.services.push_back(svc);
      create_tasks(s, svc);
      *out = svc;
      return grpc::Status::OK;
    });
  }
  grpc::Status ListServices(grpc::ServerContext*, const api::Empty*,
                            api::ListServicesResponse* out) override {
    return handle("ListServices", [&](FakeState& s) {
      for (const auto& svc : s.services) {
        *out->add_services() = svc;
      }
      return grpc::Status::OK;
    });
  }
  grpc::Status GetService(grpc::ServerContext*, const api::IdRequest* in,
                          api::Service* out) override {
    return handle("GetService", [&](FakeState& s) {
      auto* svc = find(s.services, in->id(), [](const api::Service& x) { return x.spec().name(); });
      if (svc == nullptr) {
        return not_found("service", in->id());
      }
      *out = *svc;
      return grpc::Status::OK;
    });
  }
  grpc::Status UpdateService(grpc::ServerContext*, const api::UpdateServiceRequest* in,
                             api::Service* out) override {
    return handle("UpdateService", [&](FakeState& s) {
      s.last_update = *in;
      auto* svc = find(s.services, in->id(), [](const api::Service& x) { return x.spec().name(); });
      if (svc == nullptr) {
        return not_found("service", in->id());
      }
      if (in->version() != svc->version()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "update out of sequence");
      }
      auto same = [](const auto& a, const auto& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
      };
      bool runtime_changed = in->force() || !same(in->spec().env(), svc->spec().env()) ||
                             !same(in->spec().command(), svc->spec().command()) ||
                             !same(in->spec().args(), svc->spec().args());
      *svc->mutable_spec() = in->spec();
      svc->set_version(svc->version() + 1);
      for (auto& t : s.tasks) {
        bool beyond = t.slot() > in->spec().replicas() && in->spec().mode() != "global";
        if (t.service_id() == svc->id() && t.desired_state() == "running" &&
            (runtime_changed || beyond)) {
          t.set_desired_state("shutdown");
          t.set_state("shutdown");
        }
      }
      if (runtime_changed) {
        svc->set_spec_version(svc->spec_version() + 1);
      }
      create_tasks(s, *svc);
      *out = *svc;
      return grpc::Status::OK;
    });
  }
  grpc::Status RemoveService(grpc::ServerContext*, const api::IdRequest* in, api::Empty*) override {
    return handle("RemoveService", [&](FakeState& s) {
      auto* svc = find(s.services, in->id(), [](const api::Service& x) { return x.spec().name(); });
      if (svc == nullptr) {
        return not_found("service", in->id());
      }
      return grpc::Status::OK;
    });
  }
  grpc::Status ListTasks(grpc::ServerContext*, const api::ListTasksRequest* in,
                         api::ListTasksResponse* out) override {
    return handle("ListTasks", [&](FakeState& s) {
      std::vector<api::Task> replacements;
      for (auto& t : s.tasks) {
        if (!s.advance_tasks || t.desired_state() != "running" || t.state() == "running") {
          continue;
        }
        std::string next = next_state(t.state());
        if (next == "running" && s.first_task_fails) {
          s.first_task_fails = false;
          t.set_state("failed");
          t.set_message("task: non-zero exit (1)");
          t.set_desired_state("shutdown");
          t.set_updated_unix_ms(now_ms());
          for (const auto& svc : s.services) {
            if (svc.id() == t.service_id()) {
              replacements.push_back(make_task(s, svc, t.slot(), t.node_id(), "new"));
            }
          }
          continue;
        }
        t.set_state(next);
        t.set_updated_unix_ms(now_ms());
      }
      s.tasks.insert(s.tasks.end(), replacements.begin(), replacements.end());
      std::string service_id = in->service();
      if (!service_id.empty()) {
        auto* svc =
            find(s.services, service_id, [](const api::Service& x) { return x.spec().name(); });
        service_id = svc == nullptr ? "-" : svc->id();
      }
      for (const auto& t : s.tasks) {
        if (service_id.empty() || t.service_id() == service_id) {
          *out->add_tasks() = t;
        }
      }
      return grpc::Status::OK;
    });
  }
  grpc::Status ServiceLogs(grpc::ServerContext*, const api::LogsRequest* in,
                           api::LogsResponse* out) override {
    return handle("ServiceLogs", [&](FakeState& s) {
      s.last_logs = *in;
      for (const auto& t : s.tasks) {
        if (t.service_name() == in->service() || t.service_id() == in->service()) {
          auto* line = out->add_lines();
          line->set_task_id(t.id());
          line->set_node_id(t.node_id());
          line->set_stream("stdout");
          line->set_line("hello from slot " + std::to_string(t.slot()) + "\n");
        }
      }
      return grpc::Status::OK;
    });
  }

  grpc::Status GetJoinTokens(grpc::ServerContext*, const api::Empty*,
                             api::JoinTokens* out) override {
    return handle("GetJoinTokens", [&](FakeState& s) {
      *out = s.tokens;
      return grpc::Status::OK;
    });
  }
  grpc::Status RotateJoinToken(grpc::ServerContext*, const api::RotateJoinTokenRequest* in,
                               api::JoinTokens* out) override {
    return handle("RotateJoinToken", [&](FakeState& s) {
      if (in->role() == "manager") {
        s.tokens.set_manager(s.tokens.manager() + "-rotated");
      } else {
        s.tokens.set_worker(s.tokens.worker() + "-rotated");
      }
      *out = s.tokens;
      return grpc::Status::OK;
    });
  }

 private:
  FakeDaemon& d_;
};

api::Node node(const std::string& id, const std::string& hostname, const std::string& role,
               const std::string& status, const std::string& availability, bool leader) {
  api::Node n;
  n.set_id(id);
  n.set_hostname(hostname);
  n.set_role(role);
  n.set_status(status);
  n.set_availability(availability);
  n.set_leader(leader);
  n.set_addr("192.168.1." + std::to_string(hostname.size()));
  n.set_version(3);
  n.set_lb_backend(hostname == "gamma" ? "ipvs" : "ebpf");
  return n;
}

}  // namespace

api::Task make_task(FakeState& state, const api::Service& service, uint64_t slot,
                    const std::string& node_id, const std::string& task_state) {
  api::Task t;
  t.set_id(make_id("task", ++state.counter));
  t.set_service_id(service.id());
  t.set_service_name(service.spec().name());
  t.set_slot(slot);
  t.set_node_id(node_id);
  t.set_desired_state("running");
  t.set_state(task_state);
  *t.mutable_command() = service.spec().command();
  *t.mutable_args() = service.spec().args();
  t.set_spec_version(service.spec_version());
  t.set_updated_unix_ms(now_ms());
  return t;
}

FakeDaemon::FakeDaemon() {
  char tmpl[] = "/tmp/shoal-cli-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  dir_ = tmpl;
  socket_ = dir_ + "/shoald.sock";
  state_.self_id = "beta00000000000000000000b";
  state_.nodes = {
      node("alpha0000000000000000000a", "alpha", "worker", "ready", "active", false),
      node(state_.self_id, "beta", "manager", "ready", "active", true),
      node("gamma0000000000000000000c", "gamma", "manager", "ready", "drain", false),
  };
  api::Network ingress;
  ingress.set_id("ingress000000000000000000");
  ingress.set_name("ingress");
  ingress.set_driver("overlay");
  ingress.set_ingress(true);
  ingress.set_subnet("10.255.0.0/16");
  state_.networks.push_back(ingress);
  state_.tokens.set_worker("SWMTKN-1-abc-worker");
  state_.tokens.set_manager("SWMTKN-1-abc-manager");

  local_ = std::make_unique<Local>(*this);
  control_ = std::make_unique<Control>(*this);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
  builder.RegisterService(local_.get());
  builder.RegisterService(control_.get());
  server_ = builder.BuildAndStart();
  if (!server_) {
    throw std::runtime_error("fake daemon did not start on " + socket_);
  }
}

FakeDaemon::~FakeDaemon() {
  server_->Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string FakeDaemon::add_service(const std::string& name, uint64_t replicas,
                                    const std::string& mode) {
  std::lock_guard lock(mu_);
  api::Service svc;
  svc.set_id(make_id("svc", ++state_.counter));
  svc.mutable_spec()->set_name(name);
  svc.mutable_spec()->set_mode(mode);
  svc.mutable_spec()->set_replicas(mode == "global" ? 0 : replicas);
  svc.mutable_spec()->add_command("sleep");
  svc.mutable_spec()->add_args("1000");
  svc.set_spec_version(1);
  svc.set_version(5);
  state_.services.push_back(svc);
  create_tasks(state_, svc);
  for (auto& t : state_.tasks) {
    if (t.service_id() == svc.id()) {
      t.set_state("running");
    }
  }
  return svc.id();
}

}  // namespace shoal::cli::testing
