// What a container runs, from its image's config and its service's container spec, by Docker's
// rules, so that `shoal service create IMAGE ...` runs what `docker service create IMAGE ...`
// would:
//
//   argv     the service's command (`--entrypoint`) replaces the image's Entrypoint, and then
//            the image's Cmd is dropped too; the service's args replace the image's Cmd.
//            Nothing left to run is an error, as in Docker ("no command specified").
//   env      PATH (a default when the image sets none), HOSTNAME, the image's env, the
//            service's env; a later NAME=value wins and keeps the first one's place; a bare NAME
//            in the service's env unsets it (Docker's rule).
//   user     the service's, else the image's ("" is root); resolve_user() turns it into ids
//            through the container's own /etc/passwd and /etc/group.
//   workdir  the service's, else the image's, else "/"; it must be absolute.
//   signal   the service's stop signal, else the image's StopSignal, else SIGTERM.
//
// Pure: no file is read here; the caller passes the container's passwd and group contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "control/images/image_manifest.h"

namespace shoal::images {

inline constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// A passwd or group file larger than this is not a container's (bounds the work on hostile
// images).
inline constexpr size_t kMaxAccountFileBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxUserSpecLength = 256;

// The parts of a service's ContainerSpec that meet the image's config.
struct ServiceContainer {
  std::vector<std::string> command;  // `--entrypoint`: replaces Entrypoint (and drops Cmd)
  std::vector<std::string> args;     // `service create IMAGE ARG...`: replaces Cmd
  std::vector<std::string> env;      // "NAME=value", or "NAME" to unset
  std::string user;                  // "", "name", "uid", "name:group", "uid:gid"
  std::string workdir;
  std::string hostname;     // the task's hostname; HOSTNAME in the env when set
  std::string stop_signal;  // "", "SIGQUIT", "QUIT", "3"
};

// What the runtime starts.
struct ContainerProcess {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value", each name once
  std::string user;              // unresolved; see resolve_user()
  std::string workdir;
  int stop_signal = 15;
};

Result<ContainerProcess> merge_container_config(const ImageConfig& image,
                                                const ServiceContainer& service);

// `defaults` with `overrides` applied in order by Docker's rule: NAME=value replaces NAME's
// entry in place or is appended; a bare NAME removes it. An entry with an empty name is an
// error naming it.
Result<std::vector<std::string>> merge_env(std::vector<std::string> defaults,
                                           const std::vector<std::string>& overrides);

// A signal by name or number ("SIGQUIT", "quit", "3", "RTMIN+2") as Linux numbers it.
Result<int> parse_signal(std::string_view text);

// `user` ("", "name", "uid", "name:group", "uid:gid", "uid:group", ...) as uid and gid through
// the container's /etc/passwd and /etc/group contents. A user's gid is its passwd entry's
// unless a group is given; a number needs no entry (its gid is then 0, as in Docker); an
// unknown name is an error naming it. "" is root (0:0).
Result<std::pair<uint32_t, uint32_t>> resolve_user(std::string user, std::string_view passwd,
                                                   std::string_view group);

}  // namespace shoal::images
