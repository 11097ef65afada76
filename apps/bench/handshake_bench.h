// Full TLS 1.3 handshakes per second on one core, in memory, and the bound
// set by the asymmetric crypto each handshake needs (timed with OpenSSL
// directly in the same run).
#pragma once

#include <cstdint>

namespace l45::tls {
class CryptoEngine;
}

namespace l45::bench {

struct HandshakeOptions {
    double seconds = 0.6;
    double warmup = 0.15;
    // Only the server's asymmetric operations (keygen, derive, sign): the
    // bound other programs compare a server with. The handshake and client
    // figures stay 0.
    bool server_asym_only = false;
};

struct HandshakeResult {
    std::uint64_t handshakes = 0;
    double full_per_s = 0;    // client + server Connections pumped on one core
    double server_per_s = 0;  // time spent in the server's Connection only
    double client_per_s = 0;  // the rest (client Connection + pumping)
    // The same again after mallopt() stops glibc from giving freed memory
    // back to the kernel (so each Connection's buffers are not page-faulted
    // in afresh): what a long-running process with warm heaps sees.
    double full_per_s_warm_heap = 0;
    double server_per_s_warm_heap = 0;
    // Microseconds per operation, OpenSSL directly.
    double x25519_keygen_us = 0;
    double x25519_derive_us = 0;
    double ecdsa_sign_us = 0;
    double ecdsa_verify_us = 0;
    double chain_verify_us = 0;
    [[nodiscard]] double server_asym_us() const {
        return x25519_keygen_us + x25519_derive_us + ecdsa_sign_us;
    }
    [[nodiscard]] double client_asym_us() const {
        return x25519_keygen_us + x25519_derive_us + ecdsa_verify_us + chain_verify_us;
    }
};

// X25519 + ECDSA P-256 (a fresh self-signed CA + leaf), TLS_AES_128_GCM_SHA256,
// full certificate verification by the client. Exits the process on failure.
[[nodiscard]] HandshakeResult run_handshake_bench(tls::CryptoEngine& engine,
                                                  const HandshakeOptions& options);

}  // namespace l45::bench
