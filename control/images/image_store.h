// A node's image store: the images its tasks run, pulled from registries or loaded from
// archives, each unpacked once into a root filesystem that task containers mount read-only.
//
// On disk, under the directory the caller gives (a per-node `<state>/images`):
//
//   images.json            reference -> image: {"version":1,"images":{"<Reference::str()>":
//                          {"config":"sha256:..","manifest":"sha256:..","size":N,
//                          "created":".."}}}, replaced atomically and durably; the only
//                          record of which references exist
//   layouts/<hex>/         one OCI image layout per image (its one image tagged "image"), hex
//                          being the config digest's; several references to one image share it
//   rootfs/<hex>/          the image's unpacked root filesystem, made once by unpack(), never
//                          written afterwards (task containers put an overlay on top)
//   lock                   flock(2)ed by the open store: one store per directory
//   tmp/                   work directories (pull-*, load-*, unpack-*, trash-*), emptied by
//                          open(): whatever is there belongs to a run that died
//
// Images are keyed by their config digest, which names the image's content (its diff_ids and
// config), never by a compressed blob's digest: converting a Docker manifest to OCI, as a copy
// into a layout does, re-digests the manifest, and re-compression changes layer digests, while
// the config digest stays. One layout per image (not one shared layout) because parallel skopeo
// copies into one OCI layout lose index.json entries (containers/image#1028); the price is that
// layers shared by two images are stored twice.
//
// The rules:
//   - A directory becomes visible only by rename(2) from tmp/ once complete, and images.json is
//     written after its layout is in place and before a layout is removed: a reader or a crash
//     never sees a reference to a partial image. A failed call leaves images.json as it was
//     and removes its work directory.
//   - Pulls are single-flight per reference (concurrent pulls of one reference share one skopeo
//     copy and its result); unpacks per image. Different references pull in parallel, each
//     into its own work directory.
//   - A reference with a digest that is present is not pulled again. A tag is always
//     re-resolved by the registry (it may have moved).
//   - Garbage collection: `in_use` names what tasks use, by reference (canonical or as the user
//     wrote it) or by config digest. remove() refuses the last reference of an image in use,
//     and a reference in use itself; it untags otherwise and deletes the image with its last
//     reference. prune() deletes every image none of whose references, nor its digest, is in
//     use, and directories no reference leads to (left by a crash, or by a tag that moved).
//     A running task should be named by the config digest it runs: its tag may have been
//     pulled again since and now name another image.
//
// Thread-safe: one mutex guards images.json, the in-memory index and every rename; skopeo and
// umoci run outside it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "control/images/image_manifest.h"
#include "control/images/single_flight.h"
#include "control/images/tools.h"

namespace shoal::images {

inline constexpr std::string_view kLayoutTag = "image";
inline constexpr size_t kMaxIndexBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxArchiveImages = 100;

struct PullOptions {
  // Registries ("host:port", or "host" for port 443) spoken to over plain HTTP or TLS without
  // certificate checks. Every other registry must present a valid certificate.
  std::vector<std::string> insecure_registries;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

// One reference and the image it names.
struct ImageRecord {
  std::string reference;        // canonical: "docker.io/library/nginx:latest"
  std::string config_digest;    // the image's id: "sha256:<hex>"
  std::string manifest_digest;  // of the manifest as stored in the layout
  int64_t size = 0;             // bytes of the stored blobs: config and (compressed) layers
  std::string created;          // the config's `created` (RFC 3339), "" when it has none

  bool operator==(const ImageRecord&) const = default;
};

struct PruneReport {
  std::vector<std::string> references;  // removed, sorted
  std::vector<std::string> images;      // config digests whose layout or rootfs went
};

// References (canonical or not) and config digests ("sha256:...") that running tasks use.
using InUse = std::set<std::string>;

class ImageStore {
 public:
  // Opens (making it if needed) the store at `root`, an absolute path without ':' (skopeo's
  // `oci:PATH:TAG` syntax has no escape for it). Holds an exclusive lock on `root/lock` while
  // open: a second store on one directory (a second agent given the same state dir) is
  // refused, not left to empty the first one's tmp/. Empties tmp/. Refuses a corrupt
  // images.json rather than forgetting images silently.
  static Result<std::unique_ptr<ImageStore>> open(const std::string& root,
                                                  std::shared_ptr<Tools> tools);

  // Makes `reference` present. Callers that join a pull of the same reference already running
  // share its options and its result. Errors: `pull REF: timed out after N s`, `pull REF: <the
  // registry's reason, as skopeo reports it>`, or the image's documents are refused.
  Result<ImageRecord> pull(std::string_view reference, const PullOptions& options = {});

  // Imports every image of a `docker save` archive or an OCI archive (which one is told by its
  // contents) and registers every reference it carries. All or nothing: images.json changes
  // only when every image was read.
  Result<std::vector<ImageRecord>> load(
      const std::string& archive, std::chrono::milliseconds timeout = std::chrono::minutes(5));

  // The image's root filesystem, unpacked now if it is not yet. Layers with entries outside
  // the rootfs (absolute paths, `..`) are refused, naming the entry.
  Result<std::string> unpack(std::string_view reference,
                             std::chrono::milliseconds timeout = std::chrono::minutes(5));

  std::vector<ImageRecord> list() const;  // sorted by reference
  // The record of `reference` ("nginx" finds docker.io/library/nginx:latest). `No such image`.
  Result<ImageRecord> find(std::string_view reference) const;
  // The image's parsed config.
  Result<ImageConfig> inspect(std::string_view reference) const;
  Status remove(std::string_view reference, const InUse& in_use);
  Result<PruneReport> prune(const InUse& in_use);

  const std::string& root() const { return root_; }
  std::string rootfs_path(const std::string& config_digest) const;
  std::string layout_path(const std::string& config_digest) const;

 private:
  struct Entry {
    std::string config;
    std::string manifest;
    int64_t size = 0;
    std::string created;
  };
  // An image read from a layout in a work directory, ready to be put in place.
  struct StagedImage {
    std::string layout_dir;
    Entry entry;
  };

  ImageStore(std::string root, std::shared_ptr<Tools> tools, UniqueFd lock)
      : root_(std::move(root)), tools_(std::move(tools)), lock_(std::move(lock)) {}

  Status load_index();
  std::string index_json(const std::map<std::string, Entry>& index) const;
  Status write_index(const std::map<std::string, Entry>& index) const;
  Result<std::string> make_work_dir(std::string_view kind) const;
  Result<ImageRecord> pull_now(const std::string& key, const std::string& transport,
                               bool tls_verify, std::chrono::milliseconds timeout);
  // skopeo copy into a work directory, then the layout's documents read and checked. Errors
  // read `OP OBJECT: reason`.
  Result<StagedImage> copy_in(const std::string& op, const std::string& object,
                              const CopyRequest& request) const;
  // Puts staged images in place and points `references` (one list per image) at them.
  Result<std::vector<ImageRecord>> commit(std::vector<StagedImage>& staged,
                                          const std::vector<std::vector<std::string>>& references);
  Result<std::string> unpack_now(const std::string& key, const Entry& entry,
                                 std::chrono::milliseconds timeout);
  Result<std::string> resolve(std::string_view reference) const;  // canonical key
  // Moves the layouts and rootfs of images no reference names any more, and not in `in_use`,
  // into tmp/; the caller deletes what is returned after unlocking. Needs mutex_.
  std::vector<std::string> collect_garbage(const InUse& in_use, std::vector<std::string>* removed);
  bool in_use_image(const std::string& config, const InUse& in_use) const;
  static void delete_trees(const std::vector<std::string>& dirs);

  const std::string root_;
  const std::shared_ptr<Tools> tools_;
  const UniqueFd lock_;  // flock(LOCK_EX) on root/lock for the store's life
  mutable std::mutex mutex_;
  std::map<std::string, Entry> index_;  // by canonical reference
  SingleFlight<Result<ImageRecord>> pulls_;
  SingleFlight<Result<std::string>> unpacks_;
};

}  // namespace shoal::images
