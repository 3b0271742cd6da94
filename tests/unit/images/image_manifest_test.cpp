// Image documents (control/images/image_manifest.h): indexes, manifests and configs in the shapes
// registries serve (OCI and Docker), the linux/amd64 choice, and refusals that name the field.
// The documents are written here by hand, shaped as `skopeo inspect --raw` prints them.
#include "control/images/image_manifest.h"

#include <gtest/gtest.h>

#include <string>

namespace shoal::images {
namespace {

std::string digest_of(char c) {
  return "sha256:" + std::string(64, c);
}

std::string descriptor(std::string_view media_type, char digest, int64_t size) {
  return R"({"mediaType": ")" + std::string(media_type) + R"(", "digest": ")" + digest_of(digest) +
         R"(", "size": )" + std::to_string(size) + "}";
}

std::string index_entry(std::string_view media_type, char digest, std::string_view os,
                        std::string_view arch, std::string_view variant = "") {
  std::string platform =
      R"({"architecture": ")" + std::string(arch) + R"(", "os": ")" + std::string(os) + "\"";
  if (!variant.empty()) {
    platform += R"(, "variant": ")" + std::string(variant) + "\"";
  }
  platform += "}";
  return R"({"mediaType": ")" + std::string(media_type) + R"(", "digest": ")" + digest_of(digest) +
         R"(", "size": 1234, "platform": )" + platform + "}";
}

std::string message_of(const Error& error) {
  return error.message();
}

bool says(const Error& error, std::string_view text) {
  return error.message().find(text) != std::string::npos;
}

// A Docker manifest list as Docker Hub serves one for a multi-platform image.
const std::string kDockerList =
    R"({"schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [)" +
    index_entry(media_type::kDockerManifest, '1', "linux", "arm", "v7") + "," +
    index_entry(media_type::kDockerManifest, '2', "linux", "arm64", "v8") + "," +
    index_entry(media_type::kDockerManifest, '3', "linux", "amd64") + "," +
    index_entry(media_type::kDockerManifest, '4', "windows", "amd64") + "]}";

TEST(ImageIndex, ADockerManifestListYieldsItsLinuxAmd64Manifest) {
  auto index = parse_image_index(kDockerList);
  ASSERT_TRUE(index.ok()) << message_of(index.error());
  EXPECT_EQ(index->media_type, media_type::kDockerManifestList);
  ASSERT_EQ(index->manifests.size(), 4u);
  ASSERT_TRUE(index->manifests[0].platform.has_value());
  EXPECT_EQ(index->manifests[0].platform->variant, "v7");
  EXPECT_EQ(index->manifests[1].platform->str(), "linux/arm64/v8");
  auto chosen = select_platform(*index);
  ASSERT_TRUE(chosen.ok()) << message_of(chosen.error());
  EXPECT_EQ(chosen->digest, digest_of('3'));
  EXPECT_EQ(chosen->media_type, media_type::kDockerManifest);
  EXPECT_EQ(chosen->size, 1234);
}

TEST(ImageIndex, AnOciIndexSkipsAttestationsAndIgnoresTheVariant) {
  // BuildKit puts an attestation manifest (platform unknown/unknown) beside each image.
  std::string text = R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
      "manifests": [)" +
                     index_entry(media_type::kOciManifest, 'a', "unknown", "unknown") + "," +
                     index_entry(media_type::kOciIndex, 'b', "linux", "amd64") + "," +
                     index_entry(media_type::kOciManifest, 'c', "linux", "amd64", "v3") + "," +
                     index_entry(media_type::kOciManifest, 'd', "linux", "amd64") + "]}";
  auto index = parse_image_index(text);
  ASSERT_TRUE(index.ok()) << message_of(index.error());
  auto chosen = select_platform(*index);
  ASSERT_TRUE(chosen.ok());
  // The nested index is not a manifest to run; the first linux/amd64 manifest wins, v3 or not.
  EXPECT_EQ(chosen->digest, digest_of('c'));
}

TEST(ImageIndex, WithoutLinuxAmd64TheErrorListsWhatIsOffered) {
  std::string text = R"({"schemaVersion": 2, "manifests": [)" +
                     index_entry(media_type::kOciManifest, '1', "linux", "arm64", "v8") + "," +
                     index_entry(media_type::kOciManifest, '2', "linux", "arm64", "v8") + "," +
                     index_entry(media_type::kOciManifest, '3', "windows", "amd64") + "]}";
  auto index = parse_image_index(text);
  ASSERT_TRUE(index.ok()) << message_of(index.error());
  EXPECT_EQ(index->media_type, "");  // OCI lets the index omit it
  auto chosen = select_platform(*index);
  ASSERT_FALSE(chosen.ok());
  EXPECT_EQ(message_of(chosen.error()),
            "no image for linux/amd64: the image index offers only linux/arm64/v8, windows/amd64");
}

TEST(ImageIndex, AnIndexWithoutPlatformsSaysSo) {
  std::string text = R"({"schemaVersion": 2, "manifests": [)" +
                     descriptor(media_type::kOciManifest, '1', 10) + "]}";
  auto index = parse_image_index(text);
  ASSERT_TRUE(index.ok()) << message_of(index.error());
  EXPECT_FALSE(index->manifests[0].platform.has_value());
  auto chosen = select_platform(*index);
  ASSERT_FALSE(chosen.ok());
  EXPECT_TRUE(says(chosen.error(), "names no platform"));
}

TEST(ImageIndex, RefusalsNameTheField) {
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {R"({"schemaVersion": 2})", "invalid image index manifests: missing"},
      {R"({"manifests": []})", "invalid image index schemaVersion: missing"},
      {R"({"schemaVersion": 2, "manifests": {}})",
       "invalid image index manifests: must be an array"},
      {R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "manifests": []})",
       "invalid image index mediaType: \"application/vnd.oci.image.manifest.v1+json\" is not an "
       "OCI image index or Docker manifest list"},
      {R"({"schemaVersion": 2, "manifests": [{"mediaType": "x", "size": 1}]})",
       "invalid image index manifests[0].digest: missing"},
      {R"({"schemaVersion": 2, "manifests": [{"mediaType": "x", "digest": "sha256:12", "size": 1}]})",
       "invalid image index manifests[0].digest: a sha256 digest has 64 hex digits, this one has "
       "2"},
      {R"({"schemaVersion": 2, "manifests": [)" + descriptor("x", 'a', -1) + "]}",
       "invalid image index manifests[0].size: must not be negative"},
      {R"({"schemaVersion": 2, "manifests": [{"mediaType": "x", "digest": ")" + digest_of('a') +
           R"(", "size": 1.5}]})",
       "invalid image index manifests[0].size: must be an integer number of bytes"},
      {R"({"schemaVersion": 2, "manifests": [{"mediaType": "x", "digest": ")" + digest_of('a') +
           R"(", "size": 1, "platform": {"os": "linux"}}]})",
       "invalid image index manifests[0].platform.architecture: missing"},
      {"[1, 2]", "invalid image index: not a JSON object"},
      {R"({"schemaVersion": 2, "manifests": [)", "invalid image index: not valid JSON"},
  };
  for (const auto& c : cases) {
    auto index = parse_image_index(c.text);
    ASSERT_FALSE(index.ok()) << c.text;
    EXPECT_EQ(message_of(index.error()), c.message) << c.text;
  }
}

TEST(ImageIndex, MoreThanAThousandManifestsAreRefused) {
  std::string text = R"({"schemaVersion": 2, "manifests": [)";
  for (int i = 0; i < 1001; ++i) {
    text += (i == 0 ? "" : ",") + descriptor(media_type::kOciManifest, 'a', i);
  }
  text += "]}";
  auto index = parse_image_index(text);
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(message_of(index.error()),
            "invalid image index manifests: 1001 entries, at most 1000 are allowed");
}

const std::string kDockerManifestText =
    R"({"schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": )" +
    descriptor(media_type::kDockerConfig, 'c', 1472) + R"(,
        "layers": [)" +
    descriptor(media_type::kDockerLayerGzip, '1', 29126484) + "," +
    descriptor(media_type::kDockerLayerGzip, '2', 41389853) + "]}";

TEST(ImageManifest, ADockerSchema2ManifestGivesConfigAndLayersInOrder) {
  auto manifest = parse_image_manifest(kDockerManifestText);
  ASSERT_TRUE(manifest.ok()) << message_of(manifest.error());
  EXPECT_EQ(manifest->media_type, media_type::kDockerManifest);
  EXPECT_EQ(manifest->config,
            (Descriptor{std::string(media_type::kDockerConfig), digest_of('c'), 1472}));
  ASSERT_EQ(manifest->layers.size(), 2u);
  EXPECT_EQ(manifest->layers[0].blob.digest, digest_of('1'));
  EXPECT_EQ(manifest->layers[0].blob.size, 29126484);
  EXPECT_EQ(manifest->layers[1].blob.digest, digest_of('2'));
  EXPECT_EQ(manifest->layers[1].compression, LayerCompression::kGzip);
}

TEST(ImageManifest, AnOciManifestTakesGzipZstdAndUncompressedLayers) {
  // No mediaType: OCI allows leaving it out. Annotations are ignored.
  std::string text = R"({"schemaVersion": 2, "config": )" +
                     descriptor(media_type::kOciConfig, 'c', 500) + R"(, "layers": [)" +
                     descriptor(media_type::kOciLayerGzip, '1', 1) + "," +
                     descriptor(media_type::kOciLayerZstd, '2', 2) + "," +
                     descriptor(media_type::kOciLayer, '3', 3) + "," +
                     descriptor(media_type::kDockerLayer, '4', 4) + R"(],
                     "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}})";
  auto manifest = parse_image_manifest(text);
  ASSERT_TRUE(manifest.ok()) << message_of(manifest.error());
  EXPECT_EQ(manifest->media_type, "");
  ASSERT_EQ(manifest->layers.size(), 4u);
  EXPECT_EQ(manifest->layers[0].compression, LayerCompression::kGzip);
  EXPECT_EQ(manifest->layers[1].compression, LayerCompression::kZstd);
  EXPECT_EQ(manifest->layers[2].compression, LayerCompression::kNone);
  EXPECT_EQ(manifest->layers[3].compression, LayerCompression::kNone);
}

TEST(ImageManifest, AnImageWithNoLayersIsAnEmptyList) {
  std::string text = R"({"schemaVersion": 2, "config": )" +
                     descriptor(media_type::kOciConfig, 'c', 500) + R"(, "layers": []})";
  auto manifest = parse_image_manifest(text);
  ASSERT_TRUE(manifest.ok()) << message_of(manifest.error());
  EXPECT_TRUE(manifest->layers.empty());
}

TEST(ImageManifest, ForeignAndUnknownLayersAreRefusedNamingTheLayer) {
  std::string foreign =
      R"({"schemaVersion": 2, "config": )" + descriptor(media_type::kDockerConfig, 'c', 1) +
      R"(, "layers": [)" + descriptor(media_type::kDockerLayerGzip, '1', 1) + "," +
      descriptor("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", '2', 1) + "]}";
  auto refused = parse_image_manifest(foreign);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(says(refused.error(), "invalid image manifest layers[1].mediaType: foreign"))
      << message_of(refused.error());

  std::string nondistributable =
      R"({"schemaVersion": 2, "config": )" + descriptor(media_type::kOciConfig, 'c', 1) +
      R"(, "layers": [)" +
      descriptor("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", '1', 1) + "]}";
  refused = parse_image_manifest(nondistributable);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(says(refused.error(), "layers[0].mediaType: foreign (non-distributable)"));

  std::string helm = R"({"schemaVersion": 2, "config": )" +
                     descriptor(media_type::kOciConfig, 'c', 1) + R"(, "layers": [)" +
                     descriptor("application/vnd.cncf.helm.chart.content.v1.tar+gzip", '1', 1) +
                     "]}";
  refused = parse_image_manifest(helm);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(says(refused.error(),
                   "layers[0].mediaType: \"application/vnd.cncf.helm.chart.content.v1.tar+gzip\" "
                   "is not a container image layer type"));
}

TEST(ImageManifest, RefusalsNameTheField) {
  const std::string config = descriptor(media_type::kOciConfig, 'c', 1);
  struct Case {
    std::string text;
    std::string says;
  };
  const Case cases[] = {
      {R"({"schemaVersion": 1, "name": "library/nginx", "fsLayers": []})",
       "invalid image manifest schemaVersion: Docker schema1 manifests are not supported"},
      {R"({"schemaVersion": 3, "config": )" + config + R"(, "layers": []})",
       "schemaVersion: 3 is not supported"},
      {R"({"schemaVersion": 2, "layers": []})", "invalid image manifest config: missing"},
      {R"({"schemaVersion": 2, "config": )" + config + "}",
       "invalid image manifest layers: missing"},
      {R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": []})",
       "mediaType: \"application/vnd.oci.image.index.v1+json\" is an image index, not a manifest"},
      {R"({"schemaVersion": 2, "config": )" +
           descriptor("application/vnd.cncf.helm.config.v1+json", 'c', 1) + R"(, "layers": []})",
       "config.mediaType: \"application/vnd.cncf.helm.config.v1+json\" is not an image config"},
      {R"({"schemaVersion": 2, "config": {"mediaType": ")" + std::string(media_type::kOciConfig) +
           R"(", "digest": "sha256:)" + std::string(64, 'A') + R"(", "size": 1}, "layers": []})",
       "config.digest: a sha256 digest is written in lowercase hex digits"},
      {R"({"schemaVersion": 2, "config": )" + config + R"(, "layers": [{"mediaType": 7}]})",
       "layers[0].mediaType: must be a string"},
      {R"({"schemaVersion": 2, "config": )" + config + R"(, "layers": ["x"]})",
       "layers[0]: must be an object (a descriptor)"},
  };
  for (const auto& c : cases) {
    auto manifest = parse_image_manifest(c.text);
    ASSERT_FALSE(manifest.ok()) << c.text;
    EXPECT_TRUE(says(manifest.error(), c.says)) << message_of(manifest.error());
  }
}

TEST(ImageManifest, MoreThanAThousandLayersAreRefused) {
  std::string text = R"({"schemaVersion": 2, "config": )" +
                     descriptor(media_type::kOciConfig, 'c', 1) + R"(, "layers": [)";
  for (int i = 0; i < 1001; ++i) {
    text += (i == 0 ? "" : ",") + descriptor(media_type::kOciLayerGzip, 'a', i);
  }
  text += "]}";
  auto manifest = parse_image_manifest(text);
  ASSERT_FALSE(manifest.ok());
  EXPECT_TRUE(says(manifest.error(), "layers: 1001 entries, at most 1000"));
}

TEST(ImageDocuments, OversizedAndDeeplyNestedTextIsRefusedBeforeParsing) {
  std::string huge =
      R"({"schemaVersion": 2, "pad": ")" + std::string(kMaxDocumentBytes, 'x') + "\"}";
  auto manifest = parse_image_manifest(huge);
  ASSERT_FALSE(manifest.ok());
  EXPECT_TRUE(says(manifest.error(), "is more than the 4 MiB allowed"));

  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto config = parse_image_config(deep);
  ASSERT_FALSE(config.ok());
  EXPECT_TRUE(says(config.error(), "nested deeper than"));
}

TEST(ImageDocuments, TheKindComesFromTheMediaTypeOrTheFields) {
  EXPECT_EQ(*document_kind(kDockerList), DocumentKind::kIndex);
  EXPECT_EQ(*document_kind(kDockerManifestText), DocumentKind::kManifest);
  EXPECT_EQ(*document_kind(R"({"schemaVersion": 2, "manifests": []})"), DocumentKind::kIndex);
  EXPECT_EQ(*document_kind(R"({"schemaVersion": 2, "config": {}, "layers": []})"),
            DocumentKind::kManifest);
  auto schema1 = document_kind(
      R"({"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"})");
  ASSERT_FALSE(schema1.ok());
  EXPECT_TRUE(says(schema1.error(), "schema1"));
  auto bare_schema1 = document_kind(R"({"schemaVersion": 1, "fsLayers": []})");
  ASSERT_FALSE(bare_schema1.ok());
  EXPECT_TRUE(says(bare_schema1.error(), "schema1"));
  auto other = document_kind(R"({"mediaType": "text/plain"})");
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(says(other.error(), "neither an image index nor an image manifest"));
}

// A Docker image config as `docker build` writes one (trimmed of history).
const std::string kNginxLikeConfig = R"({
  "architecture": "amd64",
  "os": "linux",
  "created": "2024-02-14T18:00:00Z",
  "config": {
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "NGINX_VERSION=1.25.4"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "WorkingDir": "/srv",
    "User": "nginx:www",
    "StopSignal": "SIGQUIT",
    "ExposedPorts": {"80/tcp": {}, "443/tcp": {}, "443/udp": {}},
    "Labels": {"maintainer": "someone <someone@example.org>"},
    "Healthcheck": {"Test": ["CMD", "true"]}
  },
  "rootfs": {"type": "layers", "diff_ids": [")" +
                                     digest_of('d') + R"(", ")" + digest_of('e') + R"("]},
  "history": [{"created_by": "/bin/sh -c #(nop) ADD file"}]
})";

TEST(ImageConfig, TheRunSettingsAndDiffIdsAreRead) {
  auto config = parse_image_config(kNginxLikeConfig);
  ASSERT_TRUE(config.ok()) << message_of(config.error());
  EXPECT_EQ(config->os, "linux");
  EXPECT_EQ(config->architecture, "amd64");
  EXPECT_EQ(config->env, (std::vector<std::string>{
                             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                             "NGINX_VERSION=1.25.4"}));
  EXPECT_EQ(config->entrypoint, std::vector<std::string>{"/docker-entrypoint.sh"});
  EXPECT_EQ(config->cmd, (std::vector<std::string>{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(config->working_dir, "/srv");
  EXPECT_EQ(config->user, "nginx:www");
  EXPECT_EQ(config->stop_signal, "SIGQUIT");
  EXPECT_EQ(config->exposed_ports, (std::vector<std::string>{"443/tcp", "443/udp", "80/tcp"}));
  EXPECT_EQ(config->labels.at("maintainer"), "someone <someone@example.org>");
  EXPECT_EQ(config->diff_ids, (std::vector<std::string>{digest_of('d'), digest_of('e')}));
}

TEST(ImageConfig, NullsAndAbsentFieldsAreEmptyAndAStringCmdIsOneArgument) {
  // Go writes null for unset slices and maps; old images have Cmd as one string.
  std::string text = R"({"architecture": "amd64", "os": "linux",
      "config": {"Env": null, "Entrypoint": null, "Cmd": "/bin/sh", "Labels": null,
                 "ExposedPorts": null, "WorkingDir": ""},
      "rootfs": {"type": "layers", "diff_ids": []}})";
  auto config = parse_image_config(text);
  ASSERT_TRUE(config.ok()) << message_of(config.error());
  EXPECT_TRUE(config->env.empty());
  EXPECT_TRUE(config->entrypoint.empty());
  EXPECT_EQ(config->cmd, std::vector<std::string>{"/bin/sh"});
  EXPECT_TRUE(config->labels.empty());
  EXPECT_TRUE(config->exposed_ports.empty());
  EXPECT_EQ(config->working_dir, "");

  auto no_config = parse_image_config(R"({"rootfs": {"type": "layers", "diff_ids": null}})");
  ASSERT_TRUE(no_config.ok()) << message_of(no_config.error());
  EXPECT_TRUE(no_config->cmd.empty());
  EXPECT_TRUE(no_config->diff_ids.empty());
}

TEST(ImageConfig, RefusalsNameTheField) {
  const std::string rootfs = R"("rootfs": {"type": "layers", "diff_ids": []})";
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {R"({"os": "linux"})", "invalid image config rootfs: missing"},
      {R"({"rootfs": {"type": "tarball", "diff_ids": []}})",
       "invalid image config rootfs.type: \"tarball\" is not \"layers\""},
      {R"({"rootfs": {"type": "layers", "diff_ids": ["sha256:1"]}})",
       "invalid image config rootfs.diff_ids[0]: a sha256 digest has 64 hex digits, this one has "
       "1"},
      {R"({"config": {"Env": ["A=1", 2]}, )" + rootfs + "}",
       "invalid image config config.Env[1]: must be a string"},
      {R"({"config": {"Cmd": {"a": 1}}, )" + rootfs + "}",
       "invalid image config config.Cmd: must be an array of strings"},
      {R"({"config": {"Entrypoint": ["/bin/sh", null]}, )" + rootfs + "}",
       "invalid image config config.Entrypoint[1]: must be a string"},
      {R"({"config": {"User": 0}, )" + rootfs + "}",
       "invalid image config config.User: must be a string"},
      {R"({"config": {"Labels": {"a": 1}}, )" + rootfs + "}",
       "invalid image config config.Labels.a: must be a string"},
      {R"({"config": {"ExposedPorts": ["80/tcp"]}, )" + rootfs + "}",
       "invalid image config config.ExposedPorts: must be an object (\"80/tcp\": {})"},
      {R"({"config": [], )" + rootfs + "}", "invalid image config config: must be an object"},
      {R"({"os": 1, )" + rootfs + "}", "invalid image config os: must be a string"},
  };
  for (const auto& c : cases) {
    auto config = parse_image_config(c.text);
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(message_of(config.error()), c.message) << c.text;
  }
}

TEST(ImageConfig, FitsAManifestWithOneDiffIdPerLayerOnLinuxAmd64) {
  auto manifest = parse_image_manifest(kDockerManifestText);
  auto config = parse_image_config(kNginxLikeConfig);
  ASSERT_TRUE(manifest.ok() && config.ok());
  EXPECT_TRUE(check_config_fits(*manifest, *config).ok());

  auto one_short = *config;
  one_short.diff_ids.pop_back();
  auto refused = check_config_fits(*manifest, one_short);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(says(refused.error(), "1 diff_ids for the manifest's 2 layers"));

  auto arm = *config;
  arm.architecture = "arm64";
  refused = check_config_fits(*manifest, arm);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(says(refused.error(), "linux/arm64 cannot run here"));

  auto unstated = *config;
  unstated.os.clear();
  unstated.architecture.clear();
  EXPECT_TRUE(check_config_fits(*manifest, unstated).ok());
}

}  // namespace
}  // namespace shoal::images
