// Configuration of a TLS 1.3 connection (RFC 8446), client or server.
//
// Read first: RFC 8446 §4.1.1 (negotiation of suite, group and signature),
// §4.2 (extensions), §9.1 (mandatory-to-implement), RFC 6066 §3 (SNI),
// RFC 7301 (ALPN), the NSS key-log format
// (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/).
//
// A Config is built once at start-up and copied into each Connection
// (allocation happens there, never per record). The objects it points to
// (random source, credentials, verifier) must outlive every Connection made
// from it; none of them is shared between lcores unless the comment says so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/random.h"
#include "tls/pki/certificate.h"
#include "tls/types.h"

namespace l45::tls {

enum class Role : std::uint8_t { client, server };

// Receives one NSS key-log line (no trailing newline), e.g.
//   "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client_random hex> <secret hex>".
// These lines are SECRETS: they go to this sink only, never to any log.
using KeyLogSink = std::function<void(std::string_view line)>;

// Seconds since the epoch, for certificate validity (injected so tests can
// pin the time; unset: the verifier's own setting, by default the system).
using WallClock = std::function<std::time_t()>;

struct Config {
    Role role = Role::client;

    // In preference order (the server picks by ITS order, RFC 8446 §4.1.1).
    std::vector<CipherSuite> cipher_suites = {CipherSuite::aes_128_gcm_sha256,
                                              CipherSuite::aes_256_gcm_sha384,
                                              CipherSuite::chacha20_poly1305_sha256};
    // In preference order. A client sends a key share for the first one only
    // (and moves to another after a HelloRetryRequest).
    std::vector<NamedGroup> groups = {NamedGroup::x25519, NamedGroup::secp256r1,
                                      NamedGroup::secp384r1};
    // CertificateVerify schemes: what a client offers in signature_algorithms
    // and accepts; what a server is willing to sign with. Empty: pki's
    // verify_schemes().
    std::vector<SignatureScheme> signature_schemes;

    // ALPN protocol names in preference order (RFC 7301). Empty: no ALPN.
    // A server with a list answers no_application_protocol when the client
    // offered ALPN and nothing overlaps.
    std::vector<std::string> alpn;

    // RFC 8449 record_size_limit: the largest TLSInnerPlaintext (content +
    // type byte + padding, so at most value - 1 bytes of content) we are
    // willing to RECEIVE in a protected record; 64..2^14+1, else create()
    // fails. A client sends it in the ClientHello; a server answers with it in
    // EncryptedExtensions only when the client sent one (§4). Whatever this
    // says, we always honour a limit the peer announces. Unset: not sent.
    // Default 2^14+1 (no restriction beyond TLS 1.3's own): what NSS/Firefox
    // and GnuTLS send by default, OpenSSL ignores it, and advertising it lets
    // a constrained server (GnuTLS can be told to use a small limit) tell us
    // its own limit, which it can only do when we sent ours.
    std::optional<std::uint16_t> record_size_limit = std::uint16_t{(1u << 14) + 1};

    // --- server ---
    // Certificate chains + keys, chosen by SNI (RFC 6066 §3, §4.4.2.2).
    // Required for a server. Read-only after start-up: may be shared.
    const pki::CredentialSelector* credentials = nullptr;

    // --- client ---
    // SNI and the name the server certificate must match. Empty: no SNI and
    // no host name check (only allowed together with insecure_skip_verify).
    std::string server_name;
    // Trust store. Required for a client unless insecure_skip_verify. When
    // wall_clock is set the verifier's time is set before each verification,
    // so a verifier then belongs to one lcore.
    pki::CertificateVerifier* verifier = nullptr;
    // !!! INSECURE !!! Accept ANY server certificate (no chain, name or time
    // check; CertificateVerify is still checked against the leaf key).
    // Anyone on the path can impersonate the server. Lab debugging only.
    bool insecure_skip_verify_DANGEROUS = false;
    // Middlebox compatibility mode (RFC 8446 D.4): a random 32-byte
    // legacy_session_id and a ChangeCipherSpec before the second flight.
    bool middlebox_compat = true;

    // --- both ---
    // Required: the key shares, randoms, session ids and cookies come from it.
    Random* random = nullptr;
    WallClock wall_clock;
    KeyLogSink key_log;

    // Bounds (RFC 8446 names none; these keep a hostile peer's memory cost
    // fixed). Certificate/CertificateRequest may use max_handshake_message_len,
    // every other message 16 KiB. Exceeding max_handshake_total_len during
    // the handshake -> handshake_failure (alert).
    std::size_t max_handshake_message_len = 64 * 1024;
    std::size_t max_handshake_total_len = 256 * 1024;
    // Capacity of the output buffer (records waiting to be sent), fixed at
    // construction. Must hold a whole handshake flight.
    std::size_t output_buffer_len = 192 * 1024;

    // Record-layer offload (kTLS-like; see Connection::record_offloaded()):
    // receive() stops at the first record boundary after the handshake, and
    // the caller frames and protects application records itself.
    bool record_offload = false;
};

}  // namespace l45::tls
