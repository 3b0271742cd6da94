// shoal-gossip: a standalone gossip member for tests, benchmarks and operators.
//
//   shoal-gossip agent --name NAME --bind IP:PORT [--join IP:PORT]... [--encrypt BASE64KEY]...
//                      [--tag K=V]...
//
//   shoal-gossip table-agent --name NAME --bind IP:PORT [--join IP:PORT]... [--network NET]...
//                            [--encrypt BASE64KEY]... [--sync-interval SECONDS] [--fast]
//
// `agent` is a Serf-compatible member; `table-agent` a networkdb member with replicated tables,
// driven by one command per line on stdin (see kTableAgentHelp). Both print one JSON object per
// line on stdout for each membership change (and table-agent for each table change and command).
// SIGINT and SIGTERM leave the cluster gracefully (peers see "left", not "failed") and exit 0.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>
#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "gossip/agent/agent.h"
#include "gossip/agent/table_agent.h"

namespace {

using shoal::gossip::Agent;
using shoal::gossip::AgentOptions;
using shoal::gossip::NodeAddress;
using shoal::gossip::TableAgent;
using shoal::gossip::TableAgentOptions;
namespace networkdb = shoal::gossip::networkdb;

constexpr const char* kTableAgentHelp = R"(Commands on stdin, one per line (values without spaces):
  join-network NET | leave-network NET
  create TABLE NET KEY VALUE | update TABLE NET KEY VALUE | delete TABLE NET KEY
                      (VALUE "hex:0a1b..." is bytes given in hex)
  dump TABLE NET      prints {"event":"dump","entries":{KEY:VALUE...},...}
  status              prints {"event":"status","alive":N,...}
  leave               leaves gracefully and exits 0
Every table change prints {"event":"table-create"|"table-update"|"table-delete",...,"t_us":T}
with T in microseconds of the system clock; a write prints {"event":"ok",...,"t_us":T}.)";

// A command's VALUE: text as typed, or "hex:0a0b..." for bytes (binary rows in tests).
shoal::gossip::Bytes value_bytes(const std::string& value) {
  auto bytes = value.rfind("hex:", 0) == 0 ? shoal::from_hex(std::string_view(value).substr(4))
                                           : std::nullopt;
  const std::string& raw = bytes ? *bytes : value;
  return {raw.begin(), raw.end()};
}

void print(const nlohmann::json& line) {
  // Flushed: consumers read line by line. Values are bytes: invalid UTF-8 is replaced.
  std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void print_event(const shoal::gossip::serf::MemberEvent& e) {
  print({{"event", shoal::gossip::serf::event_name(e.kind)},
         {"name", e.member.name},
         {"addr", e.member.addr.str()},
         {"tags", e.tags}});
}

int fail(const std::string& message) {
  std::cerr << "shoal-gossip: " << message << std::endl;
  return 1;
}

// Options both members share.
struct CommonOptions {
  std::string name, bind, log_level = "warn";
  std::vector<std::string> joins, encrypt;
  bool fast = false;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--name", name, "unique node name")->required();
    cmd->add_option("--bind", bind, "IP:PORT for UDP and TCP")->required();
    cmd->add_option("--join", joins, "IP:PORT of a member to join (repeatable)");
    cmd->add_option("--encrypt", encrypt,
                    "base64 AES key (16, 24 or 32 bytes), as serf's; repeat for a keyring "
                    "whose first key is the primary");
    cmd->add_option("--log-level", log_level, "trace|debug|info|warn|error (stderr)");
    cmd->add_flag("--fast", fast, "short timers for tests (memberlist's local config)");
  }

  // Fills the parsed addresses and keys; an error message when one is bad.
  std::optional<std::string> parse(NodeAddress& bind_addr, std::vector<NodeAddress>& join_addrs,
                                   std::vector<shoal::gossip::Bytes>& keys) const {
    auto b = NodeAddress::parse(bind);
    if (!b.ok())
      return "--bind: " + b.error().message();
    bind_addr = *b;
    for (const std::string& j : joins) {
      auto addr = NodeAddress::parse(j);
      if (!addr.ok())
        return "--join: " + addr.error().message();
      join_addrs.push_back(*addr);
    }
    for (const std::string& text : encrypt) {
      auto key = shoal::gossip::Keyring::decode_base64_key(text);
      if (!key.ok())
        return "--encrypt: " + key.error().message();
      keys.push_back(*key);
    }
    return std::nullopt;
  }
};

// Joins the seeds (if any); stops the loop with exit code 1 when none answers.
template <typename Member>
void join_or_stop(Member& member, size_t seeds, boost::asio::io_context& io, int& exit_code,
                  std::function<void()> joined_fn = {}) {
  if (seeds == 0) {
    if (joined_fn)
      joined_fn();
    return;
  }
  member.join([&io, &exit_code, seeds, joined_fn](size_t joined, std::vector<shoal::Error> errors) {
    for (const auto& e : errors)
      spdlog::warn("join: {}", e.message());
    if (joined == 0) {
      std::cerr << "shoal-gossip: could not join any of " << seeds
                << " members: " << (errors.empty() ? "" : errors.front().message()) << std::endl;
      exit_code = 1;
      io.stop();
      return;
    }
    if (joined_fn)
      joined_fn();
  });
}

// SIGINT/SIGTERM: `leave` then stop; a second signal stops at once.
void on_signals(boost::asio::signal_set& signals, boost::asio::io_context& io,
                std::function<void(std::function<void()>)> leave) {
  signals.async_wait([&signals, &io, leave](const boost::system::error_code& ec, int) {
    if (ec)
      return;
    signals.async_wait([&io](const boost::system::error_code& e2, int) {
      if (!e2)
        io.stop();
    });
    leave([&io] { io.stop(); });
  });
}

int run_agent(const CommonOptions& common, const std::vector<std::string>& tags) {
  AgentOptions options;
  options.name = common.name;
  options.fast_timers = common.fast;
  if (auto error = common.parse(options.bind, options.join, options.encrypt_keys))
    return fail(*error);
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
  join_or_stop(**agent, options.join.size(), io, exit_code);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  on_signals(signals, io, [&](std::function<void()> done) { (*agent)->leave(std::move(done)); });
  io.run();
  return exit_code;
}

// The stdin commands of table-agent.
class CommandReader {
 public:
  CommandReader(boost::asio::io_context& io, TableAgent& agent, std::function<void()> leave)
      : in_(io), agent_(agent), leave_(std::move(leave)) {
    boost::system::error_code ec;
    in_.assign(::dup(STDIN_FILENO), ec);
    if (!ec)
      read();
  }

 private:
  void read() {
    boost::asio::async_read_until(in_, buf_, '\n', [this](boost::system::error_code ec, size_t) {
      if (ec)
        return;  // EOF or an unpollable stdin (/dev/null): keep running without commands
      std::istream is(&buf_);
      std::string line;
      std::getline(is, line);
      execute(line);
      read();
    });
  }

  void execute(const std::string& line) {
    std::istringstream words(line);
    std::string cmd, table, net, key, value;
    words >> cmd;
    if (cmd.empty())
      return;
    networkdb::NetworkDb& db = agent_.db();
    shoal::Status s;
    nlohmann::json reply = {{"event", "ok"}, {"command", cmd}};
    if (cmd == "join-network" && words >> net) {
      s = db.join_network(net);
    } else if (cmd == "leave-network" && words >> net) {
      s = db.leave_network(net);
    } else if ((cmd == "create" || cmd == "update") && words >> table >> net >> key >> value) {
      shoal::gossip::Bytes v = value_bytes(value);
      s = cmd == "create" ? db.create_entry(table, net, key, std::move(v))
                          : db.update_entry(table, net, key, std::move(v));
      reply["key"] = key;
    } else if (cmd == "delete" && words >> table >> net >> key) {
      s = db.delete_entry(table, net, key);
      reply["key"] = key;
    } else if (cmd == "dump" && words >> table >> net) {
      nlohmann::json entries = nlohmann::json::object();
      for (const auto& [k, v] : db.store().entries(table, net))
        entries[k] = std::string(v.begin(), v.end());
      print({{"event", "dump"}, {"table", table}, {"network", net}, {"entries", entries}});
      return;
    } else if (cmd == "status") {
      nlohmann::json networks = nlohmann::json::object();
      for (const std::string& n : db.store().networks())
        networks[n] = {{"in_sync", db.in_sync(n)}, {"peers", db.store().peers(n).size()}};
      print({{"event", "status"},
             {"alive", agent_.memberlist().num_alive()},
             {"networks", networks}});
      return;
    } else if (cmd == "leave") {
      leave_();
      return;
    } else {
      print({{"event", "error"}, {"command", line}, {"message", "unknown command or arguments"}});
      return;
    }
    if (!s.ok()) {
      print({{"event", "error"}, {"command", line}, {"message", s.error().message()}});
      return;
    }
    reply["t_us"] = now_us();
    print(reply);
  }

  boost::asio::posix::stream_descriptor in_;
  boost::asio::streambuf buf_;
  TableAgent& agent_;
  std::function<void()> leave_;
};

const char* watch_event_name(networkdb::WatchEventType t) {
  switch (t) {
    case networkdb::WatchEventType::kCreate:
      return "table-create";
    case networkdb::WatchEventType::kUpdate:
      return "table-update";
    case networkdb::WatchEventType::kDelete:
      return "table-delete";
  }
  return "table-unknown";
}

int run_table_agent(const CommonOptions& common, const std::vector<std::string>& networks,
                    double sync_interval_s) {
  TableAgentOptions options;
  options.name = common.name;
  options.fast_timers = common.fast;
  if (auto error = common.parse(options.bind, options.join, options.encrypt_keys))
    return fail(*error);
  if (!(sync_interval_s > 0))
    return fail("--sync-interval: must be positive");
  options.sync_interval = std::chrono::duration_cast<shoal::gossip::Duration>(
      std::chrono::duration<double>(sync_interval_s));

  boost::asio::io_context io;
  auto agent = TableAgent::start(io, options, [](const std::string& event, const auto& m) {
    print({{"event", event},
           {"name", m.name},
           {"addr", m.addr.str()},
           {"tags", nlohmann::json::object()}});
  });
  if (!agent.ok())
    return fail(agent.error().message());
  TableAgent& a = **agent;
  a.db().watch("", [](const networkdb::WatchEvent& e) {
    print({{"event", watch_event_name(e.type)},
           {"table", e.table},
           {"network", e.network},
           {"key", e.key},
           {"value", std::string(e.value.begin(), e.value.end())},
           {"owner", e.owner},
           {"t_us", now_us()}});
  });
  int exit_code = 0;
  // Networks are joined once memberlist has, so that the initial bulk sync finds the peers.
  join_or_stop(a, options.join.size(), io, exit_code, [&a, networks] {
    for (const std::string& n : networks) {
      if (auto s = a.db().join_network(n); !s.ok())
        spdlog::warn("join-network {}: {}", n, s.error().message());
    }
  });
  auto leave = [&a, &io] { a.leave([&io] { io.stop(); }); };
  CommandReader commands(io, a, leave);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  on_signals(signals, io, [&a](std::function<void()> done) { a.leave(std::move(done)); });
  io.run();
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Shoal gossip member, wire-compatible with HashiCorp memberlist and Serf"};
  app.require_subcommand(1);
  CommonOptions common;
  CLI::App* agent_cmd = app.add_subcommand("agent", "run a gossip member until SIGINT/SIGTERM");
  common.add_to(agent_cmd);
  std::vector<std::string> tags;
  agent_cmd->add_option("--tag", tags, "K=V tag shown to serf (repeatable)");

  CLI::App* table_cmd = app.add_subcommand(
      "table-agent", "run a networkdb member with replicated tables, commands on stdin");
  table_cmd->footer(kTableAgentHelp);
  common.add_to(table_cmd);
  std::vector<std::string> networks;
  double sync_interval_s = 30;
  table_cmd->add_option("--network", networks, "network to join once joined (repeatable)");
  table_cmd->add_option("--sync-interval", sync_interval_s,
                        "seconds between periodic bulk syncs of each network (networkdb: 30)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  spdlog::set_default_logger(spdlog::stderr_color_mt("shoal-gossip"));
  spdlog::set_level(spdlog::level::from_str(common.log_level));
  if (*table_cmd)
    return run_table_agent(common, networks, sync_interval_s);
  return run_agent(common, tags);
}
