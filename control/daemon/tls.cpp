#include "control/daemon/tls.h"

#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "control/pki/identity.h"

namespace shoal::daemon {

namespace {

// A manager whose host vanished (no RST) must not hold calls and sessions until their
// deadlines: a ping every second, and a connection that misses one is dropped.
constexpr int kKeepaliveMs = 1000;

std::shared_ptr<grpc::Channel> tls_channel(const std::string& addr,
                                           const grpc::SslCredentialsOptions& options,
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
  return grpc::CreateCustomChannel(addr, grpc::SslCredentials(options), args);
}

}  // namespace

std::shared_ptr<grpc::Channel> node_channel(const std::string& addr, const pki::NodeFiles& files,
                                            size_t max_receive) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = files.ca_cert_pem;
  options.pem_private_key = files.node_key_pem;
  options.pem_cert_chain = files.node_cert_pem;
  return tls_channel(addr, options, max_receive);
}

std::shared_ptr<grpc::Channel> anonymous_channel(const std::string& addr,
                                                 const std::string& ca_pem) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  return tls_channel(addr, options);
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
  grpc::SslServerCredentialsOptions options(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = files.ca_cert_pem;
  options.pem_key_cert_pairs.push_back({files.node_key_pem, files.node_cert_pem});
  return grpc::SslServerCredentials(options);
}

}  // namespace shoal::daemon
