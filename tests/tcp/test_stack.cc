// Two TcpStacks back to back through an in-memory wire (no DPDK ports): the
// handshake through the listen table, resets for unknown connections,
// checksum and backlog drops, and a 1 MiB transfer each way whose SHA-256
// must match, also over a seeded lossy, reordering, corrupting wire.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <vector>

#include "stack/tcp/interface_adapter.h"  // compiled here so it keeps building
#include "stack/tcp/stack.h"
#include "tests/tcp/harness.h"

namespace l45::tcp {
namespace {

using namespace std::chrono_literals;
using test::bytes_of;

const net::Ipv4Addr kIpA = net::Ipv4Addr::from_octets(198, 18, 0, 1);
const net::Ipv4Addr kIpB = net::Ipv4Addr::from_octets(198, 18, 0, 2);
const Instant T0 = Instant{} + 1000s;

std::array<std::uint8_t, 32> sha256(ByteSpan data) {
    std::array<std::uint8_t, 32> out{};
    unsigned int len = 0;
    EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr), 1);
    return out;
}

class Sha256 {
  public:
    Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    void update(ByteSpan d) { EVP_DigestUpdate(ctx_, d.data(), d.size()); }
    std::array<std::uint8_t, 32> final() {
        std::array<std::uint8_t, 32> out{};
        unsigned int len = 0;
        EVP_DigestFinal_ex(ctx_, out.data(), &len);
        return out;
    }

  private:
    EVP_MD_CTX* ctx_;
};

// The wire: latency, and seeded loss / reordering / corruption.
class Wire final : public SegmentSink {
  public:
    struct Faults {
        std::uint32_t loss_per_10k = 0;
        std::uint32_t reorder_per_10k = 0;
        std::uint32_t corrupt_per_10k = 0;
    };
    Wire(std::uint64_t seed, Faults faults) : random_(seed), faults_(faults) {}

    void send_segment(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, MbufPtr m) override {
        ++sent;
        if (random_.below(10000) < faults_.loss_per_10k) {
            ++dropped;
            return;
        }
        if (random_.below(10000) < faults_.corrupt_per_10k) {
            const std::uint32_t at = static_cast<std::uint32_t>(random_.below(m->data_len));
            rte_pktmbuf_mtod(m.get(), std::uint8_t*)[at] ^= 0x20;
            ++corrupted;
        }
        Duration delay = 1ms;
        if (random_.below(10000) < faults_.reorder_per_10k)
            delay += std::chrono::microseconds(random_.below(3000));
        queue_.push_back({now + delay, src, dst, std::move(m)});
    }
    Instant next() const {
        Instant t = Instant::max();
        for (const auto& p : queue_)
            t = std::min(t, p.at);
        return t;
    }
    void deliver(Instant now, TcpStack& a, TcpStack& b) {
        // In arrival-time order; equal times keep sending order.
        std::stable_sort(queue_.begin(), queue_.end(),
                         [](const Packet& x, const Packet& y) { return x.at < y.at; });
        std::size_t n = 0;
        while (n < queue_.size() && queue_[n].at <= now)
            ++n;
        std::vector<Packet> due;
        due.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            due.push_back(std::move(queue_[i]));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        for (auto& p : due)
            (p.dst == kIpA ? a : b).on_segment(now, p.src, p.dst, std::move(p.m));
    }
    std::uint64_t sent = 0, dropped = 0, corrupted = 0;

  private:
    struct Packet {
        Instant at;
        net::Ipv4Addr src, dst;
        MbufPtr m;
    };
    SeededRandom random_;
    Faults faults_;
    std::vector<Packet> queue_;
};

// An application: sends `out` then shuts down; hashes what it receives.
class App final : public TcpHandler {
  public:
    explicit App(std::vector<std::uint8_t> out) : out_(std::move(out)) {}
    TcpStack* stack = nullptr;
    ConnId conn;
    bool accepted = false, connected = false, closed = false, peer_done = false;
    CloseReason reason = CloseReason::kAborted;
    std::size_t received = 0;
    Sha256 hash;

    void on_accept(ConnId id, std::uint16_t) override {
        conn = id;
        accepted = true;
        pump();
    }
    void on_connected(ConnId id) override {
        conn = id;
        connected = true;
        pump();
    }
    void on_readable(ConnId id) override {
        // Zero copy: hash straight out of the received mbufs.
        for (ByteSpan s = stack->peek(id); !s.empty(); s = stack->peek(id)) {
            hash.update(s);
            received += s.size();
            stack->consume(id, static_cast<std::uint32_t>(s.size()));
        }
        const Connection* c = stack->find(id);
        if (c != nullptr && c->recv_finished()) peer_done = true;
    }
    void on_writable(ConnId) override { pump(); }
    void on_closed(ConnId, CloseReason r) override {
        closed = true;
        reason = r;
    }
    void pump() {
        if (!conn.valid() || shut_) return;
        while (sent_ < out_.size()) {
            const std::uint32_t n = stack->send(conn, ByteSpan(out_).subspan(sent_));
            if (n == 0) return;
            sent_ += n;
        }
        stack->shutdown(conn);
        shut_ = true;
    }

  private:
    std::vector<std::uint8_t> out_;
    std::size_t sent_ = 0;
    bool shut_ = false;
};

TcpStackConfig stack_config(net::Ipv4Addr addr) {
    TcpStackConfig c;
    c.local_addr = addr;
    c.max_connections = 8;
    return c;
}

struct Pair {
    Pair(std::vector<std::uint8_t> a_out, std::vector<std::uint8_t> b_out, Wire::Faults faults,
         std::uint64_t seed = 1)
        : wire(seed, faults),
          app_a(std::move(a_out)),
          app_b(std::move(b_out)),
          rand_a(seed * 3 + 1),
          rand_b(seed * 3 + 2),
          a(stack_config(kIpA), wire, l45::test::pktmbuf_pool(), rand_a, app_a),
          b(stack_config(kIpB), wire, l45::test::pktmbuf_pool(), rand_b, app_b) {
        app_a.stack = &a;
        app_b.stack = &b;
    }
    // Runs until `done` or the simulated clock passes `limit`.
    template <class F>
    void run(F done, Duration limit = 600s) {
        for (int i = 0; i < 5'000'000 && !done() && now - T0 < limit; ++i) {
            wire.deliver(now, a, b);
            a.poll(now);
            b.poll(now);
            app_a.pump();
            app_b.pump();
            const Instant next = std::min({wire.next(), a.poll_at(), b.poll_at()});
            if (next == Instant::max()) break;
            if (next > now) now = next;
        }
    }
    Wire wire;
    App app_a, app_b;
    SeededRandom rand_a, rand_b;
    TcpStack a, b;
    Instant now = T0;
};

TEST(TcpStack, HandshakeThroughListenTableAndCleanClose) {
    Pair p(bytes_of(1000, 1), bytes_of(500, 2), {});
    ASSERT_TRUE(p.b.listen(80, 4));
    EXPECT_FALSE(p.b.listen(80, 4));  // the port is taken
    auto id = p.a.connect(p.now, kIpB, 80);
    ASSERT_TRUE(id.has_value());
    p.run([&] { return p.app_a.closed && p.app_b.closed; });
    EXPECT_TRUE(p.app_a.connected);
    EXPECT_TRUE(p.app_b.accepted);
    EXPECT_EQ(p.app_b.received, 1000u);
    EXPECT_EQ(p.app_a.received, 500u);
    EXPECT_EQ(p.app_a.reason, CloseReason::kNormal);
    EXPECT_EQ(p.app_b.reason, CloseReason::kNormal);
    // Both shut down at once (a simultaneous close, RFC 9293 figure 13), so
    // both sides wait in TIME-WAIT for 2 MSL, but in the TIME-WAIT table:
    // the slots are free at once and the handles dead.
    EXPECT_EQ(p.a.find(*id), nullptr);
    EXPECT_EQ(p.a.num_connections() + p.b.num_connections(), 0u);
    EXPECT_EQ(p.a.counters().time_wait_entries, 1u);
    EXPECT_EQ(p.b.counters().time_wait_entries, 1u);
    p.now += 61s;
    p.a.poll(p.now);
    p.b.poll(p.now);
    EXPECT_EQ(p.a.counters().time_wait_entries + p.b.counters().time_wait_entries, 0u);
    EXPECT_EQ(p.a.counters().time_wait_expired, 1u);
}

TEST(TcpStack, ConnectToClosedPortIsRefused) {
    Pair p({}, {}, {});
    auto id = p.a.connect(p.now, kIpB, 81);
    ASSERT_TRUE(id.has_value());
    p.run([&] { return p.app_a.closed; }, 10s);
    EXPECT_TRUE(p.app_a.closed);
    EXPECT_EQ(p.app_a.reason, CloseReason::kRefused);
    EXPECT_EQ(p.b.counters().no_connection, 1u);
    EXPECT_EQ(p.b.counters().resets_sent, 1u);
    EXPECT_EQ(p.a.num_connections(), 0u);
}

// Feeds stack `s` one handcrafted segment from kIpA.
void inject(TcpStack& s, Instant now, const TcpRepr& r, bool corrupt = false) {
    MbufPtr m = test::build_segment(l45::test::pktmbuf_pool(), kIpA, kIpB, r, {});
    ASSERT_TRUE(m);
    if (corrupt) rte_pktmbuf_mtod(m.get(), std::uint8_t*)[4] ^= 1;
    s.on_segment(now, kIpA, kIpB, std::move(m));
}

TcpRepr syn_from(std::uint16_t port) {
    TcpRepr r;
    r.src_port = port;
    r.dst_port = 80;
    r.flags = flags::kSyn;
    r.seq = SeqNum(777);
    r.window = 1000;
    return r;
}

TEST(TcpStack, BadChecksumIsDroppedAndCounted) {
    Pair p({}, {}, {});
    ASSERT_TRUE(p.b.listen(80, 4));
    inject(p.b, p.now, syn_from(1000), /*corrupt=*/true);
    EXPECT_EQ(p.b.counters().bad_checksum, 1u);
    EXPECT_EQ(p.wire.sent, 0u);
    EXPECT_EQ(p.b.num_connections(), 0u);
    inject(p.b, p.now, syn_from(1000));
    EXPECT_EQ(p.wire.sent, 1u);  // SYN-ACK
    EXPECT_EQ(p.b.num_connections(), 1u);
}

TEST(TcpStack, MalformedOptionsAreDroppedAndCounted) {
    Pair p({}, {}, {});
    ASSERT_TRUE(p.b.listen(80, 4));
    // SYN with an MSS option of length 0.
    std::array<std::uint8_t, 24> h{};
    h[0] = 0x03;  // source port 1000
    h[1] = 0xe8;
    h[3] = 80;
    h[12] = 0x60;
    h[13] = flags::kSyn;
    h[20] = option::kMss;
    h[21] = 0;
    store_be16(h.data() + 16, tcp_checksum(kIpA, kIpB, h));
    MbufPtr m(rte_pktmbuf_alloc(l45::test::pktmbuf_pool()));
    std::memcpy(rte_pktmbuf_append(m.get(), h.size()), h.data(), h.size());
    p.b.on_segment(p.now, kIpA, kIpB, std::move(m));
    EXPECT_EQ(p.b.counters().bad_option, 1u);
    EXPECT_EQ(p.wire.sent, 0u);
}

TEST(TcpStack, NicVerifiedChecksumSkipsSoftwareAndBadFlagDrops) {
    Pair p({}, {}, {});
    ASSERT_TRUE(p.b.listen(80, 4));
    MbufPtr m = test::build_segment(l45::test::pktmbuf_pool(), kIpA, kIpB, syn_from(1), {});
    m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
    p.b.on_segment(p.now, kIpA, kIpB, std::move(m));
    EXPECT_EQ(p.b.counters().bad_checksum, 1u);
    // A corrupted checksum field, but the caller says the NIC verified it.
    MbufPtr m2 = test::build_segment(l45::test::pktmbuf_pool(), kIpA, kIpB, syn_from(2), {});
    rte_pktmbuf_mtod(m2.get(), std::uint8_t*)[16] ^= 0xff;
    p.b.on_segment(p.now, kIpA, kIpB, std::move(m2), /*checksum_verified=*/true);
    EXPECT_EQ(p.b.num_connections(), 1u);
}

// TIME-WAIT (slot hand-off, reopening, expiry): tests/tcp/test_time_wait.cc.

TEST(TcpStack, BacklogLimitsEmbryos) {
    Pair p({}, {}, {});
    ASSERT_TRUE(p.b.listen(80, 2));
    inject(p.b, p.now, syn_from(1001));
    inject(p.b, p.now, syn_from(1002));
    inject(p.b, p.now, syn_from(1003));
    EXPECT_EQ(p.b.num_connections(), 2u);
    EXPECT_EQ(p.b.counters().syn_cookies_sent, 1u);  // beyond the backlog: a cookie, no state
    // An embryo that is reset frees its backlog place.
    TcpRepr rst;
    rst.src_port = 1001;
    rst.dst_port = 80;
    rst.flags = flags::kRst;
    rst.seq = SeqNum(778);
    inject(p.b, p.now, rst);
    EXPECT_EQ(p.b.num_connections(), 1u);
    inject(p.b, p.now, syn_from(1003));
    EXPECT_EQ(p.b.num_connections(), 2u);
}

class CountingHandler final : public TcpHandler {
  public:
    void on_accept(ConnId id, std::uint16_t) override {
        ++accepts;
        last = id;
    }
    int accepts = 0;
    ConnId last;
};

TEST(TcpStack, SynCookiesWhenTheBacklogIsFull) {
    test::CaptureSink sink;
    SeededRandom rnd(9);
    CountingHandler handler;
    TcpStack b(stack_config(kIpB), sink, l45::test::pktmbuf_pool(), rnd, handler);
    ASSERT_TRUE(b.listen(80, 1));
    inject(b, T0, syn_from(1001));  // takes the one backlog place
    ASSERT_EQ(sink.segments.size(), 1u);
    sink.segments.clear();
    TcpRepr syn = syn_from(1002);
    syn.options.mss = 1400;
    syn.options.window_scale = 5;
    inject(b, T0, syn);
    EXPECT_EQ(b.counters().syn_cookies_sent, 1u);
    EXPECT_EQ(b.num_connections(), 1u);  // no state kept
    ASSERT_EQ(sink.segments.size(), 1u);
    const test::Captured sa = sink.segments.front();
    sink.segments.clear();
    EXPECT_EQ(sa.repr.flags, flags::kSyn | flags::kAck);
    EXPECT_EQ(sa.repr.ack, SeqNum(778));
    EXPECT_FALSE(sa.repr.options.window_scale);  // the cookie carries only the MSS
    // A forged ACK (wrong cookie) is answered with a reset.
    TcpRepr bad;
    bad.src_port = 1002;
    bad.dst_port = 80;
    bad.flags = flags::kAck;
    bad.seq = SeqNum(778);
    bad.ack = sa.repr.seq + 2;
    bad.window = 1000;
    inject(b, T0 + 1ms, bad);
    EXPECT_EQ(b.counters().syn_cookies_rejected, 1u);
    ASSERT_EQ(sink.segments.size(), 1u);
    EXPECT_EQ(sink.segments.front().repr.flags, flags::kRst);
    sink.segments.clear();
    // The right ACK, carrying data, creates the connection.
    TcpRepr ack = bad;
    ack.ack = sa.repr.seq + 1;
    ack.flags = flags::kAck | flags::kPsh;
    MbufPtr m = test::build_segment(l45::test::pktmbuf_pool(), kIpA, kIpB, ack, bytes_of(10));
    b.on_segment(T0 + 2ms, kIpA, kIpB, std::move(m));
    EXPECT_EQ(b.counters().syn_cookies_accepted, 1u);
    EXPECT_EQ(handler.accepts, 1);
    const Connection* c = b.find(handler.last);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->state(), State::kEstablished);
    EXPECT_EQ(c->snd_mss(), 1400);
    EXPECT_EQ(c->recv_available(), 10u);
    EXPECT_TRUE(sink.segments.empty());  // delayed ACK (40 ms)
    b.poll(T0 + 42ms);
    ASSERT_FALSE(sink.segments.empty());
    EXPECT_EQ(sink.segments.back().repr.ack, SeqNum(788));
    // A cookie older than two periods (128 s) no longer verifies.
    inject(b, T0 + 3ms, [] {
        TcpRepr s2 = syn_from(1003);
        return s2;
    }());
    const SeqNum cookie = sink.segments.back().repr.seq;
    TcpRepr late = bad;
    late.src_port = 1003;
    late.ack = cookie + 1;
    inject(b, T0 + 200s, late);
    EXPECT_EQ(b.counters().syn_cookies_rejected, 2u);
}

TEST(TcpStack, UnknownConnectionGetsReset) {
    Pair p({}, {}, {});
    TcpRepr ack;
    ack.src_port = 5555;
    ack.dst_port = 80;
    ack.flags = flags::kAck;
    ack.seq = SeqNum(1);
    ack.ack = SeqNum(4242);
    inject(p.b, p.now, ack);
    EXPECT_EQ(p.b.counters().no_connection, 1u);
    EXPECT_EQ(p.b.counters().resets_sent, 1u);
    EXPECT_EQ(p.wire.sent, 1u);
}

void transfer_1mib(Wire::Faults faults, std::uint64_t seed) {
    const auto a_out = bytes_of(1 << 20, 11);
    const auto b_out = bytes_of(1 << 20, 77);
    Pair p(a_out, b_out, faults, seed);
    ASSERT_TRUE(p.b.listen(443, 8));
    ASSERT_TRUE(p.a.connect(p.now, kIpB, 443).has_value());
    p.run([&] { return p.app_a.closed && p.app_b.closed; });
    if (!(p.app_a.closed && p.app_b.closed)) {
        for (const Connection* c : {p.a.find(p.app_a.conn), p.b.find(p.app_b.conn)}) {
            if (c == nullptr) continue;
            std::fprintf(stderr,
                         "state=%s una=%u nxt=%u wnd=%u cwnd=%u ssth=%u flight=%u unsent=%u rec=%d "
                         "rto=%lld poll_at=%lld rcv_nxt=%u\n",
                         to_string(c->state()), c->snd_una().value(), c->snd_nxt().value(),
                         c->snd_wnd(), c->cc().cwnd, c->cc().ssthresh, c->flight_len(),
                         c->unsent_len(), c->in_recovery(), (long long)c->rto().count(),
                         (long long)(c->poll_at() - T0).count(), c->rcv_nxt().value());
        }
    }
    ASSERT_TRUE(p.app_a.closed && p.app_b.closed) << "stalled at " << (p.now - T0).count();
    EXPECT_EQ(p.app_b.received, a_out.size());
    EXPECT_EQ(p.app_a.received, b_out.size());
    EXPECT_EQ(p.app_b.hash.final(), sha256(a_out));
    EXPECT_EQ(p.app_a.hash.final(), sha256(b_out));
    EXPECT_TRUE(p.app_a.peer_done);
    EXPECT_TRUE(p.app_b.peer_done);
    EXPECT_EQ(p.app_a.reason, CloseReason::kNormal);
    EXPECT_EQ(p.app_b.reason, CloseReason::kNormal);
    if (faults.loss_per_10k > 0) {
        EXPECT_GT(p.wire.dropped, 0u);
        EXPECT_GT(p.a.counters().retransmits + p.b.counters().retransmits, 0u);
    }
    if (faults.corrupt_per_10k > 0) {
        EXPECT_GT(p.a.counters().bad_checksum + p.b.counters().bad_checksum, 0u);
    }
}

// Many connections at once: every one sends its own pattern, the other side
// checks each stream; exercises the 4-tuple table (inserts and
// backward-shift deletes), the timer heap and slot reuse.
class MultiApp final : public TcpHandler {
  public:
    static constexpr int kSlots = 16;
    TcpStack* stack = nullptr;
    bool sender = false;
    std::size_t per_conn = 0;
    int closed = 0;
    std::array<std::size_t, kSlots> sent{}, received{};
    std::array<std::uint8_t, kSlots> seed{};
    bool mismatch = false;

    void on_connected(ConnId id) override { pump(id); }
    void on_writable(ConnId id) override { pump(id); }
    void on_readable(ConnId id) override {
        std::uint8_t buf[4096];
        for (std::uint32_t n; (n = stack->recv(id, buf)) > 0;) {
            // Each stream is bytes_of(per_conn, seed): byte i is seed + 7 i.
            for (std::uint32_t i = 0; i < n; ++i) {
                const std::size_t at = received[id.index] + i;
                if (at == 0) seed[id.index] = buf[0];
                if (buf[i] != static_cast<std::uint8_t>(seed[id.index] + at * 7)) mismatch = true;
            }
            received[id.index] += n;
        }
        const Connection* c = stack->find(id);
        if (!sender && c != nullptr && c->recv_finished()) stack->close(id);
    }
    void on_closed(ConnId, CloseReason r) override {
        ++closed;
        if (r != CloseReason::kNormal) mismatch = true;
    }
    void pump(ConnId id) {
        if (!sender || sent[id.index] >= per_conn) return;
        const auto data = bytes_of(per_conn, static_cast<std::uint8_t>(id.index * 13 + 1));
        while (sent[id.index] < per_conn) {
            const std::uint32_t n = stack->send(id, ByteSpan(data).subspan(sent[id.index]));
            if (n == 0) return;
            sent[id.index] += n;
        }
        stack->close(id);
    }
};

TEST(TcpTransfer, ManyConnectionsAtOnceWithLoss) {
    constexpr int kConns = 12;
    Wire wire(42, {150, 300, 0});
    MultiApp client, server;
    client.sender = true;
    client.per_conn = server.per_conn = 64 * 1024;
    SeededRandom ra(1), rb(2);
    TcpStackConfig ca = stack_config(kIpA), cb = stack_config(kIpB);
    ca.max_connections = cb.max_connections = MultiApp::kSlots;
    TcpStack a(ca, wire, l45::test::pktmbuf_pool(), ra, client);
    TcpStack b(cb, wire, l45::test::pktmbuf_pool(), rb, server);
    client.stack = &a;
    server.stack = &b;
    ASSERT_TRUE(b.listen(8080, kConns));
    Instant now = T0;
    for (int i = 0; i < kConns; ++i)
        ASSERT_TRUE(a.connect(now, kIpB, 8080).has_value());
    for (int i = 0; i < 2'000'000 && (client.closed < kConns || server.closed < kConns); ++i) {
        wire.deliver(now, a, b);
        a.poll(now);
        b.poll(now);
        const Instant next = std::min({wire.next(), a.poll_at(), b.poll_at()});
        if (next == Instant::max()) break;
        if (next > now) now = next;
    }
    EXPECT_EQ(client.closed, kConns);
    EXPECT_EQ(server.closed, kConns);
    EXPECT_FALSE(client.mismatch);
    EXPECT_FALSE(server.mismatch);
    std::size_t total = 0;
    for (std::size_t r : server.received)
        total += r;
    EXPECT_EQ(total, kConns * client.per_conn);
    EXPECT_GT(wire.dropped, 0u);
    // TIME-WAITs expire and every slot is free again.
    now += 61s;
    a.poll(now);
    b.poll(now);
    EXPECT_EQ(a.num_connections(), 0u);
    EXPECT_EQ(b.num_connections(), 0u);
}

// The same two stacks over two real l45::net::Interfaces (Ethernet, ARP,
// IPv4) joined back to back: exercises InterfaceAdapter both ways.
TEST(TcpTransfer, ThroughTwoNetInterfaces) {
    rte_mempool* pool = l45::test::pktmbuf_pool();
    net::InterfaceConfig ca, cb;
    ca.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, 0x01}};
    cb.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, 0x02}};
    ca.ip = kIpA;
    cb.ip = kIpB;
    net::Interface ia(ca, pool, net::TxOffloads{}), ib(cb, pool, net::TxOffloads{});
    InterfaceAdapter ada(ia), adb(ib);
    const auto a_out = bytes_of(256 * 1024, 3), b_out = bytes_of(256 * 1024, 4);
    App app_a(a_out), app_b(b_out);
    SeededRandom ra(5), rb(6);
    TcpStack a(stack_config(kIpA), ada, pool, ra, app_a);
    TcpStack b(stack_config(kIpB), adb, pool, rb, app_b);
    app_a.stack = &a;
    app_b.stack = &b;
    ada.attach(a);
    adb.attach(b);
    Instant now = T0;
    ia.start(now);
    ib.start(now);
    ASSERT_TRUE(b.listen(80, 4));
    ASSERT_TRUE(a.connect(now, kIpB, 80).has_value());
    auto move_frames = [&](net::Interface& from, net::Interface& to) {
        std::array<rte_mbuf*, 64> frames{};
        bool moved = false;
        for (std::size_t n; (n = from.drain_tx(frames)) > 0;) {
            for (std::size_t i = 0; i < n; ++i)
                to.receive(now, MbufPtr(frames[i]));
            moved = true;
        }
        return moved;
    };
    for (int i = 0; i < 1'000'000 && !(app_a.closed && app_b.closed); ++i) {
        const bool moved = move_frames(ia, ib) | move_frames(ib, ia);
        ia.poll(now);
        ib.poll(now);
        a.poll(now);
        b.poll(now);
        app_a.pump();
        app_b.pump();
        if (moved || ia.tx_pending() > 0 || ib.tx_pending() > 0) continue;
        const Instant next =
            std::min({a.poll_at(), b.poll_at(), ia.next_deadline(), ib.next_deadline()});
        if (next == Instant::max()) break;
        if (next > now) now = next;
    }
    ASSERT_TRUE(app_a.closed && app_b.closed);
    EXPECT_EQ(app_b.hash.final(), sha256(a_out));
    EXPECT_EQ(app_a.hash.final(), sha256(b_out));
    EXPECT_EQ(ada.send_failures() + adb.send_failures(), 0u);
    EXPECT_EQ(a.counters().bad_checksum + b.counters().bad_checksum, 0u);
}

TEST(TcpTransfer, OneMibEachWayClean) {
    transfer_1mib({}, 1);
}

TEST(TcpTransfer, OneMibEachWayWithLoss) {
    transfer_1mib({100, 0, 0}, 2);
}

TEST(TcpTransfer, OneMibEachWayWithReordering) {
    transfer_1mib({0, 1000, 0}, 3);
}

TEST(TcpTransfer, OneMibEachWayWithLossReorderingCorruption) {
    for (std::uint64_t seed = 10; seed < 13; ++seed) {
        SCOPED_TRACE(seed);
        transfer_1mib({200, 500, 50}, seed);
    }
}

}  // namespace
}  // namespace l45::tcp
