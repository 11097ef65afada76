// TLS 1.3 handshake message codecs: pure functions, no I/O, no crypto.
//
// Read first: RFC 8446 §4 (handshake protocol; §4.1.2 ClientHello, §4.1.3
// ServerHello and HelloRetryRequest, §4.3 EncryptedExtensions and
// CertificateRequest, §4.4.1 message_hash, §4.4.2 Certificate, §4.4.3
// CertificateVerify, §4.4.4 Finished, §4.5 EndOfEarlyData, §4.6.1
// NewSessionTicket, §4.6.3 KeyUpdate).
//
// Each message is a plain struct with
//   static TlsResult<X> parse(ByteSpan body)  // body: without the 4-byte header
//   void serialize_body(Writer&) const        // the body only
// and write_message(w, msg) writes the 4-byte header plus the body, i.e. the
// exact bytes that go into the transcript hash. Parsed fields are views into
// the parsed buffer (see extensions.h). Parsers check the message syntax
// only; what a field's value means for the handshake (a version, a suite we
// offered, a solicited extension) is the handshake layer's to check.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/msg/extensions.h"
#include "tls/types.h"

namespace l45::tls::msg {

inline constexpr std::size_t kHandshakeHeaderLen = 4;  // type u8 + length u24
inline constexpr std::size_t kRandomLen = 32;
inline constexpr std::size_t kMaxSessionIdLen = 32;
using Random = std::array<std::uint8_t, kRandomLen>;

// RFC 8446 §4.1.3: the ServerHello.random of a HelloRetryRequest,
// SHA-256("HelloRetryRequest").
inline constexpr Random kHelloRetryRequestRandom = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

// RFC 8446 §4.1.3 downgrade protection: the last 8 bytes of ServerHello.random
// when a TLS 1.3 server negotiates TLS 1.2 ("DOWNGRD\x01") or below ("\x00").
enum class DowngradeSentinel : std::uint8_t { none, tls12, tls11_or_below };

// §4.1.2
struct ClientHello {
    static constexpr HandshakeType kType = HandshakeType::client_hello;

    std::uint16_t legacy_version = kTls12;
    Random random{};
    ByteSpan legacy_session_id{};           // <0..32>
    U16List cipher_suites;                  // <2..2^16-2>
    ByteSpan legacy_compression_methods{};  // <1..2^8-1>, exactly {0} in TLS 1.3
    ExtensionBlock extensions;              // <8..2^16-1>

    // Errors: malformed/trailing bytes -> decode_error; compression methods
    // other than exactly {0} -> illegal_parameter (§4.1.2); no extensions
    // block at all (a pre-TLS-1.2-style hello) -> protocol_version (we only
    // speak TLS 1.3, which needs supported_versions); duplicated extension
    // -> illegal_parameter; pre_shared_key not last -> illegal_parameter
    // (§4.2.11).
    [[nodiscard]] static TlsResult<ClientHello> parse(ByteSpan body);
    void serialize_body(Writer& w) const;
};

// §4.1.3 (ServerHello and HelloRetryRequest share the syntax).
struct ServerHello {
    static constexpr HandshakeType kType = HandshakeType::server_hello;

    std::uint16_t legacy_version = kTls12;
    Random random{};
    ByteSpan legacy_session_id_echo{};  // <0..32>
    std::uint16_t cipher_suite = 0;
    std::uint8_t legacy_compression_method = 0;  // must be 0 -> else illegal_parameter
    ExtensionBlock extensions;                   // <6..2^16-1>

    // Errors: malformed/trailing -> decode_error; compression method != 0 ->
    // illegal_parameter; duplicated extension -> illegal_parameter.
    [[nodiscard]] static TlsResult<ServerHello> parse(ByteSpan body);
    void serialize_body(Writer& w) const;

    [[nodiscard]] bool is_hello_retry_request() const { return random == kHelloRetryRequestRandom; }
    // Extension context for check_extensions(): SH or HRR.
    [[nodiscard]] ExtensionContext extension_context() const {
        return is_hello_retry_request() ? ExtensionContext::hello_retry_request
                                        : ExtensionContext::server_hello;
    }
    [[nodiscard]] DowngradeSentinel downgrade_sentinel() const;
};

// §4.3.1
struct EncryptedExtensions {
    static constexpr HandshakeType kType = HandshakeType::encrypted_extensions;

    ExtensionBlock extensions;  // <0..2^16-1>

    [[nodiscard]] static TlsResult<EncryptedExtensions> parse(ByteSpan body);
    void serialize_body(Writer& w) const;
};

// §4.3.2
struct CertificateRequest {
    static constexpr HandshakeType kType = HandshakeType::certificate_request;

    ByteSpan certificate_request_context{};  // <0..2^8-1>
    ExtensionBlock extensions;               // <2..2^16-1>

    // Errors: malformed -> decode_error; no signature_algorithms ->
    // missing_extension (§4.3.2 "MUST be specified").
    [[nodiscard]] static TlsResult<CertificateRequest> parse(ByteSpan body);
    void serialize_body(Writer& w) const;
};

// §4.4.2
struct CertificateEntry {
    ByteSpan cert_data{};       // <1..2^24-1> (X.509 DER; raw public keys are not supported)
    ExtensionBlock extensions;  // <0..2^16-1>
};
struct Certificate {
    static constexpr HandshakeType kType = HandshakeType::certificate;

    struct Codec {
        using Entry = CertificateEntry;
        static bool next(Reader& r, Entry& out);
    };

    ByteSpan certificate_request_context{};  // <0..2^8-1>
    ListView<Codec> certificate_list;        // <0..2^24-1>; empty is legal syntax

    // Errors: malformed, empty cert_data -> decode_error; duplicated
    // extension in an entry -> illegal_parameter.
    [[nodiscard]] static TlsResult<Certificate> parse(ByteSpan body);
    void serialize_body(Writer& w) const;
    // Writes a body from DER certificates with empty per-entry extensions.
    static void write_body(Writer& w, ByteSpan context, std::span<const ByteSpan> certs_der);
};

// §4.4.3
struct CertificateVerify {
    static constexpr HandshakeType kType = HandshakeType::certificate_verify;

    std::uint16_t algorithm = 0;  // SignatureScheme
    ByteSpan signature{};         // <0..2^16-1>

    [[nodiscard]] static TlsResult<CertificateVerify> parse(ByteSpan body);
    void serialize_body(Writer& w) const;
};

// §4.4.4: verify_data is Hash.length bytes.
struct Finished {
    static constexpr HandshakeType kType = HandshakeType::finished;

    ByteSpan verify_data{};

    // A body that is not exactly hash_len bytes -> decode_error (the value
    // check, decrypt_error, is the handshake layer's).
    [[nodiscard]] static TlsResult<Finished> parse(ByteSpan body, std::size_t hash_len);
    void serialize_body(Writer& w) const;
};

// §4.5
struct EndOfEarlyData {
    static constexpr HandshakeType kType = HandshakeType::end_of_early_data;

    // Non-empty body -> decode_error.
    [[nodiscard]] static TlsResult<EndOfEarlyData> parse(ByteSpan body);
    void serialize_body(Writer&) const {}
};

// §4.6.1
struct NewSessionTicket {
    static constexpr HandshakeType kType = HandshakeType::new_session_ticket;
    static constexpr std::uint32_t kMaxLifetime = 604800;  // seven days

    std::uint32_t ticket_lifetime = 0;  // > kMaxLifetime is not rejected: clients clamp
    std::uint32_t ticket_age_add = 0;
    ByteSpan ticket_nonce{};    // <0..255>
    ByteSpan ticket{};          // <1..2^16-1>
    ExtensionBlock extensions;  // <0..2^16-2>

    // Errors: malformed/empty ticket -> decode_error; duplicated extension
    // -> illegal_parameter; malformed early_data -> decode_error.
    [[nodiscard]] static TlsResult<NewSessionTicket> parse(ByteSpan body);
    void serialize_body(Writer& w) const;
    // early_data's max_early_data_size, when present.
    [[nodiscard]] std::optional<std::uint32_t> max_early_data_size() const;
};

// §4.6.3
enum class KeyUpdateRequest : std::uint8_t { update_not_requested = 0, update_requested = 1 };
struct KeyUpdate {
    static constexpr HandshakeType kType = HandshakeType::key_update;

    KeyUpdateRequest request_update = KeyUpdateRequest::update_not_requested;

    // Errors: body not 1 byte -> decode_error; value not 0/1 ->
    // illegal_parameter (§4.6.3).
    [[nodiscard]] static TlsResult<KeyUpdate> parse(ByteSpan body);
    void serialize_body(Writer& w) const { w.u8(static_cast<std::uint8_t>(request_update)); }
};

// Writes the 4-byte handshake header and the message body: the exact bytes
// for the record layer and the transcript. Returns w.ok().
template <class Msg>
[[nodiscard]] bool write_message(Writer& w, const Msg& m) {
    w.u8(static_cast<std::uint8_t>(Msg::kType));
    const auto prefix = w.open_u24_prefix();
    m.serialize_body(w);
    w.close(prefix);
    return w.ok();
}

// §4.4.1: after a HelloRetryRequest the transcript restarts with
//   message_hash(254) || 00 00 Hash.length || Hash(ClientHello1).
// Writes that synthetic message; returns w.ok() (false also for a hash over
// 255 bytes, which no TLS 1.3 hash is).
[[nodiscard]] bool write_message_hash(Writer& w, ByteSpan client_hello1_hash);

// Splits a full handshake message (header included) into type and body.
// Length mismatch -> decode_error. For tests and callers that hold whole
// messages; streams go through HandshakeReader.
struct HandshakeView {
    HandshakeType type{};
    ByteSpan body{};
};
[[nodiscard]] TlsResult<HandshakeView> split_message(ByteSpan full);

}  // namespace l45::tls::msg
