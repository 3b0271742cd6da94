// Image references come from users and from other managers' service specs: the parser may not
// crash, leak or hang on any input, and what it accepts must be a fixed point of normalisation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/images/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto ref = shoal::images::parse_reference(input);
  if (!ref.ok()) {
    (void)ref.error().message();
    return 0;
  }
  // The canonical and familiar forms name the same image again.
  auto canonical = shoal::images::parse_reference(ref->str());
  auto familiar = shoal::images::parse_reference(ref->familiar());
  if (!canonical.ok() || !(*canonical == *ref) || !familiar.ok() || !(*familiar == *ref)) {
    __builtin_trap();
  }
  (void)ref->transport_ref();
  (void)ref->registry_host();
  (void)ref->familiar_tagged();
  return 0;
}
