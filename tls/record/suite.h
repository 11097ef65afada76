// Cipher suite parameters (RFC 8446 §B.4): which AEAD, key length and hash a
// TLS 1.3 cipher suite uses. Shared by the AEAD, the record layer and the key
// schedule so that nobody switches on CipherSuite twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tls/types.h"

namespace l45::tls {

enum class AeadAlgorithm : std::uint8_t { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };
enum class HashAlgorithm : std::uint8_t { sha256, sha384 };

inline constexpr std::size_t kAeadNonceLen = 12;  // RFC 8446 §5.3: iv_length, all three AEADs
inline constexpr std::size_t kMaxAeadKeyLen = 32;
inline constexpr std::size_t kMaxHashLen = 48;  // SHA-384

[[nodiscard]] constexpr std::size_t hash_len(HashAlgorithm hash) {
    return hash == HashAlgorithm::sha384 ? 48 : 32;
}

struct SuiteInfo {
    CipherSuite suite;
    AeadAlgorithm aead;
    std::size_t key_len;
    HashAlgorithm hash;
};

// nullopt for a code point that is not a TLS 1.3 suite we implement.
[[nodiscard]] constexpr std::optional<SuiteInfo> suite_info(CipherSuite suite) {
    switch (suite) {
        case CipherSuite::aes_128_gcm_sha256:
            return SuiteInfo{suite, AeadAlgorithm::aes_128_gcm, 16, HashAlgorithm::sha256};
        case CipherSuite::aes_256_gcm_sha384:
            return SuiteInfo{suite, AeadAlgorithm::aes_256_gcm, 32, HashAlgorithm::sha384};
        case CipherSuite::chacha20_poly1305_sha256:
            return SuiteInfo{suite, AeadAlgorithm::chacha20_poly1305, 32, HashAlgorithm::sha256};
    }
    return std::nullopt;
}

}  // namespace l45::tls
