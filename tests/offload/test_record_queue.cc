// The zero-copy receive path's framing (apps/l45-offload/record_queue.h):
// a stream of records (application data, a control record, application
// data) cut into mbufs at every possible point is framed, opened in place
// and handed on as mbuf ranges whose bytes are the plaintext; mbufs shared
// between two records are referenced twice; shared input mbufs and tiny
// segments are copied (and counted) rather than decrypted in place.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include "apps/l45-offload/record_queue.h"
#include "stack/tcp/buffer.h"
#include "tests/support/eal_env.h"
#include "tls/record/record.h"

namespace l45::offload {
namespace {

using Bytes = std::vector<std::uint8_t>;
using tls::ContentType;

rte_mempool* record_pool() {
    static rte_mempool* p = rte_pktmbuf_pool_create(
        "rq_test_records", 64, 0, 0, RTE_PKTMBUF_HEADROOM + 17 * 1024, SOCKET_ID_ANY);
    return p;
}

Bytes pattern(std::size_t len, std::uint8_t seed) {
    Bytes b(len);
    for (std::size_t i = 0; i < len; ++i)
        b[i] = static_cast<std::uint8_t>(seed + i * 13);
    return b;
}

struct Keys {
    std::unique_ptr<tls::CryptoEngine> engine;
    tls::RecordSealer sealer;
    tls::RecordOpener opener;
    explicit Keys(tls::CipherSuite suite = tls::CipherSuite::aes_128_gcm_sha256) {
        auto e = tls::CryptoEngine::create();
        EXPECT_TRUE(e.has_value());
        engine = std::move(*e);
        const Bytes key(suite == tls::CipherSuite::aes_128_gcm_sha256 ? 16 : 32, 0x42);
        const Bytes iv(12, 0x24);
        EXPECT_TRUE(sealer.install_keys(*engine, suite, key, iv));
        EXPECT_TRUE(opener.install_keys(*engine, suite, key, iv));
    }
    void append_record(Bytes& wire, ContentType type, const Bytes& content) {
        Bytes buf(tls::kRecordHeaderLen + content.size() + tls::RecordSealer::tailroom());
        std::copy(content.begin(), content.end(), buf.begin() + tls::kRecordHeaderLen);
        auto n = sealer.seal(*engine, type, buf, content.size());
        ASSERT_TRUE(n.has_value());
        wire.insert(wire.end(), buf.begin(), buf.begin() + static_cast<long>(*n));
    }
};

MbufPtr mbuf_of(ByteSpan bytes, std::uint32_t front_pad = 0) {
    MbufPtr m(rte_pktmbuf_alloc(test::pktmbuf_pool()));
    EXPECT_TRUE(m);
    auto* p = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(bytes.size() + front_pad)));
    EXPECT_NE(p, nullptr);
    std::memset(p, 0xee, front_pad);  // bytes before `offset`: never ours
    if (!bytes.empty()) std::memcpy(p + front_pad, bytes.data(), bytes.size());
    return m;
}

struct Opened {
    ContentType type;
    Bytes content;
};

// Frames, opens (one span: the AeadOp path; several: open_slices) and pops
// every whole record in q; plaintext of application records is read back
// from the ranges pop_record hands over.
std::vector<Opened> drain(RecordQueue& q, Keys& k, std::size_t* num_sliced = nullptr) {
    std::vector<Opened> out;
    for (;;) {
        auto complete = q.front_complete();
        EXPECT_TRUE(complete.has_value());
        if (!complete || !*complete) break;
        std::array<MutableByteSpan, tls::kMaxRecordSlices> slices{};
        const std::size_t n = q.fragment_slices(slices);
        EXPECT_NE(n, 0u);
        ContentType type{};
        std::size_t content_len = 0;
        if (n == 1) {
            tls::AeadOp op;
            tls::RecordView view{q.header(), q.header_bytes(), slices[0]};
            EXPECT_TRUE(k.opener.prepare_open(view, op));
            tls::AeadBatch batch(*k.engine);
            batch.submit(op);
            EXPECT_EQ(batch.flush(), 0u);
            auto opened = k.opener.finish_open(op);
            EXPECT_TRUE(opened.has_value());
            if (!opened) break;
            type = opened->type;
            content_len = opened->content.size();
        } else {
            if (num_sliced) ++*num_sliced;
            auto t = k.opener.open_slices(*k.engine, q.header(), q.header_bytes(),
                                          std::span<const MutableByteSpan>(slices.data(), n),
                                          content_len);
            EXPECT_TRUE(t.has_value());
            if (!t) break;
            type = *t;
        }
        Opened o{type, {}};
        if (type == ContentType::application_data) {
            q.pop_record(content_len, [&](MbufPtr& m, std::uint32_t off, std::uint32_t len) {
                Bytes part(len);
                EXPECT_TRUE(tcp::mbuf_copy_out(m.get(), off, part));
                o.content.insert(o.content.end(), part.begin(), part.end());
                MbufPtr taken = std::move(m);  // the receiver frees its reference
            });
        } else {
            o.content.resize(content_len);
            EXPECT_TRUE(q.copy_content(0, o.content));
            q.drop_record();
        }
        out.push_back(std::move(o));
    }
    return out;
}

TEST(RecordQueue, EverySplitOfThreeRecordsOpensInPlace) {
    Keys k;
    const Bytes a = pattern(300, 1), b = {1, 0}, c = pattern(77, 9);
    Bytes wire;
    k.append_record(wire, ContentType::application_data, a);
    k.append_record(wire, ContentType::handshake, b);
    k.append_record(wire, ContentType::application_data, c);
    std::size_t sliced_total = 0;
    for (std::size_t split = 1; split < wire.size(); ++split) {
        Keys fresh;
        RecordQueue q;
        // Two segments, the second with bytes before its payload offset.
        MbufPtr m1 = mbuf_of(ByteSpan(wire).first(split));
        MbufPtr m2 = mbuf_of(ByteSpan(wire).subspan(split), 7);
        ASSERT_TRUE(q.push(m1, 0, static_cast<std::uint32_t>(split), nullptr));
        auto got = drain(q, fresh, &sliced_total);
        ASSERT_TRUE(q.push(m2, 7, static_cast<std::uint32_t>(wire.size() - split), nullptr));
        auto rest = drain(q, fresh, &sliced_total);
        got.insert(got.end(), rest.begin(), rest.end());
        ASSERT_EQ(got.size(), 3u) << "split " << split;
        EXPECT_EQ(got[0].type, ContentType::application_data);
        EXPECT_EQ(got[0].content, a) << "split " << split;
        EXPECT_EQ(got[1].type, ContentType::handshake);
        EXPECT_EQ(got[1].content, b) << "split " << split;
        EXPECT_EQ(got[2].type, ContentType::application_data);
        EXPECT_EQ(got[2].content, c) << "split " << split;
        EXPECT_TRUE(q.empty());
        EXPECT_EQ(q.copies().bytes, 0u);  // all in place
    }
    // Splits inside a record's fragment (not at a record boundary) took the
    // slice path.
    EXPECT_GT(sliced_total, wire.size() / 2);
    // Every reference taken for a shared mbuf was given back.
    EXPECT_EQ(rte_mempool_in_use_count(test::pktmbuf_pool()), 0u);
}

TEST(RecordQueue, EveryByteItsOwnSegmentIsCoalescedAndCounted) {
    Keys k;
    const Bytes a = pattern(200, 3);
    Bytes wire;
    k.append_record(wire, ContentType::application_data, a);
    RecordQueue q;
    std::vector<Opened> got;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (q.full()) {
            ASSERT_TRUE(q.coalesce(record_pool()));
        }
        MbufPtr m = mbuf_of(ByteSpan(wire).subspan(i, 1));
        ASSERT_TRUE(q.push(m, 0, 1, nullptr));
        auto part = drain(q, k);
        got.insert(got.end(), part.begin(), part.end());
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].content, a);
    EXPECT_GE(q.copies().coalesced, 1u);
    EXPECT_GT(q.copies().bytes, 0u);
    EXPECT_EQ(rte_mempool_in_use_count(test::pktmbuf_pool()), 0u);
}

TEST(RecordQueue, SharedInputMbufIsCopiedNotDecryptedInPlace) {
    Keys k;
    const Bytes a = pattern(100, 5);
    Bytes wire;
    k.append_record(wire, ContentType::application_data, a);
    RecordQueue q;
    MbufPtr m = mbuf_of(wire);
    rte_pktmbuf_refcnt_update(m.get(), 1);  // someone else holds it too
    MbufPtr other(m.get());
    ASSERT_TRUE(q.push(m, 0, static_cast<std::uint32_t>(wire.size()), record_pool()));
    auto got = drain(q, k);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].content, a);
    EXPECT_EQ(q.copies().shared_mbufs, 1u);
    // The other holder still sees the ciphertext.
    EXPECT_EQ(0,
              std::memcmp(rte_pktmbuf_mtod(other.get(), std::uint8_t*), wire.data(), wire.size()));
}

TEST(RecordQueue, BadHeaderIsTheRecordLayersAlert) {
    RecordQueue q;
    const Bytes junk = {0x17, 0x03, 0x03, 0xff, 0xff};  // longer than 2^14 + 256
    MbufPtr m = mbuf_of(junk);
    ASSERT_TRUE(q.push(m, 0, 5, nullptr));
    auto r = q.front_complete();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, tls::Alert::record_overflow);
}

}  // namespace
}  // namespace l45::offload
