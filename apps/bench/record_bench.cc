// See record_bench.h. Every implementation works on the same ring of record
// buffers: 5-byte header | content | (l45: inner type) | 16-byte tag. The
// ring is small enough to stay in L2 (16 x 16 KiB or 64 x 1 KiB), so the
// figures are compute-bound, as on a core whose NIC DMA lands in cache (DDIO).
//
// Opening needs fresh ciphertext each time: a pass first re-seals the whole
// ring (not timed), then times opening it.
#include "apps/bench/record_bench.h"

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "apps/bench/timing.h"
#include "tls/record/record.h"

namespace l45::bench {
namespace {

using tls::CipherSuite;
using tls::ContentType;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "l45-tls-bench: %s\n", what);
    std::exit(2);
}

const char* suite_name(CipherSuite s) {
    switch (s) {
        case CipherSuite::aes_128_gcm_sha256:
            return "TLS_AES_128_GCM_SHA256";
        case CipherSuite::aes_256_gcm_sha384:
            return "TLS_AES_256_GCM_SHA384";
        case CipherSuite::chacha20_poly1305_sha256:
            return "TLS_CHACHA20_POLY1305_SHA256";
    }
    return "?";
}

constexpr std::size_t kHdr = tls::kRecordHeaderLen;
constexpr std::size_t kTag = tls::kAeadTagLen;

// Key material of one "connection".
struct Keys {
    std::array<std::uint8_t, 32> key{};
    std::array<std::uint8_t, 12> iv{};
    std::size_t key_len = 16;
    explicit Keys(CipherSuite suite) {
        key_len = tls::suite_info(suite)->key_len;
        if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1 ||
            RAND_bytes(iv.data(), static_cast<int>(iv.size())) != 1)
            die("RAND_bytes failed");
    }
    [[nodiscard]] ByteSpan key_span() const { return {key.data(), key_len}; }
    [[nodiscard]] ByteSpan iv_span() const { return {iv.data(), iv.size()}; }
    // RFC 8446 §5.3.
    void nonce(std::uint64_t seq, std::uint8_t out[12]) const {
        std::memcpy(out, iv.data(), 12);
        for (int i = 0; i < 8; ++i)
            out[4 + i] ^= static_cast<std::uint8_t>(seq >> (56 - 8 * i));
    }
};

// Record buffers, each on its own cache lines.
class Ring {
  public:
    Ring(std::size_t count, std::size_t size)
        : count_(count), size_(size), stride_((kHdr + size + 1 + kTag + 63) / 64 * 64) {
        mem_.reset(static_cast<std::uint8_t*>(std::aligned_alloc(64, count_ * stride_)));
        if (!mem_) die("out of memory");
        if (RAND_bytes(mem_.get(), static_cast<int>(count_ * stride_)) != 1) die("RAND_bytes");
        for (std::size_t k = 0; k < count_; ++k) {
            std::uint8_t* r = rec(k);
            r[0] = 23;
            r[1] = 3;
            r[2] = 3;
            const std::size_t len = size_ + 1 + kTag;
            r[3] = static_cast<std::uint8_t>(len >> 8);
            r[4] = static_cast<std::uint8_t>(len);
        }
    }
    [[nodiscard]] std::size_t count() const { return count_; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::uint8_t* rec(std::size_t k) const { return mem_.get() + k * stride_; }
    [[nodiscard]] MutableByteSpan span(std::size_t k) const { return {rec(k), stride_}; }
    [[nodiscard]] std::uint8_t* data(std::size_t k) const { return rec(k) + kHdr; }
    [[nodiscard]] std::uint8_t* tag(std::size_t k) const { return rec(k) + kHdr + size_; }

  private:
    struct Free {
        void operator()(std::uint8_t* p) const { std::free(p); }
    };
    std::size_t count_, size_, stride_;
    std::unique_ptr<std::uint8_t, Free> mem_;
};

[[nodiscard]] tls::RecordView view_of(std::uint8_t* rec) {
    auto hdr = tls::parse_record_header(ByteSpan(rec, kHdr));
    if (!hdr) die("bad record header");
    return tls::RecordView{*hdr, ByteSpan(rec, kHdr), MutableByteSpan(rec + kHdr, hdr->length)};
}

// ---- l45, one call per record ----
class L45Single {
  public:
    L45Single(tls::CryptoEngine& engine, CipherSuite suite, Ring& ring)
        : engine_(engine), suite_(suite), ring_(ring), keys_(suite) {
        reset();
    }
    void seal_all() {
        for (std::size_t k = 0; k < ring_.count(); ++k) {
            auto r =
                sealer_.seal(engine_, ContentType::application_data, ring_.span(k), ring_.size());
            if (!r) die("l45 seal failed");
            keep(*r);
        }
    }
    void prepare_open() {
        reset();
        seal_all();
    }
    void open_all() {
        for (std::size_t k = 0; k < ring_.count(); ++k) {
            auto o = opener_.open(engine_, view_of(ring_.rec(k)));
            if (!o || o->content.size() != ring_.size()) die("l45 open failed");
            keep(o->content.data());
        }
    }
    [[nodiscard]] const Keys& keys() const { return keys_; }

  private:
    void reset() {
        if (!sealer_.install_keys(engine_, suite_, keys_.key_span(), keys_.iv_span()) ||
            !opener_.install_keys(engine_, suite_, keys_.key_span(), keys_.iv_span()))
            die("install_keys failed");
    }
    tls::CryptoEngine& engine_;
    CipherSuite suite_;
    Ring& ring_;
    Keys keys_;
    tls::RecordSealer sealer_;
    tls::RecordOpener opener_;
};

// ---- l45, AeadBatch across `n` connections ----
class L45Batch {
  public:
    L45Batch(tls::CryptoEngine& engine, CipherSuite suite, Ring& ring, std::size_t n)
        : engine_(engine), suite_(suite), ring_(ring), n_(n), batch_(engine), conns_(n), ops_(n) {
        for (auto& c : conns_)
            c = std::make_unique<Conn>(suite);
        reset();
    }
    // Record k belongs to connection k % n.
    void seal_all() {
        for (std::size_t base = 0; base < ring_.count(); base += n_) {
            for (std::size_t i = 0; i < n_; ++i) {
                auto r = conns_[i]->sealer.prepare_seal(
                    ContentType::application_data, ring_.span(base + i), ring_.size(), 0, ops_[i]);
                if (!r) die("l45 prepare_seal failed");
                batch_.submit(ops_[i]);
            }
            if (batch_.flush() != 0) die("l45 batch seal failed");
        }
        clobber_memory();
    }
    void prepare_open() {
        reset();
        seal_all();
    }
    void open_all() {
        for (std::size_t base = 0; base < ring_.count(); base += n_) {
            for (std::size_t i = 0; i < n_; ++i) {
                if (!conns_[i]->opener.prepare_open(view_of(ring_.rec(base + i)), ops_[i]))
                    die("l45 prepare_open failed");
                batch_.submit(ops_[i]);
            }
            if (batch_.flush() != 0) die("l45 batch open failed");
            for (std::size_t i = 0; i < n_; ++i) {
                auto o = conns_[i]->opener.finish_open(ops_[i]);
                if (!o || o->content.size() != ring_.size()) die("l45 finish_open failed");
                keep(o->content.data());
            }
        }
    }

  private:
    struct Conn {
        explicit Conn(CipherSuite suite) : keys(suite) {}
        Keys keys;
        tls::RecordSealer sealer;
        tls::RecordOpener opener;
    };
    void reset() {
        for (auto& c : conns_)
            if (!c->sealer.install_keys(engine_, suite_, c->keys.key_span(), c->keys.iv_span()) ||
                !c->opener.install_keys(engine_, suite_, c->keys.key_span(), c->keys.iv_span()))
                die("install_keys failed");
    }
    tls::CryptoEngine& engine_;
    CipherSuite suite_;
    Ring& ring_;
    std::size_t n_;
    tls::AeadBatch batch_;
    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<tls::AeadOp> ops_;
};

// ---- raw IPsec-MB: direct GCM API with precomputed keys; ChaCha20-Poly1305
// through one job per record (the job API) or the direct API ----
class RawMb {
  public:
    RawMb(tls::CryptoEngine& engine, CipherSuite suite, Ring& ring, bool chacha_direct)
        : mgr_(engine.mgr()),
          alg_(tls::suite_info(suite)->aead),
          ring_(ring),
          keys_(suite),
          chacha_direct_(chacha_direct) {
        if (alg_ == tls::AeadAlgorithm::aes_128_gcm)
            IMB_AES128_GCM_PRE(mgr_, keys_.key.data(), &gcm_.k);
        if (alg_ == tls::AeadAlgorithm::aes_256_gcm)
            IMB_AES256_GCM_PRE(mgr_, keys_.key.data(), &gcm_.k);
    }
    void seal_all() {
        for (std::size_t k = 0; k < ring_.count(); ++k)
            crypt(k, true, ring_.tag(k));
        clobber_memory();
    }
    void prepare_open() { seal_all(); }
    void open_all() {
        alignas(16) std::uint8_t computed[kTag];
        for (std::size_t k = 0; k < ring_.count(); ++k) {
            crypt(k, false, computed);
            if (CRYPTO_memcmp(computed, ring_.tag(k), kTag) != 0) die("ipsec-mb open: bad tag");
        }
        clobber_memory();
    }
    [[nodiscard]] const Keys& keys() const { return keys_; }

  private:
    void crypt(std::size_t k, bool enc, std::uint8_t* tag) {
        std::uint8_t nonce[12];
        keys_.nonce(k, nonce);
        std::uint8_t* aad = ring_.rec(k);
        std::uint8_t* buf = ring_.data(k);
        const std::size_t len = ring_.size();
        switch (alg_) {
            case tls::AeadAlgorithm::aes_128_gcm: {
                gcm_context_data ctx;
                if (enc)
                    IMB_AES128_GCM_ENC(mgr_, &gcm_.k, &ctx, buf, buf, len, nonce, aad, kHdr, tag,
                                       kTag);
                else
                    IMB_AES128_GCM_DEC(mgr_, &gcm_.k, &ctx, buf, buf, len, nonce, aad, kHdr, tag,
                                       kTag);
                break;
            }
            case tls::AeadAlgorithm::aes_256_gcm: {
                gcm_context_data ctx;
                if (enc)
                    IMB_AES256_GCM_ENC(mgr_, &gcm_.k, &ctx, buf, buf, len, nonce, aad, kHdr, tag,
                                       kTag);
                else
                    IMB_AES256_GCM_DEC(mgr_, &gcm_.k, &ctx, buf, buf, len, nonce, aad, kHdr, tag,
                                       kTag);
                break;
            }
            case tls::AeadAlgorithm::chacha20_poly1305:
                if (chacha_direct_) {
                    chacha20_poly1305_context_data ctx;
                    IMB_CHACHA20_POLY1305_INIT(mgr_, keys_.key.data(), &ctx, nonce, aad, kHdr);
                    if (enc) {
                        IMB_CHACHA20_POLY1305_ENC_UPDATE(mgr_, keys_.key.data(), &ctx, buf, buf,
                                                         len);
                        IMB_CHACHA20_POLY1305_ENC_FINALIZE(mgr_, &ctx, tag, kTag);
                    } else {
                        IMB_CHACHA20_POLY1305_DEC_UPDATE(mgr_, keys_.key.data(), &ctx, buf, buf,
                                                         len);
                        IMB_CHACHA20_POLY1305_DEC_FINALIZE(mgr_, &ctx, tag, kTag);
                    }
                } else {
                    chacha_job(enc, nonce, aad, buf, len, tag);
                }
                break;
        }
    }
    void chacha_job(bool enc, const std::uint8_t* nonce, const std::uint8_t* aad, std::uint8_t* buf,
                    std::size_t len, std::uint8_t* tag) {
        IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
        job->src = buf;
        job->dst = buf;
        job->cipher_start_src_offset_in_bytes = 0;
        job->msg_len_to_cipher_in_bytes = len;
        job->hash_start_src_offset_in_bytes = 0;
        job->msg_len_to_hash_in_bytes = len;
        job->iv = nonce;
        job->iv_len_in_bytes = 12;
        job->auth_tag_output = tag;
        job->auth_tag_output_len_in_bytes = kTag;
        job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
        job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
        job->enc_keys = keys_.key.data();
        job->dec_keys = keys_.key.data();
        job->key_len_in_bytes = IMB_KEY_256_BYTES;
        job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
        job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
        job->u.CHACHA20_POLY1305.aad = aad;
        job->u.CHACHA20_POLY1305.aad_len_in_bytes = kHdr;
        job->user_data = buf;
        job = IMB_SUBMIT_JOB(mgr_);
        if (job == nullptr) job = IMB_FLUSH_JOB(mgr_);
        if (job == nullptr || job->status != IMB_STATUS_COMPLETED || job->user_data != buf)
            die("ipsec-mb chacha20-poly1305 job failed");
    }

    struct alignas(64) GcmKeys {
        gcm_key_data k;
    };
    IMB_MGR* mgr_;
    tls::AeadAlgorithm alg_;
    Ring& ring_;
    Keys keys_;
    bool chacha_direct_;
    GcmKeys gcm_{};
};

// ---- OpenSSL EVP: key set once, nonce + AAD + data + tag per record ----
class OsslEvp {
  public:
    OsslEvp(CipherSuite suite, Ring& ring) : ring_(ring), keys_(suite) {
        switch (tls::suite_info(suite)->aead) {
            case tls::AeadAlgorithm::aes_128_gcm:
                cipher_ = EVP_aes_128_gcm();
                break;
            case tls::AeadAlgorithm::aes_256_gcm:
                cipher_ = EVP_aes_256_gcm();
                break;
            case tls::AeadAlgorithm::chacha20_poly1305:
                cipher_ = EVP_chacha20_poly1305();
                break;
        }
        enc_ = EVP_CIPHER_CTX_new();
        dec_ = EVP_CIPHER_CTX_new();
        if (!enc_ || !dec_ ||
            EVP_EncryptInit_ex(enc_, cipher_, nullptr, keys_.key.data(), nullptr) != 1 ||
            EVP_DecryptInit_ex(dec_, cipher_, nullptr, keys_.key.data(), nullptr) != 1)
            die("EVP init failed");
    }
    ~OsslEvp() {
        EVP_CIPHER_CTX_free(enc_);
        EVP_CIPHER_CTX_free(dec_);
    }
    OsslEvp(const OsslEvp&) = delete;
    OsslEvp& operator=(const OsslEvp&) = delete;

    void seal_all() {
        for (std::size_t k = 0; k < ring_.count(); ++k)
            seal(k, ring_.rec(k), ring_.size(), ring_.tag(k));
        clobber_memory();
    }
    void prepare_open() { seal_all(); }
    void open_all() {
        for (std::size_t k = 0; k < ring_.count(); ++k)
            if (!open(k, ring_.rec(k), ring_.size(), ring_.tag(k))) die("openssl open: bad tag");
        clobber_memory();
    }
    // Also used to cross-check the other implementations.
    void seal(std::uint64_t seq, std::uint8_t* rec, std::size_t len, std::uint8_t* tag) {
        std::uint8_t nonce[12];
        keys_.nonce(seq, nonce);
        int out = 0;
        if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce) != 1 ||
            EVP_EncryptUpdate(enc_, nullptr, &out, rec, kHdr) != 1 ||
            EVP_EncryptUpdate(enc_, rec + kHdr, &out, rec + kHdr, static_cast<int>(len)) != 1 ||
            EVP_EncryptFinal_ex(enc_, rec + kHdr + len, &out) != 1 ||
            EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, kTag, tag) != 1)
            die("EVP seal failed");
    }
    [[nodiscard]] bool open(std::uint64_t seq, std::uint8_t* rec, std::size_t len,
                            std::uint8_t* tag) {
        std::uint8_t nonce[12];
        keys_.nonce(seq, nonce);
        int out = 0;
        if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce) != 1 ||
            EVP_DecryptUpdate(dec_, nullptr, &out, rec, kHdr) != 1 ||
            EVP_DecryptUpdate(dec_, rec + kHdr, &out, rec + kHdr, static_cast<int>(len)) != 1 ||
            EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, kTag, tag) != 1)
            die("EVP open failed");
        return EVP_DecryptFinal_ex(dec_, rec + kHdr + len, &out) == 1;
    }
    // Uses `keys` instead of its own (for cross-checks).
    void set_keys(const Keys& keys) {
        keys_ = keys;
        if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, keys_.key.data(), nullptr) != 1 ||
            EVP_DecryptInit_ex(dec_, nullptr, nullptr, keys_.key.data(), nullptr) != 1)
            die("EVP re-key failed");
    }

  private:
    Ring& ring_;
    Keys keys_;
    const EVP_CIPHER* cipher_ = nullptr;
    EVP_CIPHER_CTX* enc_ = nullptr;
    EVP_CIPHER_CTX* dec_ = nullptr;
};

// l45 and raw IPsec-MB output must open with OpenSSL: proves the timed code
// computes the real AEAD, with the TLS nonce and AAD.
void cross_check(tls::CryptoEngine& engine, CipherSuite suite) {
    Ring ring(2, 1000);
    {
        L45Single l45(engine, suite, ring);
        l45.seal_all();  // seq 0, 1
        OsslEvp ossl(suite, ring);
        ossl.set_keys(l45.keys());
        for (std::uint64_t k = 0; k < 2; ++k)  // content + inner type, tag after it
            if (!ossl.open(k, ring.rec(k), ring.size() + 1, ring.rec(k) + kHdr + ring.size() + 1))
                die("cross-check: l45 record does not open with OpenSSL");
        if (ring.data(0)[ring.size()] != 23) die("cross-check: l45 inner type wrong");
    }
    for (bool direct : {false, true}) {
        RawMb raw(engine, suite, ring, direct);
        raw.seal_all();
        OsslEvp ossl(suite, ring);
        ossl.set_keys(raw.keys());
        for (std::uint64_t k = 0; k < 2; ++k)
            if (!ossl.open(k, ring.rec(k), ring.size(), ring.tag(k)))
                die("cross-check: ipsec-mb output does not open with OpenSSL");
    }
}

}  // namespace

std::vector<RecordResult> run_record_bench(tls::CryptoEngine& engine,
                                           const RecordOptions& options) {
    std::vector<RecordResult> results;
    auto wanted = [](const std::vector<std::string>& list, const std::string& name) {
        return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
    };
    std::size_t max_batch = 1;
    for (std::size_t b : options.batch_sizes)
        max_batch = std::max(max_batch, b);

    for (CipherSuite suite : options.suites) {
        cross_check(engine, suite);
        const bool chacha = suite == CipherSuite::chacha20_poly1305_sha256;
        for (std::size_t size : options.sizes) {
            // ~256 KiB of records, a whole number of batches.
            std::size_t count = std::max<std::size_t>(16, (256 * 1024) / size);
            count = std::min<std::size_t>(count, 64);
            count = (count + max_batch - 1) / max_batch * max_batch;
            Ring ring(count, size);

            auto run = [&](const std::string& impl, std::size_t batch, auto& bench) {
                for (const char* op : {"seal", "open"}) {
                    if (!wanted(options.ops, op)) continue;
                    Stopwatch sw;
                    Measurement m;
                    if (std::strcmp(op, "seal") == 0) {
                        m = measure(options.seconds, options.warmup, ring.count(), [&] {
                            sw.start();
                            bench.seal_all();
                            return PassTime{sw.stop(), 0};
                        });
                    } else {
                        m = measure(options.seconds, options.warmup, ring.count(), [&] {
                            bench.prepare_open();
                            sw.start();
                            bench.open_all();
                            return PassTime{sw.stop(), 0};
                        });
                    }
                    const double gbs = m.per_second() * static_cast<double>(size) / 1e9;
                    results.push_back({suite, size, op, impl, batch, gbs});
                    std::fprintf(stderr, "  %-28s %6zu B %-4s %-16s x%-2zu %8.3f GB/s\n",
                                 suite_name(suite), size, op, impl.c_str(), batch, gbs);
                }
            };
            if (wanted(options.impls, "l45")) {
                L45Single b(engine, suite, ring);
                run("l45", 1, b);
            }
            if (wanted(options.impls, "ipsec-mb")) {
                RawMb b(engine, suite, ring, false);
                run("ipsec-mb", 1, b);
            }
            if (chacha && wanted(options.impls, "ipsec-mb-direct")) {
                RawMb b(engine, suite, ring, true);
                run("ipsec-mb-direct", 1, b);
            }
            if (wanted(options.impls, "openssl")) {
                OsslEvp b(suite, ring);
                run("openssl", 1, b);
            }
            for (std::size_t n : options.batch_sizes) {
                if (!wanted(options.impls, "l45-batch")) break;
                L45Batch b(engine, suite, ring, n);
                run("l45-batch", n, b);
            }
        }
    }
    return results;
}

}  // namespace l45::bench
