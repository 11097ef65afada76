// Helpers for the TLS 1.3 connection tests: certificates of every key type,
// a client/server pair pumped in memory, a record rewriter that plays the
// misbehaving peer with the secrets from the key log.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stack/base/random.h"
#include "tests/support/vectors.h"
#include "tls/handshake/connection.h"
#include "tls/pki/certificate.h"

namespace l45::tls::test {

using Bytes = std::vector<std::uint8_t>;

enum class KeyType { ecdsa_p256, ecdsa_p384, rsa2048, ed25519 };
inline const char* key_type_name(KeyType t) {
    switch (t) {
        case KeyType::ecdsa_p256:
            return "P256";
        case KeyType::ecdsa_p384:
            return "P384";
        case KeyType::rsa2048:
            return "RSA2048";
        case KeyType::ed25519:
            return "Ed25519";
    }
    return "?";
}

inline std::string pem_of(X509* cert) {
    pki::ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}
inline std::string pem_of(EVP_PKEY* key) {
    pki::ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

inline pki::ossl::PkeyPtr keygen(KeyType t) {
    switch (t) {
        case KeyType::ecdsa_p256:
            return pki::ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        case KeyType::ecdsa_p384:
            return pki::ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
        case KeyType::rsa2048:
            return pki::ossl::PkeyPtr(
                EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048}));
        case KeyType::ed25519:
            return pki::ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    }
    return nullptr;
}

// A CA (from tls/pki's generator, ECDSA P-256) and a leaf of `type` for
// `name`, issued by that CA.
struct TestPki {
    std::string ca_pem;
    std::string chain_pem;
    std::string key_pem;
};

inline TestPki make_pki(KeyType type, const std::string& name) {
    pki::SelfSignedOptions opt;
    opt.names = {name};
    auto base = pki::generate_self_signed(opt);
    EXPECT_TRUE(base.has_value());
    TestPki out;
    out.ca_pem = base->ca_cert_pem;
    if (type == KeyType::ecdsa_p256) {
        out.chain_pem = base->chain_pem;
        out.key_pem = base->key_pem;
        return out;
    }
    pki::ossl::BioPtr cb(BIO_new_mem_buf(base->ca_cert_pem.data(), -1));
    pki::ossl::X509Ptr ca(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    pki::ossl::BioPtr kb(BIO_new_mem_buf(base->ca_key_pem.data(), -1));
    pki::ossl::PkeyPtr ca_key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    auto key = keygen(type);
    pki::ossl::X509Ptr leaf(X509_new());
    X509_set_version(leaf.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(leaf.get()), 2);
    X509_gmtime_adj(X509_getm_notBefore(leaf.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(leaf.get()), 3600L * 24 * 30);
    X509_set_pubkey(leaf.get(), key.get());
    X509_NAME* subj = X509_get_subject_name(leaf.get());
    X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(leaf.get(), X509_get_subject_name(ca.get()));
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca.get(), leaf.get(), nullptr, nullptr, 0);
    const std::string san = "DNS:" + name;
    for (auto [nid, value] :
         std::vector<std::pair<int, std::string>>{{NID_subject_alt_name, san},
                                                  {NID_basic_constraints, "critical,CA:FALSE"},
                                                  {NID_key_usage, "critical,digitalSignature"},
                                                  {NID_ext_key_usage, "serverAuth"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
        X509_add_ext(leaf.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    EXPECT_GT(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()), 0);
    out.chain_pem = pem_of(leaf.get());
    out.key_pem = pem_of(key.get());
    return out;
}

// One credential per key type, made once per test binary.
struct Fixture {
    TestPki pki;
    pki::CredentialSelector creds;
};
inline Fixture& fixture(KeyType type, const std::string& name = "server.l45.test") {
    static std::map<std::pair<KeyType, std::string>, std::unique_ptr<Fixture>> cache;
    auto& f = cache[{type, name}];
    if (!f) {
        f = std::make_unique<Fixture>();
        f->pki = make_pki(type, name);
        auto cred = pki::Credential::from_pem(f->pki.chain_pem, f->pki.key_pem);
        EXPECT_TRUE(cred.has_value());
        f->creds.add(std::move(*cred));
    }
    return *f;
}

inline CryptoEngine& engine() {
    static auto e = CryptoEngine::create();
    return **e;
}

// Secrets from a key-log sink, by label.
struct KeyLog {
    std::map<std::string, Bytes> secrets;
    KeyLogSink sink() {
        return [this](std::string_view line) {
            const auto sp1 = line.find(' ');
            const auto sp2 = line.find(' ', sp1 + 1);
            secrets[std::string(line.substr(0, sp1))] = l45::test::from_hex(line.substr(sp2 + 1));
        };
    }
};

// A client and a server in memory.
struct Pair {
    SeededRandom client_rng{1};
    SeededRandom server_rng{2};
    pki::CertificateVerifier verifier;
    Config client_cfg, server_cfg;
    std::unique_ptr<Connection> client, server;
    KeyLog client_log, server_log;
    std::optional<TlsError> client_error, server_error;

    explicit Pair(KeyType type = KeyType::ecdsa_p256,
                  const std::string& cert_name = "server.l45.test", const std::string& ca_pem = "")
        : verifier(pki::CertificateVerifier::from_ca_pem(
                       ca_pem.empty() ? fixture(type, cert_name).pki.ca_pem : ca_pem)
                       .value()) {
        client_cfg.role = Role::client;
        client_cfg.server_name = "server.l45.test";
        client_cfg.verifier = &verifier;
        client_cfg.random = &client_rng;
        client_cfg.key_log = client_log.sink();
        server_cfg.role = Role::server;
        server_cfg.credentials = &fixture(type, cert_name).creds;
        server_cfg.random = &server_rng;
        server_cfg.key_log = server_log.sink();
    }
    void start() {
        auto c = Connection::create(client_cfg, engine());
        auto s = Connection::create(server_cfg, engine());
        ASSERT_TRUE(c.has_value());
        ASSERT_TRUE(s.has_value());
        client = std::move(*c);
        server = std::move(*s);
    }
    // Moves a's output into b, `chunk` bytes per receive call. Returns
    // whether anything moved. Application data read on the way goes to sink.
    static bool deliver(Connection& a, Connection& b, std::size_t chunk, Bytes* sink,
                        std::optional<TlsError>& b_error) {
        bool moved = false;
        for (;;) {
            const ByteSpan out = a.pending_output();
            if (out.empty() || b_error || b.failed()) break;
            auto r = b.receive(out.first(std::min(chunk, out.size())));
            if (!r) {
                b_error = r.error();
                break;
            }
            a.consume_output(*r);
            if (*r != 0) moved = true;
            if (b.readable() != 0) {
                std::uint8_t buf[16384];
                const std::size_t n = b.read(buf);
                if (sink) sink->insert(sink->end(), buf, buf + n);
                moved = true;
            } else if (*r == 0) {
                break;
            }
        }
        return moved;
    }
    void pump(std::size_t chunk = SIZE_MAX, Bytes* client_sink = nullptr,
              Bytes* server_sink = nullptr) {
        for (int i = 0; i < 1000000; ++i) {
            const bool a = deliver(*client, *server, chunk, server_sink, server_error);
            const bool b = deliver(*server, *client, chunk, client_sink, client_error);
            if (!a && !b) break;
        }
    }
    void handshake(std::size_t chunk = SIZE_MAX) {
        start();
        pump(chunk);
    }
};

// Plaintext alert or records: the first alert in `wire` readable without
// keys (a plaintext alert record), if any.
inline std::optional<Alert> plaintext_alert(ByteSpan wire) {
    while (wire.size() >= 5) {
        const std::size_t len = load_be16(wire.data() + 3);
        if (wire.size() < 5 + len) break;
        if (wire[0] == 21 && len == 2) return static_cast<Alert>(wire[6]);
        wire = wire.subspan(5 + len);
    }
    return std::nullopt;
}

}  // namespace l45::tls::test
