// swarm init | join | join-token | leave | backup | restore
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/atomic_file.h"
#include "common/duration.h"
#include "control/cli/commands.h"

namespace shoal::cli {
namespace {

struct InitOptions {
  std::string advertise_addr;
  std::string listen_addr;
  std::string default_addr_pool;
  std::string dispatcher_heartbeat;
  std::string cert_expiry;
  bool force_new_cluster = false;
};

// --cert-expiry as Docker takes it ("2160h0m0s", "90m"): whole seconds for the request. The
// daemon checks the floor (1 hour; see control/shoald/cert_renewal.h).
Result<uint64_t> cert_expiry_seconds(const std::string& text) {
  auto expiry = parse_duration(text);
  if (!expiry.ok())
    return usage_error("--cert-expiry: " + expiry.error().message());
  if (expiry->count() < 1000)
    return usage_error("--cert-expiry: must be at least 1s (the swarm takes at least 1h)");
  return static_cast<uint64_t>(expiry->count() / 1000);
}

Status swarm_init(Context& ctx, const InitOptions& o) {
  api::InitRequest request;
  request.set_advertise_addr(o.advertise_addr);
  request.set_listen_addr(o.listen_addr);
  request.set_default_addr_pool(o.default_addr_pool);
  request.set_force_new_cluster(o.force_new_cluster);
  if (!o.dispatcher_heartbeat.empty()) {
    auto heartbeat = parse_duration(o.dispatcher_heartbeat);
    if (!heartbeat.ok()) {
      return usage_error("--dispatcher-heartbeat: " + heartbeat.error().message());
    }
    request.set_heartbeat_ms(static_cast<uint64_t>(heartbeat->count()));
  }
  if (!o.cert_expiry.empty()) {
    SHOAL_ASSIGN_OR_RETURN(auto seconds, cert_expiry_seconds(o.cert_expiry));
    request.set_cert_expiry_s(seconds);
  }
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto response, client->local(&api::Local::Stub::Init, request));
  std::cout << "Swarm initialized: current node (" << response.node_id()
            << ") is now a manager.\n\n"
            << "To add a worker to this swarm, run the following command:\n\n"
            << "    shoal swarm join --token " << response.worker_token() << " "
            << response.manager_addr() << "\n\n"
            << "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow "
               "the instructions.\n\n";
  return Status();
}

struct JoinOptions {
  std::string token;
  std::string advertise_addr;
  std::string listen_addr;
  std::string remote;
};

Status swarm_join(Context& ctx, const JoinOptions& o) {
  api::JoinRequest request;
  request.set_token(o.token);
  request.set_remote_addr(o.remote);
  request.set_advertise_addr(o.advertise_addr);
  request.set_listen_addr(o.listen_addr);
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto response, client->local(&api::Local::Stub::Join, request));
  std::string role = response.role().empty() ? "worker" : response.role();
  std::cout << "This node joined a swarm as a " << role << ".\n";
  return Status();
}

struct JoinTokenOptions {
  bool quiet = false;
  bool rotate = false;
  std::string role;
};

Status swarm_join_token(Context& ctx, const JoinTokenOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  api::JoinTokens tokens;
  if (o.rotate) {
    api::RotateJoinTokenRequest request;
    request.set_role(o.role);
    SHOAL_ASSIGN_OR_RETURN(tokens, client->control(&api::Control::Stub::RotateJoinToken, request));
    if (!o.quiet) {
      std::cout << "Successfully rotated " << o.role << " join token.\n\n";
    }
  } else {
    SHOAL_ASSIGN_OR_RETURN(tokens, client->control(&api::Control::Stub::GetJoinTokens, {}));
  }
  const std::string& token = o.role == "manager" ? tokens.manager() : tokens.worker();
  if (o.quiet) {
    std::cout << token << "\n";
    return Status();
  }
  SHOAL_ASSIGN_OR_RETURN(auto info, client->local(&api::Local::Stub::Info, {}));
  std::cout << "To add a " << o.role << " to this swarm, run the following command:\n\n"
            << "    shoal swarm join --token " << token << " " << info.manager_addr() << "\n\n";
  return Status();
}

struct UpdateOptions {
  std::string cert_expiry;
  bool rotate_gossip_key = false;
};

// `swarm update`: Docker prints "Swarm updated." and nothing else. Docker rotates the gossip keys
// only on its schedule; Shoal also rotates them on demand, for an operator who suspects a leaked
// key (a node's disk, a backup of one).
Status swarm_update(Context& ctx, const UpdateOptions& o) {
  api::UpdateSwarmRequest request;
  if (!o.cert_expiry.empty()) {
    SHOAL_ASSIGN_OR_RETURN(auto seconds, cert_expiry_seconds(o.cert_expiry));
    request.set_cert_expiry_s(seconds);
  }
  request.set_rotate_gossip_key(o.rotate_gossip_key);
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_TRY(client->control(&api::Control::Stub::UpdateSwarm, request));
  std::cout << "Swarm updated.\n";
  return Status();
}

struct CaOptions {
  bool rotate = false;
  bool detach = false;
  bool quiet = false;
};

// `swarm ca`: Docker's. Without --rotate it prints the root certificate; with it a new root is
// made, every node moves to it (their certificates renewed at once), then the old root is
// trusted no more and the join tokens change. It waits for that, showing how many nodes have
// moved, unless --detach; a node that is down holds the rotation until it is back or removed.
Status swarm_ca(Context& ctx, const CaOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  api::UpdateSwarmRequest request;
  request.set_rotate_root_ca(o.rotate);
  SHOAL_ASSIGN_OR_RETURN(auto settings, client->control(&api::Control::Stub::UpdateSwarm, request));
  std::string shown;
  while (o.rotate && !o.detach && settings.root_rotation_in_progress()) {
    auto progress = "rotating the root CA: " + std::to_string(settings.nodes_moved()) + "/" +
                    std::to_string(settings.nodes_total()) + " nodes moved";
    if (!o.quiet && progress != shown)
      std::cerr << progress << "\n";
    shown = progress;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    SHOAL_ASSIGN_OR_RETURN(settings, client->control(&api::Control::Stub::UpdateSwarm, {}));
  }
  if (o.rotate && !o.detach && !o.quiet)
    std::cerr << "the root CA is rotated: every node trusts only the new root\n";
  std::cout << settings.root_ca_pem();
  return Status();
}

Status swarm_leave(Context& ctx, bool force) {
  api::LeaveRequest request;
  request.set_force(force);
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_TRY(client->local(&api::Local::Stub::Leave, request));
  std::cout << "Node left the swarm.\n";
  return Status();
}

std::string counted(uint32_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string describe(const api::BackupSummary& s) {
  return counted(s.services(), "service") + ", " + counted(s.networks(), "network") + ", " +
         counted(s.configs(), "config") + ", " + counted(s.nodes(), "node") + " (cluster " +
         s.cluster_id() + ", backed up " + s.created_at() + ")";
}

Result<std::string> read_backup_file(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    return sys_error("open", path, ec.value());
  }
  if (size > static_cast<uintmax_t>(kMaxMessageBytes) - 4096) {
    return usage_error(path + ": " + std::to_string(size) +
                       " bytes is more than a swarm backup may hold");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream data;
  data << in.rdbuf();
  if (!in) {
    return sys_error("read", path, errno);
  }
  return data.str();
}

Status swarm_backup(Context& ctx, const std::string& path) {
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto backup, client->control(&api::Control::Stub::Backup, {}));
  // Atomic, so a failure never leaves half a backup under its name; 0600 from the start,
  // since it holds the CA key.
  SHOAL_TRY(write_file_atomically(path, backup.data(), 0600));
  std::cout << "Swarm backup written to " << path << ": " << describe(backup.summary()) << ".\n"
            << "It holds the swarm's root CA key: keep it private.\n";
  return Status();
}

struct RestoreOptions {
  std::string file;
  std::string advertise_addr;
  std::string listen_addr;
};

Status swarm_restore(Context& ctx, const RestoreOptions& o) {
  SHOAL_ASSIGN_OR_RETURN(auto data, read_backup_file(o.file));
  api::RestoreRequest request;
  request.set_data(std::move(data));
  request.set_advertise_addr(o.advertise_addr);
  request.set_listen_addr(o.listen_addr);
  SHOAL_ASSIGN_OR_RETURN(Client * client, ctx.client());
  SHOAL_ASSIGN_OR_RETURN(auto response, client->local(&api::Local::Stub::Restore, request));
  std::cout << "Swarm restored from " << o.file << ": " << describe(response.summary()) << ".\n"
            << "Current node (" << response.node_id() << ") is now its manager.\n\n"
            << "To add a worker to this swarm, run the following command:\n\n"
            << "    shoal swarm join --token " << response.worker_token() << " "
            << response.manager_addr() << "\n\n"
            << "Workers of the backed-up swarm stay Down until they reach this manager; the "
               "join tokens are the backup's.\n";
  return Status();
}

}  // namespace

void add_swarm_commands(CLI::App& app, Context& ctx) {
  auto* swarm = app.add_subcommand("swarm", "Manage the swarm");
  swarm->require_subcommand(1);

  auto init = std::make_shared<InitOptions>();
  auto* init_cmd = swarm->add_subcommand("init", "Initialize a swarm");
  init_cmd->add_option("--advertise-addr", init->advertise_addr, "Advertised address (IP)");
  init_cmd->add_option("--listen-addr", init->listen_addr, "Listen address (IP:PORT)");
  init_cmd->add_option("--default-addr-pool", init->default_addr_pool,
                       "Address pool for networks (CIDR)");
  init_cmd->add_option("--dispatcher-heartbeat", init->dispatcher_heartbeat,
                       "Dispatcher heartbeat period (e.g. 5s)");
  init_cmd->add_option("--cert-expiry", init->cert_expiry,
                       "Validity period for node certificates (default 2160h0m0s)");
  init_cmd->add_flag("--force-new-cluster", init->force_new_cluster,
                     "Force create a new cluster from current state");
  on_parsed(init_cmd, ctx, [&ctx, init] { return swarm_init(ctx, *init); });

  auto join = std::make_shared<JoinOptions>();
  auto* join_cmd = swarm->add_subcommand("join", "Join a swarm as a node and/or manager");
  join_cmd->add_option("--token", join->token, "Token for entry into the swarm")->required();
  join_cmd->add_option("--advertise-addr", join->advertise_addr, "Advertised address (IP)");
  join_cmd->add_option("--listen-addr", join->listen_addr, "Listen address (IP:PORT)");
  join_cmd->add_option("HOST:PORT", join->remote, "A manager of the swarm")->required();
  on_parsed(join_cmd, ctx, [&ctx, join] { return swarm_join(ctx, *join); });

  auto token = std::make_shared<JoinTokenOptions>();
  auto* token_cmd = swarm->add_subcommand("join-token", "Manage join tokens");
  token_cmd->add_flag("-q,--quiet", token->quiet, "Only display token");
  token_cmd->add_flag("--rotate", token->rotate, "Rotate join token");
  token_cmd->add_option("ROLE", token->role, "worker or manager")
      ->required()
      ->check(CLI::IsMember({"worker", "manager"}));
  on_parsed(token_cmd, ctx, [&ctx, token] { return swarm_join_token(ctx, *token); });

  auto update = std::make_shared<UpdateOptions>();
  auto* update_cmd = swarm->add_subcommand("update", "Update the swarm");
  update_cmd->add_option("--cert-expiry", update->cert_expiry,
                         "Validity period for node certificates (e.g. 2160h0m0s)");
  update_cmd->add_flag("--rotate-gossip-key", update->rotate_gossip_key,
                       "Add a new gossip encryption key now (the oldest of three goes)");
  on_parsed(update_cmd, ctx, [&ctx, update] { return swarm_update(ctx, *update); });

  auto ca = std::make_shared<CaOptions>();
  auto* ca_cmd = swarm->add_subcommand("ca", "Display and rotate the root CA");
  ca_cmd->add_flag("--rotate", ca->rotate,
                   "Rotate the swarm CA: a new root, every node moved to it, the old one dropped");
  ca_cmd->add_flag("-d,--detach", ca->detach,
                   "Exit immediately instead of waiting for the root rotation to converge");
  ca_cmd->add_flag("-q,--quiet", ca->quiet, "Suppress progress output");
  on_parsed(ca_cmd, ctx, [&ctx, ca] { return swarm_ca(ctx, *ca); });

  auto force = std::make_shared<bool>(false);
  auto* leave_cmd = swarm->add_subcommand("leave", "Leave the swarm");
  leave_cmd->add_flag("-f,--force", *force, "Force this node to leave the swarm");
  on_parsed(leave_cmd, ctx, [&ctx, force] { return swarm_leave(ctx, *force); });

  auto backup_file = std::make_shared<std::string>();
  auto* backup_cmd = swarm->add_subcommand(
      "backup", "Write the swarm's state, CA and join tokens to a file (holds the CA key)");
  backup_cmd->add_option("FILE", *backup_file, "The backup file to write")->required();
  on_parsed(backup_cmd, ctx, [&ctx, backup_file] { return swarm_backup(ctx, *backup_file); });

  auto restore = std::make_shared<RestoreOptions>();
  auto* restore_cmd = swarm->add_subcommand(
      "restore", "Rebuild a swarm from a backup, with this node as its single manager");
  restore_cmd->add_option("FILE", restore->file, "A file written by 'swarm backup'")->required();
  restore_cmd->add_option("--advertise-addr", restore->advertise_addr, "Advertised address (IP)");
  restore_cmd->add_option("--listen-addr", restore->listen_addr, "Listen address (IP:PORT)");
  on_parsed(restore_cmd, ctx, [&ctx, restore] { return swarm_restore(ctx, *restore); });
}

}  // namespace shoal::cli
