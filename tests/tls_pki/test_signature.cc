// CertificateVerify signatures: Wycheproof ECDSA (P-256, P-384), Ed25519 and
// RSA-PSS verification, RFC 8448's server (RSA-PSS §3/§5, ECDSA §6) and
// client (§6) CertificateVerify messages, sign/verify round trips for every
// key type, and the scheme/key mismatch rules of RFC 8446 §4.4.3.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "stack/base/bytes.h"
#include "tests/tls_pki/pki_test_util.h"
#include "tls/pki/certificate.h"
#include "tls/pki/signature.h"

namespace l45::tls::pki {
namespace {

using test::alert_of;
using test::Bytes;
using test::hex;
using S = SignatureScheme;

// --- Wycheproof: verify_message over raw messages ---

struct WycheproofCount {
    int valid = 0;
    int invalid = 0;
};

WycheproofCount run_wycheproof(const char* file, S scheme) {
    const auto doc = l45::test::load_json(std::string("vectors/wycheproof/") + file);
    WycheproofCount count;
    for (const auto& group : doc.at("testGroups")) {
        auto key = PublicKey::from_spki_der(hex(group.at("publicKeyDer").get<std::string>()));
        EXPECT_TRUE(key) << file;
        if (!key) continue;
        EXPECT_TRUE(key->fits(scheme));
        for (const auto& t : group.at("tests")) {
            SCOPED_TRACE(std::string(file) + " tcId " + std::to_string(t.at("tcId").get<int>()));
            const Bytes msg = hex(t.at("msg").get<std::string>());
            const Bytes sig = hex(t.at("sig").get<std::string>());
            const std::string result = t.at("result");
            auto r = verify_message(*key, scheme, msg, sig);
            if (result == "valid") {
                ++count.valid;
                EXPECT_TRUE(r);
            } else if (result == "invalid") {
                ++count.invalid;
                EXPECT_EQ(alert_of(r), Alert::decrypt_error);
            }
        }
    }
    return count;
}

TEST(SignatureWycheproof, EcdsaP256Sha256) {
    const auto n = run_wycheproof("ecdsa_secp256r1_sha256_test.json", S::ecdsa_secp256r1_sha256);
    EXPECT_GT(n.valid, 50);
    EXPECT_GT(n.invalid, 100);
}

TEST(SignatureWycheproof, EcdsaP384Sha384) {
    const auto n = run_wycheproof("ecdsa_secp384r1_sha384_test.json", S::ecdsa_secp384r1_sha384);
    EXPECT_GT(n.valid, 50);
    EXPECT_GT(n.invalid, 100);
}

TEST(SignatureWycheproof, Ed25519) {
    const auto n = run_wycheproof("ed25519_test.json", S::ed25519);
    EXPECT_GT(n.valid, 50);
    EXPECT_GT(n.invalid, 30);
}

// rsa_pss_2048_sha256_mgf1_32: salt length 32 = the hash length, MGF1-SHA256,
// exactly rsa_pss_rsae_sha256's parameters (§4.2.3).
TEST(SignatureWycheproof, RsaPss2048Sha256) {
    const auto n = run_wycheproof("rsa_pss_2048_sha256_mgf1_32_test.json", S::rsa_pss_rsae_sha256);
    EXPECT_GT(n.valid, 30);
    EXPECT_GT(n.invalid, 30);
}

// --- RFC 8448 CertificateVerify messages ---

Bytes sha(const EVP_MD* md, const Bytes& data) {
    Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
    unsigned int len = 0;
    EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr), 1);
    out.resize(len);
    return out;
}

void append(Bytes& out, const Bytes& in) {
    out.insert(out.end(), in.begin(), in.end());
}

// The leaf cert_data of a Certificate handshake message (§4.4.2), read with
// the project's Reader.
Bytes leaf_of(const Bytes& certificate_msg) {
    Reader r(certificate_msg);
    std::uint8_t type = 0;
    Reader body, context, list, entry_cert;
    EXPECT_TRUE(r.u8(type) && r.u24_prefixed(body) && r.empty());
    EXPECT_EQ(type, 11);
    EXPECT_TRUE(body.u8_prefixed(context) && body.u24_prefixed(list));
    EXPECT_TRUE(list.u24_prefixed(entry_cert));
    return {entry_cert.rest().begin(), entry_cert.rest().end()};
}

struct CertVerifyMsg {
    S scheme{};
    Bytes signature;
};

CertVerifyMsg parse_cv(const Bytes& msg) {
    Reader r(msg);
    std::uint8_t type = 0;
    std::uint16_t scheme = 0;
    Reader body, sig;
    EXPECT_TRUE(r.u8(type) && r.u24_prefixed(body) && r.empty());
    EXPECT_EQ(type, 15);
    EXPECT_TRUE(body.u16(scheme) && body.u16_prefixed(sig) && body.empty());
    return {static_cast<S>(scheme), Bytes(sig.rest().begin(), sig.rest().end())};
}

// The peer's public key, through the verifier's parse-only mode.
PublicKey leaf_key(const Bytes& certificate_msg) {
    const Bytes leaf = leaf_of(certificate_msg);
    const ByteSpan chain[] = {leaf};
    auto key = CertificateVerifier::insecure_skip_verify().verify(chain, "");
    EXPECT_TRUE(key);
    return key ? *key : PublicKey();
}

void expect_cv_verifies(const PublicKey& key, const CertVerifyMsg& cv, const Bytes& hash,
                        bool server) {
    EXPECT_TRUE(verify(key, cv.scheme, hash, server, cv.signature));
    // The other side's context string does not verify.
    EXPECT_EQ(alert_of(verify(key, cv.scheme, hash, !server, cv.signature)), Alert::decrypt_error);
    // One flipped byte anywhere in the signature fails.
    for (std::size_t i : {std::size_t{0}, cv.signature.size() / 2, cv.signature.size() - 1}) {
        Bytes bad = cv.signature;
        bad[i] ^= 0x01;
        EXPECT_EQ(alert_of(verify(key, cv.scheme, hash, server, bad)), Alert::decrypt_error) << i;
    }
    // A different transcript fails.
    Bytes other = hash;
    other[0] ^= 0x80;
    EXPECT_EQ(alert_of(verify(key, cv.scheme, other, server, cv.signature)), Alert::decrypt_error);
}

// RFC 8448 §3: RSA-PSS (rsa_pss_rsae_sha256) over ClientHello..Certificate.
TEST(SignatureRfc8448, SimpleServerCertificateVerify) {
    const auto trace = l45::test::load_json("vectors/rfc8448/simple_1rtt.json");
    Bytes transcript;
    append(transcript,
           test::rfc8448_value(trace, "client", "construct a ClientHello", "ClientHello"));
    append(transcript,
           test::rfc8448_value(trace, "server", "construct a ServerHello", "ServerHello"));
    append(transcript, test::rfc8448_value(trace, "server", "construct an EncryptedExtensions",
                                           "EncryptedExtensions"));
    const Bytes cert =
        test::rfc8448_value(trace, "server", "construct a Certificate", "Certificate");
    append(transcript, cert);
    const CertVerifyMsg cv = parse_cv(
        test::rfc8448_value(trace, "server", "construct a CertificateVerify", "CertificateVerify"));
    EXPECT_EQ(cv.scheme, S::rsa_pss_rsae_sha256);

    const PublicKey key = leaf_key(cert);
    ASSERT_FALSE(key.empty());
    EXPECT_TRUE(key.fits(S::rsa_pss_rsae_sha256));
    EXPECT_FALSE(key.fits(S::rsa_pkcs1_sha256));
    expect_cv_verifies(key, cv, sha(EVP_sha256(), transcript), true);
    // The right signature under a scheme that does not fit: illegal_parameter.
    EXPECT_EQ(alert_of(verify(key, S::ecdsa_secp256r1_sha256, sha(EVP_sha256(), transcript), true,
                              cv.signature)),
              Alert::illegal_parameter);
    EXPECT_EQ(alert_of(verify(key, S::rsa_pkcs1_sha256, sha(EVP_sha256(), transcript), true,
                              cv.signature)),
              Alert::illegal_parameter);
}

// RFC 8448 §5: after a HelloRetryRequest the transcript starts with
// message_hash = fe 00 00 20 || SHA-256(ClientHello1) (§4.4.1).
TEST(SignatureRfc8448, HrrServerCertificateVerify) {
    const auto trace = l45::test::load_json("vectors/rfc8448/hrr.json");
    const Bytes ch1 =
        test::rfc8448_value(trace, "client", "construct a ClientHello", "ClientHello", 0);
    Bytes transcript = {0xfe, 0x00, 0x00, 0x20};
    append(transcript, sha(EVP_sha256(), ch1));
    append(transcript,
           test::rfc8448_value(trace, "server", "construct a ServerHello", "ServerHello", 0));
    append(transcript,
           test::rfc8448_value(trace, "client", "construct a ClientHello", "ClientHello", 1));
    append(transcript,
           test::rfc8448_value(trace, "server", "construct a ServerHello", "ServerHello", 1));
    append(transcript, test::rfc8448_value(trace, "server", "construct an EncryptedExtensions",
                                           "EncryptedExtensions"));
    const Bytes cert =
        test::rfc8448_value(trace, "server", "construct a Certificate", "Certificate");
    append(transcript, cert);
    const CertVerifyMsg cv = parse_cv(
        test::rfc8448_value(trace, "server", "construct a CertificateVerify", "CertificateVerify"));
    expect_cv_verifies(leaf_key(cert), cv, sha(EVP_sha256(), transcript), true);
}

// RFC 8448 §6: the server signs with ECDSA P-256, the client with RSA-PSS
// (client context string, transcript through the server Finished and the
// client's Certificate).
TEST(SignatureRfc8448, ClientAuthBothCertificateVerifies) {
    const auto trace = l45::test::load_json("vectors/rfc8448/client_auth.json");
    Bytes transcript;
    append(transcript,
           test::rfc8448_value(trace, "client", "construct a ClientHello", "ClientHello"));
    append(transcript,
           test::rfc8448_value(trace, "server", "construct a ServerHello", "ServerHello"));
    append(transcript, test::rfc8448_value(trace, "server", "construct an EncryptedExtensions",
                                           "EncryptedExtensions"));
    append(transcript, test::rfc8448_value(trace, "server", "construct a CertificateRequest",
                                           "CertificateRequest"));
    const Bytes server_cert =
        test::rfc8448_value(trace, "server", "construct a Certificate", "Certificate");
    append(transcript, server_cert);
    const Bytes server_cv_msg =
        test::rfc8448_value(trace, "server", "construct a CertificateVerify", "CertificateVerify");
    const CertVerifyMsg server_cv = parse_cv(server_cv_msg);
    EXPECT_EQ(server_cv.scheme, S::ecdsa_secp256r1_sha256);
    const PublicKey server_key = leaf_key(server_cert);
    expect_cv_verifies(server_key, server_cv, sha(EVP_sha256(), transcript), true);
    // A P-256 key does not make P-384 signatures (§4.2.3: the curve is part
    // of the scheme).
    EXPECT_EQ(alert_of(verify(server_key, S::ecdsa_secp384r1_sha384, sha(EVP_sha256(), transcript),
                              true, server_cv.signature)),
              Alert::illegal_parameter);

    append(transcript, server_cv_msg);
    append(transcript, test::rfc8448_value(trace, "server", "construct a Finished", "Finished"));
    const Bytes client_cert =
        test::rfc8448_value(trace, "client", "construct a Certificate", "Certificate");
    append(transcript, client_cert);
    const CertVerifyMsg client_cv = parse_cv(
        test::rfc8448_value(trace, "client", "construct a CertificateVerify", "CertificateVerify"));
    expect_cv_verifies(leaf_key(client_cert), client_cv, sha(EVP_sha256(), transcript), false);
}

// --- signed content (§4.4.3) ---

TEST(Signature, SignedContentLayout) {
    const Bytes hash(32, 0x01);
    std::uint8_t buf[kMaxSignedContentLen];
    auto len = build_signed_content(hash, true, buf);
    ASSERT_TRUE(len);
    ASSERT_EQ(*len, 64u + 33u + 1u + 32u);
    for (int i = 0; i < 64; ++i)
        EXPECT_EQ(buf[i], 0x20);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf + 64), 33),
              "TLS 1.3, server CertificateVerify");
    EXPECT_EQ(buf[97], 0x00);
    EXPECT_EQ(Bytes(buf + 98, buf + 130), hash);
    ASSERT_TRUE(build_signed_content(hash, false, buf));
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf + 64), 33),
              "TLS 1.3, client CertificateVerify");

    std::uint8_t small[100];
    EXPECT_EQ(alert_of(build_signed_content(hash, true, small)), Alert::internal_error);
    EXPECT_EQ(alert_of(build_signed_content({}, true, buf)), Alert::internal_error);
    EXPECT_EQ(alert_of(build_signed_content(Bytes(65, 1), true, buf)), Alert::internal_error);
}

// --- round trips with fresh keys ---

ossl::PkeyPtr keygen(const char* type, const char* curve = nullptr, std::size_t bits = 0) {
    if (curve != nullptr) return ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, type, curve));
    if (bits != 0) return ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, type, bits));
    return ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
}

std::string to_pem(EVP_PKEY* key) {
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), 1);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

// Loads through PEM text, the way keys come from configuration.
PrivateKey load(EVP_PKEY* key) {
    auto pk = PrivateKey::from_pem(to_pem(key));
    EXPECT_TRUE(pk);
    return std::move(*pk);
}

struct KeyCase {
    const char* name;
    const char* type;
    const char* curve;
    std::size_t bits;
    std::vector<S> schemes;
};

class SignatureRoundTrip : public ::testing::TestWithParam<KeyCase> {};

TEST_P(SignatureRoundTrip, EverySchemeSignsAndVerifies) {
    const KeyCase& kc = GetParam();
    ossl::PkeyPtr raw = keygen(kc.type, kc.curve, kc.bits);
    ASSERT_TRUE(raw);
    const PrivateKey key = load(raw.get());
    const auto schemes = key.supported_schemes();
    EXPECT_EQ(std::vector<S>(schemes.begin(), schemes.end()), kc.schemes);
    const PublicKey pub = key.public_key();
    SystemRandom rng;
    for (S scheme : kc.schemes) {
        SCOPED_TRACE(static_cast<int>(scheme));
        EXPECT_TRUE(pub.fits(scheme));
        for (bool server : {true, false}) {
            Bytes hash(
                scheme == S::rsa_pss_rsae_sha384 || scheme == S::ecdsa_secp384r1_sha384 ? 48 : 32);
            rng.fill(hash);
            std::uint8_t sig[kMaxSignatureLen];
            auto len = key.sign(scheme, hash, server, sig);
            ASSERT_TRUE(len);
            ASSERT_LE(*len, key.max_signature_len());
            const CertVerifyMsg cv{scheme, Bytes(sig, sig + *len)};
            expect_cv_verifies(pub, cv, hash, server);
            // Too small an output buffer is our own error, not a crash.
            std::uint8_t tiny[8];
            EXPECT_EQ(alert_of(key.sign(scheme, hash, server, tiny)), Alert::internal_error);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Keys, SignatureRoundTrip,
    ::testing::Values(KeyCase{"P256", "EC", "P-256", 0, {S::ecdsa_secp256r1_sha256}},
                      KeyCase{"P384", "EC", "P-384", 0, {S::ecdsa_secp384r1_sha384}},
                      KeyCase{
                          "RSA2048",
                          "RSA",
                          nullptr,
                          2048,
                          {S::rsa_pss_rsae_sha256, S::rsa_pss_rsae_sha384, S::rsa_pss_rsae_sha512}},
                      KeyCase{"Ed25519", "ED25519", nullptr, 0, {S::ed25519}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// §4.4.3 / §4.2.3: a scheme that does not fit the key is illegal_parameter,
// both when we sign and when the peer claims it.
TEST(Signature, SchemeKeyMismatch) {
    ossl::PkeyPtr p256 = keygen("EC", "P-256");
    ossl::PkeyPtr rsa = keygen("RSA", nullptr, 2048);
    ossl::PkeyPtr ed = keygen("ED25519");
    ASSERT_TRUE(p256 && rsa && ed);
    const PrivateKey k256 = load(p256.get());
    const PrivateKey krsa = load(rsa.get());
    const PrivateKey ked = load(ed.get());
    const Bytes hash(32, 7);
    std::uint8_t sig[kMaxSignatureLen];

    EXPECT_EQ(alert_of(k256.sign(S::ecdsa_secp384r1_sha384, hash, true, sig)),
              Alert::illegal_parameter);
    EXPECT_EQ(alert_of(krsa.sign(S::rsa_pkcs1_sha256, hash, true, sig)), Alert::illegal_parameter);
    EXPECT_EQ(alert_of(krsa.sign(S::rsa_pss_pss_sha256, hash, true, sig)),
              Alert::illegal_parameter);
    EXPECT_EQ(alert_of(ked.sign(S::ecdsa_secp256r1_sha256, hash, true, sig)),
              Alert::illegal_parameter);

    auto len = k256.sign(S::ecdsa_secp256r1_sha256, hash, true, sig);
    ASSERT_TRUE(len);
    const Bytes ecdsa_sig(sig, sig + *len);
    EXPECT_TRUE(verify(k256.public_key(), S::ecdsa_secp256r1_sha256, hash, true, ecdsa_sig));
    EXPECT_EQ(alert_of(verify(k256.public_key(), S::ecdsa_secp384r1_sha384, hash, true, ecdsa_sig)),
              Alert::illegal_parameter);
    EXPECT_EQ(alert_of(verify(k256.public_key(), S::ecdsa_secp521r1_sha512, hash, true, ecdsa_sig)),
              Alert::illegal_parameter);
    EXPECT_EQ(alert_of(verify(k256.public_key(), S::ed25519, hash, true, ecdsa_sig)),
              Alert::illegal_parameter);
    EXPECT_EQ(alert_of(verify(krsa.public_key(), S::ecdsa_secp256r1_sha256, hash, true, ecdsa_sig)),
              Alert::illegal_parameter);

    // RSA PKCS#1 v1.5 is never a CertificateVerify scheme in TLS 1.3, even
    // with a genuine PKCS#1 signature from the right key.
    len = krsa.sign(S::rsa_pss_rsae_sha256, hash, true, sig);
    ASSERT_TRUE(len);
    for (S pkcs1 : {S::rsa_pkcs1_sha256, S::rsa_pkcs1_sha384, S::rsa_pkcs1_sha512}) {
        EXPECT_FALSE(scheme_allowed_in_certificate_verify(pkcs1));
        EXPECT_EQ(alert_of(verify(krsa.public_key(), pkcs1, hash, true, Bytes(sig, sig + *len))),
                  Alert::illegal_parameter);
    }
    // A PSS signature made with SHA-256 does not verify as SHA-384.
    EXPECT_EQ(alert_of(verify(krsa.public_key(), S::rsa_pss_rsae_sha384, hash, true,
                              Bytes(sig, sig + *len))),
              Alert::decrypt_error);
    // An empty key is our bug.
    EXPECT_EQ(alert_of(verify(PublicKey(), S::ed25519, hash, true, Bytes(64, 0))),
              Alert::internal_error);
    // Empty and garbage signatures are the peer's: decrypt_error.
    EXPECT_EQ(alert_of(verify(k256.public_key(), S::ecdsa_secp256r1_sha256, hash, true, {})),
              Alert::decrypt_error);
    EXPECT_EQ(
        alert_of(verify(krsa.public_key(), S::rsa_pss_rsae_sha256, hash, true, Bytes(100, 0x30))),
        Alert::decrypt_error);
}

TEST(Signature, ChooseScheme) {
    ossl::PkeyPtr rsa = keygen("RSA", nullptr, 2048);
    ossl::PkeyPtr p384 = keygen("EC", "P-384");
    ASSERT_TRUE(rsa && p384);
    const PrivateKey krsa = load(rsa.get());
    const PrivateKey k384 = load(p384.get());
    const S peer[] = {S::ecdsa_secp256r1_sha256, S::rsa_pss_rsae_sha512, S::rsa_pss_rsae_sha256};
    // Our preference (SHA-256 first), among what the peer offers.
    EXPECT_EQ(*choose_scheme(krsa, peer), S::rsa_pss_rsae_sha256);
    const S only512[] = {S::rsa_pss_rsae_sha512};
    EXPECT_EQ(*choose_scheme(krsa, only512), S::rsa_pss_rsae_sha512);
    const S pkcs1_only[] = {S::rsa_pkcs1_sha256, S::rsa_pkcs1_sha384};
    EXPECT_EQ(alert_of(choose_scheme(krsa, pkcs1_only)), Alert::handshake_failure);
    EXPECT_EQ(alert_of(choose_scheme(k384, peer)), Alert::handshake_failure);
    const S p384_ok[] = {S::ed25519, S::ecdsa_secp384r1_sha384};
    EXPECT_EQ(*choose_scheme(k384, p384_ok), S::ecdsa_secp384r1_sha384);
    EXPECT_EQ(alert_of(choose_scheme(k384, {})), Alert::handshake_failure);

    // The lists we advertise never contain PKCS#1 for CertificateVerify.
    for (S s : verify_schemes())
        EXPECT_TRUE(scheme_allowed_in_certificate_verify(s));
    EXPECT_GT(certificate_verify_schemes().size(), verify_schemes().size());
}

TEST(Signature, RefusedPrivateKeys) {
    // RSA-1024 is too small to be our key.
    ossl::PkeyPtr rsa1024 = keygen("RSA", nullptr, 1024);
    ASSERT_TRUE(rsa1024);
    EXPECT_EQ(alert_of(PrivateKey::from_pem(to_pem(rsa1024.get()))), Alert::internal_error);
    // P-521 and X25519 are not signing keys we support.
    ossl::PkeyPtr p521 = keygen("EC", "P-521");
    ossl::PkeyPtr x25519 = keygen("X25519");
    ASSERT_TRUE(p521 && x25519);
    EXPECT_EQ(alert_of(PrivateKey::from_pem(to_pem(p521.get()))), Alert::internal_error);
    EXPECT_EQ(alert_of(PrivateKey::from_pem(to_pem(x25519.get()))), Alert::internal_error);
    EXPECT_EQ(alert_of(PrivateKey::from_pem("")), Alert::internal_error);
    EXPECT_EQ(alert_of(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                                            "KEY-----\n")),
              Alert::internal_error);
    EXPECT_EQ(alert_of(PrivateKey::from_pem_file("/nonexistent/key.pem")), Alert::internal_error);

    // An encrypted key fails to load instead of prompting for a passphrase.
    ossl::PkeyPtr p256 = keygen("EC", "P-256");
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    static char pass[] = "secret";
    ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), p256.get(), EVP_aes_128_cbc(), pass, 6,
                                            nullptr, nullptr),
              1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    EXPECT_EQ(alert_of(PrivateKey::from_pem(std::string_view(data, static_cast<std::size_t>(n)))),
              Alert::internal_error);
}

TEST(Signature, PrivateKeyFromFile) {
    ossl::PkeyPtr ed = keygen("ED25519");
    ASSERT_TRUE(ed);
    const auto path = std::filesystem::temp_directory_path() /
                      ("l45_pki_key_" + std::to_string(::getpid()) + ".pem");
    {
        std::ofstream out(path);
        out << to_pem(ed.get());
    }
    auto key = PrivateKey::from_pem_file(path.string());
    std::filesystem::remove(path);
    ASSERT_TRUE(key);
    EXPECT_EQ(EVP_PKEY_eq(key->get(), ed.get()), 1);
}

TEST(Signature, PublicKeyParsing) {
    EXPECT_EQ(alert_of(PublicKey::from_spki_der({})), Alert::bad_certificate);
    EXPECT_EQ(alert_of(PublicKey::from_spki_der(Bytes(40, 0x30))), Alert::bad_certificate);
    // Trailing bytes after a valid SPKI are refused.
    Bytes spki =
        hex("302a300506032b65700321007d4d0e7f6153a69b6242b522abbee685fda4420f8834b108c3b"
            "dae369ef549fa");
    ASSERT_TRUE(PublicKey::from_spki_der(spki));
    spki.push_back(0);
    EXPECT_EQ(alert_of(PublicKey::from_spki_der(spki)), Alert::bad_certificate);
    auto pem = PublicKey::from_pem(
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAfU0Of2FTpptiQrUiq77mhf2kQg+INLEIw72uNp71Sfo=\n"
        "-----END PUBLIC KEY-----\n");
    ASSERT_TRUE(pem);
    EXPECT_TRUE(pem->fits(S::ed25519));
    // Copies share the key.
    PublicKey copy = *pem;
    EXPECT_EQ(copy.get(), pem->get());
}

}  // namespace
}  // namespace l45::tls::pki
