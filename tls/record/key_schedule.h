// The TLS 1.3 key schedule (RFC 8446 §7) over OpenSSL 3 libcrypto.
//
// Read first: RFC 8446 §7.1 (the schedule diagram), §7.2 (KeyUpdate), §7.3
// (traffic keys), §7.5 (exporters), §4.4.1 (transcript hash and the
// HelloRetryRequest rule), §4.4.4 (Finished), RFC 5869 (HKDF).
//
// The schedule runs at handshake time (set-up path): it may allocate (EVP
// contexts). Every secret is a tls::Secret, wiped when dropped.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/record/suite.h"
// tls/secret.h ignores its own [[nodiscard]] assign() in the constructors,
// which -Werror turns into a build break; silence that until it is fixed.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-result"
#pragma GCC diagnostic ignored "-Wnonnull"
#include "tls/secret.h"
#pragma GCC diagnostic pop

namespace l45::tls {

// A hash output (transcript hashes are not secret).
struct Digest {
    std::array<std::uint8_t, kMaxHashLen> bytes{};
    std::size_t len = 0;
    [[nodiscard]] ByteSpan view() const { return {bytes.data(), len}; }
};

// --- HKDF (RFC 5869) and the TLS 1.3 wrappers (RFC 8446 §7.1) ---

// PRK = HMAC-Hash(salt, IKM). An empty salt means HashLen zeros (RFC 5869 §2.2).
[[nodiscard]] TlsResult<Secret> hkdf_extract(HashAlgorithm hash, ByteSpan salt, ByteSpan ikm);
// OKM of out.size() bytes (<= 255 * HashLen).
[[nodiscard]] TlsResult<void> hkdf_expand(HashAlgorithm hash, ByteSpan prk, ByteSpan info,
                                          MutableByteSpan out);
// HKDF-Expand(Secret, HkdfLabel{length, "tls13 " + label, context}, length).
[[nodiscard]] TlsResult<void> hkdf_expand_label(HashAlgorithm hash, ByteSpan secret,
                                                std::string_view label, ByteSpan context,
                                                MutableByteSpan out);
// Same, into a Secret of `length` bytes (<= kMaxSecretLen).
[[nodiscard]] TlsResult<Secret> hkdf_expand_label_secret(HashAlgorithm hash, ByteSpan secret,
                                                         std::string_view label, ByteSpan context,
                                                         std::size_t length);
// Derive-Secret(Secret, Label, Messages) with Transcript-Hash(Messages)
// already computed by the caller (TranscriptHash::current()).
[[nodiscard]] TlsResult<Secret> derive_secret(HashAlgorithm hash, const Secret& secret,
                                              std::string_view label, ByteSpan transcript_hash);
// Hash("") for the "derived" and binder steps.
[[nodiscard]] Digest empty_hash(HashAlgorithm hash);

// --- Transcript-Hash (RFC 8446 §4.4.1) ---
//
// Incremental, with the current digest available at any point. Until the
// ServerHello picks a suite the hash is unknown, so both SHA-256 and SHA-384
// run; select() keeps one.
class TranscriptHash {
  public:
    TranscriptHash() = default;
    ~TranscriptHash();
    TranscriptHash(const TranscriptHash&) = delete;
    TranscriptHash& operator=(const TranscriptHash&) = delete;

    // Starts both hashes (or only `hash` via the overload). Allocates.
    [[nodiscard]] TlsResult<void> init();
    [[nodiscard]] TlsResult<void> init(HashAlgorithm hash);
    // Keeps `hash` and drops the other.
    [[nodiscard]] TlsResult<void> select(HashAlgorithm hash);

    // Adds one whole handshake message (4-byte header included).
    [[nodiscard]] TlsResult<void> add(ByteSpan handshake_message);
    // Transcript-Hash of everything added so far; the hash stays usable.
    // Before select(), needs the hash named explicitly.
    [[nodiscard]] TlsResult<Digest> current() const;
    [[nodiscard]] TlsResult<Digest> current(HashAlgorithm hash) const;

    // §4.4.1: on HelloRetryRequest, ClientHello1 (everything added so far,
    // which must be exactly ClientHello1) is replaced by
    // message_hash(254) || 00 00 HashLen || Hash(ClientHello1).
    // Requires select() first (the HRR names the suite). Then add the HRR.
    [[nodiscard]] TlsResult<void> replace_with_message_hash();

    [[nodiscard]] bool selected() const { return selected_; }
    [[nodiscard]] HashAlgorithm hash() const { return hash_; }

  private:
    [[nodiscard]] EVP_MD_CTX* ctx_for(HashAlgorithm hash) const;
    EVP_MD_CTX* sha256_ = nullptr;
    EVP_MD_CTX* sha384_ = nullptr;
    EVP_MD_CTX* scratch_ = nullptr;  // reused by current()
    HashAlgorithm hash_ = HashAlgorithm::sha256;
    bool selected_ = false;
};

// --- Traffic keys (§7.3) ---
struct TrafficKeys {
    Secret key;  // key_len bytes
    Secret iv;   // 12 bytes
};
[[nodiscard]] TlsResult<TrafficKeys> derive_traffic_keys(CipherSuite suite,
                                                         const Secret& traffic_secret);

// §7.2: application_traffic_secret_N+1 =
//   HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length)
[[nodiscard]] TlsResult<Secret> next_application_traffic_secret(HashAlgorithm hash,
                                                                const Secret& current);

// --- Finished (§4.4.4) and PSK binders (§4.2.11.2) ---
// finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length)
[[nodiscard]] TlsResult<Secret> finished_key(HashAlgorithm hash, const Secret& base_key);
// verify_data = HMAC(finished_key, transcript_hash)
[[nodiscard]] TlsResult<Digest> finished_verify_data(HashAlgorithm hash, const Secret& base_key,
                                                     ByteSpan transcript_hash);
// Recomputes and compares in constant time: decrypt_error when different
// (RFC 8446 §4.4.4).
[[nodiscard]] TlsResult<void> verify_finished(HashAlgorithm hash, const Secret& base_key,
                                              ByteSpan transcript_hash, ByteSpan received);

// §4.6.1: the PSK for a ticket:
//   HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length)
[[nodiscard]] TlsResult<Secret> resumption_psk(HashAlgorithm hash,
                                               const Secret& resumption_master_secret,
                                               ByteSpan ticket_nonce);

// §7.5: TLS-Exporter(label, context_value, key_length) =
//   HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), len)
[[nodiscard]] TlsResult<void> export_keying_material(HashAlgorithm hash,
                                                     const Secret& exporter_master_secret,
                                                     std::string_view label, ByteSpan context,
                                                     MutableByteSpan out);

// --- The schedule (§7.1) ---
//
// Each stage is one call, made in order; the caller supplies the transcript
// hash at the point the RFC names. Out-of-order calls are internal_error.
class KeySchedule {
  public:
    enum class Stage : std::uint8_t { none, early, handshake, master };

    [[nodiscard]] TlsResult<void> init(CipherSuite suite);
    [[nodiscard]] HashAlgorithm hash() const { return hash_; }
    [[nodiscard]] CipherSuite suite() const { return suite_; }
    [[nodiscard]] Stage stage() const { return stage_; }

    // Early Secret = HKDF-Extract(0, PSK); without a PSK, PSK = HashLen zeros.
    [[nodiscard]] TlsResult<void> derive_early_secret(ByteSpan psk = {});
    // binder_key = Derive-Secret(Early, "ext binder" | "res binder", "")
    [[nodiscard]] TlsResult<Secret> binder_key(bool resumption) const;
    // client_early_traffic_secret = Derive-Secret(Early, "c e traffic", CH)
    [[nodiscard]] TlsResult<Secret> client_early_traffic_secret(ByteSpan hash_ch) const;
    // early_exporter_master_secret = Derive-Secret(Early, "e exp master", CH)
    [[nodiscard]] TlsResult<Secret> early_exporter_master_secret(ByteSpan hash_ch) const;

    // Handshake Secret = HKDF-Extract(Derive-Secret(Early, "derived", ""), (EC)DHE),
    // then the c/s hs traffic secrets over Transcript-Hash(CH..SH).
    // Derives the early secret (no PSK) first if not done yet.
    [[nodiscard]] TlsResult<void> derive_handshake_secrets(ByteSpan ecdhe_shared_secret,
                                                           ByteSpan hash_ch_sh);

    // Master Secret = HKDF-Extract(Derive-Secret(Handshake, "derived", ""), 0),
    // then c/s ap traffic secrets and exporter_master_secret over
    // Transcript-Hash(CH..server Finished). Wipes the early and handshake
    // secrets, which nothing needs afterwards (the hs traffic secrets stay
    // for the client Finished).
    [[nodiscard]] TlsResult<void> derive_application_secrets(ByteSpan hash_ch_sf);

    // resumption_master_secret over Transcript-Hash(CH..client Finished).
    [[nodiscard]] TlsResult<void> derive_resumption_master_secret(ByteSpan hash_ch_cf);

    [[nodiscard]] const Secret& early_secret() const { return early_; }
    [[nodiscard]] const Secret& handshake_secret() const { return handshake_; }
    [[nodiscard]] const Secret& master_secret() const { return master_; }
    [[nodiscard]] const Secret& client_handshake_traffic_secret() const { return c_hs_; }
    [[nodiscard]] const Secret& server_handshake_traffic_secret() const { return s_hs_; }
    [[nodiscard]] const Secret& client_application_traffic_secret() const { return c_ap_; }
    [[nodiscard]] const Secret& server_application_traffic_secret() const { return s_ap_; }
    [[nodiscard]] const Secret& exporter_master_secret() const { return exporter_; }
    [[nodiscard]] const Secret& resumption_master_secret() const { return resumption_; }

  private:
    CipherSuite suite_ = CipherSuite::aes_128_gcm_sha256;
    HashAlgorithm hash_ = HashAlgorithm::sha256;
    Stage stage_ = Stage::none;
    Secret early_, handshake_, master_;
    Secret c_hs_, s_hs_, c_ap_, s_ap_, exporter_, resumption_;
};

}  // namespace l45::tls
