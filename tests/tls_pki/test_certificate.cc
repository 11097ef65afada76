// X.509: CertificateVerifier (OpenSSL X509_STORE path validation, RFC 6125
// names, purpose, injected time) with generated CAs and leaves; the alert
// each failure maps to; CertificateChain/Credential loading; SNI selection
// (RFC 6066 §3, RFC 8446 §4.4.2.2); generate_self_signed's output.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tests/tls_pki/pki_test_util.h"
#include "tls/pki/certificate.h"

namespace l45::tls::pki {
namespace {

using test::alert_of;
using test::Bytes;

constexpr std::time_t kT0 = 1700000000;  // 2023-11-14, the generated notBefore
constexpr std::time_t kDay = 86400;

SelfSignedPki make_pki(std::vector<std::string> names, bool server_auth = true,
                       bool intermediate = false) {
    SelfSignedOptions opt;
    opt.names = std::move(names);
    opt.not_before = kT0;
    opt.server_auth = server_auth;
    opt.intermediate = intermediate;
    auto pki = generate_self_signed(opt);
    EXPECT_TRUE(pki);
    return pki ? *pki : SelfSignedPki{};
}

// The Certificate message's cert_data list, as the handshake will hand it in.
struct Chain {
    std::vector<Bytes> der;
    std::vector<ByteSpan> spans() const { return {der.begin(), der.end()}; }
};

Chain chain_of(const std::string& pem) {
    auto chain = CertificateChain::from_pem(pem);
    EXPECT_TRUE(chain);
    Chain out;
    if (!chain) return out;
    for (std::size_t i = 0; i < chain->num_certs(); ++i)
        out.der.emplace_back(chain->der(i).begin(), chain->der(i).end());
    return out;
}

CertificateVerifier verifier_for(const SelfSignedPki& pki, std::time_t at) {
    auto v = CertificateVerifier::from_ca_pem(pki.ca_cert_pem);
    EXPECT_TRUE(v);
    v->set_time(at);
    return std::move(*v);
}

TlsResult<PublicKey> run(const CertificateVerifier& v, const Chain& chain, std::string_view host) {
    const auto spans = chain.spans();
    return v.verify(spans, host);
}

class Verifier : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        pki_ = new SelfSignedPki(
            make_pki({"server.l45.test", "alt.l45.test", "198.18.0.1", "2001:db8::1"}));
        other_ = new SelfSignedPki(make_pki({"server.l45.test"}));
    }
    static void TearDownTestSuite() {
        delete pki_;
        delete other_;
        pki_ = other_ = nullptr;
    }
    static SelfSignedPki* pki_;
    static SelfSignedPki* other_;
};
SelfSignedPki* Verifier::pki_ = nullptr;
SelfSignedPki* Verifier::other_ = nullptr;

TEST_F(Verifier, ValidChainReturnsLeafKey) {
    const auto v = verifier_for(*pki_, kT0 + kDay);
    auto key = run(v, chain_of(pki_->chain_pem), "server.l45.test");
    ASSERT_TRUE(key);
    auto leaf_key = PrivateKey::from_pem(pki_->key_pem);
    ASSERT_TRUE(leaf_key);
    EXPECT_EQ(EVP_PKEY_eq(key->get(), leaf_key->get()), 1);
    EXPECT_TRUE(key->fits(SignatureScheme::ecdsa_secp256r1_sha256));
    // Every SAN entry, DNS names case-insensitively; IP literals as iPAddress.
    EXPECT_TRUE(run(v, chain_of(pki_->chain_pem), "alt.l45.test"));
    EXPECT_TRUE(run(v, chain_of(pki_->chain_pem), "SERVER.L45.Test"));
    EXPECT_TRUE(run(v, chain_of(pki_->chain_pem), "198.18.0.1"));
    EXPECT_TRUE(run(v, chain_of(pki_->chain_pem), "2001:db8:0::1"));
    // Just inside both ends of the validity period.
    EXPECT_TRUE(run(verifier_for(*pki_, kT0 + 1), chain_of(pki_->chain_pem), "server.l45.test"));
    EXPECT_TRUE(run(verifier_for(*pki_, kT0 + 365 * kDay - 1), chain_of(pki_->chain_pem),
                    "server.l45.test"));
}

TEST_F(Verifier, WrongHostIsBadCertificate) {
    const auto v = verifier_for(*pki_, kT0 + kDay);
    const Chain chain = chain_of(pki_->chain_pem);
    for (const char* host : {"other.l45.test", "l45.test", "x.server.l45.test", "server.l45.tes",
                             "198.18.0.2", "2001:db8::2", "*.l45.test"}) {
        EXPECT_EQ(alert_of(run(v, chain, host)), Alert::bad_certificate) << host;
    }
}

TEST_F(Verifier, HostWithNulIsRefused) {
    const auto v = verifier_for(*pki_, kT0 + kDay);
    EXPECT_EQ(alert_of(run(v, chain_of(pki_->chain_pem), std::string_view("198.18.0.1\0x", 12))),
              Alert::internal_error);
    EXPECT_EQ(
        alert_of(run(v, chain_of(pki_->chain_pem), std::string_view("server.l45.test\0x", 17))),
        Alert::internal_error);
}

TEST_F(Verifier, ExpiredAndNotYetValid) {
    const Chain chain = chain_of(pki_->chain_pem);
    EXPECT_EQ(alert_of(run(verifier_for(*pki_, kT0 + 365 * kDay + 1), chain, "server.l45.test")),
              Alert::certificate_expired);
    EXPECT_EQ(alert_of(run(verifier_for(*pki_, kT0 + 5 * 365 * kDay), chain, "server.l45.test")),
              Alert::certificate_expired);
    EXPECT_EQ(alert_of(run(verifier_for(*pki_, kT0 - 1), chain, "server.l45.test")),
              Alert::certificate_expired);
    EXPECT_EQ(alert_of(run(verifier_for(*pki_, kT0 - 30 * kDay), chain, "server.l45.test")),
              Alert::certificate_expired);
    // The generated certificates are valid today by default (back-dated an
    // hour), and the system clock is used when no time is injected.
    auto now_pki = generate_self_signed(SelfSignedOptions{.names = {"now.l45.test"}});
    ASSERT_TRUE(now_pki);
    auto v = CertificateVerifier::from_ca_pem(now_pki->ca_cert_pem);
    ASSERT_TRUE(v);
    EXPECT_TRUE(run(*v, chain_of(now_pki->chain_pem), "now.l45.test"));
    v->set_time(kT0);
    EXPECT_EQ(alert_of(run(*v, chain_of(now_pki->chain_pem), "now.l45.test")),
              Alert::certificate_expired);
    v->use_system_time();
    EXPECT_TRUE(run(*v, chain_of(now_pki->chain_pem), "now.l45.test"));
}

TEST_F(Verifier, UntrustedIssuerIsUnknownCa) {
    // Signed by a CA the verifier does not trust.
    const auto v = verifier_for(*other_, kT0 + kDay);
    EXPECT_EQ(alert_of(run(v, chain_of(pki_->chain_pem), "server.l45.test")), Alert::unknown_ca);
    // A self-signed certificate that is not a trust anchor.
    EXPECT_EQ(alert_of(run(v, chain_of(pki_->ca_cert_pem), "")), Alert::unknown_ca);
    // The OS trust store does not know our CA either.
    auto system = CertificateVerifier::from_system_default();
    ASSERT_TRUE(system);
    system->set_time(kT0 + kDay);
    EXPECT_EQ(alert_of(run(*system, chain_of(pki_->chain_pem), "server.l45.test")),
              Alert::unknown_ca);
}

TEST_F(Verifier, TamperedSignatureIsBadCertificate) {
    const auto v = verifier_for(*pki_, kT0 + kDay);
    Chain chain = chain_of(pki_->chain_pem);
    // The last byte is inside the ECDSA signature's s: still DER, no longer
    // a valid signature.
    chain.der[0].back() ^= 0x01;
    EXPECT_EQ(alert_of(run(v, chain, "server.l45.test")), Alert::bad_certificate);
}

TEST_F(Verifier, WrongPurposeIsUnsupportedCertificate) {
    const SelfSignedPki client_pki = make_pki({"client.l45.test"}, /*server_auth=*/false);
    auto v = verifier_for(client_pki, kT0 + kDay);
    const Chain chain = chain_of(client_pki.chain_pem);
    EXPECT_EQ(alert_of(run(v, chain, "client.l45.test")), Alert::unsupported_certificate);
    // The same certificate is fine as a client certificate...
    v.set_peer_role(PeerRole::client);
    EXPECT_TRUE(run(v, chain, ""));
    // ...and a serverAuth-only one is not.
    auto v2 = verifier_for(*pki_, kT0 + kDay);
    v2.set_peer_role(PeerRole::client);
    EXPECT_EQ(alert_of(run(v2, chain_of(pki_->chain_pem), "")), Alert::unsupported_certificate);
}

TEST(VerifierChain, IntermediateCa) {
    const SelfSignedPki pki = make_pki({"deep.l45.test"}, true, /*intermediate=*/true);
    ASSERT_FALSE(pki.intermediate_cert_pem.empty());
    const Chain chain = chain_of(pki.chain_pem);
    ASSERT_EQ(chain.der.size(), 2u);
    const auto v = verifier_for(pki, kT0 + kDay);
    EXPECT_TRUE(run(v, chain, "deep.l45.test"));
    // Without the intermediate there is no path to the root.
    Chain leaf_only;
    leaf_only.der.push_back(chain.der[0]);
    EXPECT_EQ(alert_of(run(v, leaf_only, "deep.l45.test")), Alert::unknown_ca);
    // Trusting only the intermediate is not enough either (no partial chains).
    auto mid_only = CertificateVerifier::from_ca_pem(pki.intermediate_cert_pem);
    ASSERT_TRUE(mid_only);
    mid_only->set_time(kT0 + kDay);
    EXPECT_EQ(alert_of(run(*mid_only, chain, "deep.l45.test")), Alert::unknown_ca);
    // The intermediate's own certificate used as a server leaf: CA:TRUE,
    // keyCertSign only, no serverAuth.
    Chain mid_as_leaf;
    mid_as_leaf.der.push_back(chain.der[1]);
    EXPECT_EQ(alert_of(run(v, mid_as_leaf, "")), Alert::unsupported_certificate);
}

TEST_F(Verifier, MalformedDerIsDecodeError) {
    const auto v = verifier_for(*pki_, kT0 + kDay);
    const Chain good = chain_of(pki_->chain_pem);
    EXPECT_EQ(alert_of(v.verify({}, "server.l45.test")), Alert::decode_error);

    Chain trailing = good;
    trailing.der[0].push_back(0x00);
    EXPECT_EQ(alert_of(run(v, trailing, "server.l45.test")), Alert::decode_error);

    Chain truncated = good;
    truncated.der[0].resize(truncated.der[0].size() / 2);
    EXPECT_EQ(alert_of(run(v, truncated, "server.l45.test")), Alert::decode_error);

    Chain garbage_intermediate = good;
    garbage_intermediate.der.push_back(Bytes{0x30, 0x03, 0x02, 0x01, 0x01});
    EXPECT_EQ(alert_of(run(v, garbage_intermediate, "server.l45.test")), Alert::decode_error);

    Chain empty_entry;
    empty_entry.der.push_back({});
    EXPECT_EQ(alert_of(run(v, empty_entry, "server.l45.test")), Alert::decode_error);
}

TEST_F(Verifier, InsecureSkipVerifyOnlyParses) {
    const auto v = CertificateVerifier::insecure_skip_verify();
    EXPECT_TRUE(v.insecure());
    // Untrusted, wrong name, (real clock, so validity is not consulted
    // either): all accepted; the leaf key is still returned.
    auto key = run(v, chain_of(other_->chain_pem), "not-the-name.example");
    ASSERT_TRUE(key);
    auto other_key = PrivateKey::from_pem(other_->key_pem);
    ASSERT_TRUE(other_key);
    EXPECT_EQ(EVP_PKEY_eq(key->get(), other_key->get()), 1);
    // Malformed input is still refused.
    Chain bad = chain_of(other_->chain_pem);
    bad.der[0].resize(10);
    EXPECT_EQ(alert_of(run(v, bad, "")), Alert::decode_error);
    auto secure = CertificateVerifier::from_ca_pem(pki_->ca_cert_pem);
    ASSERT_TRUE(secure);
    EXPECT_FALSE(secure->insecure());
}

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("l45_pki_" + std::to_string(::getpid()) + "_" + name);
}

TEST_F(Verifier, TrustStoreFromFileAndHashedDirectory) {
    const auto file = temp_path("ca.pem");
    const auto dir = temp_path("certs");
    { std::ofstream(file) << other_->ca_cert_pem << pki_->ca_cert_pem; }
    std::filesystem::create_directories(dir);
    // c_rehash layout: <subject hash>.0
    ossl::BioPtr bio(
        BIO_new_mem_buf(pki_->ca_cert_pem.data(), static_cast<int>(pki_->ca_cert_pem.size())));
    ossl::X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(ca);
    char hashed[32];
    std::snprintf(hashed, sizeof hashed, "%08lx.0", X509_subject_name_hash(ca.get()));
    { std::ofstream(dir / hashed) << pki_->ca_cert_pem; }

    auto from_file = CertificateVerifier::from_ca_file(file.string());
    auto from_dir = CertificateVerifier::from_ca_dir(dir.string());
    std::filesystem::remove(file);
    ASSERT_TRUE(from_file);
    ASSERT_TRUE(from_dir);
    from_file->set_time(kT0 + kDay);
    from_dir->set_time(kT0 + kDay);
    EXPECT_TRUE(run(*from_file, chain_of(pki_->chain_pem), "server.l45.test"));
    EXPECT_TRUE(run(*from_file, chain_of(other_->chain_pem), "server.l45.test"));
    EXPECT_TRUE(run(*from_dir, chain_of(pki_->chain_pem), "server.l45.test"));
    EXPECT_EQ(alert_of(run(*from_dir, chain_of(other_->chain_pem), "server.l45.test")),
              Alert::unknown_ca);
    std::filesystem::remove_all(dir);

    EXPECT_EQ(alert_of(CertificateVerifier::from_ca_file("/nonexistent/ca.pem")),
              Alert::internal_error);
    EXPECT_EQ(alert_of(CertificateVerifier::from_ca_dir("/nonexistent/certs")),
              Alert::internal_error);
    EXPECT_EQ(alert_of(CertificateVerifier::from_ca_pem("not a certificate")),
              Alert::internal_error);
}

// --- CertificateChain / Credential ---

TEST(CertificateChain, LoadsPemAndMatchesKey) {
    const SelfSignedPki pki = make_pki({"chain.l45.test"}, true, true);
    auto chain = CertificateChain::from_pem(pki.chain_pem);
    ASSERT_TRUE(chain);
    ASSERT_EQ(chain->num_certs(), 2u);
    // Leaf first: its key is the leaf key, not the intermediate's.
    auto key = PrivateKey::from_pem(pki.key_pem);
    ASSERT_TRUE(key);
    EXPECT_TRUE(chain->check_private_key(*key));
    EXPECT_EQ(EVP_PKEY_eq(chain->leaf_public_key().get(), key->get()), 1);
    auto ca_key = PrivateKey::from_pem(pki.ca_key_pem);
    ASSERT_TRUE(ca_key);
    EXPECT_EQ(alert_of(chain->check_private_key(*ca_key)), Alert::internal_error);
    EXPECT_TRUE(chain->matches_host("chain.l45.test"));
    EXPECT_FALSE(chain->matches_host("l45.test"));

    EXPECT_TRUE(Credential::from_pem(pki.chain_pem, pki.key_pem));
    EXPECT_EQ(alert_of(Credential::from_pem(pki.chain_pem, pki.ca_key_pem)), Alert::internal_error);

    const auto cert_file = temp_path("chain.pem");
    const auto key_file = temp_path("key.pem");
    std::ofstream(cert_file) << pki.chain_pem;
    std::ofstream(key_file) << pki.key_pem;
    auto cred = Credential::from_pem_files(cert_file.string(), key_file.string());
    std::filesystem::remove(cert_file);
    std::filesystem::remove(key_file);
    ASSERT_TRUE(cred);
    EXPECT_EQ(cred->chain.num_certs(), 2u);

    EXPECT_EQ(alert_of(CertificateChain::from_pem("")), Alert::internal_error);
    EXPECT_EQ(alert_of(CertificateChain::from_pem_file("/nonexistent.pem")), Alert::internal_error);
    // A corrupt second block is an error, not a silently shorter chain.
    const std::string corrupt =
        pki.chain_pem + "-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n";
    EXPECT_EQ(alert_of(CertificateChain::from_pem(corrupt)), Alert::internal_error);
}

// --- SNI ---

Credential credential_for(const std::vector<std::string>& names) {
    const SelfSignedPki pki = make_pki(names);
    auto cred = Credential::from_pem(pki.chain_pem, pki.key_pem);
    EXPECT_TRUE(cred);
    return std::move(*cred);
}

TEST(CredentialSelector, ExactWildcardAndDefault) {
    CredentialSelector sel;
    EXPECT_EQ(sel.select("a.l45.test"), nullptr);
    const std::size_t a = sel.add(credential_for({"a.l45.test"}));
    const std::size_t wild = sel.add(credential_for({"*.wild.l45.test"}));
    const std::size_t exact = sel.add(credential_for({"exact.wild.l45.test", "198.18.0.9"}));
    auto pick = [&](std::optional<std::string_view> sni) -> std::size_t {
        const Credential* c = sel.select(sni);
        return c == nullptr ? 999 : static_cast<std::size_t>(c - &sel.at(0));
    };
    EXPECT_EQ(pick(std::nullopt), a);
    EXPECT_EQ(pick(""), a);
    EXPECT_EQ(pick("a.l45.test"), a);
    EXPECT_EQ(pick("A.L45.TEST"), a);
    EXPECT_EQ(pick("x.wild.l45.test"), wild);
    EXPECT_EQ(pick("X.Wild.l45.test"), wild);
    // Exact beats wildcard even though the wildcard was configured first.
    EXPECT_EQ(pick("exact.wild.l45.test"), exact);
    // One level only, and the bare parent is not covered.
    EXPECT_EQ(pick("a.b.wild.l45.test"), a);
    EXPECT_EQ(pick("wild.l45.test"), a);
    EXPECT_EQ(pick("unknown.example"), a);
    EXPECT_EQ(pick(std::string_view("a.l45.test\0evil", 15)), a);
    sel.set_default(wild);
    EXPECT_EQ(pick("unknown.example"), wild);
    EXPECT_EQ(pick(std::nullopt), wild);
    EXPECT_EQ(pick("a.l45.test"), a);
}

// --- generate_self_signed ---

TEST(GenerateSelfSigned, CertificateContents) {
    const SelfSignedPki pki = make_pki({"gen.l45.test", "198.18.0.7"});
    ossl::BioPtr bio(BIO_new_mem_buf(pki.chain_pem.data(), static_cast<int>(pki.chain_pem.size())));
    ossl::X509Ptr leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    ossl::BioPtr ca_bio(
        BIO_new_mem_buf(pki.ca_cert_pem.data(), static_cast<int>(pki.ca_cert_pem.size())));
    ossl::X509Ptr ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(leaf && ca);

    EXPECT_EQ(X509_check_ca(ca.get()), 1);
    EXPECT_EQ(X509_check_ca(leaf.get()), 0);
    EXPECT_TRUE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER);
    EXPECT_TRUE(X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE);
    EXPECT_EQ(X509_check_host(leaf.get(), "gen.l45.test", 0, 0, nullptr), 1);
    EXPECT_EQ(X509_check_ip_asc(leaf.get(), "198.18.0.7", 0), 1);
    EXPECT_EQ(X509_check_issued(ca.get(), leaf.get()), X509_V_OK);
    int days = 0, secs = 0;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf.get()),
                             X509_get0_notAfter(leaf.get())),
              1);
    EXPECT_EQ(days, 365);
    EXPECT_EQ(secs, 0);
    EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf.get()), kT0), 0);
    // ECDSA P-256 keys, SHA-256 signatures.
    EXPECT_EQ(X509_get_signature_nid(leaf.get()), NID_ecdsa_with_SHA256);
    auto key = PrivateKey::from_pem(pki.key_pem);
    ASSERT_TRUE(key);
    const auto schemes = key->supported_schemes();
    ASSERT_EQ(schemes.size(), 1u);
    EXPECT_EQ(schemes[0], SignatureScheme::ecdsa_secp256r1_sha256);
    // Two runs give different keys and serials.
    const SelfSignedPki again = make_pki({"gen.l45.test"});
    EXPECT_NE(again.key_pem, pki.key_pem);
    EXPECT_NE(again.ca_cert_pem, pki.ca_cert_pem);
}

TEST(GenerateSelfSigned, RejectsBadOptions) {
    EXPECT_EQ(alert_of(generate_self_signed({})), Alert::internal_error);
    EXPECT_EQ(alert_of(generate_self_signed(SelfSignedOptions{.names = {""}})),
              Alert::internal_error);
    // A comma or space could smuggle extra SAN entries into a config string.
    EXPECT_EQ(alert_of(generate_self_signed(SelfSignedOptions{.names = {"a.test,DNS:evil"}})),
              Alert::internal_error);
    EXPECT_EQ(alert_of(generate_self_signed(SelfSignedOptions{.names = {"a b"}})),
              Alert::internal_error);
    EXPECT_EQ(
        alert_of(generate_self_signed(SelfSignedOptions{.names = {"ok.test"}, .validity_days = 0})),
        Alert::internal_error);
}

}  // namespace
}  // namespace l45::tls::pki
