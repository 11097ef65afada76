// CertificateVerify signatures with OpenSSL 3 EVP (RFC 8446 §4.4.3). See
// signature.h.
#include "tls/pki/signature.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>

namespace l45::tls::pki {
namespace {

using S = SignatureScheme;

constexpr S kVerifySchemes[] = {
    S::ecdsa_secp256r1_sha256,
    S::ecdsa_secp384r1_sha384,
    S::ed25519,
    S::rsa_pss_rsae_sha256,
    S::rsa_pss_rsae_sha384,
    S::rsa_pss_rsae_sha512,
    S::rsa_pss_pss_sha256,
    S::rsa_pss_pss_sha384,
    S::rsa_pss_pss_sha512,
    S::ecdsa_secp521r1_sha512,
    S::ed448,
};
constexpr S kCertificateSchemes[] = {
    S::ecdsa_secp256r1_sha256,
    S::ecdsa_secp384r1_sha384,
    S::ed25519,
    S::rsa_pss_rsae_sha256,
    S::rsa_pss_rsae_sha384,
    S::rsa_pss_rsae_sha512,
    S::rsa_pss_pss_sha256,
    S::rsa_pss_pss_sha384,
    S::rsa_pss_pss_sha512,
    S::ecdsa_secp521r1_sha512,
    S::ed448,
    S::rsa_pkcs1_sha256,
    S::rsa_pkcs1_sha384,
    S::rsa_pkcs1_sha512,
};

// What each private key type signs with, in our preference order.
constexpr S kP256Schemes[] = {S::ecdsa_secp256r1_sha256};
constexpr S kP384Schemes[] = {S::ecdsa_secp384r1_sha384};
constexpr S kRsaSchemes[] = {S::rsa_pss_rsae_sha256, S::rsa_pss_rsae_sha384,
                             S::rsa_pss_rsae_sha512};
constexpr S kEd25519Schemes[] = {S::ed25519};

constexpr int kMinRsaBits = 2048;

enum class Kind : std::uint8_t { ecdsa, rsa_pss_rsae, rsa_pss_pss, eddsa, unsupported };

struct SchemeInfo {
    Kind kind = Kind::unsupported;
    const EVP_MD* md = nullptr;  // nullptr for EdDSA (no pre-hash)
    int curve_nid = NID_undef;   // ECDSA only (§4.2.3: the curve is part of the scheme)
    const char* key_type = nullptr;
};

[[nodiscard]] SchemeInfo scheme_info(S scheme) {
    switch (scheme) {
        case S::ecdsa_secp256r1_sha256:
            return {Kind::ecdsa, EVP_sha256(), NID_X9_62_prime256v1, "EC"};
        case S::ecdsa_secp384r1_sha384:
            return {Kind::ecdsa, EVP_sha384(), NID_secp384r1, "EC"};
        case S::ecdsa_secp521r1_sha512:
            return {Kind::ecdsa, EVP_sha512(), NID_secp521r1, "EC"};
        case S::rsa_pss_rsae_sha256:
            return {Kind::rsa_pss_rsae, EVP_sha256(), NID_undef, "RSA"};
        case S::rsa_pss_rsae_sha384:
            return {Kind::rsa_pss_rsae, EVP_sha384(), NID_undef, "RSA"};
        case S::rsa_pss_rsae_sha512:
            return {Kind::rsa_pss_rsae, EVP_sha512(), NID_undef, "RSA"};
        case S::rsa_pss_pss_sha256:
            return {Kind::rsa_pss_pss, EVP_sha256(), NID_undef, "RSA-PSS"};
        case S::rsa_pss_pss_sha384:
            return {Kind::rsa_pss_pss, EVP_sha384(), NID_undef, "RSA-PSS"};
        case S::rsa_pss_pss_sha512:
            return {Kind::rsa_pss_pss, EVP_sha512(), NID_undef, "RSA-PSS"};
        case S::ed25519:
            return {Kind::eddsa, nullptr, NID_undef, "ED25519"};
        case S::ed448:
            return {Kind::eddsa, nullptr, NID_undef, "ED448"};
        // rsa_pkcs1_*: certificates only, never CertificateVerify (§4.4.3).
        default:
            return {};
    }
}

[[nodiscard]] int ec_curve_nid(EVP_PKEY* key) {
    char name[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1) return NID_undef;
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef) nid = EC_curve_nist2nid(name);
    return nid;
}

[[nodiscard]] bool key_fits(EVP_PKEY* key, const SchemeInfo& info) {
    if (key == nullptr || info.kind == Kind::unsupported) return false;
    if (EVP_PKEY_is_a(key, info.key_type) != 1) return false;
    if (info.kind == Kind::ecdsa) return ec_curve_nid(key) == info.curve_nid;
    return true;
}

[[nodiscard]] Unexpected<TlsError> internal() {
    ossl::clear_errors();
    return fail(Alert::internal_error, ErrorOrigin::internal);
}

// Sets up a DigestSign/DigestVerify context for the scheme: the hash, and for
// RSA the PSS padding with salt length = hash length and MGF1 over the same
// hash (§4.2.3, RFC 8017 §9.1).
[[nodiscard]] bool init_ctx(EVP_MD_CTX* mctx, EVP_PKEY* key, const SchemeInfo& info, bool signing) {
    EVP_PKEY_CTX* pctx = nullptr;
    const int rc = signing ? EVP_DigestSignInit(mctx, &pctx, info.md, nullptr, key)
                           : EVP_DigestVerifyInit(mctx, &pctx, info.md, nullptr, key);
    if (rc != 1) return false;
    if (info.kind == Kind::rsa_pss_rsae || info.kind == Kind::rsa_pss_pss) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, info.md) != 1)
            return false;
    }
    return true;
}

// A passphrase callback that refuses: an encrypted key fails to load rather
// than OpenSSL prompting on the terminal.
int no_passphrase(char*, int, int, void*) {
    return -1;
}

[[nodiscard]] ossl::BioPtr memory_bio(std::string_view text) {
    if (text.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
    return ossl::BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

TlsResult<std::size_t> build_signed_content(ByteSpan transcript_hash, bool server,
                                            MutableByteSpan out) {
    static constexpr std::string_view kServer = "TLS 1.3, server CertificateVerify";
    static constexpr std::string_view kClient = "TLS 1.3, client CertificateVerify";
    if (transcript_hash.empty() || transcript_hash.size() > 64) return internal();
    const std::string_view context = server ? kServer : kClient;
    Writer w(out);
    std::uint8_t* spaces = w.reserve(64);
    if (spaces != nullptr) std::fill_n(spaces, 64, std::uint8_t{0x20});
    w.bytes({reinterpret_cast<const std::uint8_t*>(context.data()), context.size()});
    w.u8(0);
    w.bytes(transcript_hash);
    if (!w.ok()) return internal();
    return w.written();
}

bool scheme_allowed_in_certificate_verify(SignatureScheme scheme) {
    return scheme_info(scheme).kind != Kind::unsupported;
}

std::span<const SignatureScheme> verify_schemes() {
    return kVerifySchemes;
}
std::span<const SignatureScheme> certificate_verify_schemes() {
    return kCertificateSchemes;
}

// --- PublicKey ---

PublicKey::PublicKey(EVP_PKEY* key) : key_(ossl::up_ref(key)) {}
PublicKey::PublicKey(const PublicKey& other) : key_(ossl::up_ref(other.key_.get())) {}
PublicKey& PublicKey::operator=(const PublicKey& other) {
    if (this != &other) key_ = ossl::up_ref(other.key_.get());
    return *this;
}

TlsResult<PublicKey> PublicKey::from_spki_der(ByteSpan der) {
    if (der.empty() || der.size() > static_cast<std::size_t>(LONG_MAX))
        return fail(Alert::bad_certificate);
    const unsigned char* p = der.data();
    ossl::PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!key || p != der.data() + der.size()) {
        ossl::clear_errors();
        return fail(Alert::bad_certificate);
    }
    return PublicKey(std::move(key));
}

TlsResult<PublicKey> PublicKey::from_pem(std::string_view pem) {
    ossl::BioPtr bio = memory_bio(pem);
    if (!bio) return internal();
    ossl::PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key) return internal();
    return PublicKey(std::move(key));
}

bool PublicKey::fits(SignatureScheme scheme) const {
    return key_fits(key_.get(), scheme_info(scheme));
}

// --- PrivateKey ---

PrivateKey::PrivateKey(ossl::PkeyPtr key) : key_(std::move(key)) {}

namespace {

[[nodiscard]] std::span<const SignatureScheme> schemes_for(EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "EC") == 1) {
        switch (ec_curve_nid(key)) {
            case NID_X9_62_prime256v1:
                return kP256Schemes;
            case NID_secp384r1:
                return kP384Schemes;
            default:
                return {};
        }
    }
    // rsaEncryption keys sign with PSS (§4.4.3). RSASSA-PSS-typed keys may
    // carry parameter restrictions; they are not accepted as our key.
    if (EVP_PKEY_is_a(key, "RSA") == 1)
        return EVP_PKEY_get_bits(key) >= kMinRsaBits ? std::span<const SignatureScheme>(kRsaSchemes)
                                                     : std::span<const SignatureScheme>();
    if (EVP_PKEY_is_a(key, "ED25519") == 1) return kEd25519Schemes;
    return {};
}

[[nodiscard]] TlsResult<PrivateKey> private_key_from_bio(BIO* bio) {
    if (bio == nullptr) return internal();
    ossl::PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr));
    if (!key) return internal();
    return PrivateKey::from_pkey(std::move(key));
}

}  // namespace

TlsResult<PrivateKey> PrivateKey::from_pkey(ossl::PkeyPtr key) {
    if (!key || schemes_for(key.get()).empty()) return internal();
    PrivateKey out(std::move(key));
    out.schemes_ = schemes_for(out.key_.get());
    return out;
}

TlsResult<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
    ossl::BioPtr bio = memory_bio(pem);
    return private_key_from_bio(bio.get());
}

TlsResult<PrivateKey> PrivateKey::from_pem_file(const std::string& path) {
    ossl::BioPtr bio(BIO_new_file(path.c_str(), "r"));
    return private_key_from_bio(bio.get());
}

std::span<const SignatureScheme> PrivateKey::supported_schemes() const {
    return schemes_;
}

std::size_t PrivateKey::max_signature_len() const {
    const int size = EVP_PKEY_get_size(key_.get());
    return size > 0 ? static_cast<std::size_t>(size) : 0;
}

TlsResult<std::size_t> PrivateKey::sign(SignatureScheme scheme, ByteSpan transcript_hash,
                                        bool server, MutableByteSpan out) const {
    if (std::find(schemes_.begin(), schemes_.end(), scheme) == schemes_.end())
        return fail(Alert::illegal_parameter);
    std::uint8_t content[kMaxSignedContentLen];
    auto content_len = build_signed_content(transcript_hash, server, content);
    if (!content_len) return internal();
    const SchemeInfo info = scheme_info(scheme);
    ossl::MdCtxPtr mctx(EVP_MD_CTX_new());
    if (!mctx || !init_ctx(mctx.get(), key_.get(), info, true)) return internal();
    std::size_t sig_len = 0;
    if (EVP_DigestSign(mctx.get(), nullptr, &sig_len, content, *content_len) != 1 ||
        sig_len > out.size())
        return internal();
    if (EVP_DigestSign(mctx.get(), out.data(), &sig_len, content, *content_len) != 1)
        return internal();
    return sig_len;
}

// --- verification ---

TlsResult<void> verify_message(const PublicKey& key, SignatureScheme scheme, ByteSpan message,
                               ByteSpan signature) {
    if (key.empty()) return internal();
    const SchemeInfo info = scheme_info(scheme);
    // §4.4.3: a scheme the peer did not get to use with this key (wrong
    // curve, wrong key type, PKCS#1 v1.5) is an illegal parameter.
    if (!key_fits(key.get(), info)) return fail(Alert::illegal_parameter);
    ossl::MdCtxPtr mctx(EVP_MD_CTX_new());
    if (!mctx || !init_ctx(mctx.get(), key.get(), info, false)) return internal();
    if (EVP_DigestVerify(mctx.get(), signature.data(), signature.size(), message.data(),
                         message.size()) != 1) {
        ossl::clear_errors();
        return fail(Alert::decrypt_error);
    }
    return {};
}

TlsResult<void> verify(const PublicKey& key, SignatureScheme scheme, ByteSpan transcript_hash,
                       bool server, ByteSpan signature) {
    std::uint8_t content[kMaxSignedContentLen];
    auto content_len = build_signed_content(transcript_hash, server, content);
    if (!content_len) return unexpected(content_len.error());
    return verify_message(key, scheme, {content, *content_len}, signature);
}

TlsResult<SignatureScheme> choose_scheme(const PrivateKey& key,
                                         std::span<const SignatureScheme> peer_schemes) {
    for (SignatureScheme ours : key.supported_schemes())
        if (std::find(peer_schemes.begin(), peer_schemes.end(), ours) != peer_schemes.end())
            return ours;
    return fail(Alert::handshake_failure);
}

}  // namespace l45::tls::pki
