// Test helpers for the TCP core, after smoltcp's tcp.rs tests: a connection
// under a fake clock, `send(t, segment)`, `recv(t)` returning what the
// connection emitted, and `recv_nothing(t)`.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "stack/base/mbuf.h"
#include "stack/base/random.h"
#include "stack/tcp/connection.h"
#include "tests/support/eal_env.h"

namespace l45::tcp::test {

using namespace std::chrono_literals;

inline const net::Ipv4Addr kLocalIp = net::Ipv4Addr::from_octets(198, 18, 0, 1);
inline const net::Ipv4Addr kRemoteIp = net::Ipv4Addr::from_octets(198, 18, 0, 2);
inline constexpr std::uint16_t kLocalPort = 80;
inline constexpr std::uint16_t kRemotePort = 49152;

struct Captured {
    net::Ipv4Addr src, dst;
    TcpRepr repr;
    std::vector<std::uint8_t> payload;
    bool checksum_ok = false;
};

// Builds an mbuf holding `repr` (checksummed) followed by `payload`.
inline MbufPtr build_segment(rte_mempool* pool, net::Ipv4Addr src, net::Ipv4Addr dst,
                             const TcpRepr& repr, ByteSpan payload) {
    MbufPtr m(rte_pktmbuf_alloc(pool));
    if (!m) return m;
    const std::size_t hlen = repr.header_len();
    auto* p = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(hlen + payload.size())));
    if (p == nullptr) return MbufPtr();
    Writer w(MutableByteSpan(p, hlen));
    if (!repr.emit(w)) return MbufPtr();
    if (!payload.empty()) std::memcpy(p + hlen, payload.data(), payload.size());
    store_be16(p + kTcpChecksumOffset, tcp_checksum(src, dst, m.get()));
    return m;
}

inline bool parse_captured(net::Ipv4Addr src, net::Ipv4Addr dst, const rte_mbuf* m, Captured& out) {
    std::vector<std::uint8_t> bytes(m->pkt_len);
    std::uint32_t off = 0;
    for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        std::memcpy(bytes.data() + off, rte_pktmbuf_mtod(s, const std::uint8_t*), s->data_len);
        off += s->data_len;
    }
    auto parsed = TcpRepr::parse(bytes);
    if (!parsed) return false;
    out.src = src;
    out.dst = dst;
    out.repr = *parsed;
    out.payload.assign(bytes.begin() + static_cast<std::ptrdiff_t>(parsed->header_len()),
                       bytes.end());
    out.checksum_ok = tcp_checksum_ok(src, dst, m);
    return true;
}

class CaptureSink final : public SegmentSink {
  public:
    void send_segment(Instant, net::Ipv4Addr src, net::Ipv4Addr dst, MbufPtr m) override {
        Captured c;
        if (parse_captured(src, dst, m.get(), c))
            segments.push_back(std::move(c));
        else
            ++unparseable;
    }
    std::deque<Captured> segments;
    int unparseable = 0;
};

inline TcpRepr seg(std::uint8_t fl, std::uint32_t seq, std::uint32_t ack = 0,
                   std::uint16_t window = 65535) {
    TcpRepr r;
    r.src_port = kRemotePort;
    r.dst_port = kLocalPort;
    r.flags = fl;
    r.seq = SeqNum(seq);
    r.ack = SeqNum(ack);
    r.window = window;
    return r;
}

inline TcpConfig plain_config() {
    TcpConfig c;
    c.congestion = CongestionAlgo::kNewReno;
    c.window_scaling = false;
    c.sack = false;
    c.timestamps = false;
    c.delayed_ack = false;
    c.rcv_buf_len = 65535;
    c.snd_buf_len = 65535;
    return c;
}

class Harness {
  public:
    explicit Harness(TcpConfig cfg = plain_config()) : cfg_(cfg), random_(7), isn_(random_) {
        env_.config = &cfg_;
        env_.sink = &sink_;
        env_.pool = l45::test::pktmbuf_pool();
        env_.isn = &isn_;
        env_.counters = &counters_;
        env_.challenge_limiter = &limiter_;
        conn_ = std::make_unique<Connection>(env_);
    }

    Connection& conn() { return *conn_; }
    TcpCounters& counters() { return counters_; }
    const TcpConfig& config() const { return cfg_; }
    static Instant t(Duration d) { return Instant{} + 1000s + d; }

    // Feeds a segment from the remote end (ports filled in).
    void send(Instant now, TcpRepr r, ByteSpan payload = {}) {
        r.src_port = kRemotePort;
        r.dst_port = kLocalPort;
        MbufPtr m = build_segment(env_.pool, kRemoteIp, kLocalIp, r, payload);
        ASSERT_TRUE(m);
        auto parsed = TcpRepr::parse(first_segment(m.get()));
        ASSERT_TRUE(parsed.has_value());
        const auto hlen = static_cast<std::uint32_t>(parsed->header_len());
        conn_->on_segment(now, kRemoteIp, kLocalIp, *parsed, std::move(m), hlen);
    }
    void send(Instant now, TcpRepr r, const std::vector<std::uint8_t>& payload) {
        send(now, r, ByteSpan(payload));
    }
    // Polls at `now` and returns the first segment the connection emitted.
    Captured recv(Instant now) {
        conn_->poll(now);
        Captured c;
        EXPECT_FALSE(sink_.segments.empty()) << "expected a segment at " << (now - t(0s)).count();
        if (sink_.segments.empty()) return c;
        c = std::move(sink_.segments.front());
        sink_.segments.pop_front();
        EXPECT_TRUE(c.checksum_ok);
        EXPECT_EQ(c.src, kLocalIp);
        EXPECT_EQ(c.dst, kRemoteIp);
        return c;
    }
    void recv_nothing(Instant now) {
        conn_->poll(now);
        EXPECT_TRUE(sink_.segments.empty())
            << "unexpected segment flags=" << int(sink_.segments.front().repr.flags)
            << " seq=" << sink_.segments.front().repr.seq.value();
        sink_.segments.clear();
    }
    std::size_t pending() const { return sink_.segments.size(); }
    void drain() { sink_.segments.clear(); }

    // Handshakes. Local ISS 1000 (or `iss`), remote ISS 5000 (or `riss`).
    void establish_passive(std::uint32_t iss = 1000, std::uint32_t riss = 5000) {
        conn_->set_iss_for_test(iss);
        conn_->listen(Endpoint{kLocalIp, kLocalPort});
        TcpRepr syn = seg(flags::kSyn, riss);
        syn.options.mss = 1460;
        send(t(0s), syn);
        Captured synack = recv(t(0s));
        ASSERT_EQ(synack.repr.flags, flags::kSyn | flags::kAck);
        send(t(0s), seg(flags::kAck, riss + 1, iss + 1));
        ASSERT_EQ(conn_->state(), State::kEstablished);
        (void)conn_->take_events();
    }
    void establish_active(std::uint32_t iss = 1000, std::uint32_t riss = 5000) {
        conn_->set_iss_for_test(iss);
        conn_->connect(t(0s), FourTuple{{kLocalIp, kLocalPort}, {kRemoteIp, kRemotePort}});
        Captured syn = recv(t(0s));
        ASSERT_EQ(syn.repr.flags, flags::kSyn);
        TcpRepr synack = seg(flags::kSyn | flags::kAck, riss, iss + 1);
        synack.options.mss = 1460;
        send(t(0s), synack);
        Captured ack = recv(t(0s));
        ASSERT_EQ(ack.repr.flags, flags::kAck);
        ASSERT_EQ(conn_->state(), State::kEstablished);
        (void)conn_->take_events();
    }

  private:
    TcpConfig cfg_;
    SeededRandom random_;
    IsnGenerator isn_;
    CaptureSink sink_;
    TcpCounters counters_;
    ChallengeAckLimiter limiter_;
    TcpEnv env_;
    std::unique_ptr<Connection> conn_;
};

inline std::vector<std::uint8_t> bytes_of(std::size_t n, std::uint8_t seed = 0) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::uint8_t>(seed + i * 7);
    return v;
}

}  // namespace l45::tcp::test
