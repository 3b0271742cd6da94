#include "control/pki/node_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include <cerrno>
#include <string_view>

#include "common/atomic_file.h"
#include "common/unique_fd.h"
#include "control/pki/ossl.h"

namespace shoal::pki {

namespace {

constexpr std::string_view kCaCert = "swarm-root-ca.crt";
constexpr std::string_view kCaKey = "swarm-root-ca.key";
constexpr std::string_view kNodeCert = "swarm-node.crt";
constexpr std::string_view kNodeKey = "swarm-node.key";
constexpr std::string_view kNodeIdentity = "swarm-node.pem";
constexpr std::string_view kCertBegin = "-----BEGIN CERTIFICATE-----";
constexpr off_t kMaxFileSize = 1 << 20;  // PEMs are a few KiB; refuse to slurp anything huge

std::string cert_dir(const std::string& dir) {
  return dir + "/certificates";
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return sys_error("create directory", path, errno);
  }
  return {};
}

// Explicit modes: the umask must not widen or narrow them (keys are 0600).
Status write_atomically(const std::string& dir, std::string_view name, std::string_view data,
                        mode_t mode) {
  return write_file_atomically(dir + "/" + std::string(name), data, mode);
}

Result<std::string> read_file(const std::string& dir, std::string_view name) {
  std::string path = dir + "/" + std::string(name);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return sys_error("open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return sys_error("stat", path, errno);
  }
  if (st.st_size > kMaxFileSize) {
    return Error{"read", path, 0, "larger than 1 MiB; not a PEM file"};
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return sys_error("read", path, errno);
    }
    if (n == 0) {
      break;  // shrank under us; parse what is there
    }
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

// The key file is written after the certificate; after a crash between the two a node holds a
// certificate for a key it lacks. Catch that here rather than in a TLS handshake.
Status check_node_files(const std::string& dir, const NodeFiles& files) {
  std::string where = cert_dir(dir);
  auto corrupt = [&](std::string_view name, Error e) {
    return Error{"load", where + "/" + std::string(name), 0, e.message()};
  };
  auto ca = ossl::read_cert(files.ca_cert_pem, "CA certificate");
  if (!ca.ok()) {
    return corrupt(kCaCert, std::move(ca).error());
  }
  auto cert = ossl::read_cert(files.node_cert_pem, "node certificate");
  if (!cert.ok()) {
    return corrupt(kNodeCert, std::move(cert).error());
  }
  auto key = ossl::read_key(files.node_key_pem, "node key");
  if (!key.ok()) {
    return corrupt(kNodeKey, std::move(key).error());
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return Error{"load", where + "/" + std::string(kNodeKey), 0,
                 "the key does not match the node certificate"};
  }
  return {};
}

std::string combined(const NodeFiles& files) {
  std::string pem = files.node_key_pem;
  if (!pem.empty() && pem.back() != '\n')
    pem += '\n';
  return pem + files.node_cert_pem;
}

// swarm-node.pem: the key's block(s), then the certificate from its first header on.
Status split_identity(const std::string& where, const std::string& pem, NodeFiles& files) {
  auto at = pem.find(kCertBegin);
  if (at == std::string::npos || at == 0) {
    return Error{"load", where + "/" + std::string(kNodeIdentity), 0,
                 "expected a private key followed by a certificate"};
  }
  files.node_key_pem = pem.substr(0, at);
  files.node_cert_pem = pem.substr(at);
  return {};
}

}  // namespace

Status save_node_files(const std::string& dir, const NodeFiles& files) {
  std::string where = cert_dir(dir);
  SHOAL_TRY(make_dir(dir));
  SHOAL_TRY(make_dir(where));
  SHOAL_TRY(write_atomically(where, kCaCert, files.ca_cert_pem, 0644));
  // The key first, then the certificate: readers split the file at the certificate's header.
  SHOAL_TRY(write_atomically(where, kNodeIdentity, combined(files), 0600));
  SHOAL_TRY(write_atomically(where, kNodeCert, files.node_cert_pem, 0644));
  SHOAL_TRY(write_atomically(where, kNodeKey, files.node_key_pem, 0600));
  return {};
}

Result<NodeFiles> load_node_files(const std::string& dir) {
  std::string where = cert_dir(dir);
  NodeFiles files;
  SHOAL_ASSIGN_OR_RETURN(files.ca_cert_pem, read_file(where, kCaCert));
  auto identity = read_file(where, kNodeIdentity);
  if (identity.ok()) {
    SHOAL_TRY(split_identity(where, *identity, files));
  } else if (identity.error().errnum == ENOENT) {  // written before renewal existed
    SHOAL_ASSIGN_OR_RETURN(files.node_cert_pem, read_file(where, kNodeCert));
    SHOAL_ASSIGN_OR_RETURN(files.node_key_pem, read_file(where, kNodeKey));
  } else {
    return std::move(identity).error();
  }
  SHOAL_TRY(check_node_files(dir, files));
  return files;
}

std::string identity_file(const std::string& dir) {
  return cert_dir(dir) + "/" + std::string(kNodeIdentity);
}

std::string ca_file(const std::string& dir) {
  return cert_dir(dir) + "/" + std::string(kCaCert);
}

Status save_ca_key(const std::string& dir, const std::string& ca_key_pem) {
  std::string where = cert_dir(dir);
  SHOAL_TRY(make_dir(dir));
  SHOAL_TRY(make_dir(where));
  return write_atomically(where, kCaKey, ca_key_pem, 0600);
}

Status remove_ca_key(const std::string& dir) {
  std::string path = cert_dir(dir) + "/" + std::string(kCaKey);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return sys_error("remove", path, errno);
  return {};
}

Result<std::string> load_ca_key(const std::string& dir) {
  std::string where = cert_dir(dir);
  SHOAL_ASSIGN_OR_RETURN(std::string pem, read_file(where, kCaKey));
  auto key = ossl::read_key(pem, "CA key");
  if (!key.ok()) {
    return Error{"load", where + "/" + std::string(kCaKey), 0, key.error().message()};
  }
  return pem;
}

}  // namespace shoal::pki
