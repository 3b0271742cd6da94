#include "control/pki/identity.h"

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <memory>

#include "control/pki/ossl.h"

namespace shoal::pki {

namespace {

// One attribute of the subject, which must appear exactly once.
Result<std::string> subject_field(X509_NAME* name, int nid, std::string_view label) {
  std::string object = std::string("certificate subject ") + std::string(label);
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) {
    return invalid_argument(object, "is missing");
  }
  if (X509_NAME_get_index_by_NID(name, nid, index) >= 0) {
    return invalid_argument(object, "appears more than once");
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) {
    return ossl::error("decode", object);
  }
  std::string value(reinterpret_cast<const char*>(utf8), static_cast<size_t>(size));
  OPENSSL_free(utf8);
  if (value.empty()) {
    return invalid_argument(object, "is empty");
  }
  return value;
}

// An ASN1_TIME as a point in time: its distance from the epoch, to the second.
Result<std::chrono::system_clock::time_point> time_point_of(const ASN1_TIME* when,
                                                            std::string_view label) {
  ossl::Asn1Time epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int seconds = 0;
  if (!epoch || ASN1_TIME_diff(&days, &seconds, epoch.get(), when) != 1) {
    return ossl::error("read", std::string("certificate ") + std::string(label));
  }
  return std::chrono::system_clock::time_point{} +
         std::chrono::seconds(static_cast<int64_t>(days) * 86400 + seconds);
}

}  // namespace

Result<Validity> validity_of(std::string_view cert_pem) {
  SHOAL_ASSIGN_OR_RETURN(ossl::X509Ptr cert, ossl::read_cert(cert_pem, "node certificate"));
  Validity validity;
  SHOAL_ASSIGN_OR_RETURN(validity.not_before,
                         time_point_of(X509_get0_notBefore(cert.get()), "notBefore"));
  SHOAL_ASSIGN_OR_RETURN(validity.not_after,
                         time_point_of(X509_get0_notAfter(cert.get()), "notAfter"));
  return validity;
}

std::string_view to_ou(NodeRole role) {
  return role == NodeRole::kManager ? "swarm-manager" : "swarm-worker";
}

Result<NodeIdentity> identity_of(std::string_view cert_pem) {
  SHOAL_ASSIGN_OR_RETURN(ossl::X509Ptr cert, ossl::read_cert(cert_pem, "node certificate"));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  NodeIdentity who;
  SHOAL_ASSIGN_OR_RETURN(who.node_id, subject_field(subject, NID_commonName, "CN"));
  SHOAL_ASSIGN_OR_RETURN(std::string ou, subject_field(subject, NID_organizationalUnitName, "OU"));
  SHOAL_ASSIGN_OR_RETURN(who.cluster_id, subject_field(subject, NID_organizationName, "O"));
  if (ou == to_ou(NodeRole::kManager)) {
    who.role = NodeRole::kManager;
  } else if (ou == to_ou(NodeRole::kWorker)) {
    who.role = NodeRole::kWorker;
  } else {
    return invalid_argument("certificate subject OU", "is neither swarm-manager nor swarm-worker");
  }
  return who;
}

Status verify_issued_by(std::string_view cert_pem, std::string_view ca_cert_pem) {
  SHOAL_ASSIGN_OR_RETURN(auto chain, ossl::read_certs(cert_pem, "node certificate"));
  SHOAL_ASSIGN_OR_RETURN(auto roots, ossl::read_certs(ca_cert_pem, "CA certificate"));
  X509* cert = chain.front().get();
  // The root itself would verify against itself; a node must present a leaf.
  if (X509_check_ca(cert) != 0) {
    return invalid_argument("node certificate", "is a CA certificate");
  }
  ossl::X509Store store(X509_STORE_new());
  ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
  // sk_X509_free is a macro: no function to hand a Deleter. The stack does not own the chain.
  struct FreeStack {
    void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
  };
  std::unique_ptr<STACK_OF(X509), FreeStack> intermediates(sk_X509_new_null());
  bool ready = store && ctx && intermediates;
  for (const auto& root : roots) {
    ready = ready && X509_STORE_add_cert(store.get(), root.get()) == 1;
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    ready = ready && sk_X509_push(intermediates.get(), chain[i].get()) > 0;
  }
  if (!ready || X509_STORE_CTX_init(ctx.get(), store.get(), cert, intermediates.get()) != 1) {
    return ossl::error("set up verification of", "node certificate");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int code = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();  // the store's code says more than the queue
    return Error{"verify", "node certificate", 0, X509_verify_cert_error_string(code)};
  }
  return {};
}

Result<std::string> serial_of(std::string_view cert_pem) {
  SHOAL_ASSIGN_OR_RETURN(ossl::X509Ptr cert, ossl::read_cert(cert_pem, "node certificate"));
  return ossl::serial_hex(X509_get0_serialNumber(cert.get()));
}

bool signed_directly_by(std::string_view cert_pem, std::string_view root_pem) {
  auto cert = ossl::read_cert(cert_pem, "node certificate");
  auto root = ossl::read_cert(root_pem, "CA certificate");
  if (!cert.ok() || !root.ok()) {
    return false;
  }
  // The names and key identifiers must match, and the signature must be the root key's.
  const bool issued = X509_check_issued(root->get(), cert->get()) == X509_V_OK &&
                      X509_verify(cert->get(), X509_get0_pubkey(root->get())) == 1;
  ERR_clear_error();
  return issued;
}

Result<KeyAndCsr> make_key_and_csr() {
  SHOAL_ASSIGN_OR_RETURN(ossl::Pkey key, ossl::generate_p256());
  ossl::X509Req csr(X509_REQ_new());
  if (!csr) {
    return ossl::error("allocate", "certificate signing request");
  }
  // The CA decides the subject; this placeholder only keeps tools that print CSRs happy.
  X509_NAME* name = X509_REQ_get_subject_name(csr.get());
  if (X509_REQ_set_version(csr.get(), 0) != 1 ||
      X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("swarm-node"), -1, -1,
                                 0) != 1 ||
      X509_REQ_set_pubkey(csr.get(), key.get()) != 1 ||
      X509_REQ_sign(csr.get(), key.get(), EVP_sha256()) <= 0) {
    return ossl::error("build", "certificate signing request");
  }
  KeyAndCsr out;
  SHOAL_ASSIGN_OR_RETURN(out.key_pem, ossl::write_key(key.get()));
  SHOAL_ASSIGN_OR_RETURN(out.csr_pem, ossl::write_csr(csr.get()));
  return out;
}

}  // namespace shoal::pki
