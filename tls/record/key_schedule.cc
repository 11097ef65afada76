// TLS 1.3 key schedule over OpenSSL 3 EVP (HKDF via EVP_KDF, HMAC via
// EVP_MAC, SHA-2 via EVP_MD). See key_schedule.h.
#include "tls/record/key_schedule.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string.h>  // explicit_bzero

#include <cstring>

namespace l45::tls {

namespace {

constexpr auto internal = [] { return fail(Alert::internal_error, ErrorOrigin::internal); };

const char* md_name(HashAlgorithm hash) {
    return hash == HashAlgorithm::sha384 ? "SHA384" : "SHA256";
}
const EVP_MD* md(HashAlgorithm hash) {
    return hash == HashAlgorithm::sha384 ? EVP_sha384() : EVP_sha256();
}

// Fetched once per process: EVP_KDF/EVP_MAC objects are immutable and
// reference counted, safe to share between threads.
EVP_KDF* hkdf_kdf() {
    static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
    return kdf;
}
EVP_MAC* hmac_mac() {
    static EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    return mac;
}

// One HKDF call in the given mode; `salt`/`info` only where the mode uses them.
bool run_hkdf(HashAlgorithm hash, int mode, ByteSpan key, ByteSpan salt, ByteSpan info,
              MutableByteSpan out) {
    EVP_KDF* kdf = hkdf_kdf();
    if (kdf == nullptr) return false;
    EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
    if (ctx == nullptr) return false;
    // OSSL_PARAM wants non-const pointers; nothing writes through them.
    OSSL_PARAM params[6];
    std::size_t n = 0;
    params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                   const_cast<char*>(md_name(hash)), 0);
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(key.data()), key.size());
    if (!salt.empty())
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
    if (!info.empty())
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()), info.size());
    params[n] = OSSL_PARAM_construct_end();
    const bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok;
}

bool hmac(HashAlgorithm hash, ByteSpan key, ByteSpan data, Digest& out) {
    EVP_MAC* mac = hmac_mac();
    if (mac == nullptr) return false;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    if (ctx == nullptr) return false;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                             const_cast<char*>(md_name(hash)), 0),
                            OSSL_PARAM_construct_end()};
    std::size_t out_len = 0;
    static const std::uint8_t kNoKey[1] = {0};
    const bool ok = EVP_MAC_init(ctx, key.empty() ? kNoKey : key.data(), key.size(), params) == 1 &&
                    EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
                    EVP_MAC_final(ctx, out.bytes.data(), &out_len, out.bytes.size()) == 1;
    EVP_MAC_CTX_free(ctx);
    out.len = ok ? out_len : 0;
    return ok && out_len == hash_len(hash);
}

}  // namespace

// --- HKDF ---

TlsResult<Secret> hkdf_extract(HashAlgorithm hash, ByteSpan salt, ByteSpan ikm) {
    Secret prk;
    prk.resize(hash_len(hash));
    if (!run_hkdf(hash, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, {}, prk.mutable_view()))
        return internal();
    return prk;
}

TlsResult<void> hkdf_expand(HashAlgorithm hash, ByteSpan prk, ByteSpan info, MutableByteSpan out) {
    if (out.empty() || out.size() > 255 * hash_len(hash)) return internal();
    if (!run_hkdf(hash, EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, {}, info, out)) return internal();
    return {};
}

TlsResult<void> hkdf_expand_label(HashAlgorithm hash, ByteSpan secret, std::string_view label,
                                  ByteSpan context, MutableByteSpan out) {
    // struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
    //          opaque context<0..255>; } HkdfLabel;   (§7.1)
    static constexpr std::string_view kPrefix = "tls13 ";
    if (out.size() > 0xffff || kPrefix.size() + label.size() > 255 || context.size() > 255)
        return internal();
    std::array<std::uint8_t, 2 + 1 + 255 + 1 + 255> info_buf;
    Writer w(info_buf);
    w.u16(static_cast<std::uint16_t>(out.size()));
    const auto label_prefix = w.open_u8_prefix();
    w.bytes({reinterpret_cast<const std::uint8_t*>(kPrefix.data()), kPrefix.size()});
    w.bytes({reinterpret_cast<const std::uint8_t*>(label.data()), label.size()});
    w.close(label_prefix);
    const auto context_prefix = w.open_u8_prefix();
    w.bytes(context);
    w.close(context_prefix);
    if (!w.ok()) return internal();
    return hkdf_expand(hash, secret, w.result(), out);
}

TlsResult<Secret> hkdf_expand_label_secret(HashAlgorithm hash, ByteSpan secret,
                                           std::string_view label, ByteSpan context,
                                           std::size_t length) {
    if (length > kMaxSecretLen) return internal();
    Secret out;
    out.resize(length);
    if (auto r = hkdf_expand_label(hash, secret, label, context, out.mutable_view()); !r)
        return unexpected(r.error());
    return out;
}

TlsResult<Secret> derive_secret(HashAlgorithm hash, const Secret& secret, std::string_view label,
                                ByteSpan transcript_hash) {
    if (transcript_hash.size() != hash_len(hash)) return internal();
    return hkdf_expand_label_secret(hash, secret.view(), label, transcript_hash, hash_len(hash));
}

Digest empty_hash(HashAlgorithm hash) {
    Digest d;
    unsigned int len = 0;
    if (EVP_Digest(nullptr, 0, d.bytes.data(), &len, md(hash), nullptr) == 1) d.len = len;
    return d;
}

// --- TranscriptHash ---

TranscriptHash::~TranscriptHash() {
    EVP_MD_CTX_free(sha256_);
    EVP_MD_CTX_free(sha384_);
    EVP_MD_CTX_free(scratch_);
}

TlsResult<void> TranscriptHash::init() {
    EVP_MD_CTX_free(sha256_);
    EVP_MD_CTX_free(sha384_);
    sha256_ = EVP_MD_CTX_new();
    sha384_ = EVP_MD_CTX_new();
    if (scratch_ == nullptr) scratch_ = EVP_MD_CTX_new();
    selected_ = false;
    if (sha256_ == nullptr || sha384_ == nullptr || scratch_ == nullptr ||
        EVP_DigestInit_ex(sha256_, EVP_sha256(), nullptr) != 1 ||
        EVP_DigestInit_ex(sha384_, EVP_sha384(), nullptr) != 1)
        return internal();
    return {};
}

TlsResult<void> TranscriptHash::init(HashAlgorithm hash) {
    if (auto r = init(); !r) return r;
    return select(hash);
}

TlsResult<void> TranscriptHash::select(HashAlgorithm hash) {
    if (sha256_ == nullptr && sha384_ == nullptr) return internal();
    if (selected_ && hash != hash_) return internal();
    EVP_MD_CTX*& drop = hash == HashAlgorithm::sha256 ? sha384_ : sha256_;
    EVP_MD_CTX_free(drop);
    drop = nullptr;
    hash_ = hash;
    selected_ = true;
    return {};
}

EVP_MD_CTX* TranscriptHash::ctx_for(HashAlgorithm hash) const {
    return hash == HashAlgorithm::sha256 ? sha256_ : sha384_;
}

TlsResult<void> TranscriptHash::add(ByteSpan message) {
    bool any = false;
    for (EVP_MD_CTX* ctx : {sha256_, sha384_}) {
        if (ctx == nullptr) continue;
        any = true;
        if (EVP_DigestUpdate(ctx, message.data(), message.size()) != 1) return internal();
    }
    if (!any) return internal();
    return {};
}

TlsResult<Digest> TranscriptHash::current() const {
    if (!selected_) return internal();
    return current(hash_);
}

TlsResult<Digest> TranscriptHash::current(HashAlgorithm hash) const {
    EVP_MD_CTX* ctx = ctx_for(hash);
    if (ctx == nullptr || scratch_ == nullptr) return internal();
    // Finish a copy so the running hash keeps going.
    Digest d;
    unsigned int len = 0;
    if (EVP_MD_CTX_copy_ex(scratch_, ctx) != 1 ||
        EVP_DigestFinal_ex(scratch_, d.bytes.data(), &len) != 1)
        return internal();
    d.len = len;
    return d;
}

TlsResult<void> TranscriptHash::replace_with_message_hash() {
    if (!selected_) return internal();
    auto ch1 = current();
    if (!ch1) return unexpected(ch1.error());
    EVP_MD_CTX* ctx = ctx_for(hash_);
    if (EVP_DigestInit_ex(ctx, md(hash_), nullptr) != 1) return internal();
    // §4.4.1: Hash(message_hash || 00 00 Hash.length || Hash(ClientHello1))
    std::array<std::uint8_t, 4 + kMaxHashLen> synthetic;
    Writer w(synthetic);
    w.u8(static_cast<std::uint8_t>(HandshakeType::message_hash));
    w.u24(static_cast<std::uint32_t>(ch1->len));
    w.bytes(ch1->view());
    if (!w.ok()) return internal();
    return add(w.result());
}

// --- traffic keys, KeyUpdate, Finished, resumption, exporter ---

TlsResult<TrafficKeys> derive_traffic_keys(CipherSuite suite, const Secret& traffic_secret) {
    const auto info = suite_info(suite);
    if (!info) return internal();
    TrafficKeys keys;
    auto key =
        hkdf_expand_label_secret(info->hash, traffic_secret.view(), "key", {}, info->key_len);
    if (!key) return unexpected(key.error());
    auto iv = hkdf_expand_label_secret(info->hash, traffic_secret.view(), "iv", {}, kAeadNonceLen);
    if (!iv) return unexpected(iv.error());
    keys.key = *key;
    keys.iv = *iv;
    return keys;
}

TlsResult<Secret> next_application_traffic_secret(HashAlgorithm hash, const Secret& current) {
    return hkdf_expand_label_secret(hash, current.view(), "traffic upd", {}, hash_len(hash));
}

TlsResult<Secret> finished_key(HashAlgorithm hash, const Secret& base_key) {
    return hkdf_expand_label_secret(hash, base_key.view(), "finished", {}, hash_len(hash));
}

TlsResult<Digest> finished_verify_data(HashAlgorithm hash, const Secret& base_key,
                                       ByteSpan transcript_hash) {
    auto key = finished_key(hash, base_key);
    if (!key) return unexpected(key.error());
    Digest out;
    if (!hmac(hash, key->view(), transcript_hash, out)) return internal();
    return out;
}

TlsResult<void> verify_finished(HashAlgorithm hash, const Secret& base_key,
                                ByteSpan transcript_hash, ByteSpan received) {
    auto expected = finished_verify_data(hash, base_key, transcript_hash);
    if (!expected) return unexpected(expected.error());
    if (!ct_equal(expected->view(), received)) return fail(Alert::decrypt_error);
    return {};
}

TlsResult<Secret> resumption_psk(HashAlgorithm hash, const Secret& resumption_master_secret,
                                 ByteSpan ticket_nonce) {
    return hkdf_expand_label_secret(hash, resumption_master_secret.view(), "resumption",
                                    ticket_nonce, hash_len(hash));
}

TlsResult<void> export_keying_material(HashAlgorithm hash, const Secret& exporter_master_secret,
                                       std::string_view label, ByteSpan context,
                                       MutableByteSpan out) {
    const Digest empty = empty_hash(hash);
    auto derived = derive_secret(hash, exporter_master_secret, label, empty.view());
    if (!derived) return unexpected(derived.error());
    Digest context_hash;
    unsigned int len = 0;
    if (EVP_Digest(context.data(), context.size(), context_hash.bytes.data(), &len, md(hash),
                   nullptr) != 1)
        return internal();
    context_hash.len = len;
    return hkdf_expand_label(hash, derived->view(), "exporter", context_hash.view(), out);
}

// --- KeySchedule ---

TlsResult<void> KeySchedule::init(CipherSuite suite) {
    const auto info = suite_info(suite);
    if (!info) return internal();
    *this = KeySchedule{};
    suite_ = suite;
    hash_ = info->hash;
    return {};
}

TlsResult<void> KeySchedule::derive_early_secret(ByteSpan psk) {
    if (stage_ != Stage::none) return internal();
    std::array<std::uint8_t, kMaxHashLen> zeros{};
    const ByteSpan ikm = psk.empty() ? ByteSpan(zeros.data(), hash_len(hash_)) : psk;
    // salt = 0: HashLen zero bytes, which is what HKDF uses for no salt.
    auto early = hkdf_extract(hash_, ByteSpan(zeros.data(), hash_len(hash_)), ikm);
    if (!early) return unexpected(early.error());
    early_ = *early;
    stage_ = Stage::early;
    return {};
}

TlsResult<Secret> KeySchedule::binder_key(bool resumption) const {
    if (stage_ != Stage::early) return internal();
    return derive_secret(hash_, early_, resumption ? "res binder" : "ext binder",
                         empty_hash(hash_).view());
}

TlsResult<Secret> KeySchedule::client_early_traffic_secret(ByteSpan hash_ch) const {
    if (stage_ != Stage::early) return internal();
    return derive_secret(hash_, early_, "c e traffic", hash_ch);
}

TlsResult<Secret> KeySchedule::early_exporter_master_secret(ByteSpan hash_ch) const {
    if (stage_ != Stage::early) return internal();
    return derive_secret(hash_, early_, "e exp master", hash_ch);
}

TlsResult<void> KeySchedule::derive_handshake_secrets(ByteSpan ecdhe_shared_secret,
                                                      ByteSpan hash_ch_sh) {
    if (stage_ == Stage::none) {
        if (auto r = derive_early_secret(); !r) return r;
    }
    if (stage_ != Stage::early || ecdhe_shared_secret.empty()) return internal();
    auto salt = derive_secret(hash_, early_, "derived", empty_hash(hash_).view());
    if (!salt) return unexpected(salt.error());
    auto hs = hkdf_extract(hash_, salt->view(), ecdhe_shared_secret);
    if (!hs) return unexpected(hs.error());
    auto c = derive_secret(hash_, *hs, "c hs traffic", hash_ch_sh);
    if (!c) return unexpected(c.error());
    auto s = derive_secret(hash_, *hs, "s hs traffic", hash_ch_sh);
    if (!s) return unexpected(s.error());
    handshake_ = *hs;
    c_hs_ = *c;
    s_hs_ = *s;
    stage_ = Stage::handshake;
    return {};
}

TlsResult<void> KeySchedule::derive_application_secrets(ByteSpan hash_ch_sf) {
    if (stage_ != Stage::handshake) return internal();
    auto salt = derive_secret(hash_, handshake_, "derived", empty_hash(hash_).view());
    if (!salt) return unexpected(salt.error());
    std::array<std::uint8_t, kMaxHashLen> zeros{};
    auto master = hkdf_extract(hash_, salt->view(), ByteSpan(zeros.data(), hash_len(hash_)));
    if (!master) return unexpected(master.error());
    auto c = derive_secret(hash_, *master, "c ap traffic", hash_ch_sf);
    if (!c) return unexpected(c.error());
    auto s = derive_secret(hash_, *master, "s ap traffic", hash_ch_sf);
    if (!s) return unexpected(s.error());
    auto exp = derive_secret(hash_, *master, "exp master", hash_ch_sf);
    if (!exp) return unexpected(exp.error());
    master_ = *master;
    c_ap_ = *c;
    s_ap_ = *s;
    exporter_ = *exp;
    stage_ = Stage::master;
    // The early and handshake secrets are not needed past this point.
    early_ = Secret{};
    handshake_ = Secret{};
    return {};
}

TlsResult<void> KeySchedule::derive_resumption_master_secret(ByteSpan hash_ch_cf) {
    if (stage_ != Stage::master) return internal();
    auto res = derive_secret(hash_, master_, "res master", hash_ch_cf);
    if (!res) return unexpected(res.error());
    resumption_ = *res;
    return {};
}

}  // namespace l45::tls
