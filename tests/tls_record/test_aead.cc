// AEAD through IPsec-MB: Wycheproof AES-GCM and ChaCha20-Poly1305 vectors
// (github.com/C2SP/wycheproof, testvectors/*_test.json), through both the
// single-record path and the batched job-API path, on every IPsec-MB code
// path this CPU has (SSE, AVX, AVX2, AVX-512), plus the §5.3 nonce.
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "tests/support/vectors.h"
#include "tls/record/aead.h"

namespace l45::tls {
namespace {

using test::from_hex;
using test::to_hex;
using Bytes = std::vector<std::uint8_t>;

struct AeadVector {
    int tc_id;
    CipherSuite suite;
    Bytes key, iv, aad, msg, ct, tag;
    bool valid;
};

// Only what TLS 1.3 uses: 12-byte IV, 16-byte tag, AES-128/256 and ChaCha20.
std::vector<AeadVector> load_vectors(const char* file, bool gcm) {
    const auto doc = test::load_json(std::string("vectors/wycheproof/") + file);
    std::vector<AeadVector> out;
    for (const auto& group : doc.at("testGroups")) {
        const int key_bits = group.at("keySize");
        if (group.at("ivSize") != 96 || group.at("tagSize") != 128) continue;
        CipherSuite suite;
        if (gcm && key_bits == 128)
            suite = CipherSuite::aes_128_gcm_sha256;
        else if (gcm && key_bits == 256)
            suite = CipherSuite::aes_256_gcm_sha384;
        else if (!gcm && key_bits == 256)
            suite = CipherSuite::chacha20_poly1305_sha256;
        else
            continue;
        for (const auto& t : group.at("tests")) {
            const std::string result = t.at("result");
            EXPECT_NE(result, "acceptable") << file << " tcId " << t.at("tcId");
            out.push_back(
                {t.at("tcId"), suite, from_hex(t.at("key").get<std::string>()),
                 from_hex(t.at("iv").get<std::string>()), from_hex(t.at("aad").get<std::string>()),
                 from_hex(t.at("msg").get<std::string>()), from_hex(t.at("ct").get<std::string>()),
                 from_hex(t.at("tag").get<std::string>()), result == "valid"});
        }
    }
    return out;
}

// Every code path this CPU supports, best first.
std::vector<std::unique_ptr<CryptoEngine>> all_engines() {
    std::vector<std::unique_ptr<CryptoEngine>> engines;
    auto best = CryptoEngine::create();
    EXPECT_TRUE(best.has_value());
    if (!best) return engines;
    const EngineArch top = (*best)->arch();
    engines.push_back(std::move(*best));
    for (EngineArch a : {EngineArch::avx2, EngineArch::avx, EngineArch::sse}) {
        if (a == top) continue;
        if (auto e = CryptoEngine::create(a)) engines.push_back(std::move(*e));
    }
    return engines;
}

struct Counts {
    std::size_t valid = 0, invalid = 0;
};

// The single-record path: seal must give ct||tag exactly, open must give the
// message back; an invalid vector must fail to open with bad_record_mac and
// leave zeros behind.
void run_single(CryptoEngine& engine, const std::vector<AeadVector>& vectors, Counts& counts) {
    for (const auto& v : vectors) {
        SCOPED_TRACE("tcId " + std::to_string(v.tc_id));
        AeadContext ctx;
        ASSERT_TRUE(ctx.install(engine, v.suite, v.key, v.iv).has_value());
        if (v.valid) {
            Bytes buf = v.msg;
            std::array<std::uint8_t, kAeadTagLen> tag{};
            ASSERT_TRUE(ctx.seal(engine, 0, v.aad, buf, tag).has_value());
            EXPECT_EQ(to_hex(buf), to_hex(v.ct));
            EXPECT_EQ(to_hex(tag), to_hex(v.tag));
            ++counts.valid;
        }
        Bytes buf = v.ct;
        ASSERT_EQ(v.tag.size(), kAeadTagLen);
        std::span<const std::uint8_t, kAeadTagLen> tag(v.tag.data(), kAeadTagLen);
        auto r = ctx.open(engine, 0, v.aad, buf, tag);
        if (v.valid) {
            ASSERT_TRUE(r.has_value());
            EXPECT_EQ(to_hex(buf), to_hex(v.msg));
        } else {
            ASSERT_FALSE(r.has_value());
            EXPECT_EQ(r.error().alert, Alert::bad_record_mac);
            EXPECT_EQ(buf, Bytes(buf.size(), 0));
            ++counts.invalid;
        }
    }
}

// The batched path: all vectors as one stream of jobs (seal of the valid
// ones and open of all), statuses checked after one flush.
Counts run_batch(CryptoEngine& engine, const std::vector<AeadVector>& vectors) {
    Counts counts;
    struct Slot {
        std::unique_ptr<AeadContext> ctx = std::make_unique<AeadContext>();
        Bytes seal_buf, open_buf;
        std::array<std::uint8_t, kAeadTagLen> seal_tag{}, open_tag{};
        AeadOp seal_op, open_op;
    };
    std::deque<Slot> slots;  // ops must not move while in flight
    AeadBatch batch(engine);
    for (const auto& v : vectors) {
        Slot& s = slots.emplace_back();
        EXPECT_TRUE(s.ctx->install(engine, v.suite, v.key, v.iv).has_value());
        if (v.valid) {
            s.seal_buf = v.msg;
            s.seal_op = {.ctx = s.ctx.get(),
                         .direction = AeadDirection::seal,
                         .seq = 0,
                         .aad = v.aad,
                         .data = s.seal_buf,
                         .tag = s.seal_tag.data()};
            batch.submit(s.seal_op);
        }
        s.open_buf = v.ct;
        std::memcpy(s.open_tag.data(), v.tag.data(), kAeadTagLen);
        s.open_op = {.ctx = s.ctx.get(),
                     .direction = AeadDirection::open,
                     .seq = 0,
                     .aad = v.aad,
                     .data = s.open_buf,
                     .tag = s.open_tag.data()};
        batch.submit(s.open_op);
    }
    const std::size_t failed = batch.flush();
    EXPECT_EQ(batch.in_flight(), 0u);
    std::size_t expect_failed = 0;
    for (std::size_t i = 0; i < vectors.size(); ++i) {
        const auto& v = vectors[i];
        const Slot& s = slots[i];
        SCOPED_TRACE("batch tcId " + std::to_string(v.tc_id));
        if (v.valid) {
            EXPECT_EQ(s.seal_op.status, AeadOpStatus::ok);
            EXPECT_EQ(to_hex(s.seal_buf), to_hex(v.ct));
            EXPECT_EQ(to_hex(s.seal_tag), to_hex(v.tag));
            EXPECT_EQ(s.open_op.status, AeadOpStatus::ok);
            EXPECT_EQ(to_hex(s.open_buf), to_hex(v.msg));
            ++counts.valid;
        } else {
            EXPECT_EQ(s.open_op.status, AeadOpStatus::bad_record_mac);
            EXPECT_EQ(s.open_buf, Bytes(s.open_buf.size(), 0));
            ++expect_failed;
            ++counts.invalid;
        }
    }
    EXPECT_EQ(failed, expect_failed);
    return counts;
}

std::size_t expected_count(const char* file, bool gcm) {
    // Recount from the JSON independently of load_vectors' filter order.
    const auto doc = test::load_json(std::string("vectors/wycheproof/") + file);
    std::size_t n = 0;
    for (const auto& g : doc.at("testGroups")) {
        const int k = g.at("keySize");
        if (g.at("ivSize") == 96 && g.at("tagSize") == 128 &&
            (gcm ? (k == 128 || k == 256) : k == 256))
            n += g.at("tests").size();
    }
    return n;
}

class WycheproofAead : public ::testing::TestWithParam<bool> {};

TEST_P(WycheproofAead, SingleAndBatchOnEveryCodePath) {
    const bool gcm = GetParam();
    const char* file = gcm ? "aes_gcm_test.json" : "chacha20_poly1305_test.json";
    const auto vectors = load_vectors(file, gcm);
    const std::size_t n = expected_count(file, gcm);
    ASSERT_GT(n, 100u);
    ASSERT_EQ(vectors.size(), n);
    auto engines = all_engines();
    ASSERT_FALSE(engines.empty());
    for (auto& engine : engines) {
        SCOPED_TRACE("arch " + std::to_string(static_cast<int>(engine->arch())));
        Counts single;
        run_single(*engine, vectors, single);
        const Counts batch = run_batch(*engine, vectors);
        EXPECT_EQ(single.valid + single.invalid, n);
        EXPECT_EQ(batch.valid + batch.invalid, n);
        EXPECT_GT(single.valid, 0u);
        EXPECT_GT(single.invalid, 0u);
    }
    std::printf("[ vectors ] %s: %zu vectors x %zu code paths\n", file, n, engines.size());
}

INSTANTIATE_TEST_SUITE_P(Aead, WycheproofAead, ::testing::Values(true, false),
                         [](const auto& p) { return p.param ? "AesGcm" : "ChaCha20Poly1305"; });

// RFC 8446 §5.3: nonce = iv XOR (seq as 64-bit big-endian, left-padded to 12).
TEST(AeadNonce, IvXorSequence) {
    auto engine = CryptoEngine::create();
    ASSERT_TRUE(engine.has_value());
    // RFC 8448 §3: server application write iv.
    const Bytes iv = from_hex("cf782b88dd83549aadf1e984");
    const Bytes key(16, 0x11);
    AeadContext ctx;
    ASSERT_TRUE(ctx.install(**engine, CipherSuite::aes_128_gcm_sha256, key, iv).has_value());
    std::array<std::uint8_t, kAeadNonceLen> n{};
    ctx.nonce(0, n);
    EXPECT_EQ(to_hex(n), "cf782b88dd83549aadf1e984");
    ctx.nonce(1, n);
    EXPECT_EQ(to_hex(n), "cf782b88dd83549aadf1e985");
    ctx.nonce(0x0102030405060708ull, n);
    EXPECT_EQ(to_hex(n), "cf782b88dc81579ea8f7ee8c");
    ctx.nonce(UINT64_MAX, n);
    EXPECT_EQ(to_hex(n), "cf782b88227cab65520e167b");
}

// A record sealed with sequence n opens only with sequence n.
TEST(AeadNonce, WrongSequenceFailsToOpen) {
    auto engine = CryptoEngine::create();
    ASSERT_TRUE(engine.has_value());
    for (CipherSuite suite : {CipherSuite::aes_128_gcm_sha256, CipherSuite::aes_256_gcm_sha384,
                              CipherSuite::chacha20_poly1305_sha256}) {
        const std::size_t key_len = suite == CipherSuite::aes_128_gcm_sha256 ? 16 : 32;
        const Bytes key(key_len, 0x42), iv(12, 0x24), aad = from_hex("1703030020");
        AeadContext ctx;
        ASSERT_TRUE(ctx.install(**engine, suite, key, iv).has_value());
        Bytes buf(16, 0x61);
        std::array<std::uint8_t, kAeadTagLen> tag{};
        ASSERT_TRUE(ctx.seal(**engine, 7, aad, buf, tag).has_value());
        Bytes copy = buf;
        EXPECT_FALSE(ctx.open(**engine, 6, aad, copy, tag).has_value());
        copy = buf;
        EXPECT_FALSE(ctx.open(**engine, 8, aad, copy, tag).has_value());
        copy = buf;
        ASSERT_TRUE(ctx.open(**engine, 7, aad, copy, tag).has_value());
        EXPECT_EQ(copy, Bytes(16, 0x61));
    }
}

TEST(AeadContext, RejectsWrongKeyOrIvLengthAndUseBeforeInstall) {
    auto engine = CryptoEngine::create();
    ASSERT_TRUE(engine.has_value());
    AeadContext ctx;
    EXPECT_FALSE(ctx.install(**engine, CipherSuite::aes_128_gcm_sha256, Bytes(32, 1), Bytes(12, 0))
                     .has_value());
    EXPECT_FALSE(ctx.install(**engine, CipherSuite::aes_256_gcm_sha384, Bytes(32, 1), Bytes(8, 0))
                     .has_value());
    EXPECT_FALSE(ctx.install(**engine, static_cast<CipherSuite>(0x1304), Bytes(16, 1), Bytes(12, 0))
                     .has_value());
    Bytes buf(4);
    std::array<std::uint8_t, kAeadTagLen> tag{};
    auto r = ctx.seal(**engine, 0, {}, buf, tag);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::internal_error);
    // A batch op without a usable key completes at once with internal_error.
    AeadBatch batch(**engine);
    AeadOp op{.ctx = &ctx, .data = buf, .tag = tag.data()};
    batch.submit(op);
    EXPECT_EQ(op.status, AeadOpStatus::internal_error);
    EXPECT_EQ(batch.flush(), 1u);
}

// A forced lower code path lays out GCM keys differently: a key installed
// under one must not be used with another.
TEST(AeadContext, GcmKeyBoundToItsCodePath) {
    auto best = CryptoEngine::create();
    ASSERT_TRUE(best.has_value());
    if ((*best)->arch() == EngineArch::sse) GTEST_SKIP() << "only one code path on this CPU";
    auto sse = CryptoEngine::create(EngineArch::sse);
    ASSERT_TRUE(sse.has_value());
    AeadContext ctx;
    ASSERT_TRUE(ctx.install(**best, CipherSuite::aes_128_gcm_sha256, Bytes(16, 3), Bytes(12, 4))
                    .has_value());
    Bytes buf(4);
    std::array<std::uint8_t, kAeadTagLen> tag{};
    EXPECT_FALSE(ctx.seal(**sse, 0, {}, buf, tag).has_value());
    EXPECT_TRUE(ctx.seal(**best, 0, {}, buf, tag).has_value());
}

}  // namespace
}  // namespace l45::tls
