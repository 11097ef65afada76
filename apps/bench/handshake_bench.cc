// See handshake_bench.h.
//
// The handshake loop is the one of tests/tls_handshake/harness.h, reduced to
// what a benchmark needs: the client's output goes whole into the server's
// receive() and back until both sides are established. Every call into the
// server's Connection (create, receive, pending_output/consume_output,
// destruction) is timed separately, which gives a server-only rate.
#include "apps/bench/handshake_bench.h"

#include <malloc.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "apps/bench/timing.h"
#include "stack/base/random.h"
#include "tls/handshake/connection.h"
#include "tls/pki/certificate.h"

namespace l45::bench {
namespace {

using namespace l45::tls;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "l45-tls-bench: %s\n", what);
    std::exit(2);
}

constexpr const char* kServerName = "server.l45.test";

// ---- one in-memory handshake ----
class HandshakeRig {
  public:
    HandshakeRig(CryptoEngine& engine, const pki::SelfSignedPki& pki)
        : engine_(engine),
          verifier_(pki::CertificateVerifier::from_ca_pem(pki.ca_cert_pem).value()) {
        auto cred = pki::Credential::from_pem(pki.chain_pem, pki.key_pem);
        if (!cred) die("credential load failed");
        creds_.add(std::move(*cred));
        client_cfg_.role = Role::client;
        client_cfg_.cipher_suites = {CipherSuite::aes_128_gcm_sha256};
        client_cfg_.groups = {NamedGroup::x25519};
        client_cfg_.server_name = kServerName;
        client_cfg_.verifier = &verifier_;
        client_cfg_.random = &random_;
        server_cfg_.role = Role::server;
        server_cfg_.cipher_suites = {CipherSuite::aes_128_gcm_sha256};
        server_cfg_.groups = {NamedGroup::x25519};
        server_cfg_.credentials = &creds_;
        server_cfg_.random = &random_;
    }

    // One full handshake; returns the total and the server's share.
    PassTime run() {
        Stopwatch total, srv;
        double server_s = 0;
        total.start();
        auto c = Connection::create(client_cfg_, engine_);
        srv.start();
        auto s = Connection::create(server_cfg_, engine_);
        server_s += srv.stop();
        if (!c || !s) die("Connection::create failed");
        Connection& client = **c;
        Connection& server = **s;
        for (int round = 0; round < 16; ++round) {
            bool moved = false;
            // client -> server
            for (ByteSpan out = client.pending_output(); !out.empty();
                 out = client.pending_output()) {
                srv.start();
                auto r = server.receive(out);
                server_s += srv.stop();
                if (!r) die("server failed during the handshake");
                if (*r == 0) break;
                client.consume_output(*r);
                moved = true;
            }
            // server -> client
            for (;;) {
                srv.start();
                const ByteSpan out = server.pending_output();
                server_s += srv.stop();
                if (out.empty()) break;
                auto r = client.receive(out);
                if (!r) die("client failed during the handshake");
                if (*r == 0) break;
                srv.start();
                server.consume_output(*r);
                server_s += srv.stop();
                moved = true;
            }
            if (client.handshake_complete() && server.handshake_complete()) break;
            if (!moved) die("handshake stalled");
        }
        if (!client.handshake_complete() || !server.handshake_complete())
            die("handshake did not complete");
        if (client.negotiated().suite != CipherSuite::aes_128_gcm_sha256 ||
            client.negotiated().group != NamedGroup::x25519 ||
            client.negotiated().signature_scheme != SignatureScheme::ecdsa_secp256r1_sha256)
            die("unexpected negotiation");
        c->reset();
        srv.start();
        s->reset();
        server_s += srv.stop();
        return {total.stop(), server_s};
    }

  private:
    CryptoEngine& engine_;
    SystemRandom random_;
    pki::CertificateVerifier verifier_;
    pki::CredentialSelector creds_;
    Config client_cfg_, server_cfg_;
};

// ---- the asymmetric operations, with OpenSSL directly ----
class AsymOps {
  public:
    explicit AsymOps(const pki::SelfSignedPki& pki) {
        peer_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
        std::size_t len = peer_pub_.size();
        if (!peer_ || EVP_PKEY_get_raw_public_key(peer_.get(), peer_pub_.data(), &len) != 1)
            die("X25519 keygen failed");
        mine_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));

        pki::ossl::BioPtr kb(
            BIO_new_mem_buf(pki.key_pem.data(), static_cast<int>(pki.key_pem.size())));
        sign_key_.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
        auto chain = pki::CertificateChain::from_pem(pki.chain_pem);
        if (!sign_key_ || !chain) die("loading the leaf failed");
        leaf_der_.assign(chain->der(0).begin(), chain->der(0).end());
        verify_key_ = pki::ossl::PkeyPtr(X509_get_pubkey(chain->leaf()));

        pki::ossl::BioPtr cb(
            BIO_new_mem_buf(pki.ca_cert_pem.data(), static_cast<int>(pki.ca_cert_pem.size())));
        pki::ossl::X509Ptr ca(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
        store_.reset(X509_STORE_new());
        if (!ca || !store_ || X509_STORE_add_cert(store_.get(), ca.get()) != 1)
            die("trust store failed");

        // §4.4.3 signed content: 64 spaces, context string, 0, SHA-256 hash.
        content_.assign(64, 0x20);
        const std::string ctx = "TLS 1.3, server CertificateVerify";
        content_.insert(content_.end(), ctx.begin(), ctx.end());
        content_.push_back(0);
        content_.resize(content_.size() + 32, 0xab);
        signature_len_ = sign_into(signature_);
        if (!verify()) die("ECDSA self-check failed");
        if (!verify_chain()) die("chain verification self-check failed");
    }

    // Key generation and the public value that goes into key_share.
    void keygen() {
        pki::ossl::PkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
        std::array<std::uint8_t, 32> pub{};
        std::size_t len = pub.size();
        if (!k || EVP_PKEY_get_raw_public_key(k.get(), pub.data(), &len) != 1)
            die("X25519 keygen failed");
        keep(pub);
    }
    // Import the peer's share and derive.
    void derive() {
        pki::ossl::PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr,
                                                            peer_pub_.data(), peer_pub_.size()));
        pki::ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(mine_.get(), nullptr));
        std::array<std::uint8_t, 32> secret{};
        std::size_t len = secret.size();
        if (!peer || !ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
            EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
            EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1)
            die("X25519 derive failed");
        keep(secret);
    }
    // Signs into scratch: the signature that verify() checks stays the one
    // made at start-up (ECDSA DER signatures vary in length).
    std::size_t sign() { return sign_into(scratch_); }
    std::size_t sign_into(std::array<std::uint8_t, 128>& out) {
        pki::ossl::MdCtxPtr md(EVP_MD_CTX_new());
        std::size_t len = out.size();
        if (!md ||
            EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, sign_key_.get()) != 1 ||
            EVP_DigestSign(md.get(), out.data(), &len, content_.data(), content_.size()) != 1)
            die("ECDSA sign failed");
        keep(out);
        return len;
    }
    bool verify() {
        pki::ossl::MdCtxPtr md(EVP_MD_CTX_new());
        return md &&
               EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, verify_key_.get()) ==
                   1 &&
               EVP_DigestVerify(md.get(), signature_.data(), signature_len_, content_.data(),
                                content_.size()) == 1;
    }
    // What the client does with the Certificate message: parse the leaf,
    // build and check the path to the CA, check the host name.
    bool verify_chain() {
        const unsigned char* p = leaf_der_.data();
        pki::ossl::X509Ptr leaf(d2i_X509(nullptr, &p, static_cast<long>(leaf_der_.size())));
        pki::ossl::StoreCtxPtr ctx(X509_STORE_CTX_new());
        if (!leaf || !ctx ||
            X509_STORE_CTX_init(ctx.get(), store_.get(), leaf.get(), nullptr) != 1 ||
            X509_STORE_CTX_set_default(ctx.get(), "ssl_server") != 1)
            return false;
        X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
        if (X509_VERIFY_PARAM_set1_host(param, kServerName, 0) != 1) return false;
        return X509_verify_cert(ctx.get()) == 1;
    }

  private:
    pki::ossl::PkeyPtr peer_, mine_, sign_key_, verify_key_;
    std::array<std::uint8_t, 32> peer_pub_{};
    pki::ossl::StorePtr store_;
    std::vector<std::uint8_t> leaf_der_;
    std::vector<std::uint8_t> content_;
    std::array<std::uint8_t, 128> signature_{}, scratch_{};
    std::size_t signature_len_ = 0;
};

}  // namespace

HandshakeResult run_handshake_bench(CryptoEngine& engine, const HandshakeOptions& options) {
    pki::SelfSignedOptions opt;
    opt.names = {kServerName};
    auto pki = pki::generate_self_signed(opt);
    if (!pki) die("generate_self_signed failed");

    HandshakeResult res;
    if (!options.server_asym_only) {
        // Connection::create sizes every buffer (output, handshake message,
        // ...) and zero-fills it; with glibc's defaults the heap top is
        // trimmed after each handshake, so the next one faults those pages
        // in again. Measured first as is, then with trimming off.
        HandshakeRig rig(engine, *pki);
        Measurement m = measure(options.seconds, options.warmup, 1, [&] { return rig.run(); });
        res.handshakes = m.units;
        res.full_per_s = m.per_second();
        res.server_per_s = m.aux_per_second();
        res.client_per_s = m.units / (m.counted - m.aux);
        std::fprintf(stderr, "  handshake: %.0f/s full, %.0f/s server-only (%llu handshakes)\n",
                     res.full_per_s, res.server_per_s,
                     static_cast<unsigned long long>(res.handshakes));
        // mallopt is glibc's; sanitizer allocators refuse it (then the warm
        // heap figures stay 0 and print as such).
        if (mallopt(M_MMAP_THRESHOLD, 64 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1) {
            m = measure(options.seconds, options.warmup, 1, [&] { return rig.run(); });
            res.full_per_s_warm_heap = m.per_second();
            res.server_per_s_warm_heap = m.aux_per_second();
            std::fprintf(stderr, "  handshake (warm heap): %.0f/s full, %.0f/s server-only\n",
                         res.full_per_s_warm_heap, res.server_per_s_warm_heap);
        } else {
            std::fprintf(stderr, "  mallopt refused: no warm-heap handshake figures\n");
        }
    }

    AsymOps ops(*pki);
    auto time_op = [&](const char* name, auto&& fn) {
        Stopwatch sw;
        const Measurement m = measure(options.seconds, options.warmup, 1, [&] {
            sw.start();
            fn();
            return PassTime{sw.stop(), 0};
        });
        const double us = 1e6 / m.per_second();
        std::fprintf(stderr, "  %-28s %8.2f us\n", name, us);
        return us;
    };
    res.x25519_keygen_us = time_op("X25519 keygen", [&] { ops.keygen(); });
    res.x25519_derive_us = time_op("X25519 derive", [&] { ops.derive(); });
    res.ecdsa_sign_us = time_op("ECDSA P-256 sign", [&] { (void)ops.sign(); });
    if (options.server_asym_only) return res;
    res.ecdsa_verify_us = time_op("ECDSA P-256 verify", [&] {
        if (!ops.verify()) die("ECDSA verify failed");
    });
    res.chain_verify_us = time_op("X.509 chain verify", [&] {
        if (!ops.verify_chain()) die("chain verify failed");
    });
    return res;
}

}  // namespace l45::bench
