// Two l45 TCP stacks over the net_ring wire with the seeded fault injector:
// bulk transfers whose SHA-256 must match end to end under loss, reordering,
// duplication and corruption, with every connection closing normally.
//
// Time is simulated (a ManualClock advanced by a small step per round), so
// RTOs cost iterations, not wall time, and every run replays from its seed.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "apps/common/service.h"
#include "apps/common/wire_host.h"
#include "drivers/wire.h"
#include "stack/tcp/stack.h"
#include "tests/support/eal_env.h"
#include "tests/support/sha256.h"

namespace l45 {
namespace {

using namespace std::chrono_literals;
using test::hex;
using test::Sha256;

constexpr std::uint16_t kPort = 5001;
constexpr Duration kStep = 100us;
constexpr Duration kIdleStep = 1ms;
constexpr Duration kStallLimit = 30s;  // simulated time without byte progress

std::uint64_t bytes_per_case() {
    const char* s = std::getenv("L45_TCP_WIRE_BYTES");
    if (s == nullptr || *s == '\0') return 64ull << 20;
    return std::strtoull(s, nullptr, 10);
}

// The byte at `pos` of stream `seed`: splitmix64 of (seed, pos / 8).
inline std::uint64_t pattern_word(std::uint64_t seed, std::uint64_t index) {
    std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + index + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::uint8_t> out) {
    // One splitmix64 word per 8 bytes (not per byte): the pattern costs
    // little next to the stack itself.
    std::size_t i = 0;
    while (i < out.size()) {
        const std::uint64_t pos = offset + i;
        const std::uint64_t word = pattern_word(seed, pos / 8);
        for (std::uint64_t k = pos % 8; k < 8 && i < out.size(); ++k, ++i)
            out[i] = static_cast<std::uint8_t>(word >> (8 * k));
    }
}

// One direction of one connection, seen from one end.
struct Flow {
    tcp::ConnId id{};
    bool sender = false;
    std::uint64_t seed = 0;
    std::uint64_t total = 0;
    std::uint64_t done = 0;  // bytes sent (sender) or received (receiver)
    bool connected = false;  // ESTABLISHED seen: close() in SYN-SENT would drop the data
    bool closed_called = false;
    bool on_closed = false;
    tcp::CloseReason reason = tcp::CloseReason::kNormal;
    std::unique_ptr<Sha256> sha = std::make_unique<Sha256>();
    test::Digest digest{};
};

// The application on one stack: senders stream their pattern then close;
// receivers hash what arrives and close once they have it all.
class App final : public tcp::TcpHandler {
  public:
    tcp::TcpStack* stack = nullptr;
    std::vector<Flow> flows;    // reserved up front
    bool listen_sends = false;  // accepted connections send (B->A case)
    std::uint64_t per_conn = 0;
    std::uint64_t seed_base = 0;
    std::uint64_t progress = 0;  // bytes moved by this app, any flow
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(64 * 1024);

    Flow* find(tcp::ConnId id) {
        for (auto& f : flows)
            if (f.id == id) return &f;
        return nullptr;
    }
    void on_accept(tcp::ConnId id, std::uint16_t) override {
        Flow f;
        f.id = id;
        f.connected = true;
        f.sender = listen_sends;
        f.seed = seed_base + flows.size();
        f.total = per_conn;
        flows.push_back(std::move(f));
        if (listen_sends) pump_send(flows.back());
    }
    void on_connected(tcp::ConnId id) override {
        Flow* f = find(id);
        if (f == nullptr) return;
        f->connected = true;
        if (f->sender) pump_send(*f);
    }
    void on_writable(tcp::ConnId id) override {
        if (Flow* f = find(id); f != nullptr && f->sender) pump_send(*f);
    }
    void on_readable(tcp::ConnId id) override {
        if (Flow* f = find(id); f != nullptr) drain(*f);
    }
    void on_closed(tcp::ConnId id, tcp::CloseReason r) override {
        if (Flow* f = find(id); f != nullptr) {
            f->on_closed = true;
            f->reason = r;
        }
    }

    void pump_send(Flow& f) {
        if (!f.connected) return;
        while (f.done < f.total && !f.closed_called) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), f.total - f.done));
            fill_pattern(f.seed, f.done, std::span(buf.data(), want));
            const std::uint32_t n = stack->send(f.id, ByteSpan(buf.data(), want));
            if (n == 0) return;
            f.sha->update(std::span<const std::uint8_t>(buf.data(), n));
            f.done += n;
            progress += n;
        }
        if (f.done == f.total && !f.closed_called) {
            f.closed_called = true;
            f.digest = f.sha->final();
            stack->close(f.id);
        }
    }
    void drain(Flow& f) {
        if (f.sender) {
            // The sender expects nothing; anything read is an error, counted.
            while (stack->recv(f.id, MutableByteSpan(buf.data(), buf.size())) > 0)
                ++unexpected;
            return;
        }
        for (;;) {
            const std::uint32_t n = stack->recv(f.id, MutableByteSpan(buf.data(), buf.size()));
            if (n == 0) break;
            f.sha->update(std::span<const std::uint8_t>(buf.data(), n));
            f.done += n;
            progress += n;
        }
        if (f.done >= f.total && !f.closed_called) {
            f.closed_called = true;
            f.digest = f.sha->final();
            stack->close(f.id);
        }
    }
    void service() {
        for (auto& f : flows) {
            if (f.on_closed || !f.connected) continue;
            if (f.sender)
                pump_send(f);
            else
                drain(f);
        }
    }
    std::uint64_t unexpected = 0;
};

struct CaseSpec {
    const char* name = "";
    drivers::FaultConfig fault{};  // both directions
    bool b_sends = false;          // B->A instead of A->B
    int connections = 1;
    std::uint64_t bytes = 0;
    std::uint32_t buf_len = 256 * 1024;
    std::uint64_t seed = 1;
};

// One end: its application and the host (Interface, TcpStack) it runs on;
// the stack goes first, before the handler it calls.
struct Host {
    App app;
    apps::WireHost net;
};

std::unique_ptr<Host> make_host(drivers::Port& port, std::uint8_t n, const CaseSpec& spec) {
    auto h = std::make_unique<Host>();
    // msl 1 s (the default) keeps TIME-WAIT short in simulated time.
    h->net = apps::make_wire_host(
        port, {.n = n, .seed = spec.seed * 1000 + n, .buf_len = spec.buf_len}, h->app);
    h->app.stack = h->net.stack.get();
    h->app.flows.reserve(static_cast<std::size_t>(spec.connections));
    return h;
}

void run_case(const CaseSpec& spec) {
    drivers::WireConfig wc;
    wc.a_to_b = spec.fault;
    wc.b_to_a = spec.fault;
    wc.seed = spec.seed;
    wc.ring_size = 4096;
    wc.port.num_mbufs = 32767;
    auto w = drivers::RingWire::create(wc);
    ASSERT_TRUE(w) << w.error();
    auto& wire = **w;
    ManualClock clock;
    auto a = make_host(wire.a(), 1, spec);
    auto b = make_host(wire.b(), 2, spec);
    a->net.ifc->start(clock.now());
    b->net.ifc->start(clock.now());

    const std::uint64_t per_conn = spec.bytes / static_cast<std::uint64_t>(spec.connections);
    ASSERT_GT(per_conn, 0u);
    b->app.listen_sends = spec.b_sends;
    b->app.per_conn = per_conn;
    b->app.seed_base = spec.seed * 7919;
    ASSERT_TRUE(b->net.stack->listen(kPort, 1024));
    for (int i = 0; i < spec.connections; ++i) {
        auto id = a->net.stack->connect(clock.now(), b->net.ifc->address(), kPort);
        ASSERT_TRUE(id) << tcp::to_string(id.error());
        Flow f;
        f.id = *id;
        f.sender = !spec.b_sends;
        f.seed = spec.seed * 7919 + static_cast<std::uint64_t>(i);
        f.total = per_conn;
        a->app.flows.push_back(std::move(f));
    }
    // B's accepted connections are numbered in accept order, A's in connect
    // order; match the two ends by their 4-tuples below, not by index.

    const auto wall_start = std::chrono::steady_clock::now();
    const Instant sim_start = clock.now();
    Instant last_progress = clock.now();
    std::uint64_t last_bytes = 0;
    auto all_closed = [&] {
        if (static_cast<int>(b->app.flows.size()) != spec.connections) return false;
        for (auto* h : {a.get(), b.get()})
            for (auto& f : h->app.flows)
                if (!f.on_closed) return false;
        return true;
    };
    bool stalled = false;
    bool wall_timeout = false;
    bool idle = false;
    while (!all_closed()) {
        // Idle rounds (nothing moved) jump ahead: RTO waits cost fewer rounds.
        clock.advance(idle ? kIdleStep : kStep);
        const Instant now = clock.now();
        std::size_t frames = apps::service_once(wire.a(), 0, *a->net.ifc, now, a->net.stack.get());
        wire.pump(now);
        frames += apps::service_once(wire.b(), 0, *b->net.ifc, now, b->net.stack.get());
        wire.pump(now);
        idle = frames == 0;
        a->app.service();
        b->app.service();
        const std::uint64_t moved = a->app.progress + b->app.progress;
        if (moved != last_bytes) {
            last_bytes = moved;
            last_progress = now;
        } else if (now - last_progress > kStallLimit) {
            stalled = true;
            break;
        }
        if (std::chrono::steady_clock::now() - wall_start > 100s) {
            wall_timeout = true;
            break;
        }
    }
    if (stalled) {
        for (auto* h : {a.get(), b.get()})
            for (auto& f : h->app.flows)
                if (!f.on_closed) {
                    const tcp::Connection* c = h->net.stack->find(f.id);
                    std::printf("[tcp_wire] unclosed %s flow %s done %llu/%llu state %s\n",
                                h == a.get() ? "A" : "B", f.sender ? "send" : "recv",
                                static_cast<unsigned long long>(f.done),
                                static_cast<unsigned long long>(f.total),
                                c ? tcp::to_string(c->state()) : "gone");
                }
    }
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double sim_s = std::chrono::duration<double>(clock.now() - sim_start).count();
    ASSERT_FALSE(stalled) << spec.name << ": no byte progress for 30 s simulated (seed "
                          << spec.seed << ", moved " << last_bytes << ")";
    ASSERT_FALSE(wall_timeout) << spec.name << ": wall-clock bound hit (seed " << spec.seed << ")";

    // Match flows by the sender/receiver seed: A's flow i and B's accepted
    // flow carry seeds assigned independently, so compare by the 4-tuple's
    // local port instead.
    ASSERT_EQ(static_cast<int>(b->app.flows.size()), spec.connections);
    std::uint64_t total = 0;
    for (auto& fa : a->app.flows) {
        EXPECT_EQ(fa.reason, tcp::CloseReason::kNormal) << tcp::to_string(fa.reason);
        EXPECT_EQ(fa.done, per_conn);
        total += fa.done;
    }
    for (auto& fb : b->app.flows) {
        EXPECT_EQ(fb.reason, tcp::CloseReason::kNormal) << tcp::to_string(fb.reason);
        EXPECT_EQ(fb.done, per_conn);
    }
    EXPECT_EQ(a->app.unexpected + b->app.unexpected, 0u);
    EXPECT_EQ(total, per_conn * static_cast<std::uint64_t>(spec.connections));
    // Every sent digest appears among the received ones (seeds are distinct
    // per connection, so a swap or a corruption shows).
    auto& senders = spec.b_sends ? b->app.flows : a->app.flows;
    auto& receivers = spec.b_sends ? a->app.flows : b->app.flows;
    std::vector<std::string> got;
    for (auto& f : receivers)
        got.push_back(hex(f.digest));
    for (auto& f : senders) {
        // Recompute the receiver side's expectation from the sender digest.
        const std::string want = hex(f.digest);
        bool found = false;
        for (auto& g : got)
            if (g == want) found = true;
        EXPECT_TRUE(found) << spec.name << ": sent digest " << want << " never received";
    }

    const auto* ab = wire.a_to_b();
    const auto* ba = wire.b_to_a();
    if (spec.fault.corrupt_rate > 0) {
        EXPECT_GT(ab->counters().corrupted + ba->counters().corrupted, 0u);
        const std::uint64_t caught =
            a->net.stack->counters().bad_checksum + b->net.stack->counters().bad_checksum +
            a->net.ifc->counters().ip_bad_checksum + b->net.ifc->counters().ip_bad_checksum;
        EXPECT_GT(caught, 0u);
    }
    if (spec.fault.drop_rate > 0) {
        EXPECT_GT(ab->counters().dropped + ba->counters().dropped, 0u);
    }
    const double mb = static_cast<double>(total) / 1e6;
    std::printf(
        "[tcp_wire] %-28s %3d conn %8.2f MiB  sim %8.3f s %9.2f MB/s  wall %6.2f s "
        "%8.2f MB/s  drops %llu/%llu corrupt %llu/%llu bad_cksum %llu/%llu\n",
        spec.name, spec.connections, static_cast<double>(total) / (1 << 20), sim_s, mb / sim_s,
        wall_s, mb / wall_s, static_cast<unsigned long long>(ab->counters().dropped),
        static_cast<unsigned long long>(ba->counters().dropped),
        static_cast<unsigned long long>(ab->counters().corrupted),
        static_cast<unsigned long long>(ba->counters().corrupted),
        static_cast<unsigned long long>(a->net.stack->counters().bad_checksum),
        static_cast<unsigned long long>(b->net.stack->counters().bad_checksum));
    // Loss recovery at work, per stack (the sender's counters show how
    // losses were repaired: fast/SACK retransmits vs retransmission timeouts).
    for (auto* h : {a.get(), b.get()}) {
        const tcp::TcpCounters& c = h->net.stack->counters();
        std::printf(
            "[tcp_wire]   %s: rto %llu fast_rtx %llu sack_rtx %llu rtx %llu segs_out %llu "
            "lost_rtx %llu tlp %llu stalls %llu ooo_queued %llu ooo_dropped %llu\n",
            h == a.get() ? "A" : "B", static_cast<unsigned long long>(c.rto_timeouts),
            static_cast<unsigned long long>(c.fast_retransmits),
            static_cast<unsigned long long>(c.sack_retransmits),
            static_cast<unsigned long long>(c.retransmits),
            static_cast<unsigned long long>(c.segments_out),
            static_cast<unsigned long long>(c.lost_retransmits),
            static_cast<unsigned long long>(c.tlp_probes),
            static_cast<unsigned long long>(c.recovery_stalls),
            static_cast<unsigned long long>(c.ooo_queued),
            static_cast<unsigned long long>(c.ooo_dropped));
    }
    std::fflush(stdout);

    a->net.detach();
    b->net.detach();
    b.reset();
    a.reset();
}

drivers::FaultConfig faults(double loss, bool extra) {
    drivers::FaultConfig f;
    f.drop_rate = loss;
    if (extra) {
        f.reorder_rate = 0.01;
        f.duplicate_rate = 0.005;
        f.corrupt_rate = 0.005;
    }
    return f;
}

TEST(TcpWire, CleanAtoB) {
    run_case({.name = "0% A->B", .fault = faults(0, false), .bytes = bytes_per_case(), .seed = 1});
}
TEST(TcpWire, CleanBtoA) {
    run_case({.name = "0% B->A",
              .fault = faults(0, false),
              .b_sends = true,
              .bytes = bytes_per_case(),
              .seed = 2});
}
TEST(TcpWire, Loss1) {
    run_case({.name = "1% +reo/dup/corrupt A->B",
              .fault = faults(0.01, true),
              .bytes = bytes_per_case(),
              .seed = 3});
}
TEST(TcpWire, Loss1BtoA) {
    run_case({.name = "1% +reo/dup/corrupt B->A",
              .fault = faults(0.01, true),
              .b_sends = true,
              .bytes = bytes_per_case(),
              .seed = 4});
}
TEST(TcpWire, Loss5) {
    run_case({.name = "5% +reo/dup/corrupt A->B",
              .fault = faults(0.05, true),
              .bytes = bytes_per_case(),
              .seed = 5});
}
TEST(TcpWire, Loss10) {
    run_case({.name = "10% +reo/dup/corrupt A->B",
              .fault = faults(0.10, true),
              .bytes = bytes_per_case() / 4,
              .seed = 6});
}
TEST(TcpWire, HundredConnectionsLoss1) {
    run_case({.name = "100 conn 1% +reo/dup/corrupt",
              .fault = faults(0.01, true),
              .connections = 100,
              .bytes = bytes_per_case(),
              .buf_len = 64 * 1024,
              .seed = 7});
}

}  // namespace
}  // namespace l45
