// Reading tar archives without extracting them, for two jobs of the image store:
//
//   - refusing a layer whose entries would land outside the root filesystem (an absolute path,
//     a `..` component, a hard link to such a path) before umoci sees it. umoci clamps such
//     paths into the rootfs rather than refusing them (checked: `../x` and `/x` unpack as
//     `rootfs/x`), so an image that tries it is hostile or broken, and the user should hear so;
//   - telling a `docker save` archive (manifest.json at the top) from an OCI archive
//     (oci-layout and index.json) and reading those small documents.
//
// zlib reads plain and gzip-compressed files alike. The walk is bounded: headers are checked
// (checksum, octal fields), at most kMaxTarEntries entries, collected members at most
// `max_member_bytes` each, long names at most 64 KiB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "common/result.h"

namespace shoal::images {

inline constexpr size_t kMaxTarEntries = 4 * 1024 * 1024;

struct TarEntry {
  std::string path;      // as written (PAX `path` and GNU long names applied)
  char type = '0';       // '0' file, '1' hard link, '2' symlink, '5' directory, ...
  uint64_t size = 0;     // bytes of content
  std::string linkname;  // target of a hard or symbolic link
};

// Calls `visit` for every entry of the (plain or gzip) tar file at `path`, stopping at its
// first error; returns the contents of the members named in `collect` (exact paths as
// written, "manifest.json" or "./manifest.json" are different names). The error names the file
// and the entry.
Result<std::map<std::string, std::string>> walk_tar(
    const std::string& path, const std::function<Status(const TarEntry&)>& visit,
    const std::set<std::string>& collect = {}, size_t max_member_bytes = 4 * 1024 * 1024);

// That `entry` stays inside the directory it is extracted to: its path is relative and has no
// `..` component, and a hard link's target likewise. Symbolic links may point anywhere (images
// hold absolute ones, `/bin/sh -> /usr/bin/busybox`); the unpacker resolves them inside the
// rootfs.
Status check_entry_contained(const TarEntry& entry);

// walk_tar with check_entry_contained on every entry of a layer blob.
Status check_layer_paths(const std::string& blob_path);

}  // namespace shoal::images
