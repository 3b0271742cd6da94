// Thin RAII layer over the OpenSSL 3 objects the PKI uses, plus PEM/DER conversions that
// return Results. Every OpenSSL failure becomes an Error whose detail is the library's own
// error queue (which is drained, so a later call never reports a stale error).
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace shoal::pki::ossl {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using X509Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using X509Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using X509Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using GeneralName = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using Asn1Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using Asn1Ia5String = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING_free>>;
using Asn1Time = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using SslCtx = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using Ssl = std::unique_ptr<SSL, Deleter<SSL_free>>;

// An Error for a failed OpenSSL call; detail holds the drained error queue.
Error error(std::string op, std::string object, std::string fallback = {});

// A new P-256 key.
Result<Pkey> generate_p256();

// PEM in: `what` names the input in errors ("CA certificate"). Only the first PEM block is read.
Result<X509Ptr> read_cert(std::string_view pem, std::string_view what);
Result<Pkey> read_key(std::string_view pem, std::string_view what);
Result<X509Req> read_csr(std::string_view pem);
// Every certificate of a PEM bundle, in order; an error when there is none or one is corrupt.
Result<std::vector<X509Ptr>> read_certs(std::string_view pem, std::string_view what);

// PEM out. Keys are written as unencrypted PKCS#8 ("BEGIN PRIVATE KEY").
Result<std::string> write_cert(X509* cert);
Result<std::string> write_key(EVP_PKEY* key);
Result<std::string> write_csr(X509_REQ* csr);

// A certificate serial as lowercase hex (what serial_of() and revocation lists use).
Result<std::string> serial_hex(const ASN1_INTEGER* serial);

// SHA-256 of the certificate's DER encoding.
Result<std::vector<uint8_t>> cert_sha256(X509* cert);

}  // namespace shoal::pki::ossl
