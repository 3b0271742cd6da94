// A real image registry for tests: Debian's docker-registry (CNCF distribution 2.8) run inside a
// test's network namespace, so that pulls and pushes go over a simulated host's network to a
// real registry without any public registry or internet access. Plain HTTP, no auth, deletes
// enabled; its config, storage and log live in a temporary directory of its own.
//
// How to use it (see tests/netns/images/registry_fixture_test.cpp):
//
//   auto testbed = Testbed::create(2);                       // two simulated hosts
//   Registry registry(testbed->host_ns(1), testbed->host_ip(1).str(), 5000);
//   ASSERT_TRUE(registry.start().ok());                      // waits for GET /v2/ to answer
//   ASSERT_TRUE(registry.push(layout_dir, "test", "shoal/httpd:test").ok());
//   // other hosts now pull registry.reference("shoal/httpd:test"), e.g.
//   //   skopeo copy --src-tls-verify=false docker://198.51.100.11:5000/shoal/httpd:test ...
//
// The image to push comes from scripts/images/build-test-image.sh (an OCI layout). Needs root
// and the Debian packages docker-registry, skopeo and curl (the readiness probe; busybox-static's
// wget segfaults here). Clients reach it over plain HTTP: skopeo's --tls-verify=false (inspect),
// --src-tls-verify=false (copy from it). Each Registry has its own storage, so tests never see
// another's images; start a second one on another port or host for mirrors. The destructor kills
// the registry and removes its directory, also after a failed assertion; a registry left by a
// killed test process dies with its namespace (testbed.sh clean).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.h"
#include "tests/support/temp_dir.h"

namespace shoal::testing {

class Registry {
 public:
  // Nothing runs until start(). `netns` is a name under /run/netns; `host` the address to
  // listen on (one the namespace holds).
  Registry(std::string netns, std::string host, uint16_t port = 5000);
  ~Registry();  // kills the registry (its whole process group) and removes its directory
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Writes the config, starts the registry and waits until `GET /v2/` answers as a registry
  // from inside the namespace. The error carries the tail of the registry's log.
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool running() const { return pid_ > 0; }

  // "host:port", and "host:port/<repo_tag>" for a "repo:tag" or "repo@digest".
  std::string address() const;
  std::string reference(const std::string& repo_tag) const;
  const std::string& netns() const { return netns_; }

  // Copies the image tagged `tag` of an OCI layout to this registry as `repo_tag`, with skopeo
  // run inside the registry's namespace.
  Status push(const std::string& oci_layout_dir, const std::string& tag,
              const std::string& repo_tag) const;

  const std::string& directory() const { return dir_.path(); }
  std::string log_tail(size_t lines = 20) const;

 private:
  Status write_config() const;
  Status spawn();
  bool answers() const;
  void stop();

  std::string netns_;
  std::string host_;
  uint16_t port_;
  TempDir dir_{"shoal-registry"};
  pid_t pid_ = -1;
};

// `skopeo copy --dest-tls-verify=false oci:<oci_layout_dir>:<tag> docker://<destination>` inside
// netns `ns`, destination being "host:port/repo:tag". The error carries skopeo's output.
Status push(const std::string& ns, const std::string& oci_layout_dir, const std::string& tag,
            const std::string& destination, int timeout_ms = 30000);

}  // namespace shoal::testing
