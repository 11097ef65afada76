// Record protection throughput: l45's RecordSealer/RecordOpener (whole TLS
// 1.3 records) against raw IPsec-MB and OpenSSL EVP on the same buffers, plus
// l45's batched path (AeadBatch across several connections).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tls/record/aead.h"
#include "tls/types.h"

namespace l45::bench {

struct RecordOptions {
    double seconds = 0.6;
    double warmup = 0.15;
    std::vector<std::size_t> sizes = {1024, 16384};
    std::vector<std::size_t> batch_sizes = {8, 16};
    std::vector<tls::CipherSuite> suites = {tls::CipherSuite::aes_128_gcm_sha256,
                                            tls::CipherSuite::aes_256_gcm_sha384,
                                            tls::CipherSuite::chacha20_poly1305_sha256};
    // Implementations to time (RecordResult::impl names); empty: all of them.
    std::vector<std::string> impls;
    // Operations to time ("seal", "open"); empty: both.
    std::vector<std::string> ops;
};

// One figure: payload bytes (the record's content, not header/type/tag)
// processed per second by one core.
struct RecordResult {
    tls::CipherSuite suite;
    std::size_t size;
    std::string op;    // "seal" | "open"
    std::string impl;  // "l45", "ipsec-mb", "ipsec-mb-direct", "openssl", "l45-batch"
    std::size_t batch = 1;
    double gbytes_per_s = 0;
};

// Checks first that every implementation agrees with OpenSSL on the bytes it
// produces (so the timed work is the real work), then measures. Progress
// goes to stderr. Exits the process on any failure.
[[nodiscard]] std::vector<RecordResult> run_record_bench(tls::CryptoEngine& engine,
                                                         const RecordOptions& options);

}  // namespace l45::bench
