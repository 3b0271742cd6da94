// Layer blobs and image archives come from registries and from files users load: the tar
// walker (plain or gzip) may not crash, leak or hang on any bytes, and its containment check
// must hold for every entry it reports.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "control/images/tar_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An in-memory file: walk_tar reads a path, as the store does for blobs on disk.
  const int fd = ::memfd_create("fuzz-tar", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0)
      break;
    written += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto walked = shoal::images::walk_tar(
      path,
      [](const shoal::images::TarEntry& entry) {
        (void)shoal::images::check_entry_contained(entry);
        return shoal::Status{};
      },
      {"manifest.json", "index.json", "oci-layout"}, 1 << 16);
  if (!walked.ok())
    (void)walked.error().message();
  (void)shoal::images::check_layer_paths(path);
  ::close(fd);
  return 0;
}
