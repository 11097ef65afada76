// ECDHE with OpenSSL 3 EVP (RFC 8446 §4.2.8, §7.4). See key_share.h.
#include "tls/pki/key_share.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <string.h>  // explicit_bzero

#include <algorithm>

namespace l45::tls::pki {
namespace {

constexpr NamedGroup kGroups[] = {NamedGroup::x25519, NamedGroup::secp256r1, NamedGroup::secp384r1};

constexpr std::size_t kX25519Len = 32;

struct NistCurve {
    int nid;
    const char* name;        // OSSL_PKEY_PARAM_GROUP_NAME
    std::size_t scalar_len;  // = field element length
};

[[nodiscard]] const NistCurve* nist_curve(NamedGroup group) {
    static constexpr NistCurve kP256{NID_X9_62_prime256v1, "prime256v1", 32};
    static constexpr NistCurve kP384{NID_secp384r1, "secp384r1", 48};
    switch (group) {
        case NamedGroup::secp256r1:
            return &kP256;
        case NamedGroup::secp384r1:
            return &kP384;
        default:
            return nullptr;
    }
}

[[nodiscard]] Unexpected<TlsError> internal() {
    ossl::clear_errors();
    return fail(Alert::internal_error, ErrorOrigin::internal);
}
[[nodiscard]] Unexpected<TlsError> peer_fault() {
    ossl::clear_errors();
    return fail(Alert::illegal_parameter);
}

// Wipes a stack buffer holding private key bytes when it goes out of scope.
template <std::size_t N>
struct WipedBytes {
    std::array<std::uint8_t, N> bytes{};
    ~WipedBytes() { explicit_bzero(bytes.data(), bytes.size()); }
};

// An EC key pair from a scalar k in [1, n-1]: OpenSSL computes the public
// point k*G; both go into an EVP_PKEY through EVP_PKEY_fromdata.
[[nodiscard]] bool make_ec_key(const NistCurve& curve, const EC_GROUP* group, const BIGNUM* k,
                               ossl::PkeyPtr& out_key, MutableByteSpan out_public,
                               std::size_t& out_public_len) {
    ossl::Ptr<BN_CTX> bn_ctx(BN_CTX_secure_new());
    ossl::Ptr<EC_POINT> point(EC_POINT_new(group));
    if (!bn_ctx || !point) return false;
    if (EC_POINT_mul(group, point.get(), k, nullptr, nullptr, bn_ctx.get()) != 1) return false;
    const std::size_t len = EC_POINT_point2oct(group, point.get(), POINT_CONVERSION_UNCOMPRESSED,
                                               out_public.data(), out_public.size(), bn_ctx.get());
    if (len != 1 + 2 * curve.scalar_len) return false;

    ossl::Ptr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.name, 0) !=
            1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, k) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, out_public.data(),
                                         len) != 1)
        return false;
    ossl::Ptr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
    ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return false;
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEYPAIR, params.get()) != 1) return false;
    out_key.reset(key);
    out_public_len = len;
    return true;
}

// The peer's uncompressed point as an EVP_PKEY; OpenSSL rejects coordinates
// outside the field and points not on the curve while decoding.
[[nodiscard]] ossl::PkeyPtr ec_public_key(const NistCurve& curve, ByteSpan point) {
    ossl::Ptr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.name, 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1)
        return nullptr;
    ossl::Ptr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
    ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
    return ossl::PkeyPtr(key);
}

}  // namespace

bool key_share_supported(NamedGroup group) {
    return std::find(std::begin(kGroups), std::end(kGroups), group) != std::end(kGroups);
}

std::size_t key_share_public_len(NamedGroup group) {
    if (group == NamedGroup::x25519) return kX25519Len;
    if (const NistCurve* curve = nist_curve(group)) return 1 + 2 * curve->scalar_len;
    return 0;
}

std::span<const NamedGroup> supported_groups() {
    return kGroups;
}

TlsResult<KeyShare> KeyShare::generate(NamedGroup group, Random& rng) {
    if (group == NamedGroup::x25519) {
        // RFC 7748 §6.1: any 32 random bytes; X25519 clamps them.
        WipedBytes<kX25519Len> priv;
        rng.fill(priv.bytes);
        return from_private(group, priv.bytes);
    }
    const NistCurve* curve = nist_curve(group);
    if (curve == nullptr) return internal();
    ossl::Ptr<EC_GROUP> ec_group(EC_GROUP_new_by_curve_name(curve->nid));
    if (!ec_group) return internal();
    const BIGNUM* order = EC_GROUP_get0_order(ec_group.get());
    ossl::Ptr<BIGNUM> k(BN_secure_new());
    if (!k || order == nullptr) return internal();
    // Rejection sampling (FIPS 186-5 A.2.2 style): a candidate outside
    // [1, n-1] is drawn again, so the scalar is uniform. For P-256 and P-384
    // n is within 2^-32 of 2^bits, so a retry is vanishingly rare; 64 failed
    // draws in a row mean a broken random source.
    WipedBytes<48> buf;
    const std::span<std::uint8_t> draw(buf.bytes.data(), curve->scalar_len);
    for (int attempt = 0; attempt < 64; ++attempt) {
        rng.fill(draw);
        if (BN_bin2bn(draw.data(), static_cast<int>(draw.size()), k.get()) == nullptr)
            return internal();
        if (BN_is_zero(k.get()) || BN_cmp(k.get(), order) >= 0) continue;
        KeyShare share(group, nullptr);
        if (!make_ec_key(*curve, ec_group.get(), k.get(), share.key_, share.public_,
                         share.public_len_))
            return internal();
        return share;
    }
    return internal();
}

TlsResult<KeyShare> KeyShare::from_private(NamedGroup group, ByteSpan private_key) {
    if (group == NamedGroup::x25519) {
        if (private_key.size() != kX25519Len) return internal();
        ossl::PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                                       private_key.size()));
        if (!key) return internal();
        KeyShare share(group, std::move(key));
        std::size_t len = share.public_.size();
        if (EVP_PKEY_get_raw_public_key(share.key_.get(), share.public_.data(), &len) != 1 ||
            len != kX25519Len)
            return internal();
        share.public_len_ = len;
        return share;
    }
    const NistCurve* curve = nist_curve(group);
    if (curve == nullptr || private_key.size() != curve->scalar_len) return internal();
    ossl::Ptr<EC_GROUP> ec_group(EC_GROUP_new_by_curve_name(curve->nid));
    ossl::Ptr<BIGNUM> k(BN_secure_new());
    if (!ec_group || !k) return internal();
    const BIGNUM* order = EC_GROUP_get0_order(ec_group.get());
    if (BN_bin2bn(private_key.data(), static_cast<int>(private_key.size()), k.get()) == nullptr ||
        BN_is_zero(k.get()) || BN_cmp(k.get(), order) >= 0)
        return internal();
    KeyShare share(group, nullptr);
    if (!make_ec_key(*curve, ec_group.get(), k.get(), share.key_, share.public_, share.public_len_))
        return internal();
    return share;
}

TlsResult<Secret> KeyShare::derive(ByteSpan peer_public) const {
    if (!key_) return internal();
    // §4.2.8: the share must have exactly the group's length.
    if (peer_public.size() != key_share_public_len(group_)) return peer_fault();

    ossl::PkeyPtr peer;
    if (group_ == NamedGroup::x25519) {
        peer.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public.data(),
                                               peer_public.size()));
    } else {
        // §4.2.8.2: the uncompressed form (legacy_form = 4) only.
        if (peer_public[0] != 0x04) return peer_fault();
        peer = ec_public_key(*nist_curve(group_), peer_public);
    }
    if (!peer) return peer_fault();

    ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return internal();
    // validate_peer = 1: OpenSSL's public key check (on the curve, not
    // infinity, right order for the NIST curves) before deriving.
    if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 1) != 1) return peer_fault();

    std::size_t len = 0;
    if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len == 0 || len > kMaxSecretLen)
        return internal();
    Secret secret;
    secret.resize(len);
    if (EVP_PKEY_derive(ctx.get(), secret.mutable_view().data(), &len) != 1) {
        // With a well-formed share the only way X25519 fails is the all-zero
        // result OpenSSL refuses (RFC 7748 §6.1): the peer sent a low-order
        // point. For the NIST curves the point was validated above.
        if (group_ == NamedGroup::x25519) return peer_fault();
        return internal();
    }
    secret.resize(len);
    // §7.4.2: "MUST check whether the computed Diffie-Hellman shared secret
    // is the all-zero value and abort if so" (OpenSSL does too; belt and
    // braces, in constant time).
    if (group_ == NamedGroup::x25519) {
        std::uint8_t acc = 0;
        for (std::uint8_t b : secret.view())
            acc = static_cast<std::uint8_t>(acc | b);
        if (acc == 0) return peer_fault();
    }
    // §7.4.1: for the NIST curves OpenSSL's ECDH output is already the X
    // coordinate, left-padded to the field size.
    return secret;
}

}  // namespace l45::tls::pki
