#include "control/pki/ossl.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>

namespace shoal::pki::ossl {

namespace {

// Keys are stored unencrypted; an encrypted one must fail rather than prompt on the terminal,
// which is what OpenSSL's default passphrase callback would do.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

Result<Bio> read_bio(std::string_view pem, std::string_view what) {
  if (pem.size() > static_cast<size_t>(INT_MAX)) {
    return invalid_argument(std::string(what), "is too large");
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return error("read", std::string(what));
  }
  return bio;
}

Result<std::string> bio_contents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || (size > 0 && data == nullptr)) {
    return error("write", "PEM");
  }
  return std::string(data, static_cast<size_t>(size));
}

Result<Bio> memory_bio() {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) {
    return error("allocate", "memory BIO");
  }
  return bio;
}

}  // namespace

Error error(std::string op, std::string object, std::string fallback) {
  std::string detail;
  char text[256];
  while (unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, text, sizeof(text));
    if (!detail.empty()) {
      detail += "; ";
    }
    detail += text;
  }
  return Error{std::move(op), std::move(object), 0, detail.empty() ? std::move(fallback) : detail};
}

Result<Pkey> generate_p256() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return error("generate", "P-256 key");
  }
  return Pkey(raw);
}

Result<X509Ptr> read_cert(std::string_view pem, std::string_view what) {
  SHOAL_ASSIGN_OR_RETURN(Bio bio, read_bio(pem, what));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  if (!cert) {
    return error("parse", std::string(what), "not a PEM certificate");
  }
  return cert;
}

Result<std::vector<X509Ptr>> read_certs(std::string_view pem, std::string_view what) {
  SHOAL_ASSIGN_OR_RETURN(Bio bio, read_bio(pem, what));
  std::vector<X509Ptr> certs;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
    certs.push_back(std::move(cert));
  }
  // The loop ends at the end of the input (PEM_R_NO_START_LINE) or at a block that is corrupt.
  const unsigned long last = ERR_peek_last_error();
  const bool at_end =
      ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (certs.empty() || (last != 0 && !at_end)) {
    return error("parse", std::string(what), "not a PEM certificate bundle");
  }
  ERR_clear_error();
  return certs;
}

Result<Pkey> read_key(std::string_view pem, std::string_view what) {
  SHOAL_ASSIGN_OR_RETURN(Bio bio, read_bio(pem, what));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    return error("parse", std::string(what), "not an unencrypted PEM private key");
  }
  return key;
}

Result<X509Req> read_csr(std::string_view pem) {
  SHOAL_ASSIGN_OR_RETURN(Bio bio, read_bio(pem, "certificate signing request"));
  X509Req csr(PEM_read_bio_X509_REQ(bio.get(), nullptr, no_passphrase, nullptr));
  if (!csr) {
    return error("parse", "certificate signing request", "not a PEM certificate request");
  }
  return csr;
}

Result<std::string> write_cert(X509* cert) {
  SHOAL_ASSIGN_OR_RETURN(Bio bio, memory_bio());
  if (PEM_write_bio_X509(bio.get(), cert) != 1) {
    return error("write", "certificate PEM");
  }
  return bio_contents(bio.get());
}

Result<std::string> write_key(EVP_PKEY* key) {
  SHOAL_ASSIGN_OR_RETURN(Bio bio, memory_bio());
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return error("write", "private key PEM");
  }
  return bio_contents(bio.get());
}

Result<std::string> write_csr(X509_REQ* csr) {
  SHOAL_ASSIGN_OR_RETURN(Bio bio, memory_bio());
  if (PEM_write_bio_X509_REQ(bio.get(), csr) != 1) {
    return error("write", "certificate signing request PEM");
  }
  return bio_contents(bio.get());
}

Result<std::string> serial_hex(const ASN1_INTEGER* serial) {
  Bignum number(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!number)
    return error("read", "certificate serial");
  struct FreeString {  // OPENSSL_free is a macro: no function to hand a Deleter
    void operator()(char* text) const { OPENSSL_free(text); }
  };
  std::unique_ptr<char, FreeString> hex(BN_bn2hex(number.get()));
  if (!hex)
    return error("print", "certificate serial");
  std::string out(hex.get());
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Result<std::vector<uint8_t>> cert_sha256(X509* cert) {
  std::vector<uint8_t> digest(EVP_MAX_MD_SIZE);
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &size) != 1) {
    return error("digest", "certificate");
  }
  digest.resize(size);
  return digest;
}

}  // namespace shoal::pki::ossl
