// TLS 1.3 code points (RFC 8446 §4, §5, §6 and the IANA registries), shared by
// the record layer, the message codecs and the handshake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace l45::tls {

// RFC 8446 §5.1
enum class ContentType : std::uint8_t {
    invalid = 0,
    change_cipher_spec = 20,
    alert = 21,
    handshake = 22,
    application_data = 23,
};

// RFC 8446 §4
enum class HandshakeType : std::uint8_t {
    client_hello = 1,
    server_hello = 2,
    new_session_ticket = 4,
    end_of_early_data = 5,
    encrypted_extensions = 8,
    certificate = 11,
    certificate_request = 13,
    certificate_verify = 15,
    finished = 20,
    key_update = 24,
    message_hash = 254,
};

// RFC 8446 §4.2
enum class ExtensionType : std::uint16_t {
    server_name = 0,
    max_fragment_length = 1,
    status_request = 5,
    supported_groups = 10,
    signature_algorithms = 13,
    use_srtp = 14,
    heartbeat = 15,
    application_layer_protocol_negotiation = 16,
    signed_certificate_timestamp = 18,
    client_certificate_type = 19,
    server_certificate_type = 20,
    padding = 21,
    record_size_limit = 28,  // RFC 8449
    pre_shared_key = 41,
    early_data = 42,
    supported_versions = 43,
    cookie = 44,
    psk_key_exchange_modes = 45,
    certificate_authorities = 47,
    oid_filters = 48,
    post_handshake_auth = 49,
    signature_algorithms_cert = 50,
    key_share = 51,
    renegotiation_info = 0xff01,  // RFC 5746: TLS 1.2 only, tolerated in ClientHello
};

// RFC 8446 B.4
enum class CipherSuite : std::uint16_t {
    aes_128_gcm_sha256 = 0x1301,
    aes_256_gcm_sha384 = 0x1302,
    chacha20_poly1305_sha256 = 0x1303,
};

// RFC 8446 §4.2.7
enum class NamedGroup : std::uint16_t {
    secp256r1 = 0x0017,
    secp384r1 = 0x0018,
    secp521r1 = 0x0019,
    x25519 = 0x001d,
    x448 = 0x001e,
};

// RFC 8446 §4.2.3
enum class SignatureScheme : std::uint16_t {
    rsa_pkcs1_sha256 = 0x0401,
    rsa_pkcs1_sha384 = 0x0501,
    rsa_pkcs1_sha512 = 0x0601,
    ecdsa_secp256r1_sha256 = 0x0403,
    ecdsa_secp384r1_sha384 = 0x0503,
    ecdsa_secp521r1_sha512 = 0x0603,
    rsa_pss_rsae_sha256 = 0x0804,
    rsa_pss_rsae_sha384 = 0x0805,
    rsa_pss_rsae_sha512 = 0x0806,
    ed25519 = 0x0807,
    ed448 = 0x0808,
    rsa_pss_pss_sha256 = 0x0809,
    rsa_pss_pss_sha384 = 0x080a,
    rsa_pss_pss_sha512 = 0x080b,
};

inline constexpr std::uint16_t kTls12 = 0x0303;  // legacy_version on the wire
inline constexpr std::uint16_t kTls13 = 0x0304;

// RFC 8446 §5.1: TLSPlaintext.length <= 2^14; §5.2: ciphertext <= 2^14 + 256.
inline constexpr std::size_t kMaxPlaintext = 1 << 14;
inline constexpr std::size_t kMaxCiphertext = (1 << 14) + 256;
inline constexpr std::size_t kRecordHeaderLen = 5;
inline constexpr std::size_t kAeadTagLen = 16;

}  // namespace l45::tls
