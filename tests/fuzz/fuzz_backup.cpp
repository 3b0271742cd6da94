// `shoal swarm restore FILE` hands the daemon a file from anywhere: the backup decoder (and the
// object codec under it) may not crash, leak or hang on any input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/manager/backup/backup.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto backup = shoal::manager::decode_backup(input);
  if (backup.ok()) {
    // What decodes must encode to a backup that decodes again.
    if (!shoal::manager::decode_backup(shoal::manager::encode_backup(*backup)).ok()) {
      __builtin_trap();
    }
  }
  return 0;
}
