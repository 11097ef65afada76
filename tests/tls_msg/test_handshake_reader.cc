// HandshakeReader: any fragmentation yields the same messages; limits map
// to the alerts documented in handshake_reader.h.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/support/vectors.h"
#include "tls/msg/handshake_reader.h"
#include "tls/msg/messages.h"

namespace l45::tls::msg {
namespace {

using Bytes = std::vector<std::uint8_t>;
using l45::test::from_hex;
using l45::test::to_hex;

struct Seen {
    HandshakeType type;
    std::string full_hex;
    std::string body_hex;
    bool operator==(const Seen&) const = default;
};

// The server's first flight of RFC 8448 §3 (EE, CT, CV, FIN in one record)
// preceded by its ServerHello.
Bytes server_flight() {
    const auto t = l45::test::load_json("vectors/rfc8448/simple_1rtt.json");
    Bytes out;
    for (const auto& step : t["steps"])
        if (step["who"] == "server" && step["what"] == "send handshake record") {
            const Bytes p = from_hex(step["values"]["payload"].get<std::string>());
            out.insert(out.end(), p.begin(), p.end());
            if (out.size() > 700) break;  // SH (90) + flight (657), not the NST
        }
    return out;
}

// Feeds `in` in chunks of the given sizes (cycled), draining after each.
std::vector<Seen> feed_chunks(HandshakeReader& r, const Bytes& in,
                              const std::vector<std::size_t>& sizes) {
    std::vector<Seen> out;
    std::size_t pos = 0;
    std::size_t k = 0;
    while (pos < in.size()) {
        const std::size_t n = std::min(sizes[k++ % sizes.size()], in.size() - pos);
        EXPECT_TRUE(r.feed(ByteSpan(in).subspan(pos, n)));
        pos += n;
        for (;;) {
            auto m = r.next();
            EXPECT_TRUE(m);
            if (!m || !m->has_value()) break;
            out.push_back(
                {(*m)->type, l45::test::to_hex((*m)->full), l45::test::to_hex((*m)->body)});
        }
    }
    return out;
}

TEST(HandshakeReader, WholeFlightYieldsFiveMessages) {
    const Bytes flight = server_flight();
    ASSERT_EQ(flight.size(), 90u + 657u);
    HandshakeReader r;
    const auto seen = feed_chunks(r, flight, {flight.size()});
    ASSERT_EQ(seen.size(), 5u);
    EXPECT_EQ(seen[0].type, HandshakeType::server_hello);
    EXPECT_EQ(seen[1].type, HandshakeType::encrypted_extensions);
    EXPECT_EQ(seen[2].type, HandshakeType::certificate);
    EXPECT_EQ(seen[3].type, HandshakeType::certificate_verify);
    EXPECT_EQ(seen[4].type, HandshakeType::finished);
    EXPECT_EQ(seen[0].full_hex.substr(0, 8), "02000056");
    EXPECT_EQ(seen[0].body_hex, seen[0].full_hex.substr(8));
    std::string concat;
    for (const auto& s : seen)
        concat += s.full_hex;
    EXPECT_EQ(concat, to_hex(flight));
    EXPECT_FALSE(r.has_partial());
}

TEST(HandshakeReader, OneByteFeedingEqualsWholeFeeding) {
    const Bytes flight = server_flight();
    HandshakeReader whole;
    const auto expected = feed_chunks(whole, flight, {flight.size()});
    HandshakeReader bytewise;
    EXPECT_EQ(feed_chunks(bytewise, flight, {1}), expected);
    std::mt19937 rng(8448);
    for (int i = 0; i < 200; ++i) {
        std::vector<std::size_t> sizes;
        for (int j = 0; j < 16; ++j)
            sizes.push_back(1 + rng() % 300);
        HandshakeReader r;
        EXPECT_EQ(feed_chunks(r, flight, sizes), expected);
    }
}

TEST(HandshakeReader, PartialMessageIsReported) {
    const Bytes flight = server_flight();
    HandshakeReader r;
    ASSERT_TRUE(r.feed(ByteSpan(flight).first(3)));
    auto m = r.next();
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->has_value());
    EXPECT_TRUE(r.has_partial());  // a key change now -> unexpected_message (§5.1)
    ASSERT_TRUE(r.feed(ByteSpan(flight).subspan(3, 91)));  // rest of SH + 4 bytes of EE
    m = r.next();
    ASSERT_TRUE(m && m->has_value());
    EXPECT_EQ((*m)->type, HandshakeType::server_hello);
    EXPECT_EQ((*m)->full.size(), 90u);
    m = r.next();
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->has_value());
    EXPECT_EQ(r.buffered(), 4u);
}

TEST(HandshakeReader, EmptyBodyMessagesAndUnknownTypes) {
    // EndOfEarlyData (empty body), then an unknown type 99: both delivered.
    const Bytes in = from_hex(
        "05000000"
        "63000002abcd");
    HandshakeReader r;
    const auto seen = feed_chunks(r, in, {1});
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].type, HandshakeType::end_of_early_data);
    EXPECT_EQ(seen[0].body_hex, "");
    EXPECT_EQ(static_cast<int>(seen[1].type), 99);
    EXPECT_EQ(seen[1].body_hex, "abcd");
}

TEST(HandshakeReader, OversizeMessageIsIllegalParameterFromHeaderAlone) {
    HandshakeReader r;  // defaults: 64 KiB for Certificate, 16 KiB for the rest
    EXPECT_EQ(r.limit_for(HandshakeType::certificate), 64u * 1024);
    EXPECT_EQ(r.limit_for(HandshakeType::certificate_request), 64u * 1024);
    EXPECT_EQ(r.limit_for(HandshakeType::client_hello), 16u * 1024);
    // A ClientHello announcing 16 KiB + 1: rejected once the header is in.
    ASSERT_TRUE(r.feed(from_hex("01004001")));
    auto m = r.next();
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().alert, Alert::illegal_parameter);
    EXPECT_EQ(m.error().origin, ErrorOrigin::local);
    // The reader is dead afterwards.
    EXPECT_FALSE(r.feed(from_hex("00")));

    // Exactly at the limit is fine (a 16 KiB unknown-type message).
    HandshakeReader ok;
    Bytes big = from_hex("63004000");
    big.resize(4 + 16 * 1024, 0x5a);
    const auto seen = feed_chunks(ok, big, {kMaxPlaintext});
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].body_hex.size(), 2u * 16 * 1024);

    // A Certificate may be larger, up to the configured limit.
    HandshakeReader cert_reader(HandshakeReaderLimits{.max_message_len = 20000});
    ASSERT_TRUE(cert_reader.feed(from_hex("0b004e20")));  // 20000
    m = cert_reader.next();
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->has_value());
    HandshakeReader cert_reader2(HandshakeReaderLimits{.max_message_len = 20000});
    ASSERT_TRUE(cert_reader2.feed(from_hex("0b004e21")));  // 20001
    m = cert_reader2.next();
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().alert, Alert::illegal_parameter);
}

TEST(HandshakeReader, SmallerLimitsApplyToEveryType) {
    HandshakeReader r(HandshakeReaderLimits{.max_message_len = 1000, .max_small_message_len = 500});
    EXPECT_EQ(r.limit_for(HandshakeType::certificate), 1000u);
    EXPECT_EQ(r.limit_for(HandshakeType::finished), 500u);
    HandshakeReader r2(HandshakeReaderLimits{.max_message_len = 100, .max_small_message_len = 500});
    EXPECT_EQ(r2.limit_for(HandshakeType::client_hello), 100u);
}

TEST(HandshakeReader, TotalBufferBoundIsEnforced) {
    HandshakeReader r(
        HandshakeReaderLimits{.max_message_len = 1000, .max_small_message_len = 1000});
    EXPECT_EQ(r.capacity(), 4u + 1000u + kMaxPlaintext);
    // A record larger than 2^14 is a record_overflow.
    Bytes too_big(kMaxPlaintext + 1, 0);
    auto st = r.feed(too_big);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().alert, Alert::record_overflow);

    // Feeding without draining: many small messages pile up until the bound.
    HandshakeReader r2(
        HandshakeReaderLimits{.max_message_len = 1000, .max_small_message_len = 1000});
    const Bytes key_updates = [] {
        Bytes b;
        for (int i = 0; i < 3000; ++i) {
            const Bytes ku = from_hex("1800000100");
            b.insert(b.end(), ku.begin(), ku.end());
        }
        return b;
    }();  // 15000 bytes
    ASSERT_TRUE(r2.feed(key_updates));
    st = r2.feed(ByteSpan(key_updates).first(2500));  // 17500 > 4 + 1000 + 16384
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().alert, Alert::unexpected_message);

    // Draining in between keeps any volume flowing.
    HandshakeReader r3(
        HandshakeReaderLimits{.max_message_len = 1000, .max_small_message_len = 1000});
    std::size_t n = 0;
    for (int rec = 0; rec < 20; ++rec) {
        ASSERT_TRUE(r3.feed(key_updates));
        for (;;) {
            auto m = r3.next();
            ASSERT_TRUE(m);
            if (!m->has_value()) break;
            ASSERT_TRUE(KeyUpdate::parse((*m)->body));
            ++n;
        }
    }
    EXPECT_EQ(n, 20u * 3000u);
}

}  // namespace
}  // namespace l45::tls::msg
