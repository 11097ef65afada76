// ECDHE key shares for TLS 1.3 (RFC 8446 §4.2.8, §7.4), through OpenSSL 3
// libcrypto's EVP API.
//
// Read first: RFC 8446 §4.2.8.2 (wire form of the shares), §7.4.1 (NIST
// curves: the shared secret is the X coordinate), §7.4.2 (X25519: reject an
// all-zero shared secret); RFC 7748 §6.1; SEC 1 v2 §2.3.3 (uncompressed
// points).
//
// Randomness is injected: the private key is drawn from an l45::Random, so a
// SeededRandom gives the same key share on every run (tests) and SystemRandom
// gives a fresh one (production).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/base/random.h"
#include "tls/alert.h"
#include "tls/pki/ossl.h"
#include "tls/secret.h"
#include "tls/types.h"

namespace l45::tls::pki {

// The largest public share: a P-384 uncompressed point, 1 + 2 * 48 bytes.
inline constexpr std::size_t kMaxKeySharePublicLen = 97;

// True for x25519, secp256r1 and secp384r1.
[[nodiscard]] bool key_share_supported(NamedGroup group);
// The exact length of a share's key_exchange on the wire: 32 (x25519),
// 65 (secp256r1), 97 (secp384r1); 0 when the group is not supported.
[[nodiscard]] std::size_t key_share_public_len(NamedGroup group);
// Our supported_groups in preference order (x25519, secp256r1, secp384r1).
[[nodiscard]] std::span<const NamedGroup> supported_groups();

// One ephemeral ECDHE key pair. Move-only; the private key lives inside an
// EVP_PKEY, which OpenSSL frees (and clears) when the share is destroyed.
class KeyShare {
  public:
    // A fresh key pair. X25519: 32 random bytes as the private key (RFC 7748
    // clamps them). P-256/P-384: a scalar drawn uniformly from [1, n-1] by
    // rejection sampling. Fails with internal_error on an unsupported group or
    // a libcrypto failure.
    [[nodiscard]] static TlsResult<KeyShare> generate(NamedGroup group, Random& rng);

    // From a known private key (tests inject RFC 8448's): 32 bytes for
    // x25519, a big-endian scalar of exactly 32 / 48 bytes in [1, n-1] for
    // secp256r1 / secp384r1. Anything else is internal_error.
    [[nodiscard]] static TlsResult<KeyShare> from_private(NamedGroup group, ByteSpan private_key);

    KeyShare(KeyShare&&) noexcept = default;
    KeyShare& operator=(KeyShare&&) noexcept = default;
    KeyShare(const KeyShare&) = delete;
    KeyShare& operator=(const KeyShare&) = delete;
    ~KeyShare() = default;

    [[nodiscard]] NamedGroup group() const { return group_; }

    // KeyShareEntry.key_exchange (§4.2.8.2): X25519 the raw 32 bytes; NIST
    // curves the uncompressed point 0x04 || X || Y.
    [[nodiscard]] ByteSpan public_key() const { return {public_.data(), public_len_}; }

    // The ECDHE shared secret with the peer's key_exchange bytes (§7.4).
    // A share of the wrong length, a compressed or hybrid point, a point not
    // on the curve or at infinity, and an all-zero X25519 result are the
    // peer's fault: illegal_parameter. A libcrypto failure is internal_error.
    [[nodiscard]] TlsResult<Secret> derive(ByteSpan peer_public) const;

  private:
    KeyShare(NamedGroup group, ossl::PkeyPtr key) : group_(group), key_(std::move(key)) {}

    NamedGroup group_;
    ossl::PkeyPtr key_;
    std::array<std::uint8_t, kMaxKeySharePublicLen> public_{};
    std::size_t public_len_ = 0;
};

}  // namespace l45::tls::pki
