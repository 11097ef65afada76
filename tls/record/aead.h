// AEAD record protection through Intel IPsec-MB 1.3 (RFC 8446 §5.2, §5.3).
//
// Read first: RFC 8446 §5.2 (AEAD in TLS 1.3), §5.3 (per-record nonce),
// RFC 5116 (AEAD interface), RFC 8439 (ChaCha20-Poly1305).
//
// Three pieces:
//  - CryptoEngine: one per lcore (or per thread), owns the IMB_MGR. Never
//    shared between cores: IPsec-MB managers are not thread-safe. Passed by
//    reference to every operation so that nothing hides a thread_local.
//  - AeadContext: one per direction per key epoch. install() expands the key
//    ONCE (AES round keys and GHASH hash-key powers); seal()/open() then work
//    in place on caller-owned buffers and never allocate.
//  - AeadBatch: submit several seal/open operations (across connections) to
//    the IPsec-MB job API, then flush; completions come back per operation.
//
// The expanded GCM key layout depends on the code path IPsec-MB picked
// (SSE/AVX2/AVX-512), so a context must be used with an engine of the same
// architecture as the one that installed it; every engine created with
// EngineArch::best on one machine qualifies.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/record/suite.h"
#include "tls/types.h"

struct IMB_MGR;

namespace l45::tls {

// The IPsec-MB code path. `best` asks init_mb_mgr_auto(); the others force a
// lower path (for crossing backends in tests) and fail when the CPU lacks it.
enum class EngineArch : std::uint8_t { best, no_aesni, sse, avx, avx2, avx512 };

class CryptoEngine {
  public:
    // Set-up path: allocates the IMB_MGR (alloc_mb_mgr). internal_error when
    // the library or the requested architecture is unavailable.
    [[nodiscard]] static TlsResult<std::unique_ptr<CryptoEngine>> create(
        EngineArch arch = EngineArch::best);
    ~CryptoEngine();
    CryptoEngine(const CryptoEngine&) = delete;
    CryptoEngine& operator=(const CryptoEngine&) = delete;

    [[nodiscard]] EngineArch arch() const { return arch_; }
    [[nodiscard]] IMB_MGR* mgr() const { return mgr_; }

  private:
    CryptoEngine(IMB_MGR* mgr, EngineArch arch) : mgr_(mgr), arch_(arch) {}
    IMB_MGR* mgr_;
    EngineArch arch_;
};

// Key material for one direction: expanded key plus the 12-byte static IV.
// Wiped on clear() and destruction.
class AeadContext {
  public:
    AeadContext() = default;
    ~AeadContext() { clear(); }
    AeadContext(const AeadContext&) = delete;
    AeadContext& operator=(const AeadContext&) = delete;

    // Expands `key` for `engine`'s architecture. key.size() must match the
    // suite's key_len and iv.size() must be 12, else internal_error.
    [[nodiscard]] TlsResult<void> install(CryptoEngine& engine, CipherSuite suite, ByteSpan key,
                                          ByteSpan iv);
    void clear();
    [[nodiscard]] bool installed() const { return installed_; }
    [[nodiscard]] AeadAlgorithm algorithm() const { return algorithm_; }

    // RFC 8446 §5.3: the 64-bit sequence number, big-endian, left-padded to
    // 12 bytes and XORed with the static IV.
    void nonce(std::uint64_t seq, std::span<std::uint8_t, kAeadNonceLen> out) const;

    // Encrypts `data` in place and writes the 16-byte tag. Any length
    // (including 0) is accepted; the record layer enforces TLS limits.
    [[nodiscard]] TlsResult<void> seal(CryptoEngine& engine, std::uint64_t seq, ByteSpan aad,
                                       MutableByteSpan data,
                                       std::span<std::uint8_t, kAeadTagLen> out_tag) const;
    // Decrypts `data` in place and checks `tag` in constant time. On
    // bad_record_mac, `data` is zeroed so unauthenticated plaintext never
    // escapes.
    [[nodiscard]] TlsResult<void> open(CryptoEngine& engine, std::uint64_t seq, ByteSpan aad,
                                       MutableByteSpan data,
                                       std::span<const std::uint8_t, kAeadTagLen> tag) const;
    // open() over a scatter list (a record whose ciphertext spans several
    // received mbufs): each slice is decrypted in place through IPsec-MB's
    // init/update/finalize API, which carries partial blocks (GCM) and
    // unused keystream (ChaCha20-Poly1305) from one update to the next, so
    // slices may have any length. The tag check is the same constant-time
    // compare; on bad_record_mac every slice is zeroed.
    [[nodiscard]] TlsResult<void> open_slices(CryptoEngine& engine, std::uint64_t seq, ByteSpan aad,
                                              std::span<const MutableByteSpan> data,
                                              std::span<const std::uint8_t, kAeadTagLen> tag) const;

  private:
    friend class AeadBatch;
    [[nodiscard]] bool usable_with(const CryptoEngine& engine) const;

    // struct gcm_key_data is 1008 bytes and wants 64-byte alignment (the
    // header only asks for it when LINUX is defined, so we align it here).
    // For ChaCha20-Poly1305 the first 32 bytes hold the raw key.
    static constexpr std::size_t kKeyDataLen = 1024;
    alignas(64) std::array<std::uint8_t, kKeyDataLen> key_data_{};
    std::array<std::uint8_t, kAeadNonceLen> iv_{};
    AeadAlgorithm algorithm_ = AeadAlgorithm::aes_128_gcm;
    EngineArch arch_ = EngineArch::best;
    bool installed_ = false;
};

enum class AeadDirection : std::uint8_t { seal, open };
enum class AeadOpStatus : std::uint8_t { pending, ok, bad_record_mac, internal_error };

// One operation of a batch. Caller-owned; it must stay alive (and must not
// move) from AeadBatch::submit() until flush() returns: the job API keeps
// pointers to its nonce and tag scratch.
struct AeadOp {
    // --- inputs ---
    const AeadContext* ctx = nullptr;
    AeadDirection direction = AeadDirection::seal;
    std::uint64_t seq = 0;
    ByteSpan aad;
    MutableByteSpan data;         // transformed in place
    std::uint8_t* tag = nullptr;  // 16 bytes: written by seal, expected by open
    void* user = nullptr;         // for the caller (e.g. the connection)
    // --- output ---
    AeadOpStatus status = AeadOpStatus::pending;
    // --- scratch used by the engine ---
    std::array<std::uint8_t, kAeadNonceLen> nonce{};
    alignas(16) std::array<std::uint8_t, kAeadTagLen> computed_tag{};
};

// Batched seal/open over the IPsec-MB job API. One batch at a time per
// engine. submit() hands the job to IPsec-MB at once (multi-buffer code paths
// may hold it until more jobs arrive); flush() forces every submitted job to
// completion. Each op's status is final once flush() returns.
class AeadBatch {
  public:
    explicit AeadBatch(CryptoEngine& engine) : engine_(engine) {}
    ~AeadBatch();  // flushes, so no job outlives its op
    AeadBatch(const AeadBatch&) = delete;
    AeadBatch& operator=(const AeadBatch&) = delete;

    // Validates and submits; an op that cannot be submitted (no key, wrong
    // engine) completes immediately with internal_error. Never blocks.
    void submit(AeadOp& op);
    // Completes every submitted op; returns how many did not end `ok`.
    std::size_t flush();
    [[nodiscard]] std::size_t in_flight() const { return in_flight_; }

  private:
    void complete(void* job);
    CryptoEngine& engine_;
    std::size_t in_flight_ = 0;
    std::size_t failed_ = 0;
};

}  // namespace l45::tls
