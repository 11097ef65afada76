// Shared set-up of the handshake fuzz targets: one credential and engine
// made once; each input is split into receive() calls by its first byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "stack/base/random.h"
#include "tls/handshake/connection.h"
#include "tls/pki/certificate.h"

namespace l45::tls::fuzz {

struct Env {
    std::unique_ptr<CryptoEngine> engine;
    pki::CredentialSelector creds;
    std::optional<pki::CertificateVerifier> verifier;
    Env() {
        engine = CryptoEngine::create().value();
        pki::SelfSignedOptions opt;
        opt.names = {"fuzz.l45.test"};
        auto pki = pki::generate_self_signed(opt);
        creds.add(pki::Credential::from_pem(pki->chain_pem, pki->key_pem).value());
        verifier.emplace(pki::CertificateVerifier::from_ca_pem(pki->ca_cert_pem).value());
    }
};

inline void run(Role role, const std::uint8_t* data, std::size_t size) {
    static Env env;
    if (size == 0) return;
    SeededRandom rng(1);
    Config cfg;
    cfg.role = role;
    cfg.random = &rng;
    cfg.credentials = &env.creds;
    cfg.verifier = &*env.verifier;
    cfg.server_name = "fuzz.l45.test";
    auto conn = Connection::create(cfg, *env.engine);
    if (!conn) __builtin_trap();
    const std::size_t chunk = data[0] == 0 ? size : data[0];
    ByteSpan in(data + 1, size - 1);
    std::uint8_t buf[4096];
    while (!in.empty()) {
        auto r = (*conn)->receive(in.first(std::min(chunk, in.size())));
        (*conn)->consume_output((*conn)->pending_output().size());
        if (!r) break;
        while ((*conn)->readable())
            (void)(*conn)->read(buf);
        if (*r == 0 && (*conn)->readable() == 0) break;
        in = in.subspan(*r);
    }
}

}  // namespace l45::tls::fuzz
