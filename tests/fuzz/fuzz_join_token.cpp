// Join tokens arrive from the network; gRPC hands peer certificates over as PEM. Neither parser
// may crash or leak on any input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/pki/identity.h"
#include "control/pki/join_token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto token = shoal::pki::parse_join_token(input);
  if (token.ok()) {
    // A well-formed token must keep its shape: fixed lengths, and a secret that matches itself.
    if (token->ca_digest.size() != shoal::pki::kJoinTokenDigestLength ||
        token->secret.size() != shoal::pki::kJoinTokenSecretLength ||
        !shoal::pki::secret_matches(token->secret, token->secret)) {
      __builtin_trap();
    }
    (void)shoal::pki::ca_matches(*token, input);
  }
  (void)shoal::pki::identity_of(input);
  return 0;
}
