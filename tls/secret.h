// Secret bytes (traffic secrets, keys, ECDHE shared secrets): fixed capacity,
// no heap, wiped when destroyed, and never printable. Compare with ct_equal.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace l45::tls {

// The largest secret TLS 1.3 needs here: a SHA-384 output, or a P-384/X25519
// shared secret (48 and 32 bytes); 66 covers a P-521 shared secret.
inline constexpr std::size_t kMaxSecretLen = 66;

class Secret {
  public:
    Secret() = default;
    // Bytes beyond kMaxSecretLen leave the secret empty (see assign).
    explicit Secret(std::span<const std::uint8_t> bytes) { static_cast<void>(assign(bytes)); }
    Secret(const Secret& other) { static_cast<void>(assign(other.view())); }
    Secret& operator=(const Secret& other) {
        if (this != &other) static_cast<void>(assign(other.view()));
        return *this;
    }
    ~Secret() { wipe(); }

    // Returns false (and stores nothing) when bytes exceed the capacity.
    [[nodiscard]] bool assign(std::span<const std::uint8_t> bytes) {
        if (bytes.size() > kMaxSecretLen) return false;
        wipe();
        for (std::size_t i = 0; i < bytes.size(); ++i)
            bytes_[i] = bytes[i];
        len_ = bytes.size();
        return true;
    }
    // For writing into directly: resize, then fill mutable_view().
    void resize(std::size_t len) { len_ = len <= kMaxSecretLen ? len : kMaxSecretLen; }

    [[nodiscard]] std::span<const std::uint8_t> view() const { return {bytes_.data(), len_}; }
    [[nodiscard]] std::span<std::uint8_t> mutable_view() { return {bytes_.data(), len_}; }
    [[nodiscard]] std::size_t size() const { return len_; }
    [[nodiscard]] bool empty() const { return len_ == 0; }

  private:
    // Volatile stores cannot be elided as dead, like explicit_bzero, but carry
    // no nonnull attribute for GCC 12 + UBSan to misreport under -Werror.
    void wipe() {
        volatile std::uint8_t* p = bytes_.data();
        for (std::size_t i = 0; i < bytes_.size(); ++i)
            p[i] = 0;
    }

    std::array<std::uint8_t, kMaxSecretLen> bytes_{};
    std::size_t len_ = 0;
};

// Constant-time equality: the time depends on the length only, never on
// where the inputs differ (for MACs, Finished verify_data, tags).
[[nodiscard]] inline bool ct_equal(std::span<const std::uint8_t> a,
                                   std::span<const std::uint8_t> b) {
    if (a.size() != b.size()) return false;
    volatile std::uint8_t diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff = diff | (a[i] ^ b[i]);
    return diff == 0;
}

}  // namespace l45::tls
