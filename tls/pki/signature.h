// CertificateVerify signatures for TLS 1.3 (RFC 8446 §4.4.3), through OpenSSL
// 3 libcrypto's EVP_DigestSign / EVP_DigestVerify.
//
// Read first: RFC 8446 §4.4.3 (the signed content; RSA signatures must be
// RSASSA-PSS even with rsaEncryption keys; rsa_pkcs1_* is never valid in
// CertificateVerify), §4.2.3 (the SignatureScheme registry and which key fits
// which scheme); RFC 8017 §8.1 (PSS: salt length = hash length, MGF1 with the
// same hash, as §4.2.3 requires); RFC 8032 (Ed25519, no pre-hash).
//
// Set-up (loading keys) may allocate. sign()/verify() run once per handshake;
// libcrypto allocates internally there, our code does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/pki/ossl.h"
#include "tls/types.h"

namespace l45::tls::pki {

// 64 spaces + "TLS 1.3, client CertificateVerify" + 0x00 + a hash of at most
// 64 bytes (SHA-512).
inline constexpr std::size_t kMaxSignedContentLen = 64 + 33 + 1 + 64;
// Large enough for an RSA-4096 signature, a DER ECDSA P-521 one, Ed25519.
inline constexpr std::size_t kMaxSignatureLen = 512;

// Writes the §4.4.3 signed content for `transcript_hash` (the Transcript-Hash
// up to and including Certificate) into out; returns its length. `server`
// picks the context string: "TLS 1.3, server CertificateVerify" when true,
// "TLS 1.3, client CertificateVerify" when false.
// internal_error when out is too small or the hash is empty / over 64 bytes.
[[nodiscard]] TlsResult<std::size_t> build_signed_content(ByteSpan transcript_hash, bool server,
                                                          MutableByteSpan out);

// True for schemes TLS 1.3 allows in CertificateVerify and that we can verify:
// ecdsa_secp{256r1,384r1,521r1}_sha*, rsa_pss_rsae_*, rsa_pss_pss_*, ed25519,
// ed448. False for rsa_pkcs1_* (certificates only) and unknown code points.
[[nodiscard]] bool scheme_allowed_in_certificate_verify(SignatureScheme scheme);

// What we accept in the peer's CertificateVerify, in preference order: the
// list a client sends in signature_algorithms (and a server in its
// CertificateRequest).
[[nodiscard]] std::span<const SignatureScheme> verify_schemes();
// What we accept in certificate signatures (signature_algorithms_cert): the
// above plus rsa_pkcs1_sha256/384/512, which CAs still use.
[[nodiscard]] std::span<const SignatureScheme> certificate_verify_schemes();

// A public key (the peer's, from its leaf certificate). Copyable: copies
// share one EVP_PKEY.
class PublicKey {
  public:
    PublicKey() = default;
    // Takes a new reference to key (EVP_PKEY_up_ref).
    explicit PublicKey(EVP_PKEY* key);
    explicit PublicKey(ossl::PkeyPtr key) : key_(std::move(key)) {}
    PublicKey(const PublicKey& other);
    PublicKey& operator=(const PublicKey& other);
    PublicKey(PublicKey&&) noexcept = default;
    PublicKey& operator=(PublicKey&&) noexcept = default;
    ~PublicKey() = default;

    // A DER SubjectPublicKeyInfo; bad_certificate when it does not parse.
    [[nodiscard]] static TlsResult<PublicKey> from_spki_der(ByteSpan der);
    // A PEM "PUBLIC KEY"; internal_error when it does not parse.
    [[nodiscard]] static TlsResult<PublicKey> from_pem(std::string_view pem);

    [[nodiscard]] bool empty() const { return key_ == nullptr; }
    [[nodiscard]] EVP_PKEY* get() const { return key_.get(); }

    // Whether this key can make `scheme` signatures in a TLS 1.3
    // CertificateVerify: curve must match for ECDSA, rsaEncryption for
    // rsa_pss_rsae_*, an RSASSA-PSS key for rsa_pss_pss_*. rsa_pkcs1_* never.
    [[nodiscard]] bool fits(SignatureScheme scheme) const;

  private:
    ossl::PkeyPtr key_;
};

// Our own signing key. Move-only.
class PrivateKey {
  public:
    // A PEM private key ("PRIVATE KEY" PKCS#8, "EC PRIVATE KEY", "RSA PRIVATE
    // KEY"); unencrypted only (never prompts). Accepted: ECDSA P-256 / P-384,
    // RSA >= 2048 bits (signs with PSS), RSASSA-PSS >= 2048 bits, Ed25519.
    // Anything else, or a parse failure: internal_error.
    [[nodiscard]] static TlsResult<PrivateKey> from_pem(std::string_view pem);
    [[nodiscard]] static TlsResult<PrivateKey> from_pem_file(const std::string& path);
    // Takes a key already in an EVP_PKEY (e.g. freshly generated); the same
    // key types are accepted.
    [[nodiscard]] static TlsResult<PrivateKey> from_pkey(ossl::PkeyPtr key);

    PrivateKey(PrivateKey&&) noexcept = default;
    PrivateKey& operator=(PrivateKey&&) noexcept = default;
    PrivateKey(const PrivateKey&) = delete;
    PrivateKey& operator=(const PrivateKey&) = delete;
    ~PrivateKey() = default;

    [[nodiscard]] EVP_PKEY* get() const { return key_.get(); }
    [[nodiscard]] PublicKey public_key() const { return PublicKey(key_.get()); }

    // The schemes this key can sign with, in our preference order
    // (RSA: rsa_pss_rsae_sha256, _sha384, _sha512).
    [[nodiscard]] std::span<const SignatureScheme> supported_schemes() const;

    // The upper bound of a signature's length for this key.
    [[nodiscard]] std::size_t max_signature_len() const;

    // Signs the §4.4.3 content for `transcript_hash` with `scheme`; writes
    // the signature (DER for ECDSA) into out and returns its length.
    // illegal_parameter when the scheme does not fit this key;
    // internal_error when out is too small or libcrypto fails.
    [[nodiscard]] TlsResult<std::size_t> sign(SignatureScheme scheme, ByteSpan transcript_hash,
                                              bool server, MutableByteSpan out) const;

  private:
    explicit PrivateKey(ossl::PkeyPtr key);

    ossl::PkeyPtr key_;
    std::span<const SignatureScheme> schemes_;
};

// Verifies a peer's CertificateVerify (§4.4.3). illegal_parameter when
// `scheme` is not allowed in TLS 1.3 CertificateVerify or does not fit `key`
// (e.g. ecdsa_secp384r1_sha384 with a P-256 key); decrypt_error when the
// signature does not verify; internal_error on an empty key.
[[nodiscard]] TlsResult<void> verify(const PublicKey& key, SignatureScheme scheme,
                                     ByteSpan transcript_hash, bool server, ByteSpan signature);

// The primitive under sign()/verify(): `signature` over `message` (not the
// §4.4.3 content) with the scheme's hash and padding. Same errors as verify().
// Exposed for Wycheproof vectors, which sign raw messages.
[[nodiscard]] TlsResult<void> verify_message(const PublicKey& key, SignatureScheme scheme,
                                             ByteSpan message, ByteSpan signature);

// Picks our scheme for CertificateVerify: the first of key.supported_schemes()
// (our preference) that the peer listed in signature_algorithms.
// handshake_failure when there is none.
[[nodiscard]] TlsResult<SignatureScheme> choose_scheme(
    const PrivateKey& key, std::span<const SignatureScheme> peer_schemes);

}  // namespace l45::tls::pki
