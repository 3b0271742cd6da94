#include "gossip/memberlist/keyring.h"

#include <algorithm>
#include <memory>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace shoal::gossip {

namespace {

Status check_key(ByteView key) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return invalid_argument("encryption key",
                            "must be 16, 24 or 32 bytes, got " + std::to_string(key.size()));
  }
  return {};
}

const EVP_CIPHER* gcm_cipher(size_t key_size) {
  switch (key_size) {
    case 16:
      return EVP_aes_128_gcm();
    case 24:
      return EVP_aes_192_gcm();
    default:
      return EVP_aes_256_gcm();
  }
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

Error crypto_error(std::string op, std::string detail) {
  return Error{std::move(op), "aes-gcm", 0, std::move(detail)};
}

// One AES-GCM open attempt; nullopt when the tag does not verify.
std::optional<Bytes> try_open(ByteView key, ByteView nonce, ByteView sealed, ByteView aad) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx)
    return std::nullopt;
  const size_t text_len = sealed.size() - kTagSize;
  Bytes plain(text_len + 16);
  int len = 0, total = 0;
  if (EVP_DecryptInit_ex(ctx.get(), gcm_cipher(key.size()), nullptr, key.data(), nonce.data()) !=
      1) {
    return std::nullopt;
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return std::nullopt;
  }
  if (EVP_DecryptUpdate(ctx.get(), plain.data(), &len, sealed.data(), static_cast<int>(text_len)) !=
      1) {
    return std::nullopt;
  }
  total = len;
  Bytes tag(sealed.end() - kTagSize, sealed.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          tag.data()) != 1) {
    return std::nullopt;
  }
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + total, &len) != 1) {
    return std::nullopt;
  }
  plain.resize(static_cast<size_t>(total + len));
  return plain;
}

}  // namespace

Result<Keyring> Keyring::create(std::vector<Bytes> keys) {
  if (keys.empty()) {
    return invalid_argument("keyring", "needs at least one key");
  }
  for (const Bytes& k : keys) {
    SHOAL_TRY(check_key(k));
  }
  Keyring ring;
  ring.keys_ = std::move(keys);
  return ring;
}

Status Keyring::replace(std::vector<Bytes> keys) {
  SHOAL_ASSIGN_OR_RETURN(Keyring checked, create(std::move(keys)));
  keys_ = std::move(checked.keys_);
  return {};
}

Result<Bytes> Keyring::decode_base64_key(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 64) {
    return invalid_argument("encryption key", "not base64 of 16, 24 or 32 bytes");
  }
  Bytes out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) {
    return invalid_argument("encryption key", "not valid base64");
  }
  size_t size = static_cast<size_t>(n);
  // EVP_DecodeBlock counts '=' padding as zero bytes.
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i)
    --size;
  out.resize(size);
  SHOAL_TRY(check_key(out));
  return out;
}

Status Keyring::add_key(Bytes key) {
  SHOAL_TRY(check_key(key));
  if (std::find(keys_.begin(), keys_.end(), key) == keys_.end()) {
    keys_.push_back(std::move(key));
  }
  return {};
}

Status Keyring::use_key(ByteView key) {
  auto it = std::find_if(keys_.begin(), keys_.end(),
                         [&](const Bytes& k) { return std::ranges::equal(k, key); });
  if (it == keys_.end()) {
    return invalid_argument("encryption key", "not installed in the keyring");
  }
  std::rotate(keys_.begin(), it, it + 1);
  return {};
}

Status Keyring::remove_key(ByteView key) {
  if (std::ranges::equal(keys_.front(), key)) {
    return invalid_argument("encryption key", "the primary key cannot be removed");
  }
  std::erase_if(keys_, [&](const Bytes& k) { return std::ranges::equal(k, key); });
  return {};
}

Result<Bytes> seal(uint8_t vsn, ByteView key, ByteView plaintext, ByteView aad) {
  SHOAL_TRY(check_key(key));
  if (vsn > 1) {
    return invalid_argument("encryption version", "must be 0 or 1");
  }
  Bytes input(plaintext.begin(), plaintext.end());
  if (vsn == 0) {
    const size_t pad = 16 - input.size() % 16;  // always 1..16
    input.insert(input.end(), pad, static_cast<uint8_t>(pad));
  }
  Bytes out(1 + kNonceSize + input.size() + kTagSize);
  out[0] = vsn;
  if (RAND_bytes(out.data() + 1, static_cast<int>(kNonceSize)) != 1) {
    return crypto_error("seal", "no random nonce available");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  uint8_t* text = out.data() + 1 + kNonceSize;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), gcm_cipher(key.size()), nullptr, key.data(), out.data() + 1) !=
          1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                         static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), text, &len, input.data(), static_cast<int>(input.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), text + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          text + input.size()) != 1) {
    return crypto_error("seal", "OpenSSL refused the operation");
  }
  return out;
}

Result<Bytes> open(const Keyring& ring, ByteView blob, ByteView aad) {
  if (blob.empty()) {
    return crypto_error("open", "empty payload");
  }
  const uint8_t vsn = blob[0];
  if (vsn > 1) {
    return crypto_error("open", "unsupported encryption version " + std::to_string(vsn));
  }
  const size_t min_size = kEncryptOverheadV1 + (vsn == 0 ? 16 : 0);
  if (blob.size() < min_size) {
    return crypto_error("open", "payload of " + std::to_string(blob.size()) +
                                    " bytes is too short to be encrypted");
  }
  const ByteView nonce = blob.subspan(1, kNonceSize);
  const ByteView sealed = blob.subspan(1 + kNonceSize);
  for (const Bytes& key : ring.keys()) {
    std::optional<Bytes> plain = try_open(key, nonce, sealed, aad);
    if (!plain)
      continue;
    if (vsn == 0) {
      const uint8_t pad = plain->empty() ? 0 : plain->back();
      if (pad == 0 || pad > 16 || pad > plain->size()) {
        return crypto_error("open", "bad padding");
      }
      plain->resize(plain->size() - pad);
    }
    return std::move(*plain);
  }
  return crypto_error("open", "no installed key decrypts the payload");
}

}  // namespace shoal::gossip
