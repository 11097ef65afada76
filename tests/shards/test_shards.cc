// Shard-per-core TCP over the ring wire with software RSS: each side runs N
// shards (one Interface + TcpStack per rx/tx queue, sharing nothing), the
// wire spreads frames over the peer's queues by the symmetric Toeplitz hash
// as a NIC would, and every connection must live on exactly one shard at
// each end.
//
// The lcores are simulated: one thread polls shard 0, then shard 1, ... of
// side A, pumps the wire, does the same for B, under a ManualClock, so a run
// replays exactly. What would break on real lcores breaks here too: a segment
// delivered to a shard that does not own its connection finds no TCB and is
// answered with a RST (TcpCounters::no_connection).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "apps/common/neighbour_feed.h"
#include "apps/common/service.h"
#include "apps/common/wire_host.h"
#include "drivers/wire.h"
#include "stack/base/random.h"
#include "stack/net/rss.h"
#include "stack/tcp/rss_port_chooser.h"
#include "stack/tcp/stack.h"
#include "tests/support/eal_env.h"
#include "tests/support/sha256.h"

namespace l45 {
namespace {

using namespace std::chrono_literals;

constexpr std::uint16_t kPort = 5001;
constexpr Duration kStep = 100us;
constexpr Duration kIdleStep = 1ms;

using test::Digest;
using test::hex;
using test::Sha256;

// The stream one end of a connection sends: splitmix64 of (A's port, the
// sender's role, byte index). Both ends know A's port, so each receiver can
// compute what it should have received.
void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::uint8_t> out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + offset + i;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        out[i] = static_cast<std::uint8_t>(z ^ (z >> 31));
    }
}

std::uint64_t stream_seed(std::uint16_t a_port, bool from_a) {
    return (std::uint64_t{a_port} << 1) | (from_a ? 1u : 0u);
}

Digest pattern_digest(std::uint64_t seed, std::uint64_t len) {
    Sha256 sha;
    std::vector<std::uint8_t> buf(len);
    fill_pattern(seed, 0, buf);
    sha.update(buf);
    return sha.final();
}

// One connection seen from one end: both ends send `total` bytes and read
// `total` bytes, then close.
struct Flow {
    tcp::ConnId id{};
    std::uint16_t a_port = 0;
    bool connected = false;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    bool shut = false;
    bool closed_called = false;
    bool on_closed = false;
    tcp::CloseReason reason = tcp::CloseReason::kNormal;
    std::unique_ptr<Sha256> sha = std::make_unique<Sha256>();
    Digest digest{};
};

class App final : public tcp::TcpHandler {
  public:
    tcp::TcpStack* stack = nullptr;
    bool is_a = false;
    std::uint64_t total = 0;
    std::vector<Flow> flows;  // reserved up front
    std::uint64_t progress = 0;
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(16 * 1024);

    Flow* find(tcp::ConnId id) {
        for (auto& f : flows)
            if (f.id == id) return &f;
        return nullptr;
    }
    void on_accept(tcp::ConnId id, std::uint16_t) override {
        Flow f;
        f.id = id;
        f.connected = true;
        f.a_port = stack->find(id)->tuple().remote.port;
        flows.push_back(std::move(f));
        service(flows.back());
    }
    void on_connected(tcp::ConnId id) override {
        if (Flow* f = find(id)) {
            f->connected = true;
            service(*f);
        }
    }
    void on_writable(tcp::ConnId id) override {
        if (Flow* f = find(id)) service(*f);
    }
    void on_readable(tcp::ConnId id) override {
        if (Flow* f = find(id)) service(*f);
    }
    void on_closed(tcp::ConnId id, tcp::CloseReason r) override {
        if (Flow* f = find(id)) {
            f->on_closed = true;
            f->reason = r;
        }
    }
    void service(Flow& f) {
        if (!f.connected || f.on_closed || f.closed_called) return;
        while (f.sent < total) {
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), total - f.sent));
            fill_pattern(stream_seed(f.a_port, is_a), f.sent, std::span(buf.data(), want));
            const std::uint32_t n = stack->send(f.id, ByteSpan(buf.data(), want));
            if (n == 0) break;
            f.sent += n;
            progress += n;
        }
        if (f.sent == total && !f.shut) {
            f.shut = true;
            stack->shutdown(f.id);
        }
        for (;;) {
            const std::uint32_t n = stack->recv(f.id, MutableByteSpan(buf.data(), buf.size()));
            if (n == 0) break;
            f.sha->update(std::span<const std::uint8_t>(buf.data(), n));
            f.received += n;
            progress += n;
        }
        if (f.shut && f.received >= total) {
            f.closed_called = true;
            f.digest = f.sha->final();
            stack->close(f.id);
        }
    }
    void service_all() {
        for (auto& f : flows)
            service(f);
    }
};

// One lcore's share of a side: its queue, its host (own Interface with its
// own ARP cache, own TcpStack with its connection table and timers), its
// port chooser. The stack goes before the chooser and the handler it uses.
struct Shard {
    std::uint16_t queue = 0;
    std::unique_ptr<SeededRandom> chooser_random;
    std::unique_ptr<tcp::RssPortChooser> chooser;
    App app;
    apps::WireHost host;
    std::unique_ptr<apps::NeighbourFeed> feed;  // feed mode, shards >= 1
};

struct Side {
    drivers::Port* port = nullptr;
    std::vector<std::unique_ptr<Shard>> shards;
    // Feed mode: shard 0 passes what it learnt every kPublishInterval.
    std::vector<apps::NeighbourFeed*> feeds;
    Instant next_publish{};
    Instant published_until{};
};

constexpr Duration kPublishInterval = 5ms;

struct Options {
    std::uint16_t num_shards = 2;
    bool rss_chooser = true;
    std::uint32_t conns_per_shard = 200;
    std::uint64_t bytes_per_conn = 16 * 1024;
    std::uint32_t max_syn_retransmissions = 6;
    // How shards >= 1 know the peer: static entries, or shard 0's feed.
    bool neighbour_feed = false;
};

// Side `host` (1 = A, 2 = B) on `port`; shard 0 owns ARP (the only shard
// that receives non-IP frames), the others know the peer from a static entry.
Side make_side(drivers::RingWire& wire, drivers::Port& port, std::uint8_t host,
               const Options& opt) {
    Side side;
    side.port = &port;
    const std::uint8_t peer = host == 1 ? 2 : 1;
    for (std::uint16_t q = 0; q < opt.num_shards; ++q) {
        auto s = std::make_unique<Shard>();
        s->queue = q;
        const bool arp_owner = q == 0;
        s->host = apps::make_wire_host(
            port,
            {.n = host,
             .seed = host * 100u + q,
             .buf_len = 32 * 1024,
             .max_syn_retransmissions = opt.max_syn_retransmissions,
             .gratuitous_arp = arp_owner,
             .static_peer = arp_owner || opt.neighbour_feed ? std::uint8_t{0} : peer},
            s->app);
        if (opt.rss_chooser) {
            s->chooser_random = std::make_unique<SeededRandom>(host * 1000 + q);
            s->chooser = std::make_unique<tcp::RssPortChooser>(wire.rss_key(), wire.reta(), q,
                                                               *s->chooser_random);
            s->host.stack->set_port_chooser(s->chooser.get());
        }
        s->app.stack = s->host.stack.get();
        s->app.is_a = host == 1;
        s->app.total = opt.bytes_per_conn;
        s->app.flows.reserve(opt.conns_per_shard * opt.num_shards);
        if (opt.neighbour_feed && q != 0) {
            static unsigned next_feed = 0;
            auto feed = apps::NeighbourFeed::create("l45_tfeed" + std::to_string(++next_feed),
                                                    port.socket());
            EXPECT_TRUE(feed) << (feed ? "" : feed.error());
            if (feed) s->feed = std::move(*feed);
        }
        side.feeds.push_back(s->feed.get());
        side.shards.push_back(std::move(s));
    }
    return side;
}

// Every shard of a side, each on its own queue: what N lcores would do.
std::size_t run_side(Side& side, Instant now) {
    std::size_t frames = 0;
    for (auto& s : side.shards) {
        if (s->feed) frames += s->feed->apply(now, *s->host.ifc);
        frames += apps::service_once(*side.port, s->queue, *s->host.ifc, now, s->host.stack.get());
    }
    if (now >= side.next_publish) {
        apps::publish_neighbours(*side.shards[0]->host.ifc, side.published_until, side.feeds);
        side.published_until = now;
        side.next_publish = now + kPublishInterval;
    }
    for (auto& s : side.shards)
        s->app.service_all();
    return frames;
}

void teardown(Side& side) {
    for (auto& s : side.shards)
        s->host.detach();
    side.shards.clear();
}

struct Run {
    std::unique_ptr<drivers::RingWire> wire;
    ManualClock clock;
    Side a, b;
};

std::unique_ptr<Run> start(const Options& opt) {
    auto run = std::make_unique<Run>();
    drivers::WireConfig wc;
    wc.num_queues = opt.num_shards;
    wc.rss = true;
    wc.ring_size = 4096;
    wc.port.num_mbufs = 65535;
    auto w = drivers::RingWire::create(wc);
    EXPECT_TRUE(w) << (w ? "" : w.error());
    if (!w) return nullptr;
    run->wire = std::move(*w);
    run->a = make_side(*run->wire, run->wire->a(), 1, opt);
    run->b = make_side(*run->wire, run->wire->b(), 2, opt);
    for (auto* side : {&run->a, &run->b})
        for (auto& s : side->shards)
            s->host.ifc->start(run->clock.now());
    for (auto& s : run->b.shards)
        EXPECT_TRUE(s->host.stack->listen(kPort, 1024));
    return run;
}

// Rounds until every flow of A has closed (and B has as many closed), or
// `limit` of simulated time passes.
bool run_until_closed(Run& run, std::size_t expected_flows, Duration limit) {
    const Instant end = run.clock.now() + limit;
    bool idle = false;
    auto all_closed = [&] {
        std::size_t a_closed = 0;
        for (auto& s : run.a.shards)
            for (auto& f : s->app.flows)
                a_closed += f.on_closed;
        std::size_t b_open = 0;
        for (auto& s : run.b.shards)
            for (auto& f : s->app.flows)
                b_open += !f.on_closed;
        return a_closed == expected_flows && b_open == 0;
    };
    while (!all_closed()) {
        if (run.clock.now() > end) return false;
        run.clock.advance(idle ? kIdleStep : kStep);
        const Instant now = run.clock.now();
        std::size_t frames = run_side(run.a, now);
        run.wire->pump(now);
        frames += run_side(run.b, now);
        run.wire->pump(now);
        idle = frames == 0;
    }
    return true;
}

void expect_connections_stay_on_their_shards(const Options& opt) {
    auto run = start(opt);
    ASSERT_TRUE(run);
    // Each shard of A opens its connections with its own RSS-aware chooser.
    std::vector<std::set<std::uint16_t>> a_ports(opt.num_shards);
    for (auto& s : run->a.shards) {
        for (std::uint32_t i = 0; i < opt.conns_per_shard; ++i) {
            auto id = s->host.stack->connect(run->clock.now(), apps::wire_host_addr(2), kPort);
            ASSERT_TRUE(id) << tcp::to_string(id.error());
            Flow f;
            f.id = *id;
            f.a_port = s->host.stack->find(*id)->tuple().local.port;
            ASSERT_TRUE(a_ports[s->queue].insert(f.a_port).second);
            s->app.flows.push_back(std::move(f));
        }
    }
    const std::size_t total_flows = opt.conns_per_shard * opt.num_shards;
    ASSERT_TRUE(run_until_closed(*run, total_flows, 120s)) << "connections did not all close";

    std::size_t b_flows = 0;
    for (std::uint16_t q = 0; q < opt.num_shards; ++q) {
        Shard& sa = *run->a.shards[q];
        Shard& sb = *run->b.shards[q];
        // No segment ever reached a shard without its connection.
        for (Shard* s : {&sa, &sb}) {
            const auto& c = s->host.stack->counters();
            EXPECT_EQ(c.no_connection, 0u) << "shard " << q;
            EXPECT_EQ(c.resets_sent, 0u) << "shard " << q;
            EXPECT_EQ(c.resets_received, 0u) << "shard " << q;
            EXPECT_GT(c.segments_in, opt.conns_per_shard * 3u) << "shard " << q;
        }
        // B's shard q accepted exactly the connections A's shard q opened:
        // the SYN hashed to queue q at B, and so did everything after it.
        std::set<std::uint16_t> accepted;
        for (auto& f : sb.app.flows)
            accepted.insert(f.a_port);
        EXPECT_EQ(accepted, a_ports[q]) << "shard " << q;
        b_flows += sb.app.flows.size();
        // Both directions carried the whole pattern, intact.
        for (Shard* s : {&sa, &sb}) {
            for (auto& f : s->app.flows) {
                EXPECT_EQ(f.reason, tcp::CloseReason::kNormal) << tcp::to_string(f.reason);
                EXPECT_EQ(f.sent, opt.bytes_per_conn);
                ASSERT_EQ(f.received, opt.bytes_per_conn);
                const bool peer_is_a = s == &sb;
                EXPECT_EQ(hex(f.digest),
                          hex(pattern_digest(stream_seed(f.a_port, peer_is_a), opt.bytes_per_conn)))
                    << "shard " << q << " a_port " << f.a_port;
            }
        }
        // ARP: shard 0 resolved the peer, the others never saw an ARP frame
        // and never asked (static entries).
        if (q == 0) {
            EXPECT_GT(sa.host.ifc->counters().arp_rx, 0u);
            EXPECT_GT(sb.host.ifc->counters().arp_rx, 0u);
        } else {
            for (Shard* s : {&sa, &sb}) {
                EXPECT_EQ(s->host.ifc->counters().arp_rx, 0u);
                // With static entries a shard never asks; with the feed, A's
                // shard asks once (the reply reaches shard 0, which passes it
                // on), B's learns A from the request shard 0 answered.
                if (!opt.neighbour_feed) {
                    EXPECT_EQ(s->host.ifc->counters().arp_requests_out, 0u);
                }
                EXPECT_NE(s->host.ifc->arp().find(apps::wire_host_addr(s == &sa ? 2 : 1)), nullptr);
            }
            if (opt.neighbour_feed) {
                EXPECT_GT(sa.host.ifc->counters().arp_requests_out, 0u);
                EXPECT_FALSE(sa.host.ifc->arp().find(apps::wire_host_addr(2))->is_static);
            }
        }
    }
    EXPECT_EQ(b_flows, total_flows);
    EXPECT_EQ(run->wire->counters().rx_ring_full, 0u);
    std::printf(
        "[shards] %zu connections on %u shards per side, %llu bytes each way each: "
        "%.3f s simulated\n",
        total_flows, opt.num_shards, static_cast<unsigned long long>(opt.bytes_per_conn),
        std::chrono::duration<double>(run->clock.now().time_since_epoch()).count());
    teardown(run->a);
    teardown(run->b);
}

TEST(Shards, EveryConnectionStaysOnItsShardAtBothEnds) {
    expect_connections_stay_on_their_shards(Options{});
}

TEST(Shards, ShardZeroPassesArpBindingsToTheOthers) {
    // No static entries: shards >= 1 learn the peer from shard 0's feed,
    // as l45-echo --queues N does.
    Options opt;
    opt.neighbour_feed = true;
    opt.conns_per_shard = 50;
    expect_connections_stay_on_their_shards(opt);
}

TEST(Shards, PlainPortChoiceSendsRepliesToTheWrongShard) {
    // The control for the test above: the same wire and shards, but A's
    // shard 0 picks ports without looking at the hash. Replies to the
    // connections whose hash says queue 1 arrive at A's shard 1, which has
    // no such connection and resets them; those never establish.
    Options opt;
    opt.rss_chooser = false;
    opt.conns_per_shard = 100;
    opt.max_syn_retransmissions = 2;  // fail fast in simulated time
    auto run = start(opt);
    ASSERT_TRUE(run);
    Shard& opener = *run->a.shards[0];
    for (std::uint32_t i = 0; i < opt.conns_per_shard; ++i) {
        auto id = opener.host.stack->connect(run->clock.now(), apps::wire_host_addr(2), kPort);
        ASSERT_TRUE(id);
        Flow f;
        f.id = *id;
        f.a_port = opener.host.stack->find(*id)->tuple().local.port;
        opener.app.flows.push_back(std::move(f));
    }
    ASSERT_TRUE(run_until_closed(*run, opt.conns_per_shard, 120s));
    std::uint32_t normal = 0;
    for (auto& f : opener.app.flows)
        normal += f.reason == tcp::CloseReason::kNormal;
    const auto& wrong = run->a.shards[1]->host.stack->counters();
    EXPECT_GT(wrong.no_connection, 0u);
    EXPECT_GT(wrong.resets_sent, 0u);
    // Some hash to queue 0 and work, some to queue 1 and fail.
    EXPECT_GT(normal, 0u);
    EXPECT_LT(normal, opt.conns_per_shard);
    std::printf("[shards] plain chooser: %u of %u connections completed, shard 1 sent %llu RSTs\n",
                normal, opt.conns_per_shard, static_cast<unsigned long long>(wrong.resets_sent));
    teardown(run->a);
    teardown(run->b);
}

}  // namespace
}  // namespace l45
