// SHA-256 of a byte stream fed in pieces (OpenSSL's EVP digest), for wire
// tests that check a transfer end to end: each side hashes what it sent or
// received, and the digests must match.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace l45::test {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
  public:
    Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::span<const std::uint8_t> d) { EVP_DigestUpdate(ctx_, d.data(), d.size()); }
    Digest final() {
        Digest out{};
        unsigned len = 0;
        EVP_DigestFinal_ex(ctx_, out.data(), &len);
        return out;
    }

  private:
    EVP_MD_CTX* ctx_;
};

inline std::string hex(const Digest& d) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    s.reserve(2 * d.size());
    for (auto b : d) {
        s += kDigits[b >> 4];
        s += kDigits[b & 15];
    }
    return s;
}

}  // namespace l45::test
