// The three JSON documents an image is made of, as a registry or an OCI layout serves them:
//
//   index (OCI image index / Docker manifest list): one manifest per platform; we pick
//     linux/amd64, the only platform Shoal runs;
//   manifest (OCI image manifest / Docker schema2 manifest): the config blob and the layer
//     blobs, each a descriptor (media type, digest, size);
//   config (OCI image config / Docker container image config): how to run the image (env,
//     entrypoint, cmd, user, ...) and the layers' uncompressed digests (rootfs.diff_ids).
//
// Every byte here comes from a registry or an archive a user handed us, so parsing is bounded
// (documents over 4 MiB, more than 1000 entries or deep nesting are refused before or while
// parsing), never throws, and each error names the document and the field that is wrong:
// `invalid image manifest layers[2].mediaType: foreign layer ... is not supported`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace shoal::images {

inline constexpr size_t kMaxDocumentBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxManifests = 1000;  // entries of an index
inline constexpr size_t kMaxLayers = 1000;     // layers of a manifest, diff_ids of a config

namespace media_type {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
}  // namespace media_type

// A reference to a blob or manifest by content.
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>"
  int64_t size = 0;    // bytes, >= 0

  bool operator==(const Descriptor&) const = default;
};

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64"
  std::string variant;       // "v8"; ignored when choosing

  std::string str() const;  // "linux/arm64/v8"
  bool operator==(const Platform&) const = default;
};

inline const Platform kLinuxAmd64{.os = "linux", .architecture = "amd64", .variant = ""};

struct IndexEntry {
  Descriptor manifest;
  std::optional<Platform> platform;  // absent in some indexes (an OCI layout's index.json)
};

struct ImageIndex {
  std::string media_type;  // as the document says; empty for an OCI index that omits it
  std::vector<IndexEntry> manifests;
};

enum class LayerCompression { kNone, kGzip, kZstd };

struct Layer {
  Descriptor blob;
  LayerCompression compression = LayerCompression::kGzip;
};

struct ImageManifest {
  std::string media_type;  // OCI or Docker schema2; empty for an OCI manifest that omits it
  Descriptor config;
  std::vector<Layer> layers;  // lowest first
};

// The parts of the image config Shoal uses to run a container.
struct ImageConfig {
  std::string os;
  std::string architecture;
  std::string variant;
  std::vector<std::string> env;  // "NAME=value", in the image's order
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string user;
  std::string stop_signal;
  std::vector<std::string> exposed_ports;     // "80/tcp", sorted
  std::map<std::string, std::string> labels;  // may be empty
  std::vector<std::string> diff_ids;          // uncompressed layer digests, lowest first
};

// What a manifest-shaped document is, by its mediaType (or, when an OCI document omits it, by
// its fields). Used to tell an index from a manifest when a registry or layout serves either.
enum class DocumentKind { kIndex, kManifest };
Result<DocumentKind> document_kind(std::string_view bytes);

Result<ImageIndex> parse_image_index(std::string_view bytes);
// The linux/amd64 manifest of `index` (the first such entry; variants are ignored). The error
// lists the platforms the index offers.
Result<Descriptor> select_platform(const ImageIndex& index, const Platform& wanted = kLinuxAmd64);

// An OCI image manifest or Docker schema2 manifest. Layers must be of a known layer type:
// foreign (non-distributable) layers and other artefacts are refused, naming the layer.
Result<ImageManifest> parse_image_manifest(std::string_view bytes);

Result<ImageConfig> parse_image_config(std::string_view bytes);

// That `config` belongs to `manifest`'s layers (one diff_id per layer) and runs on linux/amd64.
Status check_config_fits(const ImageManifest& manifest, const ImageConfig& config);

}  // namespace shoal::images
