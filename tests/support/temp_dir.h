// A directory of a test's own, made under `base` and removed with everything in it when the
// test is done, whatever happened. Empty path() when it could not be made (the test's first
// use of it then fails, naming the path).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace shoal::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "shoal-test", const std::string& base = "/tmp") {
    std::string pattern = base + "/" + prefix + "-" + std::to_string(::getpid()) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr)
      path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string at(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace shoal::testing
