#include "control/images/image_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/atomic_file.h"
#include "control/images/reference.h"
#include "control/images/tar_scan.h"

namespace shoal::images {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

std::string hex_of(const std::string& digest) {
  return digest.substr(digest.find(':') + 1);
}

std::string seconds_text(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

Error no_such_image(std::string_view reference) {
  return sys_error("No such image:", std::string(reference), 0);
}

// The whole file, refused when larger than `limit` (every file read here is a document a
// registry or an archive supplied, or our own index).
Result<std::string> read_bounded(const std::string& path, size_t limit) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec)
    return sys_error("read", path, ec.value());
  if (size > limit)
    return sys_error("read", path, 0, "over " + std::to_string(limit) + " bytes");
  std::ifstream in(path, std::ios::binary);
  std::string data(static_cast<size_t>(size), '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size)))
    return sys_error("read", path, errno);
  return data;
}

std::string blob_path(const std::string& layout, const std::string& digest) {
  return layout + "/blobs/sha256/" + hex_of(digest);
}

// A blob of the layout, which must have the size its descriptor states.
Result<std::string> read_blob(const std::string& layout, const Descriptor& descriptor) {
  SHOAL_ASSIGN_OR_RETURN(std::string data,
                         read_bounded(blob_path(layout, descriptor.digest), kMaxDocumentBytes));
  if (static_cast<int64_t>(data.size()) != descriptor.size) {
    return sys_error("read blob", descriptor.digest, 0,
                     std::to_string(data.size()) + " bytes where its descriptor says " +
                         std::to_string(descriptor.size));
  }
  return data;
}

// Removes a directory tree when it goes out of scope (a work directory of a failed or finished
// call: no partial state outlives the call).
class TreeGuard {
 public:
  explicit TreeGuard(std::string path) : path_(std::move(path)) {}
  ~TreeGuard() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TreeGuard(const TreeGuard&) = delete;
  TreeGuard& operator=(const TreeGuard&) = delete;

 private:
  std::string path_;
};

// fs::exists without exceptions: an error (EACCES on a path component) counts as absent, and
// the rename or read that follows reports it.
bool exists(const std::string& path) {
  std::error_code ignored;
  return fs::exists(path, ignored);
}

// The names in `dir`, without exceptions (a directory that cannot be read has none).
std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename());
  return names;
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return sys_error("mkdir", path, errno);
  return {};
}

// The manifest of the one image in an OCI layout skopeo wrote: its index.json names a manifest,
// or (a copy with --all, or a hand-made layout) an image index to pick linux/amd64 from.
Result<Descriptor> layout_manifest(const std::string& layout) {
  SHOAL_ASSIGN_OR_RETURN(std::string bytes,
                         read_bounded(layout + "/index.json", kMaxDocumentBytes));
  SHOAL_ASSIGN_OR_RETURN(ImageIndex index, parse_image_index(bytes));
  if (index.manifests.size() != 1) {
    return sys_error(
        "read layout", layout, 0,
        "index.json lists " + std::to_string(index.manifests.size()) + " images, not one");
  }
  Descriptor manifest = index.manifests.front().manifest;
  SHOAL_ASSIGN_OR_RETURN(std::string blob, read_blob(layout, manifest));
  SHOAL_ASSIGN_OR_RETURN(DocumentKind kind, document_kind(blob));
  if (kind == DocumentKind::kIndex) {
    SHOAL_ASSIGN_OR_RETURN(ImageIndex nested, parse_image_index(blob));
    SHOAL_ASSIGN_OR_RETURN(manifest, select_platform(nested));
  }
  return manifest;
}

struct LayoutImage {
  Descriptor manifest_descriptor;
  ImageManifest manifest;
  ImageConfig config;
  std::string created;
};

Result<LayoutImage> read_layout_image(const std::string& layout) {
  LayoutImage image;
  SHOAL_ASSIGN_OR_RETURN(image.manifest_descriptor, layout_manifest(layout));
  SHOAL_ASSIGN_OR_RETURN(std::string manifest_bytes, read_blob(layout, image.manifest_descriptor));
  SHOAL_ASSIGN_OR_RETURN(image.manifest, parse_image_manifest(manifest_bytes));
  SHOAL_ASSIGN_OR_RETURN(std::string config_bytes, read_blob(layout, image.manifest.config));
  SHOAL_ASSIGN_OR_RETURN(image.config, parse_image_config(config_bytes));
  SHOAL_TRY(check_config_fits(image.manifest, image.config));
  // `created` is informational (image ls); parse_image_config keeps only what runs a container.
  const json doc = json::parse(config_bytes, nullptr, false);
  if (doc.is_object() && doc.contains("created") && doc["created"].is_string())
    image.created = doc["created"].get<std::string>().substr(0, 64);
  return image;
}

}  // namespace

Result<std::unique_ptr<ImageStore>> ImageStore::open(const std::string& root,
                                                     std::shared_ptr<Tools> tools) {
  if (root.empty() || root.front() != '/' || root.find(':') != std::string::npos)
    return invalid_argument("image store root \"" + root + "\"", "must be absolute, without ':'");
  if (tools == nullptr)
    return invalid_argument("image store tools", "none given");
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    return sys_error("mkdir", root, ec.value());
  for (const char* sub : {"/layouts", "/rootfs", "/tmp"})
    SHOAL_TRY(make_dir(root + sub));
  UniqueFd lock(::open((root + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid())
    return sys_error("open", root + "/lock", errno);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    return sys_error("lock image store", root, err,
                     err == EWOULDBLOCK ? "another image store has it open" : "");
  }
  std::unique_ptr<ImageStore> store(new ImageStore(root, std::move(tools), std::move(lock)));
  // What is in tmp/ belongs to a call that died with its process.
  for (const std::string& stale : names_in(root + "/tmp"))
    fs::remove_all(root + "/tmp/" + stale, ec);
  SHOAL_TRY(store->load_index());
  return store;
}

std::string ImageStore::rootfs_path(const std::string& config_digest) const {
  return root_ + "/rootfs/" + hex_of(config_digest);
}

std::string ImageStore::layout_path(const std::string& config_digest) const {
  return root_ + "/layouts/" + hex_of(config_digest);
}

Status ImageStore::load_index() {
  const std::string path = root_ + "/images.json";
  if (!exists(path))
    return {};
  SHOAL_ASSIGN_OR_RETURN(std::string bytes, read_bounded(path, kMaxIndexBytes));
  const json doc = json::parse(bytes, nullptr, false);
  auto corrupt = [&](const std::string& why) {
    return sys_error("read image index", path, 0, why);
  };
  if (!doc.is_object() || doc.value("version", 0) != 1 || !doc.contains("images") ||
      !doc["images"].is_object()) {
    return corrupt("not a version 1 image index");
  }
  for (const auto& [key, value] : doc["images"].items()) {
    auto ref = parse_reference(key);
    if (!ref.ok() || ref->str() != key)
      return corrupt("\"" + key + "\" is not a canonical reference");
    if (!value.is_object() || !value.contains("config") || !value["config"].is_string() ||
        !value.contains("manifest") || !value["manifest"].is_string())
      return corrupt(key + ": no config or manifest digest");
    Entry entry{value["config"].get<std::string>(), value["manifest"].get<std::string>(),
                value.value("size", int64_t{0}), value.value("created", std::string())};
    SHOAL_TRY(check_digest(entry.config, key + " config"));
    SHOAL_TRY(check_digest(entry.manifest, key + " manifest"));
    index_.emplace(key, std::move(entry));
  }
  return {};
}

std::string ImageStore::index_json(const std::map<std::string, Entry>& index) const {
  json images = json::object();
  for (const auto& [key, entry] : index) {
    images[key] = {{"config", entry.config},
                   {"manifest", entry.manifest},
                   {"size", entry.size},
                   {"created", entry.created}};
  }
  return json{{"version", 1}, {"images", images}}.dump(1) + "\n";
}

Status ImageStore::write_index(const std::map<std::string, Entry>& index) const {
  return write_file_atomically(root_ + "/images.json", index_json(index), 0600,
                               Durability::kDurable);
}

Result<std::string> ImageStore::make_work_dir(std::string_view kind) const {
  std::string pattern = root_ + "/tmp/" + std::string(kind) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    return sys_error("mkdtemp", pattern, errno);
  return pattern;
}

Result<std::string> ImageStore::resolve(std::string_view reference) const {
  SHOAL_ASSIGN_OR_RETURN(Reference ref, parse_reference(reference));
  std::string key = ref.str();
  std::lock_guard lock(mutex_);
  if (!index_.contains(key))
    return no_such_image(reference);
  return key;
}

Result<ImageStore::StagedImage> ImageStore::copy_in(const std::string& op,
                                                    const std::string& object,
                                                    const CopyRequest& request) const {
  SHOAL_ASSIGN_OR_RETURN(ToolOutcome outcome, tools_->copy(request));
  if (outcome.timed_out)
    return sys_error(op, object, 0, "timed out after " + seconds_text(request.timeout));
  if (!outcome.ok())
    return sys_error(op, object, 0, tool_reason(outcome.output));
  auto image = read_layout_image(request.layout_dir);
  if (!image.ok()) {
    Error error = std::move(image).error();
    return sys_error(op, object, 0, error.message());
  }
  int64_t size = image->manifest.config.size;
  for (const Layer& layer : image->manifest.layers)
    size += layer.blob.size;
  return StagedImage{request.layout_dir,
                     Entry{image->manifest.config.digest, image->manifest_descriptor.digest, size,
                           image->created}};
}

Result<std::vector<ImageRecord>> ImageStore::commit(
    std::vector<StagedImage>& staged, const std::vector<std::vector<std::string>>& references) {
  std::lock_guard lock(mutex_);
  std::map<std::string, Entry> next = index_;
  std::vector<std::string> placed;  // layouts this call moved in, undone on failure
  auto undo = [&] {
    std::error_code ignored;
    for (const std::string& dir : placed)
      fs::remove_all(dir, ignored);
  };
  std::vector<ImageRecord> records;
  for (size_t i = 0; i < staged.size(); ++i) {
    const Entry& entry = staged[i].entry;
    const std::string target = layout_path(entry.config);
    // Present already (another reference to the same image): ours is a duplicate, and the work
    // directory's guard deletes it.
    if (!exists(target)) {
      if (::rename(staged[i].layout_dir.c_str(), target.c_str()) != 0) {
        const int err = errno;
        undo();
        return sys_error("rename", staged[i].layout_dir + " to " + target, err);
      }
      placed.push_back(target);
    }
    for (const std::string& key : references[i]) {
      next[key] = entry;
      records.push_back(ImageRecord{key, entry.config, entry.manifest, entry.size, entry.created});
    }
  }
  if (Status written = write_index(next); !written.ok()) {
    undo();
    return std::move(written).error();
  }
  index_ = std::move(next);
  return records;
}

Result<ImageRecord> ImageStore::pull(std::string_view reference, const PullOptions& options) {
  SHOAL_ASSIGN_OR_RETURN(Reference ref, parse_reference(reference));
  const std::string key = ref.str();
  if (options.timeout.count() <= 0)
    return invalid_argument("pull timeout for " + key, "must be positive");
  if (!ref.digest.empty()) {
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      const Entry& e = it->second;
      return ImageRecord{key, e.config, e.manifest, e.size, e.created};
    }
  }
  const auto& insecure = options.insecure_registries;
  const bool tls_verify =
      std::find(insecure.begin(), insecure.end(), ref.domain) == insecure.end() &&
      std::find(insecure.begin(), insecure.end(), ref.registry_host()) == insecure.end();
  return pulls_.run(
      key, [&] { return pull_now(key, ref.transport_ref(), tls_verify, options.timeout); });
}

Result<ImageRecord> ImageStore::pull_now(const std::string& key, const std::string& transport,
                                         bool tls_verify, std::chrono::milliseconds timeout) {
  SHOAL_ASSIGN_OR_RETURN(std::string work, make_work_dir("pull"));
  TreeGuard guard(work);
  CopyRequest request{.source = transport,
                      .layout_dir = work + "/layout",
                      .layout_tag = std::string(kLayoutTag),
                      .tls_verify = tls_verify,
                      .timeout = timeout};
  SHOAL_ASSIGN_OR_RETURN(StagedImage staged, copy_in("pull", key, request));
  std::vector<StagedImage> all{std::move(staged)};
  SHOAL_ASSIGN_OR_RETURN(std::vector<ImageRecord> records, commit(all, {{key}}));
  return records.front();
}

namespace {

// What an archive holds: per image, skopeo's source for it and the references it carries.
struct ArchiveImage {
  std::string source;
  std::vector<std::string> references;  // canonical
};

Result<std::vector<std::string>> canonical(const std::vector<std::string>& names,
                                           const std::string& archive, size_t image) {
  std::vector<std::string> keys;
  for (const std::string& name : names) {
    auto ref = parse_reference(name);
    if (!ref.ok())
      return sys_error("load", archive, 0, ref.error().message());
    keys.push_back(ref->str());
  }
  if (keys.empty()) {
    return sys_error("load", archive, 0,
                     "image " + std::to_string(image) +
                         " carries no reference (save it by name: docker save NAME:TAG)");
  }
  return keys;
}

// `docker save`: manifest.json is [{"Config": ..., "RepoTags": [...], "Layers": [...]}, ...].
Result<std::vector<ArchiveImage>> docker_archive_images(const std::string& archive,
                                                        const std::string& manifest) {
  const json doc = json::parse(manifest, nullptr, false);
  if (!doc.is_array() || doc.empty() || doc.size() > kMaxArchiveImages)
    return sys_error("load", archive, 0, "manifest.json is not a list of 1 to 100 images");
  std::vector<ArchiveImage> images;
  for (size_t i = 0; i < doc.size(); ++i) {
    std::vector<std::string> names;
    const json& tags = doc[i].is_object() ? doc[i].value("RepoTags", json()) : json();
    if (tags.is_array()) {
      for (const json& tag : tags) {
        if (tag.is_string())
          names.push_back(tag.get<std::string>());
      }
    }
    SHOAL_ASSIGN_OR_RETURN(std::vector<std::string> keys, canonical(names, archive, i));
    images.push_back({"docker-archive:" + archive + ":@" + std::to_string(i), std::move(keys)});
  }
  return images;
}

// An OCI archive: index.json's entries name their images by the annotation containerd writes
// (io.containerd.image.name, a full reference) or org.opencontainers.image.ref.name, which
// names the image only when it is a full reference (often it is just a tag, "latest").
Result<std::vector<ArchiveImage>> oci_archive_images(const std::string& archive,
                                                     const std::string& index) {
  const json doc = json::parse(index, nullptr, false);
  if (!doc.is_object() || !doc.contains("manifests") || !doc["manifests"].is_array() ||
      doc["manifests"].empty() || doc["manifests"].size() > kMaxArchiveImages) {
    return sys_error("load", archive, 0, "index.json does not list 1 to 100 images");
  }
  const json& manifests = doc["manifests"];
  std::vector<ArchiveImage> images;
  for (size_t i = 0; i < manifests.size(); ++i) {
    const json annotations =
        manifests[i].is_object() ? manifests[i].value("annotations", json::object()) : json();
    auto text = [&](const char* key) {
      return annotations.is_object() && annotations.contains(key) && annotations[key].is_string()
                 ? annotations[key].get<std::string>()
                 : std::string();
    };
    const std::string ref_name = text("org.opencontainers.image.ref.name");
    std::string name = text("io.containerd.image.name");
    if (name.empty() && ref_name.find_first_of("/:") != std::string::npos)
      name = ref_name;
    SHOAL_ASSIGN_OR_RETURN(
        std::vector<std::string> keys,
        canonical(name.empty() ? std::vector<std::string>{} : std::vector<std::string>{name},
                  archive, i));
    if (ref_name.empty() && manifests.size() > 1) {
      return sys_error("load", archive, 0,
                       "image " + std::to_string(i) + " has no org.opencontainers.image.ref.name");
    }
    images.push_back(
        {"oci-archive:" + archive + (ref_name.empty() ? "" : ":" + ref_name), std::move(keys)});
  }
  return images;
}

}  // namespace

Result<std::vector<ImageRecord>> ImageStore::load(const std::string& archive,
                                                  std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0)
    return invalid_argument("load timeout for " + archive, "must be positive");
  if (archive.find(':') != std::string::npos)
    return invalid_argument("archive path \"" + archive + "\"", "skopeo cannot take a ':' in it");
  SHOAL_ASSIGN_OR_RETURN(auto members,
                         walk_tar(
                             archive, [](const TarEntry&) { return Status{}; },
                             {"manifest.json", "index.json", "oci-layout"}, kMaxDocumentBytes));
  std::vector<ArchiveImage> images;
  if (members.contains("manifest.json")) {
    SHOAL_ASSIGN_OR_RETURN(images, docker_archive_images(archive, members["manifest.json"]));
  } else if (members.contains("oci-layout") && members.contains("index.json")) {
    SHOAL_ASSIGN_OR_RETURN(images, oci_archive_images(archive, members["index.json"]));
  } else {
    return sys_error("load", archive, 0,
                     "neither a docker save archive (manifest.json) nor an OCI archive "
                     "(oci-layout and index.json)");
  }
  SHOAL_ASSIGN_OR_RETURN(std::string work, make_work_dir("load"));
  TreeGuard guard(work);
  const auto deadline = Clock::now() + timeout;
  std::vector<StagedImage> staged;
  std::vector<std::vector<std::string>> references;
  for (size_t i = 0; i < images.size(); ++i) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return sys_error("load", archive, 0, "timed out after " + seconds_text(timeout));
    CopyRequest request{.source = images[i].source,
                        .layout_dir = work + "/" + std::to_string(i),
                        .layout_tag = std::string(kLayoutTag),
                        .tls_verify = true,
                        .timeout = left};
    SHOAL_ASSIGN_OR_RETURN(StagedImage image, copy_in("load", archive, request));
    staged.push_back(std::move(image));
    references.push_back(images[i].references);
  }
  return commit(staged, references);
}

Result<std::string> ImageStore::unpack(std::string_view reference,
                                       std::chrono::milliseconds timeout) {
  SHOAL_ASSIGN_OR_RETURN(std::string key, resolve(reference));
  Entry entry;
  {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end())
      return no_such_image(reference);
    entry = it->second;
  }
  const std::string target = rootfs_path(entry.config);
  if (exists(target))
    return target;
  return unpacks_.run(entry.config, [&] { return unpack_now(key, entry, timeout); });
}

Result<std::string> ImageStore::unpack_now(const std::string& key, const Entry& entry,
                                           std::chrono::milliseconds timeout) {
  const std::string target = rootfs_path(entry.config);
  if (exists(target))
    return target;  // a run that just finished made it
  auto failed = [&](const std::string& why) { return sys_error("unpack", key, 0, why); };
  const std::string layout = layout_path(entry.config);
  auto image = read_layout_image(layout);
  if (!image.ok())
    return failed(image.error().message());
  // umoci clamps escaping paths into the rootfs instead of refusing them; refuse them here.
  // zstd layers are left to umoci (no zstd reader here).
  for (const Layer& layer : image->manifest.layers) {
    if (layer.compression == LayerCompression::kZstd)
      continue;
    if (Status ok = check_layer_paths(blob_path(layout, layer.blob.digest)); !ok.ok())
      return failed("layer " + layer.blob.digest + ": " + ok.error().message());
  }
  SHOAL_ASSIGN_OR_RETURN(std::string work, make_work_dir("unpack"));
  TreeGuard guard(work);
  UnpackRequest request{.layout_dir = layout,
                        .layout_tag = std::string(kLayoutTag),
                        .rootfs_dir = work + "/rootfs",
                        .timeout = timeout};
  SHOAL_ASSIGN_OR_RETURN(ToolOutcome outcome, tools_->unpack(request));
  if (outcome.timed_out)
    return failed("timed out after " + seconds_text(timeout));
  if (!outcome.ok())
    return failed(tool_reason(outcome.output));
  std::lock_guard lock(mutex_);
  // Removed while unpacking (remove or prune): do not leave a rootfs no reference leads to.
  const bool referenced = std::any_of(index_.begin(), index_.end(), [&](const auto& item) {
    return item.second.config == entry.config;
  });
  if (!referenced)
    return failed("the image was removed while it was unpacked");
  if (::rename(request.rootfs_dir.c_str(), target.c_str()) != 0) {
    const int err = errno;
    return sys_error("rename", request.rootfs_dir + " to " + target, err);
  }
  return target;
}

std::vector<ImageRecord> ImageStore::list() const {
  std::lock_guard lock(mutex_);
  std::vector<ImageRecord> records;
  for (const auto& [key, e] : index_)
    records.push_back(ImageRecord{key, e.config, e.manifest, e.size, e.created});
  return records;
}

Result<ImageRecord> ImageStore::find(std::string_view reference) const {
  SHOAL_ASSIGN_OR_RETURN(Reference ref, parse_reference(reference));
  std::lock_guard lock(mutex_);
  auto it = index_.find(ref.str());
  if (it == index_.end())
    return no_such_image(reference);
  const Entry& e = it->second;
  return ImageRecord{it->first, e.config, e.manifest, e.size, e.created};
}

Result<ImageConfig> ImageStore::inspect(std::string_view reference) const {
  SHOAL_ASSIGN_OR_RETURN(ImageRecord record, find(reference));
  const std::string layout = layout_path(record.config_digest);
  auto image = read_layout_image(layout);
  if (!image.ok())
    return sys_error("inspect", record.reference, 0, image.error().message());
  return image->config;
}

namespace {

// `in_use` as canonical references and config digests; names that are neither are ignored
// (a task naming an image this store never had protects nothing here).
struct InUseSet {
  std::set<std::string> references;
  std::set<std::string> configs;
};

InUseSet normalise(const InUse& in_use) {
  InUseSet set;
  for (const std::string& name : in_use) {
    if (check_digest(name, "").ok()) {
      set.configs.insert(name);
    } else if (auto ref = parse_reference(name); ref.ok()) {
      set.references.insert(ref->str());
    }
  }
  return set;
}

}  // namespace

bool ImageStore::in_use_image(const std::string& config, const InUse& in_use) const {
  const InUseSet set = normalise(in_use);
  if (set.configs.contains(config))
    return true;
  for (const std::string& key : set.references) {
    auto it = index_.find(key);
    if (it != index_.end() && it->second.config == config)
      return true;
  }
  return false;
}

Status ImageStore::remove(std::string_view reference, const InUse& in_use) {
  SHOAL_ASSIGN_OR_RETURN(Reference ref, parse_reference(reference));
  const std::string key = ref.str();
  std::vector<std::string> trash;
  {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end())
      return no_such_image(reference);
    const std::string config = it->second.config;
    const bool last = std::none_of(index_.begin(), index_.end(), [&](const auto& item) {
      return item.first != key && item.second.config == config;
    });
    if (normalise(in_use).references.contains(key) || (last && in_use_image(config, in_use))) {
      return sys_error("remove image", key, 0,
                       "in use by a task (image " + config.substr(0, 19) + ")");
    }
    std::map<std::string, Entry> next = index_;
    next.erase(key);
    SHOAL_TRY(write_index(next));
    index_ = std::move(next);
    trash = collect_garbage(in_use, nullptr);
  }
  delete_trees(trash);
  return {};
}

Result<PruneReport> ImageStore::prune(const InUse& in_use) {
  PruneReport report;
  std::vector<std::string> trash;
  {
    std::lock_guard lock(mutex_);
    std::map<std::string, Entry> next;
    for (const auto& [key, entry] : index_) {
      if (in_use_image(entry.config, in_use))
        next.emplace(key, entry);
      else
        report.references.push_back(key);
    }
    if (!report.references.empty()) {
      SHOAL_TRY(write_index(next));
      index_ = std::move(next);
    }
    trash = collect_garbage(in_use, &report.images);
  }
  delete_trees(trash);
  return report;
}

std::vector<std::string> ImageStore::collect_garbage(const InUse& in_use,
                                                     std::vector<std::string>* removed) {
  std::set<std::string> live;
  for (const auto& [key, entry] : index_)
    live.insert(hex_of(entry.config));
  for (const std::string& config : normalise(in_use).configs)
    live.insert(hex_of(config));
  std::vector<std::string> trash;
  std::set<std::string> gone;
  for (const char* kind : {"layouts", "rootfs"}) {
    for (const std::string& hex : names_in(root_ + "/" + kind)) {
      const std::string dir = root_ + "/" + kind + "/" + hex;
      if (live.contains(hex))
        continue;
      // Out of the store's directories at once (rename is atomic); deleting the tree, which
      // may take seconds for a large rootfs, happens after the lock is released.
      auto work = make_work_dir("trash");
      if (!work.ok())
        continue;  // left for the next prune
      if (::rename(dir.c_str(), (*work + "/" + kind).c_str()) == 0)
        gone.insert("sha256:" + hex);
      trash.push_back(*work);
    }
  }
  if (removed != nullptr)
    removed->assign(gone.begin(), gone.end());
  return trash;
}

void ImageStore::delete_trees(const std::vector<std::string>& dirs) {
  std::error_code ignored;
  for (const std::string& dir : dirs)
    fs::remove_all(dir, ignored);
}

}  // namespace shoal::images
