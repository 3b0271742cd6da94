// shoal-gossip: a standalone gossip member for tests, benchmarks and operators.
//
//   shoal-gossip agent --name NAME --bind IP:PORT [--join IP:PORT]... [--encrypt BASE64KEY]...
//                      [--tag K=V]...
//
// Prints one JSON object per line on stdout for each membership change. SIGINT and SIGTERM leave
// the cluster gracefully (peers see "left", not "failed") and exit 0.
#include <cstdio>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "gossip/agent/agent.h"

namespace {

using shoal::gossip::Agent;
using shoal::gossip::AgentOptions;
using shoal::gossip::NodeAddress;

void print_event(const shoal::gossip::serf::MemberEvent& e) {
  nlohmann::json line = {{"event", shoal::gossip::serf::event_name(e.kind)},
                         {"name", e.member.name},
                         {"addr", e.member.addr.str()},
                         {"tags", e.tags}};
  std::cout << line.dump() << std::endl;  // flushed: consumers read line by line
}

int fail(const std::string& message) {
  std::cerr << "shoal-gossip: " << message << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Shoal gossip member, wire-compatible with HashiCorp memberlist and Serf"};
  app.require_subcommand(1);
  CLI::App* agent_cmd = app.add_subcommand("agent", "run a gossip member until SIGINT/SIGTERM");
  std::string name, bind, log_level = "warn";
  std::vector<std::string> joins, tags, encrypt;
  bool fast = false;
  agent_cmd->add_option("--name", name, "unique node name")->required();
  agent_cmd->add_option("--bind", bind, "IP:PORT for UDP and TCP")->required();
  agent_cmd->add_option("--join", joins, "IP:PORT of a member to join (repeatable)");
  agent_cmd->add_option("--encrypt", encrypt,
                        "base64 AES key (16, 24 or 32 bytes), as serf's; repeat for a keyring "
                        "whose first key is the primary");
  agent_cmd->add_option("--tag", tags, "K=V tag shown to serf (repeatable)");
  agent_cmd->add_option("--log-level", log_level, "trace|debug|info|warn|error (stderr)");
  agent_cmd->add_flag("--fast", fast, "short timers for tests (memberlist's local config)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  spdlog::set_default_logger(spdlog::stderr_color_mt("shoal-gossip"));
  spdlog::set_level(spdlog::level::from_str(log_level));

  AgentOptions options;
  options.name = name;
  options.fast_timers = fast;
  auto bind_addr = NodeAddress::parse(bind);
  if (!bind_addr.ok())
    return fail("--bind: " + bind_addr.error().message());
  options.bind = *bind_addr;
  for (const std::string& j : joins) {
    auto addr = NodeAddress::parse(j);
    if (!addr.ok())
      return fail("--join: " + addr.error().message());
    options.join.push_back(*addr);
  }
  for (const std::string& text : encrypt) {
    auto key = shoal::gossip::Keyring::decode_base64_key(text);
    if (!key.ok())
      return fail("--encrypt: " + key.error().message());
    options.encrypt_keys.push_back(*key);
  }
  for (const std::string& t : tags) {
    const size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail("--tag: expected K=V, got \"" + t + "\"");
    options.tags[t.substr(0, eq)] = t.substr(eq + 1);
  }

  boost::asio::io_context io;
  auto agent = Agent::start(io, options, print_event);
  if (!agent.ok())
    return fail(agent.error().message());

  int exit_code = 0;
  if (!options.join.empty()) {
    (*agent)->join([&](size_t joined, std::vector<shoal::Error> errors) {
      for (const auto& e : errors)
        spdlog::warn("join: {}", e.message());
      if (joined == 0) {
        std::cerr << "shoal-gossip: could not join any of " << options.join.size()
                  << " members: " << (errors.empty() ? "" : errors.front().message()) << std::endl;
        exit_code = 1;
        io.stop();
      }
    });
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec)
      return;
    // A second signal exits at once.
    signals.async_wait([&](const boost::system::error_code& e2, int) {
      if (!e2)
        io.stop();
    });
    (*agent)->leave([&] { io.stop(); });
  });
  io.run();
  return exit_code;
}
