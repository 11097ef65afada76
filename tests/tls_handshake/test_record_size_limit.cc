// RFC 8449 record_size_limit between our client and our server: the wire is
// tapped and every protected record's length checked against the limit the
// receiver announced; records above our own limit are forged with the
// peer's key-log secrets and must end in record_overflow.
#include <cstring>

#include "tests/tls_handshake/harness.h"
#include "tls/record/key_schedule.h"

namespace l45::tls::test {
namespace {

// Both directions of a Pair, every byte kept. Bytes go from a's output to b
// in whatever pieces b takes (it stalls while application data waits).
struct Tap {
    Bytes c2s, s2c;  // everything each side sent
    std::size_t c2s_fed = 0, s2c_fed = 0;
    Bytes client_got, server_got;  // application data read

    static bool move(Connection& a, Connection& b, Bytes& wire, std::size_t& fed, Bytes& got) {
        bool moved = false;
        const ByteSpan out = a.pending_output();
        if (!out.empty()) {
            wire.insert(wire.end(), out.begin(), out.end());
            a.consume_output(out.size());
            moved = true;
        }
        while (fed < wire.size() && !b.failed()) {
            auto r = b.receive(ByteSpan(wire).subspan(fed));
            EXPECT_TRUE(r.has_value()) << alert_name(r.error().alert);
            if (!r) break;
            fed += *r;
            std::uint8_t buf[4096];
            std::size_t n = 0;
            bool read_any = false;
            while ((n = b.read(buf)) != 0) {
                got.insert(got.end(), buf, buf + n);
                read_any = true;
            }
            if (*r == 0 && !read_any) break;
            moved = true;
        }
        return moved;
    }
    void pump(Pair& p) {
        for (int i = 0; i < 1000000; ++i) {
            const bool a = move(*p.client, *p.server, c2s, c2s_fed, server_got);
            const bool b = move(*p.server, *p.client, s2c, s2c_fed, client_got);
            if (!a && !b) break;
        }
    }
};

// Lengths of the protected (opaque type application_data) records in `wire`.
std::vector<std::size_t> protected_record_lengths(ByteSpan wire) {
    std::vector<std::size_t> out;
    while (wire.size() >= 5) {
        const std::size_t len = load_be16(wire.data() + 3);
        EXPECT_GE(wire.size(), 5 + len);
        if (wire.size() < 5 + len) break;
        if (wire[0] == 23) out.push_back(len);
        wire = wire.subspan(5 + len);
    }
    EXPECT_TRUE(wire.empty());
    return out;
}

Bytes pattern(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::uint8_t>(i * 131 + (i >> 8));
    return b;
}

// Writes all of `data` from `from`, pumping as the output buffer fills.
void send_all(Pair& p, Tap& tap, Connection& from, const Bytes& data) {
    std::size_t done = 0;
    for (int i = 0; i < 100000 && done < data.size(); ++i) {
        auto n = from.write(ByteSpan(data).subspan(done));
        ASSERT_TRUE(n.has_value());
        done += *n;
        tap.pump(p);
    }
    ASSERT_EQ(done, data.size());
    tap.pump(p);
}

constexpr std::size_t kTag = 16;

TEST(RecordSizeLimit, ClientLimit64BoundsEveryServerRecord) {
    Pair p;
    p.client_cfg.record_size_limit = 64;
    p.start();
    Tap tap;
    tap.pump(p);
    ASSERT_TRUE(p.client->handshake_complete());
    ASSERT_TRUE(p.server->handshake_complete());
    const std::size_t handshake_records = protected_record_lengths(tap.s2c).size();
    // EE, Certificate, CertificateVerify and Finished: the certificate alone
    // needs many 63-byte records.
    EXPECT_GT(handshake_records, 8u);

    const Bytes data = pattern(100 * 1024);
    send_all(p, tap, *p.server, data);
    EXPECT_EQ(tap.client_got, data);
    const auto lens = protected_record_lengths(tap.s2c);
    // 63 bytes of content + type + tag; the application records fill it.
    std::size_t full = 0;
    for (std::size_t len : lens) {
        EXPECT_LE(len, 63 + 1 + kTag);
        if (len == 63 + 1 + kTag) ++full;
    }
    EXPECT_GE(lens.size() - handshake_records, (data.size() + 62) / 63);
    EXPECT_GE(full, data.size() / 63);
    // The client's own records are not limited (the server announced 2^14+1).
    const Bytes up = pattern(40000);
    send_all(p, tap, *p.client, up);
    EXPECT_EQ(tap.server_got, up);
    std::size_t biggest = 0;
    for (std::size_t len : protected_record_lengths(tap.c2s))
        biggest = std::max(biggest, len);
    EXPECT_EQ(biggest, kMaxPlaintext + 1 + kTag);
    EXPECT_FALSE(p.client->failed());
    EXPECT_FALSE(p.server->failed());
}

TEST(RecordSizeLimit, ServerLimit256BoundsClientRecords) {
    Pair p;
    p.server_cfg.record_size_limit = 256;
    p.start();
    Tap tap;
    tap.pump(p);
    ASSERT_TRUE(p.server->handshake_complete());
    const Bytes data = pattern(100 * 1024 + 7);
    send_all(p, tap, *p.client, data);
    EXPECT_EQ(tap.server_got, data);
    const auto lens = protected_record_lengths(tap.c2s);
    std::size_t full = 0;
    for (std::size_t len : lens) {
        EXPECT_LE(len, 255 + 1 + kTag);
        if (len == 255 + 1 + kTag) ++full;
    }
    EXPECT_EQ(full, data.size() / 255);
    // The server's records are not limited by its own limit.
    const Bytes down = pattern(20000);
    send_all(p, tap, *p.server, down);
    EXPECT_EQ(tap.client_got, down);
    std::size_t biggest = 0;
    for (std::size_t len : protected_record_lengths(tap.s2c))
        biggest = std::max(biggest, len);
    EXPECT_EQ(biggest, kMaxPlaintext + 1 + kTag);
}

// RFC 8449 §4: without the client's extension the server neither answers
// nor restricts the client; the client's absent limit leaves the server free.
TEST(RecordSizeLimit, NotOfferedNotApplied) {
    Pair p;
    p.client_cfg.record_size_limit = std::nullopt;
    p.server_cfg.record_size_limit = 64;
    p.start();
    Tap tap;
    tap.pump(p);
    ASSERT_TRUE(p.client->handshake_complete());
    const Bytes data = pattern(3 * kMaxPlaintext);
    send_all(p, tap, *p.client, data);
    send_all(p, tap, *p.server, data);
    EXPECT_EQ(tap.server_got, data);
    EXPECT_EQ(tap.client_got, data);
    for (const Bytes* wire : {&tap.c2s, &tap.s2c}) {
        std::size_t biggest = 0;
        for (std::size_t len : protected_record_lengths(*wire))
            biggest = std::max(biggest, len);
        EXPECT_EQ(biggest, kMaxPlaintext + 1 + kTag);
    }
}

TEST(RecordSizeLimit, OutOfRangeConfigIsRefused) {
    for (std::uint16_t v : {std::uint16_t{0}, std::uint16_t{63}, std::uint16_t{16386}}) {
        Pair p;
        p.client_cfg.record_size_limit = v;
        EXPECT_FALSE(Connection::create(p.client_cfg, engine()).has_value()) << v;
        p.server_cfg.record_size_limit = v;
        EXPECT_FALSE(Connection::create(p.server_cfg, engine()).has_value()) << v;
    }
}

// An application record sealed with `secret` at `seq`: content of
// `content_len` bytes, its type byte, `padding` zeros.
Bytes forge_app_record(CipherSuite suite, const Bytes& secret, std::uint64_t seq,
                       std::size_t content_len, std::size_t padding = 0) {
    Bytes inner(content_len, 'x');
    inner.push_back(23);
    inner.insert(inner.end(), padding, 0);
    auto keys = derive_traffic_keys(suite, Secret(secret));
    EXPECT_TRUE(keys.has_value());
    AeadContext aead;
    EXPECT_TRUE(aead.install(engine(), suite, keys->key.view(), keys->iv.view()).has_value());
    const std::size_t len = inner.size() + kTag;
    Bytes rec = {23, 3, 3, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
    std::array<std::uint8_t, kTag> tag{};
    EXPECT_TRUE(aead.seal(engine(), seq, ByteSpan(rec.data(), 5), inner, tag).has_value());
    rec.insert(rec.end(), inner.begin(), inner.end());
    rec.insert(rec.end(), tag.begin(), tag.end());
    return rec;
}

// A peer ignoring our limit: the first record is exactly at it (accepted),
// the second one byte over (content or padding) -> record_overflow, and the
// alert reaches the peer.
void expect_overflow(bool victim_is_client, std::uint16_t limit, std::size_t padding) {
    Pair p;
    (victim_is_client ? p.client_cfg : p.server_cfg).record_size_limit = limit;
    p.handshake();
    ASSERT_TRUE(p.client->handshake_complete());
    ASSERT_TRUE(p.server->handshake_complete());
    Connection& victim = victim_is_client ? *p.client : *p.server;
    Connection& peer = victim_is_client ? *p.server : *p.client;
    const Bytes secret = victim_is_client ? p.server_log.secrets["SERVER_TRAFFIC_SECRET_0"]
                                          : p.client_log.secrets["CLIENT_TRAFFIC_SECRET_0"];
    const CipherSuite suite = victim.negotiated().suite;
    // Neither side has sent an application record yet: sequence 0.
    const Bytes ok = forge_app_record(suite, secret, 0, limit - 1 - padding, padding);
    auto r = victim.receive(ok);
    ASSERT_TRUE(r.has_value()) << alert_name(r.error().alert);
    EXPECT_EQ(*r, ok.size());
    std::array<std::uint8_t, 20000> buf{};
    EXPECT_EQ(victim.read(buf), limit - 1 - padding);

    const Bytes big = forge_app_record(suite, secret, 1, limit - padding, padding);
    r = victim.receive(big);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::record_overflow);
    EXPECT_EQ(r.error().origin, ErrorOrigin::local);
    auto c = peer.receive(victim.pending_output());
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().alert, Alert::record_overflow);
    EXPECT_EQ(c.error().origin, ErrorOrigin::peer);
}

TEST(RecordSizeLimit, ClientRefusesServerRecordAboveItsLimit) {
    expect_overflow(true, 64, 0);
    expect_overflow(true, 64, 10);  // padding counts (TLSInnerPlaintext)
    expect_overflow(true, 1000, 0);
}

TEST(RecordSizeLimit, ServerRefusesClientRecordAboveItsLimit) {
    expect_overflow(false, 256, 0);
    expect_overflow(false, 256, 100);
}

// Without our limit the same record is fine up to TLS 1.3's 2^14 + 1.
TEST(RecordSizeLimit, DefaultAcceptsFullRecords) {
    Pair p;
    p.handshake();
    ASSERT_TRUE(p.client->handshake_complete());
    const Bytes rec =
        forge_app_record(p.client->negotiated().suite,
                         p.server_log.secrets["SERVER_TRAFFIC_SECRET_0"], 0, kMaxPlaintext);
    auto r = p.client->receive(rec);
    ASSERT_TRUE(r.has_value()) << alert_name(r.error().alert);
    EXPECT_EQ(p.client->readable(), kMaxPlaintext);
}

}  // namespace
}  // namespace l45::tls::test
