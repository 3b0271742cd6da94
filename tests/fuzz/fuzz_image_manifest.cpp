// Image indexes, manifests and configs come from registries and archives: none of their parsers
// may crash, leak or hang on any input, and whatever parses must stay within the bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/images/container_config.h"
#include "control/images/image_manifest.h"

namespace {

using namespace shoal::images;

void check_index(std::string_view input) {
  auto index = parse_image_index(input);
  if (!index.ok()) {
    return;
  }
  if (index->manifests.size() > kMaxManifests) {
    __builtin_trap();
  }
  (void)select_platform(*index);
}

void check_manifest_and_config(std::string_view input) {
  auto manifest = parse_image_manifest(input);
  if (manifest.ok() && manifest->layers.size() > kMaxLayers) {
    __builtin_trap();
  }
  auto config = parse_image_config(input);
  if (!config.ok()) {
    return;
  }
  if (config->diff_ids.size() > kMaxLayers) {
    __builtin_trap();
  }
  if (manifest.ok()) {
    (void)check_config_fits(*manifest, *config);
  }
  // The image's own settings through Docker's rules, as a task with no overrides would run.
  auto process = merge_container_config(*config, ServiceContainer{.hostname = "fuzz"});
  if (process.ok() && process->argv.empty()) {
    __builtin_trap();
  }
  (void)resolve_user(config->user, "root:x:0:0::/:/bin/sh\n", "root:x:0:\n");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)document_kind(input);
  check_index(input);
  check_manifest_and_config(input);
  return 0;
}
