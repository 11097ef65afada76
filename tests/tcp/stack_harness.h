// Test helpers for TcpStack under a fake clock: one stack and a scripted
// peer (Solo: segments in are crafted, segments out are captured), and two
// stacks joined by an in-order in-memory link with a fixed delay (Link).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <vector>

#include "stack/tcp/stack.h"
#include "tests/tcp/harness.h"

namespace l45::tcp::test {

inline const net::Ipv4Addr kPeerIp = net::Ipv4Addr::from_octets(198, 18, 0, 1);
inline const net::Ipv4Addr kStackIp = net::Ipv4Addr::from_octets(198, 18, 0, 2);
inline const Instant kT0 = Instant{} + 1000s;

inline TcpStackConfig small_stack_config(net::Ipv4Addr addr) {
    TcpStackConfig c;
    c.local_addr = addr;
    c.max_connections = 8;
    return c;
}

// Records what the stack told the application.
class Recorder final : public TcpHandler {
  public:
    void on_accept(ConnId id, std::uint16_t) override {
        ++accepts;
        last = id;
    }
    void on_connected(ConnId id) override {
        ++connects;
        last = id;
    }
    void on_closed(ConnId id, CloseReason r) override {
        ++closes;
        closed_id = id;
        reason = r;
    }
    int accepts = 0, connects = 0, closes = 0;
    ConnId last, closed_id;
    CloseReason reason = CloseReason::kAborted;
};

// One stack at kStackIp; the test plays the peer at kPeerIp.
struct Solo {
    explicit Solo(const TcpStackConfig& cfg = small_stack_config(kStackIp))
        : random(11), stack(cfg, sink, l45::test::pktmbuf_pool(), random, handler) {}

    void inject(Instant now, const TcpRepr& r, ByteSpan payload = {}) {
        MbufPtr m = build_segment(l45::test::pktmbuf_pool(), kPeerIp, kStackIp, r, payload);
        ASSERT_TRUE(m);
        stack.on_segment(now, kPeerIp, kStackIp, std::move(m));
    }
    // The oldest segment the stack sent (a default one when none).
    Captured take() {
        Captured c;
        EXPECT_FALSE(sink.segments.empty()) << "expected a segment";
        if (sink.segments.empty()) return c;
        c = std::move(sink.segments.front());
        sink.segments.pop_front();
        EXPECT_TRUE(c.checksum_ok);
        return c;
    }
    [[nodiscard]] bool quiet() const { return sink.segments.empty(); }

    CaptureSink sink;
    SeededRandom random;
    Recorder handler;
    TcpStack stack;
};

inline TcpRepr peer_seg(std::uint16_t src_port, std::uint16_t dst_port, std::uint8_t fl,
                        std::uint32_t seq, std::uint32_t ack, std::uint16_t window = 65535) {
    TcpRepr r;
    r.src_port = src_port;
    r.dst_port = dst_port;
    r.flags = fl;
    r.seq = SeqNum(seq);
    r.ack = SeqNum(ack);
    r.window = window;
    return r;
}

// Two stacks, in-order delivery after `delay`.
class Link final : public SegmentSink {
  public:
    explicit Link(Duration delay = 1ms) : delay_(delay) {}
    void send_segment(Instant now, net::Ipv4Addr src, net::Ipv4Addr dst, MbufPtr m) override {
        ++sent;
        queue_.push_back({now + delay_, src, dst, std::move(m)});
    }
    [[nodiscard]] Instant next() const {
        return queue_.empty() ? Instant::max() : queue_.front().at;
    }
    // Delivers what is due to the stack owning the destination address.
    void deliver(Instant now, TcpStack& a, TcpStack& b) {
        while (!queue_.empty() && queue_.front().at <= now) {
            Packet p = std::move(queue_.front());
            queue_.pop_front();
            (p.dst == a.config().local_addr ? a : b).on_segment(now, p.src, p.dst, std::move(p.m));
        }
    }
    std::uint64_t sent = 0;

  private:
    struct Packet {
        Instant at;
        net::Ipv4Addr src, dst;
        MbufPtr m;
    };
    Duration delay_;
    std::deque<Packet> queue_;
};

// Runs both stacks until `done()` or `limit` of simulated time.
template <class Done>
void run_link(Link& link, TcpStack& a, TcpStack& b, Instant& now, Done done,
              Duration limit = 600s) {
    const Instant start = now;
    for (int i = 0; i < 5'000'000 && !done() && now - start < limit; ++i) {
        link.deliver(now, a, b);
        a.poll(now);
        b.poll(now);
        if (done()) break;
        const Instant next = std::min({link.next(), a.poll_at(), b.poll_at()});
        if (next == Instant::max()) break;
        if (next > now) now = next;
    }
}

// An application that sends `to_send` bytes of bytes_of(_, seed) on each
// connection and checks what it receives against bytes_of(_, peer_seed).
// With shut_when_sent it half-closes once everything is queued; either way
// it closes once the peer has finished and everything is sent.
class BulkApp final : public TcpHandler {
  public:
    TcpStack* stack = nullptr;
    std::size_t to_send = 0;
    std::uint8_t seed = 1, peer_seed = 2;
    bool shut_when_sent = false;
    ConnId conn;
    int connects = 0, accepts = 0, closes = 0, abnormal = 0;
    std::size_t sent = 0, received = 0;
    bool mismatch = false;

    void on_connected(ConnId id) override {
        ++connects;
        start(id);
    }
    void on_accept(ConnId id, std::uint16_t) override {
        ++accepts;
        start(id);
    }
    void on_writable(ConnId id) override { pump(id); }
    void on_readable(ConnId id) override {
        std::uint8_t buf[4096];
        for (std::uint32_t n; (n = stack->recv(id, buf)) > 0;) {
            for (std::uint32_t i = 0; i < n; ++i)
                if (buf[i] != static_cast<std::uint8_t>(peer_seed + (received + i) * 7))
                    mismatch = true;
            received += n;
        }
        maybe_close(id);
    }
    void on_closed(ConnId, CloseReason r) override {
        ++closes;
        if (r != CloseReason::kNormal) ++abnormal;
        conn = ConnId{};
    }

  private:
    void start(ConnId id) {
        conn = id;
        sent = received = 0;
        shut_ = closed_ = false;
        data_ = bytes_of(to_send, seed);
        pump(id);
    }
    void pump(ConnId id) {
        while (sent < to_send) {
            const std::uint32_t n = stack->send(id, ByteSpan(data_).subspan(sent));
            if (n == 0) return;
            sent += n;
        }
        if (shut_when_sent && !shut_) {
            stack->shutdown(id);
            shut_ = true;
        }
        maybe_close(id);
    }
    void maybe_close(ConnId id) {
        const Connection* c = stack->find(id);
        if (!closed_ && c != nullptr && c->recv_finished() && sent == to_send) {
            stack->close(id);
            closed_ = true;
        }
    }
    std::vector<std::uint8_t> data_;
    bool shut_ = false, closed_ = false;
};

}  // namespace l45::tcp::test
