// The node firewall's one seam to the kernel: nft scripts, each applied as one transaction.
// The real runner goes through libnftables (no `nft` process); the unit tests' one records the
// scripts and answers from a fake.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "dataplane/netns.h"

namespace shoal::dataplane::firewall {

class NftRunner {
 public:
  virtual ~NftRunner() = default;
  // Applies a script of nft commands atomically: all of them, or none when one fails (the error
  // carries nft's own text). Blocks for one netlink round trip; not thread-safe.
  virtual Status apply(const std::string& script) = 0;
};

// libnftables in the namespace given at open (the calling thread's when none): each script
// runs on a thread inside that namespace, so the caller's own namespace is never touched.
class LibnftablesRunner final : public NftRunner {
 public:
  static Result<std::unique_ptr<LibnftablesRunner>> open(std::optional<Netns> ns = std::nullopt);
  ~LibnftablesRunner() override;
  LibnftablesRunner(const LibnftablesRunner&) = delete;
  LibnftablesRunner& operator=(const LibnftablesRunner&) = delete;

  Status apply(const std::string& script) override;

 private:
  struct Context;
  explicit LibnftablesRunner(std::unique_ptr<Context> context);
  std::unique_ptr<Context> context_;
};

}  // namespace shoal::dataplane::firewall
