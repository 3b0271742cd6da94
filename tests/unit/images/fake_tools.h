// A fake of the image store's external tools for unit tests: `copy` writes an OCI layout of a
// made-up image for each source it knows (and fails like skopeo for others), `unpack` makes a
// rootfs directory with one file. It counts calls, can hold copies at a gate until the test
// opens it (single-flight), and can time out. Also: tar archives built by hand.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "control/images/tools.h"

namespace shoal::images::testing {

// A digest of the right form for `data` (not SHA-256: the store never recomputes digests).
std::string fake_digest(const std::string& data);

// A ustar archive of regular files (name, contents), optionally with a PAX `path` record for the
// last one instead of its header name.
std::string make_tar(const std::vector<std::pair<std::string, std::string>>& files,
                     const std::string& pax_path_of_last = "");

struct FakeImage {
  std::vector<std::string> cmd{"httpd"};
  std::string layer = make_tar({{"bin/busybox", "#!"}, {"www/index.html", "hi"}});
  std::string created = "2026-12-01T00:00:00Z";
};

// Writes an OCI layout of `image` (its one image tagged `tag`) to `dir`.
void write_layout(const std::string& dir, const std::string& tag, const FakeImage& image);
// The config digest write_layout gives `image`.
std::string config_digest_of(const FakeImage& image);

class FakeTools : public Tools {
 public:
  // Sources (skopeo's transport strings) copy() knows.
  void add(const std::string& source, FakeImage image) {
    std::lock_guard lock(mutex_);
    images_[source] = std::move(image);
  }

  Result<ToolOutcome> copy(const CopyRequest& request) override;
  Result<ToolOutcome> unpack(const UnpackRequest& request) override;

  // Copies wait at the gate while it is closed.
  void close_gate() {
    std::lock_guard lock(mutex_);
    gate_open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard lock(mutex_);
      gate_open_ = true;
    }
    changed_.notify_all();
  }
  // Waits until `n` copies are at the gate (or 5 s); whether they are.
  bool wait_waiting(int n);

  std::atomic<int> copies{0};
  std::atomic<int> unpacks{0};
  std::atomic<bool> time_out{false};
  std::vector<CopyRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_open_ = true;
  int waiting_ = 0;
  std::map<std::string, FakeImage> images_;
  std::vector<CopyRequest> requests_;
};

}  // namespace shoal::images::testing
