// Record framing and protection (RFC 8446 §5): header limits, the
// deframer under arbitrary chunking, seal/open round trips on all three
// suites, and the failure cases: tampering (bad_record_mac), oversized
// records (record_overflow, RFC 8449 limits), all-zero inner plaintext
// (unexpected_message), sequence numbers, KeyUpdate and batching.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <vector>

#include "tests/support/vectors.h"
#include "tls/record/key_schedule.h"
#include "tls/record/record.h"

namespace l45::tls {
namespace {

using test::from_hex;
using test::to_hex;
using Bytes = std::vector<std::uint8_t>;

constexpr CipherSuite kSuites[] = {CipherSuite::aes_128_gcm_sha256, CipherSuite::aes_256_gcm_sha384,
                                   CipherSuite::chacha20_poly1305_sha256};

std::unique_ptr<CryptoEngine> engine() {
    auto e = CryptoEngine::create();
    EXPECT_TRUE(e.has_value());
    return e ? std::move(*e) : nullptr;
}

Secret traffic_secret(CipherSuite suite, std::uint8_t fill) {
    return Secret(Bytes(hash_len(suite_info(suite)->hash), fill));
}

Bytes content_of(std::size_t len, std::uint8_t seed = 1) {
    Bytes b(len);
    for (std::size_t i = 0; i < len; ++i)
        b[i] = static_cast<std::uint8_t>(seed + i * 7);
    return b;
}

// Seals `content` and returns the wire record.
Bytes seal(CryptoEngine& eng, RecordSealer& s, ContentType type, const Bytes& content,
           std::size_t padding = 0) {
    Bytes buf(RecordSealer::headroom() + content.size() + RecordSealer::tailroom(padding));
    std::copy(content.begin(), content.end(), buf.begin() + RecordSealer::headroom());
    auto len = s.seal(eng, type, buf, content.size(), padding);
    EXPECT_TRUE(len.has_value());
    buf.resize(len ? *len : 0);
    return buf;
}

RecordView view_of(Bytes& wire) {
    RecordView rec;
    auto h = parse_record_header(wire);
    EXPECT_TRUE(h.has_value());
    if (h) rec.header = *h;
    rec.header_bytes = ByteSpan(wire).first(kRecordHeaderLen);
    rec.fragment = MutableByteSpan(wire).subspan(kRecordHeaderLen);
    return rec;
}

struct Pair {
    RecordSealer sealer;
    RecordOpener opener;
};
void install(CryptoEngine& eng, Pair& p, CipherSuite suite, std::uint8_t fill = 0x33) {
    ASSERT_TRUE(p.sealer.install(eng, suite, traffic_secret(suite, fill)));
    ASSERT_TRUE(p.opener.install(eng, suite, traffic_secret(suite, fill)));
}

// --- header (§5.1) ---

TEST(RecordHeader, LimitsAndTypes) {
    auto parse = [](std::uint8_t type, std::uint16_t len) {
        Bytes h = {type, 0x03, 0x03, static_cast<std::uint8_t>(len >> 8),
                   static_cast<std::uint8_t>(len)};
        return parse_record_header(h);
    };
    EXPECT_TRUE(parse(23, kMaxCiphertext));
    EXPECT_EQ(parse(23, kMaxCiphertext + 1).error().alert, Alert::record_overflow);
    for (std::uint8_t t : {20, 21, 22}) {
        EXPECT_TRUE(parse(t, kMaxPlaintext));
        EXPECT_EQ(parse(t, kMaxPlaintext + 1).error().alert, Alert::record_overflow);
    }
    EXPECT_EQ(parse(0, 1).error().alert, Alert::unexpected_message);
    EXPECT_EQ(parse(24, 1).error().alert, Alert::unexpected_message);
    EXPECT_EQ(parse(255, 1).error().alert, Alert::unexpected_message);
    // legacy_record_version is ignored (§5.1): 0x0301 in an initial ClientHello.
    Bytes ch = {22, 0x03, 0x01, 0x00, 0x10};
    auto h = parse_record_header(ch);
    ASSERT_TRUE(h.has_value());
    EXPECT_EQ(h->type, ContentType::handshake);
    EXPECT_EQ(h->legacy_version, 0x0301);
    EXPECT_EQ(h->length, 16);
    EXPECT_FALSE(parse_record_header(ByteSpan(ch).first(4)));
}

// --- deframer ---

Bytes plaintext_record(ContentType type, const Bytes& body) {
    Bytes r = {static_cast<std::uint8_t>(type), 0x03, 0x03,
               static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
    r.insert(r.end(), body.begin(), body.end());
    return r;
}

std::vector<Bytes> deframe(const Bytes& wire, std::mt19937& rng, std::size_t max_chunk) {
    Deframer d;
    std::vector<Bytes> out;
    std::size_t pos = 0;
    while (pos < wire.size()) {
        const std::size_t chunk = std::min<std::size_t>(wire.size() - pos, 1 + rng() % max_chunk);
        ByteSpan in = ByteSpan(wire).subspan(pos, chunk);
        while (!in.empty()) {
            auto used = d.feed(in);
            EXPECT_TRUE(used.has_value());
            if (!used) return out;
            in = in.subspan(*used);
            pos += *used;
            if (RecordView* rec = d.record()) {
                Bytes whole(rec->header_bytes.begin(), rec->header_bytes.end());
                whole.insert(whole.end(), rec->fragment.begin(), rec->fragment.end());
                out.push_back(whole);
                // A pending record blocks further input until popped.
                if (!in.empty()) {
                    EXPECT_EQ(*d.feed(in), 0u);
                }
                d.pop();
            }
        }
    }
    EXPECT_EQ(d.buffered(), 0u);
    return out;
}

TEST(Deframer, AnyChunkingYieldsTheSameRecords) {
    std::vector<Bytes> records = {
        plaintext_record(ContentType::handshake, content_of(1)),
        plaintext_record(ContentType::change_cipher_spec, {1}),
        plaintext_record(ContentType::application_data, {}),  // empty fragment
        plaintext_record(ContentType::application_data, content_of(kMaxCiphertext)),
        plaintext_record(ContentType::alert, {1, 0}),
        plaintext_record(ContentType::handshake, content_of(kMaxPlaintext, 9)),
        plaintext_record(ContentType::application_data, content_of(300, 3)),
    };
    Bytes wire;
    for (const auto& r : records)
        wire.insert(wire.end(), r.begin(), r.end());
    std::mt19937 rng(45);
    EXPECT_EQ(deframe(wire, rng, 1), records);  // one byte per call
    for (std::size_t max_chunk : {2u, 5u, 6u, 17u, 1000u, 40000u})
        EXPECT_EQ(deframe(wire, rng, max_chunk), records) << max_chunk;
}

TEST(Deframer, OversizedRecordIsRecordOverflowAndSticky) {
    Deframer d;
    Bytes bad = {23, 3, 3, 0x41, 0x01};  // 2^14 + 257
    auto r = d.feed(ByteSpan(bad).first(4));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 4u);
    r = d.feed(ByteSpan(bad).subspan(4));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::record_overflow);
    Bytes good = plaintext_record(ContentType::alert, {1, 0});
    r = d.feed(good);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::record_overflow);
    EXPECT_EQ(d.record(), nullptr);

    Deframer d2;
    Bytes big_plain = {22, 3, 3, 0x40, 0x01};  // handshake 2^14 + 1
    EXPECT_EQ(d2.feed(big_plain).error().alert, Alert::record_overflow);
    Deframer d3;
    Bytes unknown = {99, 3, 3, 0, 1};
    EXPECT_EQ(d3.feed(unknown).error().alert, Alert::unexpected_message);
}

// --- protection round trips ---

TEST(RecordProtection, RoundTripAllSuitesSizesAndPadding) {
    auto eng = engine();
    for (CipherSuite suite : kSuites) {
        Pair p;
        install(*eng, p, suite);
        for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 1024u, 4096u, 16384u}) {
            for (std::size_t pad : {0u, 1u, 100u}) {
                if (len + 1 + pad > kMaxInnerPlaintext) continue;
                const Bytes content = content_of(len, static_cast<std::uint8_t>(len));
                Bytes wire = seal(*eng, p.sealer, ContentType::application_data, content, pad);
                ASSERT_EQ(wire.size(), kRecordHeaderLen + len + 1 + pad + kAeadTagLen);
                EXPECT_EQ(wire[0], 23);
                EXPECT_EQ(load_be16(wire.data() + 1), 0x0303);
                EXPECT_EQ(load_be16(wire.data() + 3), wire.size() - kRecordHeaderLen);
                RecordView rec = view_of(wire);
                auto opened = p.opener.open(*eng, rec);
                ASSERT_TRUE(opened.has_value()) << len << "/" << pad;
                EXPECT_EQ(opened->type, ContentType::application_data);
                EXPECT_EQ(Bytes(opened->content.begin(), opened->content.end()), content);
            }
        }
        EXPECT_EQ(p.sealer.sequence(), p.opener.sequence());
    }
}

TEST(RecordProtection, SealerRefusesOversizeAndShortBuffers) {
    auto eng = engine();
    Pair p;
    install(*eng, p, CipherSuite::aes_128_gcm_sha256);
    EXPECT_EQ(p.sealer.max_content_len(), kMaxPlaintext);
    Bytes buf(kRecordHeaderLen + kMaxPlaintext + 1 + RecordSealer::tailroom());
    auto r = p.sealer.seal(*eng, ContentType::application_data, buf, kMaxPlaintext + 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::internal_error);
    // Padding counts against the 2^14 + 1 of TLSInnerPlaintext (§5.4).
    EXPECT_FALSE(p.sealer.seal(*eng, ContentType::application_data, buf, kMaxPlaintext, 1));
    // No tailroom for the tag.
    Bytes small(kRecordHeaderLen + 10 + 1 + kAeadTagLen - 1);
    EXPECT_FALSE(p.sealer.seal(*eng, ContentType::application_data, small, 10));
    EXPECT_FALSE(p.sealer.seal(*eng, ContentType::invalid, buf, 10));
    // None of the refusals used up a sequence number.
    EXPECT_EQ(p.sealer.sequence(), 0u);
    // RFC 8449: the peer's record_size_limit bounds content + type + padding.
    p.sealer.set_record_size_limit(64);
    EXPECT_EQ(p.sealer.max_content_len(), 63u);
    EXPECT_EQ(p.sealer.max_content_len(10), 53u);
    EXPECT_TRUE(p.sealer.seal(*eng, ContentType::application_data, buf, 63));
    EXPECT_FALSE(p.sealer.seal(*eng, ContentType::application_data, buf, 64));
}

// --- negative: tampering ---

TEST(RecordProtection, TamperedRecordIsBadRecordMac) {
    auto eng = engine();
    for (CipherSuite suite : kSuites) {
        Pair p;
        install(*eng, p, suite);
        const Bytes wire = seal(*eng, p.sealer, ContentType::handshake, content_of(40));
        // Every byte except the type and length (which change framing, not
        // just the AAD): legacy version (AAD), ciphertext, tag.
        for (std::size_t i = 1; i < wire.size(); ++i) {
            if (i == 3 || i == 4) continue;
            RecordOpener opener;
            ASSERT_TRUE(opener.install(*eng, suite, traffic_secret(suite, 0x33)));
            Bytes bad = wire;
            bad[i] ^= 0x01;
            RecordView rec = view_of(bad);
            auto r = opener.open(*eng, rec);
            ASSERT_FALSE(r.has_value()) << i;
            EXPECT_EQ(r.error().alert, Alert::bad_record_mac) << i;
            EXPECT_EQ(r.error().origin, ErrorOrigin::local);
            // No unauthenticated plaintext left behind.
            EXPECT_EQ(Bytes(rec.fragment.begin(), rec.fragment.end() - kAeadTagLen),
                      Bytes(rec.fragment.size() - kAeadTagLen, 0));
        }
        // The untouched record still opens (the opener above never advanced this one).
        Bytes ok = wire;
        RecordView rec = view_of(ok);
        EXPECT_TRUE(p.opener.open(*eng, rec).has_value());
        // A wrong key is bad_record_mac too.
        RecordOpener other;
        ASSERT_TRUE(other.install(*eng, suite, traffic_secret(suite, 0x34)));
        Bytes again = wire;
        RecordView rec2 = view_of(again);
        EXPECT_EQ(other.open(*eng, rec2).error().alert, Alert::bad_record_mac);
    }
}

TEST(RecordProtection, ReplayOrReorderIsBadRecordMac) {
    auto eng = engine();
    Pair p;
    install(*eng, p, CipherSuite::chacha20_poly1305_sha256);
    // r0 takes sequence 0 and is never delivered.
    const Bytes r0 = seal(*eng, p.sealer, ContentType::application_data, content_of(10));
    ASSERT_FALSE(r0.empty());
    const Bytes r1 = seal(*eng, p.sealer, ContentType::application_data, content_of(11));
    Bytes w = r1;  // out of order: seq 0 expected
    RecordView rec = view_of(w);
    EXPECT_EQ(p.opener.open(*eng, rec).error().alert, Alert::bad_record_mac);
}

TEST(RecordProtection, ShortFragmentIsBadRecordMac) {
    auto eng = engine();
    Pair p;
    install(*eng, p, CipherSuite::aes_128_gcm_sha256);
    Bytes wire = plaintext_record(ContentType::application_data, Bytes(kAeadTagLen, 0));
    RecordView rec = view_of(wire);
    EXPECT_EQ(p.opener.open(*eng, rec).error().alert, Alert::bad_record_mac);
    Bytes empty = plaintext_record(ContentType::application_data, {});
    RecordView rec2 = view_of(empty);
    EXPECT_EQ(p.opener.open(*eng, rec2).error().alert, Alert::bad_record_mac);
}

TEST(RecordProtection, NonApplicationDataOuterTypeIsUnexpectedMessage) {
    auto eng = engine();
    Pair p;
    install(*eng, p, CipherSuite::aes_128_gcm_sha256);
    Bytes wire = seal(*eng, p.sealer, ContentType::handshake, content_of(5));
    wire[0] = static_cast<std::uint8_t>(ContentType::handshake);
    RecordView rec = view_of(wire);
    EXPECT_EQ(p.opener.open(*eng, rec).error().alert, Alert::unexpected_message);
}

// --- negative: overflow ---

TEST(RecordProtection, OversizedInnerPlaintextIsRecordOverflow) {
    auto eng = engine();
    Pair p;
    install(*eng, p, CipherSuite::aes_128_gcm_sha256);
    // 2^14 + 2 bytes of inner plaintext (over 2^14 + 1) within the 2^14 + 256
    // ciphertext limit: refused before decryption.
    Bytes wire = plaintext_record(ContentType::application_data,
                                  Bytes(kMaxInnerPlaintext + 1 + kAeadTagLen, 0));
    RecordView rec = view_of(wire);
    EXPECT_EQ(p.opener.open(*eng, rec).error().alert, Alert::record_overflow);

    // RFC 8449: with our record_size_limit at 100, a valid record carrying
    // 100 bytes of content (101 of inner plaintext) is record_overflow; 99 is fine.
    Pair q;
    install(*eng, q, CipherSuite::aes_256_gcm_sha384);
    q.opener.set_record_size_limit(100);
    Bytes ok = seal(*eng, q.sealer, ContentType::application_data, content_of(99));
    RecordView rec_ok = view_of(ok);
    EXPECT_TRUE(q.opener.open(*eng, rec_ok).has_value());
    Bytes big = seal(*eng, q.sealer, ContentType::application_data, content_of(100));
    RecordView rec_big = view_of(big);
    EXPECT_EQ(q.opener.open(*eng, rec_big).error().alert, Alert::record_overflow);
}

// --- negative: inner plaintext without a content type ---

// Builds a protected record whose inner plaintext is exactly `inner`
// (bypassing the sealer, which cannot produce these).
Bytes raw_record(CryptoEngine& eng, CipherSuite suite, const Bytes& inner) {
    auto keys = derive_traffic_keys(suite, traffic_secret(suite, 0x33));
    EXPECT_TRUE(keys.has_value());
    AeadContext ctx;
    EXPECT_TRUE(ctx.install(eng, suite, keys->key.view(), keys->iv.view()));
    Bytes wire = plaintext_record(ContentType::application_data, inner);
    wire.resize(wire.size() + kAeadTagLen);
    store_be16(wire.data() + 3, static_cast<std::uint16_t>(inner.size() + kAeadTagLen));
    MutableByteSpan w(wire);
    EXPECT_TRUE(ctx.seal(eng, 0, w.first(kRecordHeaderLen),
                         w.subspan(kRecordHeaderLen, inner.size()),
                         w.subspan(kRecordHeaderLen + inner.size()).first<kAeadTagLen>()));
    return wire;
}

TEST(RecordProtection, AllZeroInnerPlaintextIsUnexpectedMessage) {
    auto eng = engine();
    for (CipherSuite suite : kSuites) {
        for (std::size_t len : {1u, 2u, 300u}) {
            RecordOpener o;
            ASSERT_TRUE(o.install(*eng, suite, traffic_secret(suite, 0x33)));
            Bytes wire = raw_record(*eng, suite, Bytes(len, 0));
            RecordView rec = view_of(wire);
            auto r = o.open(*eng, rec);
            ASSERT_FALSE(r.has_value());
            EXPECT_EQ(r.error().alert, Alert::unexpected_message);
        }
    }
}

TEST(RecordProtection, InnerTypeMustBeKnownAndNotChangeCipherSpec) {
    auto eng = engine();
    const CipherSuite suite = CipherSuite::aes_128_gcm_sha256;
    for (std::uint8_t type : {20, 24, 99, 255}) {
        RecordOpener o;
        ASSERT_TRUE(o.install(*eng, suite, traffic_secret(suite, 0x33)));
        Bytes wire = raw_record(*eng, suite, {1, 2, type, 0, 0});
        RecordView rec = view_of(wire);
        EXPECT_EQ(o.open(*eng, rec).error().alert, Alert::unexpected_message) << int(type);
    }
    // And the padding strip finds the last non-zero byte: {0, 0, 22, 0}
    // is an empty handshake fragment after two zero content bytes.
    RecordOpener o;
    ASSERT_TRUE(o.install(*eng, suite, traffic_secret(suite, 0x33)));
    Bytes wire = raw_record(*eng, suite, {0, 0, 22, 0});
    RecordView rec = view_of(wire);
    auto r = o.open(*eng, rec);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->type, ContentType::handshake);
    EXPECT_EQ(Bytes(r->content.begin(), r->content.end()), (Bytes{0, 0}));
}

// --- sequence numbers ---

TEST(SequenceNumbers, AdvancePerRecordAndNeverWrap) {
    auto eng = engine();
    Pair p;
    install(*eng, p, CipherSuite::aes_128_gcm_sha256);
    for (int i = 0; i < 3; ++i) {
        Bytes w = seal(*eng, p.sealer, ContentType::application_data, content_of(3));
        RecordView rec = view_of(w);
        ASSERT_TRUE(p.opener.open(*eng, rec).has_value());
    }
    EXPECT_EQ(p.sealer.sequence(), 3u);
    EXPECT_EQ(p.opener.sequence(), 3u);
    // 2^64 - 2 and 2^64 - 1 are used; then both sides refuse.
    p.sealer.set_sequence_for_testing(UINT64_MAX - 1);
    p.opener.set_sequence_for_testing(UINT64_MAX - 1);
    for (int i = 0; i < 2; ++i) {
        Bytes w = seal(*eng, p.sealer, ContentType::application_data, content_of(3));
        RecordView rec = view_of(w);
        ASSERT_TRUE(p.opener.open(*eng, rec).has_value());
    }
    Bytes buf(64);
    auto r = p.sealer.seal(*eng, ContentType::application_data, buf, 3);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::internal_error);
    // A record sealed at the last sequence number elsewhere cannot be opened
    // by an opener that has used it up.
    RecordSealer other;
    ASSERT_TRUE(other.install(*eng, CipherSuite::aes_128_gcm_sha256,
                              traffic_secret(CipherSuite::aes_128_gcm_sha256, 0x33)));
    Bytes w = seal(*eng, other, ContentType::application_data, content_of(3));
    RecordView rec = view_of(w);
    EXPECT_FALSE(p.opener.open(*eng, rec).has_value());
    // A new key starts again at 0.
    install(*eng, p, CipherSuite::aes_128_gcm_sha256, 0x44);
    EXPECT_EQ(p.sealer.sequence(), 0u);
    EXPECT_EQ(p.opener.sequence(), 0u);
}

// --- KeyUpdate (§4.6.3, §7.2) ---

TEST(KeyUpdate, BothSidesMoveToTheNextSecretAndResetSequence) {
    auto eng = engine();
    for (CipherSuite suite : kSuites) {
        Pair p;
        install(*eng, p, suite);
        const HashAlgorithm hash = suite_info(suite)->hash;
        for (int gen = 0; gen < 3; ++gen) {
            Bytes w = seal(*eng, p.sealer, ContentType::application_data, content_of(20));
            RecordView rec = view_of(w);
            ASSERT_TRUE(p.opener.open(*eng, rec).has_value());
            auto next = next_application_traffic_secret(hash, p.sealer.traffic_secret());
            ASSERT_TRUE(next.has_value());
            ASSERT_TRUE(p.sealer.update(*eng));
            EXPECT_EQ(to_hex(p.sealer.traffic_secret().view()), to_hex(next->view()));
            EXPECT_EQ(p.sealer.sequence(), 0u);
            // The reader has not updated yet: the new record does not open.
            Bytes w2 = seal(*eng, p.sealer, ContentType::application_data, content_of(21));
            Bytes w2_copy = w2;
            RecordOpener stale;
            ASSERT_TRUE(stale.install(*eng, suite, traffic_secret(suite, 0x33)));
            RecordView stale_rec = view_of(w2_copy);
            EXPECT_EQ(stale.open(*eng, stale_rec).error().alert, Alert::bad_record_mac);
            ASSERT_TRUE(p.opener.update(*eng));
            EXPECT_EQ(p.opener.sequence(), 0u);
            RecordView rec2 = view_of(w2);
            auto opened = p.opener.open(*eng, rec2);
            ASSERT_TRUE(opened.has_value());
            EXPECT_EQ(Bytes(opened->content.begin(), opened->content.end()), content_of(21));
        }
    }
    // Raw keys carry no secret to update from.
    RecordSealer raw;
    ASSERT_TRUE(
        raw.install_keys(*eng, CipherSuite::aes_128_gcm_sha256, Bytes(16, 1), Bytes(12, 2)));
    EXPECT_FALSE(raw.update(*eng));
}

// --- batching across connections ---

TEST(RecordBatch, SealAndOpenManyConnectionsInOneFlush) {
    auto eng = engine();
    constexpr std::size_t kConns = 6, kPerConn = 5;
    std::deque<Pair> conns(kConns);
    std::deque<Pair> single(kConns);  // the same keys, sealed one by one
    for (std::size_t c = 0; c < kConns; ++c) {
        install(*eng, conns[c], kSuites[c % 3], static_cast<std::uint8_t>(c));
        install(*eng, single[c], kSuites[c % 3], static_cast<std::uint8_t>(c));
    }
    struct Item {
        Bytes buf;
        std::size_t len = 0;
        std::size_t conn = 0;
        Bytes content;
        AeadOp op;
    };
    std::deque<Item> items;
    AeadBatch batch(*eng);
    for (std::size_t i = 0; i < kPerConn; ++i) {
        for (std::size_t c = 0; c < kConns; ++c) {
            Item& it = items.emplace_back();
            it.conn = c;
            it.content = content_of(i * 500 + c, static_cast<std::uint8_t>(c));
            it.buf.resize(RecordSealer::headroom() + it.content.size() + RecordSealer::tailroom());
            std::copy(it.content.begin(), it.content.end(),
                      it.buf.begin() + RecordSealer::headroom());
            auto len = conns[c].sealer.prepare_seal(ContentType::application_data, it.buf,
                                                    it.content.size(), 0, it.op);
            ASSERT_TRUE(len.has_value());
            it.len = *len;
            batch.submit(it.op);
        }
    }
    EXPECT_EQ(batch.flush(), 0u);
    for (auto& it : items) {
        ASSERT_EQ(it.op.status, AeadOpStatus::ok);
        Bytes expect =
            seal(*eng, single[it.conn].sealer, ContentType::application_data, it.content);
        EXPECT_EQ(to_hex(it.buf), to_hex(expect));
    }
    // Open them all in one batch, one record tampered.
    items[7].buf[10] ^= 0x80;
    std::deque<RecordView> views;
    for (auto& it : items) {
        views.push_back(view_of(it.buf));
        ASSERT_TRUE(conns[it.conn].opener.prepare_open(views.back(), it.op));
        batch.submit(it.op);
    }
    EXPECT_EQ(batch.flush(), 1u);
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto opened = conns[items[i].conn].opener.finish_open(items[i].op);
        if (i == 7) {
            ASSERT_FALSE(opened.has_value());
            EXPECT_EQ(opened.error().alert, Alert::bad_record_mac);
            continue;
        }
        ASSERT_TRUE(opened.has_value()) << i;
        EXPECT_EQ(Bytes(opened->content.begin(), opened->content.end()), items[i].content);
    }
}

// Zero-copy receive: a record split across received segments at every
// possible point (inside the header's successor bytes, the ciphertext, the
// padding, the tag), and three ways, opens to the same content as open().
TEST(RecordSlices, EverySplitOpensInPlaceOnAllSuites) {
    auto eng = engine();
    for (CipherSuite suite : kSuites) {
        for (ContentType type : {ContentType::application_data, ContentType::handshake}) {
            const Bytes content = content_of(61, 9);
            const std::size_t pad = 3;
            Pair ref;
            install(*eng, ref, suite);
            const Bytes wire = seal(*eng, ref.sealer, type, content, pad);
            const std::size_t frag_len = wire.size() - kRecordHeaderLen;
            for (std::size_t a = 0; a <= frag_len; ++a) {
                // Two slices at every point; three at every second point after
                // every seventh.
                for (std::size_t b = a % 7 == 0 ? a : frag_len; b <= frag_len; b += 2) {
                    Pair p;
                    install(*eng, p, suite);
                    Bytes copy = wire;
                    MutableByteSpan frag = MutableByteSpan(copy).subspan(kRecordHeaderLen);
                    const std::array<MutableByteSpan, 3> slices = {
                        frag.first(a), frag.subspan(a, b - a), frag.subspan(b)};
                    auto h = parse_record_header(ByteSpan(copy).first(kRecordHeaderLen));
                    ASSERT_TRUE(h.has_value());
                    std::size_t content_len = 0;
                    auto opened = p.opener.open_slices(
                        *eng, *h, ByteSpan(copy).first(kRecordHeaderLen), slices, content_len);
                    ASSERT_TRUE(opened.has_value())
                        << static_cast<int>(suite) << " " << a << "/" << b;
                    EXPECT_EQ(*opened, type);
                    ASSERT_EQ(content_len, content.size());
                    EXPECT_EQ(Bytes(frag.begin(), frag.begin() + content_len), content);
                    EXPECT_EQ(p.opener.sequence(), 1u);
                }
            }
        }
    }
}

TEST(RecordSlices, BadTagAcrossSlicesIsBadRecordMacAndZeroesThePlaintext) {
    auto eng = engine();
    for (CipherSuite suite : kSuites) {
        Pair p;
        install(*eng, p, suite);
        const Bytes content = content_of(200, 3);
        Bytes wire = seal(*eng, p.sealer, ContentType::application_data, content);
        wire[wire.size() - 9] ^= 0x40;  // inside the tag
        MutableByteSpan frag = MutableByteSpan(wire).subspan(kRecordHeaderLen);
        // The tag straddles the two slices.
        const std::size_t split = frag.size() - 8;
        const std::array<MutableByteSpan, 2> slices = {frag.first(split), frag.subspan(split)};
        auto h = parse_record_header(ByteSpan(wire).first(kRecordHeaderLen));
        ASSERT_TRUE(h.has_value());
        std::size_t content_len = 0;
        auto opened = p.opener.open_slices(*eng, *h, ByteSpan(wire).first(kRecordHeaderLen), slices,
                                           content_len);
        ASSERT_FALSE(opened.has_value());
        EXPECT_EQ(opened.error().alert, Alert::bad_record_mac);
        // No unauthenticated plaintext is left behind.
        EXPECT_EQ(Bytes(frag.begin(), frag.begin() + 201), Bytes(201, 0));
    }
}

TEST(RecordSlices, AllZeroInnerPlaintextAcrossSlicesIsUnexpectedMessage) {
    auto eng = engine();
    Pair p;
    install(*eng, p, CipherSuite::aes_128_gcm_sha256);
    // An inner plaintext of zeros only: seal raw with the AEAD.
    Bytes wire(kRecordHeaderLen + 40 + kAeadTagLen);
    write_record_header(std::span<std::uint8_t, kRecordHeaderLen>(wire.data(), kRecordHeaderLen),
                        ContentType::application_data, 40 + kAeadTagLen);
    ASSERT_TRUE(p.sealer.aead().seal(
        *eng, 0, ByteSpan(wire).first(kRecordHeaderLen),
        MutableByteSpan(wire).subspan(kRecordHeaderLen, 40),
        std::span<std::uint8_t, kAeadTagLen>(wire.data() + kRecordHeaderLen + 40, kAeadTagLen)));
    MutableByteSpan frag = MutableByteSpan(wire).subspan(kRecordHeaderLen);
    const std::array<MutableByteSpan, 2> slices = {frag.first(13), frag.subspan(13)};
    auto h = parse_record_header(ByteSpan(wire).first(kRecordHeaderLen));
    ASSERT_TRUE(h.has_value());
    std::size_t content_len = 0;
    auto opened =
        p.opener.open_slices(*eng, *h, ByteSpan(wire).first(kRecordHeaderLen), slices, content_len);
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().alert, Alert::unexpected_message);
}

}  // namespace
}  // namespace l45::tls
