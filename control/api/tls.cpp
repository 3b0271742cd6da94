#include "control/api/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <atomic>
#include <map>
#include <mutex>

#include "control/pki/identity.h"
#include "control/pki/node_files.h"

namespace shoal::api {

namespace {

// A manager whose host vanished (no RST) must not hold calls and sessions until their
// deadlines: a ping every second, and a connection that misses one is dropped.
constexpr int kKeepaliveMs = 1000;

namespace tls = grpc::experimental;

// How often the watcher looks at the files: gRPC's minimum. A renewed certificate is in use
// within a second; the old one stays valid for a fifth of its lifetime at least.
constexpr unsigned kRefreshSeconds = 1;

// Bumped when the node's certificate is replaced (start_new_connections).
constexpr char kConnectionGenerationArg[] = "shoal.connection_generation";
std::atomic<int> connection_generation{0};

// One watcher (one thread) per directory, shared by every channel and server built from it.
std::shared_ptr<tls::CertificateProviderInterface> watcher_for(const std::string& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<tls::CertificateProviderInterface>> watchers;
  std::lock_guard lock(mutex);
  auto& slot = watchers[dir];
  auto watcher = slot.lock();
  if (!watcher) {
    const auto identity = pki::identity_file(dir);
    watcher = std::make_shared<tls::FileWatcherCertificateProvider>(
        identity, identity, pki::ca_file(dir), kRefreshSeconds);
    slot = watcher;
  }
  return watcher;
}

std::shared_ptr<grpc::ChannelCredentials> watched_credentials(const std::string& dir) {
  tls::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(watcher_for(dir));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  // The server's certificate must chain to the root and name the target ("swarm-manager").
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(std::make_shared<tls::HostNameCertificateVerifier>());
  return tls::TlsCredentials(options);
}

grpc::SslCredentialsOptions static_options(const pki::NodeFiles& files) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = files.ca_cert_pem;
  options.pem_private_key = files.node_key_pem;
  options.pem_cert_chain = files.node_cert_pem;
  return options;
}

std::shared_ptr<grpc::Channel> tls_channel(const std::string& addr,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials,
                                           size_t max_receive = 0) {
  grpc::ChannelArguments args;
  if (max_receive > 0) {
    args.SetMaxReceiveMessageSize(static_cast<int>(max_receive));
  }
  args.SetSslTargetNameOverride(std::string(pki::kManagerTlsName));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // gRPC 1.51's retry filter can abort the process when a call meets a connection that drops
  // (grpc/grpc#34683), and managers come and go; every caller retries by itself.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // gRPC shares a connection among channels whose arguments are equal: the generation makes a
  // channel built after a renewal handshake anew with the new certificate, instead of taking an
  // older channel's connection that presents the replaced one (revoked after a grace).
  args.SetInt(kConnectionGenerationArg, connection_generation.load());
  return grpc::CreateCustomChannel(addr, std::move(credentials), args);
}

}  // namespace

void start_new_connections() {
  connection_generation.fetch_add(1);
}

std::shared_ptr<grpc::ChannelCredentials> node_credentials(const pki::NodeFiles& files) {
  if (!files.watch_dir.empty())
    return watched_credentials(files.watch_dir);
  return grpc::SslCredentials(static_options(files));
}

std::shared_ptr<grpc::Channel> node_channel(const std::string& addr, const pki::NodeFiles& files,
                                            size_t max_receive) {
  return tls_channel(addr, node_credentials(files), max_receive);
}

std::shared_ptr<grpc::Channel> anonymous_channel(const std::string& addr,
                                                 const std::string& ca_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  return tls_channel(addr, grpc::SslCredentials(options));
}

std::shared_ptr<grpc::Channel> unverified_channel(const std::string& addr) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);
  options.set_check_call_host(false);
  options.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(std::string(pki::kManagerTlsName));
  return grpc::CreateCustomChannel(addr, grpc::experimental::TlsCredentials(options), args);
}

void accept_keepalives(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kKeepaliveMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
}

void limit_resources(grpc::ServerBuilder& builder) {
  grpc::ResourceQuota quota("shoal-manager");
  quota.Resize(kManagerMemoryQuota);
  quota.SetMaxThreads(kMaxManagerThreads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
}

std::shared_ptr<grpc::ServerCredentials> manager_credentials(const pki::NodeFiles& files) {
  if (!files.watch_dir.empty()) {
    tls::TlsServerCredentialsOptions options(watcher_for(files.watch_dir));
    options.watch_root_certs();
    options.watch_identity_key_cert_pairs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    return tls::TlsServerCredentials(options);
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = files.ca_cert_pem;
  options.pem_key_cert_pairs.push_back({files.node_key_pem, files.node_cert_pem});
  return grpc::SslServerCredentials(options);
}

}  // namespace shoal::api
