// Bytes a manager takes from etcd (another manager's cluster secrets, root rotation included),
// and the roots and certificate chains a node takes from its assignments and from a manager's
// answers (GetRootCertificate, a renewal): none may crash, leak or hang, and secrets that load
// save to the same JSON.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "control/manager/ca/cluster_secrets.h"
#include "control/pki/identity.h"

namespace {

// adopt() saves what it takes: into one directory made for the whole run, removed at its end.
struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/shoal-fuzz-secrets-XXXXXX";
    if (::mkdtemp(pattern) == nullptr)
      __builtin_trap();
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

const std::string& state_dir() {
  static const TempDir dir;
  return dir.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  auto adopted = shoal::manager::ClusterSecrets::adopt(state_dir(), input);
  if (adopted.ok()) {
    const auto json = (*adopted)->to_json();
    auto again = shoal::manager::ClusterSecrets::adopt(state_dir(), json);
    if (!again.ok() || (*again)->to_json() != json)
      __builtin_trap();
  }
  const std::string_view bytes(input);
  const auto chain = bytes.substr(0, size / 2);
  const auto roots = bytes.substr(size / 2);
  (void)shoal::pki::verify_issued_by(chain, roots);
  (void)shoal::pki::signed_directly_by(chain, roots);
  return 0;
}
