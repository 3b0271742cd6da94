// Fuzzes label stripping and decryption of incoming packets with a fixed keyring.
#include "gossip/memberlist/framing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto ring =
      shoal::gossip::Keyring::create({shoal::gossip::Bytes(16, 1), shoal::gossip::Bytes(32, 2)});
  shoal::gossip::WireSecurity security;
  security.keyring = &ring.value();
  security.label = "fuzz";
  (void)shoal::gossip::open_packet({data, size}, security);
  security.label.clear();
  (void)shoal::gossip::open_packet({data, size}, security);
  return 0;
}
