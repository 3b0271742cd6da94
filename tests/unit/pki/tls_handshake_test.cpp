// The certificates work for mutual TLS: an in-memory TLS 1.3 handshake (two SSL objects over a
// BIO pair) where the server requires a client certificate issued by the swarm CA and the client
// checks that the server is a manager ("swarm-manager"), as the gRPC channels will.
#include <gtest/gtest.h>

#include <openssl/err.h>

#include "control/pki/ca.h"
#include "control/pki/ossl.h"

namespace shoal::pki {
namespace {

struct Credentials {
  std::string cert_pem;
  std::string key_pem;
};

struct Outcome {
  bool ok = false;
  long server_verify = X509_V_OK;  // what the server thought of the client's certificate
  long client_verify = X509_V_OK;  // what the client thought of the server's certificate
};

ossl::SslCtx context(bool server, const Credentials& own, const std::string& ca_pem) {
  ossl::SslCtx ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  EXPECT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION), 1);
  auto cert = ossl::read_cert(own.cert_pem, "own certificate");
  auto key = ossl::read_key(own.key_pem, "own key");
  auto ca = ossl::read_cert(ca_pem, "CA certificate");
  EXPECT_TRUE(cert.ok() && key.ok() && ca.ok());
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert->get()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key->get()), 1);
  EXPECT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca->get()), 1);
  int mode = SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
  SSL_CTX_set_verify(ctx.get(), mode, nullptr);
  return ctx;
}

// Steps both sides until both finish or one fails. With TLS 1.3 the client finishes first and
// the server verifies the client's certificate last, so a rejection shows on the server side.
Outcome handshake(const Credentials& server_creds, const Credentials& client_creds,
                  const std::string& ca_pem, const char* server_name = "swarm-manager") {
  ossl::SslCtx server_ctx = context(true, server_creds, ca_pem);
  ossl::SslCtx client_ctx = context(false, client_creds, ca_pem);
  ossl::Ssl server(SSL_new(server_ctx.get()));
  ossl::Ssl client(SSL_new(client_ctx.get()));
  BIO* server_bio = nullptr;
  BIO* client_bio = nullptr;
  EXPECT_EQ(BIO_new_bio_pair(&server_bio, 0, &client_bio, 0), 1);
  SSL_set_bio(server.get(), server_bio, server_bio);  // each SSL owns its end
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  EXPECT_EQ(SSL_set1_host(client.get(), server_name), 1);

  auto step = [](SSL* ssl, bool& done) {
    if (done) {
      return true;
    }
    int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
      done = true;
      return true;
    }
    int err = SSL_get_error(ssl, rc);
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  };
  bool server_done = false;
  bool client_done = false;
  Outcome out;
  for (int round = 0; round < 50 && !(server_done && client_done); ++round) {
    if (!step(client.get(), client_done) || !step(server.get(), server_done)) {
      break;
    }
  }
  out.ok = server_done && client_done;
  out.server_verify = SSL_get_verify_result(server.get());
  out.client_verify = SSL_get_verify_result(client.get());
  if (out.ok) {
    EXPECT_EQ(SSL_version(server.get()), TLS1_3_VERSION);
  }
  ERR_clear_error();
  return out;
}

class PkiTlsHandshake : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CertificateAuthority::create();
    ASSERT_TRUE(ca.ok());
    ca_.emplace(std::move(ca).value());
    manager_ = issue({"manager1", NodeRole::kManager, "c1"});
    worker_ = issue({"worker1", NodeRole::kWorker, "c1"});
  }

  Credentials issue(const NodeIdentity& who, CertificateAuthority* by = nullptr) {
    auto csr = make_key_and_csr();
    EXPECT_TRUE(csr.ok());
    auto cert = (by != nullptr ? *by : *ca_).sign(csr->csr_pem, who, {"127.0.0.1"});
    EXPECT_TRUE(cert.ok());
    return {cert.ok() ? *cert : "", csr->key_pem};
  }

  std::optional<CertificateAuthority> ca_;
  Credentials manager_;
  Credentials worker_;
};

TEST_F(PkiTlsHandshake, SucceedsWithCaIssuedCertificates) {
  Outcome out = handshake(manager_, worker_, ca_->cert_pem());
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(out.server_verify, X509_V_OK);
  EXPECT_EQ(out.client_verify, X509_V_OK);
  // A client may also name the manager by its node id.
  EXPECT_TRUE(handshake(manager_, worker_, ca_->cert_pem(), "manager1").ok);
}

TEST_F(PkiTlsHandshake, ServerRejectsASelfSignedClient) {
  auto self_signed = CertificateAuthority::create();  // a self-signed certificate and its key
  ASSERT_TRUE(self_signed.ok());
  Outcome out =
      handshake(manager_, {self_signed->cert_pem(), self_signed->key_pem()}, ca_->cert_pem());
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.server_verify, X509_V_OK);
}

TEST_F(PkiTlsHandshake, ServerRejectsAClientFromAnotherCa) {
  auto other = CertificateAuthority::create();
  ASSERT_TRUE(other.ok());
  Credentials stranger = issue({"worker9", NodeRole::kWorker, "c1"}, &*other);
  Outcome out = handshake(manager_, stranger, ca_->cert_pem());
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.server_verify, X509_V_OK);
}

TEST_F(PkiTlsHandshake, ClientRejectsAWorkerPosingAsManager) {
  Outcome out = handshake(worker_, manager_, ca_->cert_pem());
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.client_verify, X509_V_ERR_HOSTNAME_MISMATCH);
}

}  // namespace
}  // namespace shoal::pki
