#include "control/images/image_manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>
#include <utility>

#include "common/json_nesting.h"
#include "common/printable.h"
#include "control/images/reference.h"

namespace shoal::images {

namespace {

using nlohmann::json;

constexpr std::string_view kIndexDocument = "image index";
constexpr std::string_view kManifestDocument = "image manifest";
constexpr std::string_view kConfigDocument = "image config";
constexpr std::string_view kDocument = "image document";

// Image documents are a few levels deep (config.Labels is the deepest, at three); refusing
// deeper text before parsing keeps the JSON library's recursive parts (destruction,
// comparison) off a deep stack.
constexpr int kMaxNesting = 16;
// Far beyond any real image; bounds the work done per field on hostile input.
constexpr size_t kMaxEnvEntries = 10'000;
constexpr size_t kMaxArgvEntries = 10'000;
constexpr size_t kMaxQuotedBytes = 200;

constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
// Layers whose content a registry does not hold (Windows base layers): we could not fetch them.
constexpr std::string_view kForeignLayerTypes[] = {
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
};

std::string in_quotes(std::string_view text) {
  return "\"" + printable(text, {.keep_newlines = false, .max_bytes = kMaxQuotedBytes}) + "\"";
}

Error bad(std::string_view document, std::string field, std::string why) {
  return Error{.op = "invalid " + std::string(document),
               .object = std::move(field),
               .detail = std::move(why)};
}

std::string field_path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

std::string element_path(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

Result<json> parse_object(std::string_view bytes, std::string_view document) {
  if (bytes.size() > kMaxDocumentBytes) {
    return bad(document, "",
               std::to_string(bytes.size()) + " bytes is more than the " +
                   std::to_string(kMaxDocumentBytes >> 20) + " MiB allowed");
  }
  if (json_nesting(bytes) > kMaxNesting) {
    return bad(document, "", "JSON nested deeper than " + std::to_string(kMaxNesting) + " levels");
  }
  json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return bad(document, "", "not valid JSON");
  }
  if (!doc.is_object()) {
    return bad(document, "", "not a JSON object");
  }
  return doc;
}

// The member `key` of `object`, or nullptr when it is absent or null (Go's encoders write
// null for empty slices and maps, so null means "not set" throughout).
const json* optional_member(const json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

Result<const json*> required_member(const json& object, std::string_view document,
                                    std::string_view parent, std::string_view key) {
  const json* value = optional_member(object, key);
  if (value == nullptr) {
    return bad(document, field_path(parent, key), "missing");
  }
  return value;
}

Result<std::string> optional_string(const json& object, std::string_view document,
                                    std::string_view parent, std::string_view key) {
  const json* value = optional_member(object, key);
  if (value == nullptr) {
    return std::string();
  }
  if (!value->is_string()) {
    return bad(document, field_path(parent, key), "must be a string");
  }
  return value->get<std::string>();
}

Result<std::string> required_string(const json& object, std::string_view document,
                                    std::string_view parent, std::string_view key) {
  SHOAL_ASSIGN_OR_RETURN(const json* value, required_member(object, document, parent, key));
  if (!value->is_string()) {
    return bad(document, field_path(parent, key), "must be a string");
  }
  return value->get<std::string>();
}

Result<const json*> required_object(const json& object, std::string_view document,
                                    std::string_view parent, std::string_view key) {
  SHOAL_ASSIGN_OR_RETURN(const json* value, required_member(object, document, parent, key));
  if (!value->is_object()) {
    return bad(document, field_path(parent, key), "must be an object");
  }
  return value;
}

// An array member of at most `max` elements; absent or null reads as empty.
Result<const json*> bounded_array(const json& object, std::string_view document,
                                  std::string_view parent, std::string_view key, size_t max) {
  static const json kEmpty = json::array();
  const json* value = optional_member(object, key);
  if (value == nullptr) {
    return &kEmpty;
  }
  if (!value->is_array()) {
    return bad(document, field_path(parent, key), "must be an array");
  }
  if (value->size() > max) {
    return bad(document, field_path(parent, key),
               std::to_string(value->size()) + " entries, at most " + std::to_string(max) +
                   " are allowed");
  }
  return value;
}

Result<int64_t> size_member(const json& object, std::string_view document,
                            std::string_view parent) {
  SHOAL_ASSIGN_OR_RETURN(const json* value, required_member(object, document, parent, "size"));
  std::string path = field_path(parent, "size");
  if (value->is_number_unsigned()) {
    auto size = value->get<uint64_t>();
    if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return bad(document, path, "too large");
    }
    return static_cast<int64_t>(size);
  }
  if (value->is_number_integer()) {
    auto size = value->get<int64_t>();
    if (size < 0) {
      return bad(document, path, "must not be negative");
    }
    return size;
  }
  return bad(document, path, "must be an integer number of bytes");
}

Result<Descriptor> descriptor_from(const json& value, std::string_view document,
                                   std::string_view path) {
  if (!value.is_object()) {
    return bad(document, std::string(path), "must be an object (a descriptor)");
  }
  Descriptor descriptor;
  SHOAL_ASSIGN_OR_RETURN(descriptor.media_type,
                         required_string(value, document, path, "mediaType"));
  SHOAL_ASSIGN_OR_RETURN(descriptor.digest, required_string(value, document, path, "digest"));
  auto digest = check_digest(descriptor.digest, "digest");
  if (!digest.ok()) {
    return bad(document, field_path(path, "digest"), digest.error().detail);
  }
  SHOAL_ASSIGN_OR_RETURN(descriptor.size, size_member(value, document, path));
  return descriptor;
}

// schemaVersion 2 is the only version of both OCI and Docker schema2 documents; 1 is Docker's
// schema1, which registries still serve for very old images.
Status check_schema_version(const json& doc, std::string_view document) {
  SHOAL_ASSIGN_OR_RETURN(const json* version, required_member(doc, document, "", "schemaVersion"));
  if (!version->is_number_integer()) {
    return bad(document, "schemaVersion", "must be an integer");
  }
  auto number = version->get<int64_t>();
  if (number == 1) {
    return bad(document, "schemaVersion",
               "Docker schema1 manifests are not supported (the image was pushed by a Docker "
               "older than 1.10; push it again)");
  }
  if (number != 2) {
    return bad(document, "schemaVersion", std::to_string(number) + " is not supported (only 2)");
  }
  return {};
}

bool is_index_type(std::string_view type) {
  return type == media_type::kOciIndex || type == media_type::kDockerManifestList;
}

bool is_manifest_type(std::string_view type) {
  return type == media_type::kOciManifest || type == media_type::kDockerManifest;
}

bool is_schema1_type(std::string_view type) {
  return type == kDockerSchema1 || type == kDockerSchema1Signed;
}

// What the document's mediaType says it is, or (an OCI document may omit it) what its fields
// say: an index has "manifests", a manifest "config".
Result<DocumentKind> kind_of(const json& doc) {
  SHOAL_ASSIGN_OR_RETURN(std::string type, optional_string(doc, kDocument, "", "mediaType"));
  if (is_index_type(type)) {
    return DocumentKind::kIndex;
  }
  if (is_manifest_type(type)) {
    return DocumentKind::kManifest;
  }
  if (is_schema1_type(type)) {
    return bad(kDocument, "mediaType", "Docker schema1 manifests are not supported");
  }
  if (!type.empty()) {
    return bad(kDocument, "mediaType",
               in_quotes(type) + " is neither an image index nor an image manifest");
  }
  if (doc.contains("manifests")) {
    return DocumentKind::kIndex;
  }
  if (doc.contains("config")) {
    return DocumentKind::kManifest;
  }
  SHOAL_TRY(check_schema_version(doc, kDocument));  // names schema1 when that is what it is
  return bad(kDocument, "", "neither an image index (no manifests) nor a manifest (no config)");
}

Result<std::optional<Platform>> platform_from(const json& entry, std::string_view path) {
  const json* value = optional_member(entry, "platform");
  if (value == nullptr) {
    return std::optional<Platform>();
  }
  std::string platform_path = field_path(path, "platform");
  if (!value->is_object()) {
    return bad(kIndexDocument, platform_path, "must be an object");
  }
  Platform platform;
  SHOAL_ASSIGN_OR_RETURN(platform.os, required_string(*value, kIndexDocument, platform_path, "os"));
  SHOAL_ASSIGN_OR_RETURN(platform.architecture,
                         required_string(*value, kIndexDocument, platform_path, "architecture"));
  SHOAL_ASSIGN_OR_RETURN(platform.variant,
                         optional_string(*value, kIndexDocument, platform_path, "variant"));
  return std::optional<Platform>(std::move(platform));
}

Result<LayerCompression> layer_compression(std::string_view type, const std::string& path) {
  if (type == media_type::kOciLayerGzip || type == media_type::kDockerLayerGzip) {
    return LayerCompression::kGzip;
  }
  if (type == media_type::kOciLayerZstd) {
    return LayerCompression::kZstd;
  }
  if (type == media_type::kOciLayer || type == media_type::kDockerLayer) {
    return LayerCompression::kNone;
  }
  for (std::string_view foreign : kForeignLayerTypes) {
    if (type == foreign) {
      return bad(kManifestDocument, path,
                 "foreign (non-distributable) layer " + in_quotes(type) +
                     " is not supported: its content is not in the registry (a Windows base "
                     "layer); Shoal runs linux images only");
    }
  }
  return bad(kManifestDocument, path,
             in_quotes(type) +
                 " is not a container image layer type (OCI or Docker tar, "
                 "tar+gzip, tar+zstd)");
}

Status check_manifest_type(const json& doc) {
  SHOAL_ASSIGN_OR_RETURN(std::string type,
                         optional_string(doc, kManifestDocument, "", "mediaType"));
  if (type.empty() || is_manifest_type(type)) {
    return {};
  }
  if (is_index_type(type)) {
    return bad(kManifestDocument, "mediaType",
               in_quotes(type) + " is an image index, not a manifest: choose a platform first");
  }
  return bad(kManifestDocument, "mediaType",
             in_quotes(type) + " is not an OCI image manifest or Docker schema2 manifest");
}

Result<Descriptor> config_descriptor(const json& doc) {
  SHOAL_ASSIGN_OR_RETURN(const json* value, required_member(doc, kManifestDocument, "", "config"));
  SHOAL_ASSIGN_OR_RETURN(Descriptor config, descriptor_from(*value, kManifestDocument, "config"));
  if (config.media_type != media_type::kOciConfig &&
      config.media_type != media_type::kDockerConfig) {
    return bad(kManifestDocument, "config.mediaType",
               in_quotes(config.media_type) +
                   " is not an image config: this artefact is not a container image");
  }
  return config;
}

Result<std::vector<Layer>> layers_from(const json& doc) {
  SHOAL_ASSIGN_OR_RETURN(const json* array,
                         bounded_array(doc, kManifestDocument, "", "layers", kMaxLayers));
  std::vector<Layer> layers;
  layers.reserve(array->size());
  for (size_t i = 0; i < array->size(); ++i) {
    std::string path = element_path("layers", i);
    Layer layer;
    SHOAL_ASSIGN_OR_RETURN(layer.blob, descriptor_from((*array)[i], kManifestDocument, path));
    SHOAL_ASSIGN_OR_RETURN(layer.compression,
                           layer_compression(layer.blob.media_type, path + ".mediaType"));
    layers.push_back(std::move(layer));
  }
  return layers;
}

Result<std::vector<std::string>> strings_from(const json& array, std::string_view document,
                                              std::string_view path) {
  std::vector<std::string> strings;
  strings.reserve(array.size());
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) {
      return bad(document, element_path(path, i), "must be a string");
    }
    strings.push_back(array[i].get<std::string>());
  }
  return strings;
}

// Entrypoint and Cmd: an array of strings, or (as Docker's StrSlice also reads) one string.
Result<std::vector<std::string>> argv_member(const json& config, std::string_view key) {
  std::string path = field_path("config", key);
  const json* value = optional_member(config, key);
  if (value == nullptr) {
    return std::vector<std::string>();
  }
  if (value->is_string()) {
    return std::vector<std::string>{value->get<std::string>()};
  }
  if (!value->is_array()) {
    return bad(kConfigDocument, path, "must be an array of strings");
  }
  if (value->size() > kMaxArgvEntries) {
    return bad(kConfigDocument, path, "more than " + std::to_string(kMaxArgvEntries) + " entries");
  }
  return strings_from(*value, kConfigDocument, path);
}

Result<std::vector<std::string>> exposed_ports_from(const json& config) {
  const json* value = optional_member(config, "ExposedPorts");
  if (value == nullptr) {
    return std::vector<std::string>();
  }
  if (!value->is_object()) {
    return bad(kConfigDocument, "config.ExposedPorts", "must be an object (\"80/tcp\": {})");
  }
  std::vector<std::string> ports;
  for (const auto& port : value->items()) {
    ports.push_back(port.key());
  }
  std::sort(ports.begin(), ports.end());
  return ports;
}

Result<std::map<std::string, std::string>> labels_from(const json& config) {
  const json* value = optional_member(config, "Labels");
  std::map<std::string, std::string> labels;
  if (value == nullptr) {
    return labels;
  }
  if (!value->is_object()) {
    return bad(kConfigDocument, "config.Labels", "must be an object of strings");
  }
  for (const auto& label : value->items()) {
    if (!label.value().is_string()) {
      return bad(kConfigDocument, "config.Labels." + printable(label.key(), {.max_bytes = 200}),
                 "must be a string");
    }
    labels.emplace(label.key(), label.value().get<std::string>());
  }
  return labels;
}

// The "config" member: how to run the image. Absent or null in images that set nothing.
Status run_config_from(const json& doc, ImageConfig& out) {
  const json* config = optional_member(doc, "config");
  if (config == nullptr) {
    return {};
  }
  if (!config->is_object()) {
    return bad(kConfigDocument, "config", "must be an object");
  }
  SHOAL_ASSIGN_OR_RETURN(const json* env,
                         bounded_array(*config, kConfigDocument, "config", "Env", kMaxEnvEntries));
  SHOAL_ASSIGN_OR_RETURN(out.env, strings_from(*env, kConfigDocument, "config.Env"));
  SHOAL_ASSIGN_OR_RETURN(out.entrypoint, argv_member(*config, "Entrypoint"));
  SHOAL_ASSIGN_OR_RETURN(out.cmd, argv_member(*config, "Cmd"));
  SHOAL_ASSIGN_OR_RETURN(out.working_dir,
                         optional_string(*config, kConfigDocument, "config", "WorkingDir"));
  SHOAL_ASSIGN_OR_RETURN(out.user, optional_string(*config, kConfigDocument, "config", "User"));
  SHOAL_ASSIGN_OR_RETURN(out.stop_signal,
                         optional_string(*config, kConfigDocument, "config", "StopSignal"));
  SHOAL_ASSIGN_OR_RETURN(out.exposed_ports, exposed_ports_from(*config));
  SHOAL_ASSIGN_OR_RETURN(out.labels, labels_from(*config));
  return {};
}

Result<std::vector<std::string>> diff_ids_from(const json& doc) {
  SHOAL_ASSIGN_OR_RETURN(const json* rootfs, required_object(doc, kConfigDocument, "", "rootfs"));
  SHOAL_ASSIGN_OR_RETURN(std::string type,
                         required_string(*rootfs, kConfigDocument, "rootfs", "type"));
  if (type != "layers") {
    return bad(kConfigDocument, "rootfs.type", in_quotes(type) + " is not \"layers\"");
  }
  SHOAL_ASSIGN_OR_RETURN(const json* array,
                         bounded_array(*rootfs, kConfigDocument, "rootfs", "diff_ids", kMaxLayers));
  SHOAL_ASSIGN_OR_RETURN(auto diff_ids, strings_from(*array, kConfigDocument, "rootfs.diff_ids"));
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    auto digest = check_digest(diff_ids[i], "diff_id");
    if (!digest.ok()) {
      return bad(kConfigDocument, element_path("rootfs.diff_ids", i), digest.error().detail);
    }
  }
  return diff_ids;
}

std::string offered_platforms(const ImageIndex& index) {
  std::vector<std::string> offered;
  for (const auto& entry : index.manifests) {
    if (entry.platform.has_value()) {
      std::string platform = printable(entry.platform->str(), {.max_bytes = kMaxQuotedBytes});
      if (std::find(offered.begin(), offered.end(), platform) == offered.end()) {
        offered.push_back(std::move(platform));
      }
    }
  }
  if (offered.empty()) {
    return "the image index names no platform for any of its manifests";
  }
  std::string text = "the image index offers only ";
  for (size_t i = 0; i < offered.size(); ++i) {
    text += (i == 0 ? "" : ", ") + offered[i];
  }
  return text;
}

}  // namespace

std::string Platform::str() const {
  std::string text = os + "/" + architecture;
  if (!variant.empty()) {
    text += "/" + variant;
  }
  return text;
}

Result<DocumentKind> document_kind(std::string_view bytes) {
  SHOAL_ASSIGN_OR_RETURN(json doc, parse_object(bytes, kDocument));
  return kind_of(doc);
}

Result<ImageIndex> parse_image_index(std::string_view bytes) {
  SHOAL_ASSIGN_OR_RETURN(json doc, parse_object(bytes, kIndexDocument));
  SHOAL_TRY(check_schema_version(doc, kIndexDocument));
  ImageIndex index;
  SHOAL_ASSIGN_OR_RETURN(index.media_type, optional_string(doc, kIndexDocument, "", "mediaType"));
  if (!index.media_type.empty() && !is_index_type(index.media_type)) {
    return bad(kIndexDocument, "mediaType",
               in_quotes(index.media_type) + " is not an OCI image index or Docker manifest list");
  }
  SHOAL_ASSIGN_OR_RETURN(const json* manifests,
                         required_member(doc, kIndexDocument, "", "manifests"));
  SHOAL_ASSIGN_OR_RETURN(manifests,
                         bounded_array(doc, kIndexDocument, "", "manifests", kMaxManifests));
  for (size_t i = 0; i < manifests->size(); ++i) {
    std::string path = element_path("manifests", i);
    IndexEntry entry;
    SHOAL_ASSIGN_OR_RETURN(entry.manifest, descriptor_from((*manifests)[i], kIndexDocument, path));
    SHOAL_ASSIGN_OR_RETURN(entry.platform, platform_from((*manifests)[i], path));
    index.manifests.push_back(std::move(entry));
  }
  return index;
}

Result<Descriptor> select_platform(const ImageIndex& index, const Platform& wanted) {
  for (const auto& entry : index.manifests) {
    // Nested indexes and artefacts (attestations, signatures) are not images to run.
    if (!is_manifest_type(entry.manifest.media_type) || !entry.platform.has_value()) {
      continue;
    }
    if (entry.platform->os == wanted.os && entry.platform->architecture == wanted.architecture) {
      return entry.manifest;
    }
  }
  return Error{.op = "no image for",
               .object = wanted.os + "/" + wanted.architecture,
               .detail = offered_platforms(index)};
}

Result<ImageManifest> parse_image_manifest(std::string_view bytes) {
  SHOAL_ASSIGN_OR_RETURN(json doc, parse_object(bytes, kManifestDocument));
  SHOAL_TRY(check_manifest_type(doc));
  SHOAL_TRY(check_schema_version(doc, kManifestDocument));
  ImageManifest manifest;
  SHOAL_ASSIGN_OR_RETURN(manifest.media_type,
                         optional_string(doc, kManifestDocument, "", "mediaType"));
  SHOAL_ASSIGN_OR_RETURN(manifest.config, config_descriptor(doc));
  if (optional_member(doc, "layers") == nullptr) {
    return bad(kManifestDocument, "layers", "missing");
  }
  SHOAL_ASSIGN_OR_RETURN(manifest.layers, layers_from(doc));
  return manifest;
}

Result<ImageConfig> parse_image_config(std::string_view bytes) {
  SHOAL_ASSIGN_OR_RETURN(json doc, parse_object(bytes, kConfigDocument));
  ImageConfig config;
  SHOAL_ASSIGN_OR_RETURN(config.os, optional_string(doc, kConfigDocument, "", "os"));
  SHOAL_ASSIGN_OR_RETURN(config.architecture,
                         optional_string(doc, kConfigDocument, "", "architecture"));
  SHOAL_ASSIGN_OR_RETURN(config.variant, optional_string(doc, kConfigDocument, "", "variant"));
  SHOAL_TRY(run_config_from(doc, config));
  SHOAL_ASSIGN_OR_RETURN(config.diff_ids, diff_ids_from(doc));
  return config;
}

Status check_config_fits(const ImageManifest& manifest, const ImageConfig& config) {
  if (config.diff_ids.size() != manifest.layers.size()) {
    return bad(kConfigDocument, "rootfs.diff_ids",
               std::to_string(config.diff_ids.size()) + " diff_ids for the manifest's " +
                   std::to_string(manifest.layers.size()) + " layers");
  }
  // Configs that omit os or architecture exist (hand-built images); only a stated mismatch is
  // refused.
  bool other_os = !config.os.empty() && config.os != kLinuxAmd64.os;
  bool other_arch = !config.architecture.empty() && config.architecture != kLinuxAmd64.architecture;
  if (other_os || other_arch) {
    return bad(kConfigDocument, "os/architecture",
               printable(config.os + "/" + config.architecture, {.max_bytes = kMaxQuotedBytes}) +
                   " cannot run here (Shoal runs linux/amd64 images)");
  }
  return {};
}

}  // namespace shoal::images
