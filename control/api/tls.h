// gRPC channels and server credentials built from a node's certificates.
//
// Managers are reached under the TLS name "swarm-manager" (every manager certificate carries it),
// whatever address they were dialled at. The manager port asks for a client certificate and
// verifies it when given, but does not require one: the Ca service must answer joining nodes,
// and every other service checks the caller's certificate itself (auth.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "control/manager/rules/types.h"
#include "control/pki/node_files.h"

namespace shoal::api {

// The largest message an agent takes on its Dispatcher session: the node's whole assignment,
// which carries the data of every config its tasks use (each at most manager::kMaxConfigSize,
// 500 KiB, sent once per node however many tasks use it) beside tasks, networks and managers.
// gRPC's default of 4 MiB stopped a node at about eight configs (security review #18). The
// bound: 256 full-size configs plus 3 MiB for the rest, 128 MiB, which is also swarmkit's
// gRPC message limit. A node whose tasks use more configs than that cannot take its
// assignments (the agent logs RESOURCE_EXHAUSTED and retries); the README says so.
inline constexpr size_t kMaxAssignmentConfigs = 256;
inline constexpr size_t kMaxAssignmentBytes =
    kMaxAssignmentConfigs * manager::kMaxConfigSize + (size_t{3} << 20);
static_assert(kMaxAssignmentBytes == size_t{128} << 20);

// How soon every TLS user of a state directory holds a renewed certificate (the watcher's
// refresh, and a margin): after it, new connections present the new one.
inline constexpr std::chrono::milliseconds kCertificateFollowDelay{1500};

// Channels built after this call share no connection with those built before: called once a
// renewed certificate is in use, so that new channels present it (the replaced one is revoked
// after a grace, control/manager/access/cert_status.h).
void start_new_connections();

// `max_receive`: bytes of the largest answer taken (0: gRPC's default of 4 MiB).
std::shared_ptr<grpc::Channel> node_channel(const std::string& addr, const pki::NodeFiles& files,
                                            size_t max_receive = 0);
// For the first contact of a joining node only: the server's certificate is not checked here,
// because the caller checks the root certificate it fetches against its token's digest and
// then talks over a verified channel (node_channel or verified_bootstrap_channel).
std::shared_ptr<grpc::Channel> unverified_channel(const std::string& addr);
// Verifies the manager against `ca_pem`, without a client certificate (the join request).
std::shared_ptr<grpc::Channel> anonymous_channel(const std::string& addr,
                                                 const std::string& ca_pem);
std::shared_ptr<grpc::ServerCredentials> manager_credentials(const pki::NodeFiles& files);
// Client credentials with this node's certificate (watched as above), for other clients (etcd).
std::shared_ptr<grpc::ChannelCredentials> node_credentials(const pki::NodeFiles& files);
// The manager port takes the channels' keepalive pings (one a second) without complaint.
void accept_keepalives(grpc::ServerBuilder& builder);
// Bounds on what callers of the manager port (strangers included: the Ca service needs no
// certificate) can make it hold: memory for buffers, threads for calls in progress (each
// agent's session holds one), and concurrent streams on one connection. Beyond them a call
// fails with RESOURCE_EXHAUSTED rather than growing the manager.
inline constexpr int kMaxManagerThreads = 4096;
inline constexpr size_t kManagerMemoryQuota = size_t{1} << 30;
inline constexpr int kMaxStreamsPerConnection = 256;
void limit_resources(grpc::ServerBuilder& builder);

}  // namespace shoal::api
