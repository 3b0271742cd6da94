// memberlist's AES-GCM encryption (PROTOCOLS.md §A7) and its keyring.
//
// A sealed blob is `vsn:u8 | nonce[12] | ciphertext | tag[16]`. Version 1 seals the plaintext as
// is; version 0 first pads it PKCS#7-style to a multiple of 16 bytes. The primary key (index 0)
// seals; opening tries every key in order, which is what lets a cluster rotate keys: install the
// new key everywhere, make it primary everywhere, then remove the old one.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "gossip/memberlist/bytes.h"

namespace shoal::gossip {

inline constexpr size_t kNonceSize = 12;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kEncryptOverheadV1 = 1 + kNonceSize + kTagSize;  // 29

class Keyring {
 public:
  // Keys must be 16, 24 or 32 bytes (AES-128/192/256). The first key is the primary.
  static Result<Keyring> create(std::vector<Bytes> keys);
  // Decodes a base64 key as serf's -encrypt and swarm's key manager give it.
  static Result<Bytes> decode_base64_key(std::string_view text);

  Status add_key(Bytes key);
  Status use_key(ByteView key);     // make an installed key the primary
  Status remove_key(ByteView key);  // the primary cannot be removed
  // Installs exactly `keys`, the first as the primary, or changes nothing if one is not a key.
  Status replace(std::vector<Bytes> keys);
  const std::vector<Bytes>& keys() const { return keys_; }
  const Bytes& primary() const { return keys_.front(); }

 private:
  std::vector<Bytes> keys_;
};

// Seals with the given key. `vsn` is 0 (padded) or 1.
Result<Bytes> seal(uint8_t vsn, ByteView key, ByteView plaintext, ByteView aad);
// Opens with each key of the ring in turn; the error says that no key fit.
Result<Bytes> open(const Keyring& ring, ByteView blob, ByteView aad);

}  // namespace shoal::gossip
