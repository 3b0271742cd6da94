// A node's certificates in its state directory, laid out as Docker does:
//   <dir>/certificates/swarm-root-ca.crt   the root CA certificate (0644)
//   <dir>/certificates/swarm-node.crt      this node's certificate (0644)
//   <dir>/certificates/swarm-node.key      this node's private key (0600)
//   <dir>/certificates/swarm-root-ca.key   the root CA key, managers only (0600)
//   <dir>/certificates/swarm-node.pem      this node's key and certificate in one file (0600)
// swarm-node.pem is what TLS uses while shoald runs (gRPC's file watcher and etcd read it again
// when it changes, or at each handshake): one file, replaced by one rename, so a reader never
// sees a new key with an old certificate. It is written first and read first; the two separate
// files are Docker's layout, kept for people and tools.
// Each file is replaced atomically (temp file, fsync, rename, fsync of the directory), so a
// crash leaves either the old or the new content of every file, never a torn one.
#pragma once

#include <string>

#include "common/result.h"

namespace shoal::pki {

struct NodeFiles {
  std::string ca_cert_pem;
  std::string node_cert_pem;
  std::string node_key_pem;
  // Where these files are saved (a state directory) when TLS users should watch them there and
  // take renewed certificates without a restart; empty: use the PEMs above as they are.
  std::string watch_dir{};

  bool operator==(const NodeFiles&) const = default;
};

// Creates <dir> and <dir>/certificates (0700) if needed.
Status save_node_files(const std::string& dir, const NodeFiles& files);

// Reads and checks the three files: each parses and the node key belongs to the node
// certificate. A missing file gives an Error with errnum ENOENT ("not in a swarm"); any other
// failure means the files are unreadable or corrupt.
Result<NodeFiles> load_node_files(const std::string& dir);

// The files a watcher reads: the combined key and certificate, and the root certificate.
std::string identity_file(const std::string& dir);
std::string ca_file(const std::string& dir);

Status save_ca_key(const std::string& dir, const std::string& ca_key_pem);
// ENOENT when there is no CA key (a worker, or a manager that does not hold the root key).
Result<std::string> load_ca_key(const std::string& dir);
// A node that is no manager (any more) holds no CA key: anyone with it could mint certificates.
// No key is no error.
Status remove_ca_key(const std::string& dir);

}  // namespace shoal::pki
