// l45-echo on N lcores. See shards.h.
#include "apps/l45-echo/shards.h"

#include <rte_lcore.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "apps/common/neighbour_feed.h"
#include "apps/common/service.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/rss_port_chooser.h"

namespace l45::apps {
namespace {

constexpr Duration kPublishInterval = std::chrono::milliseconds(5);

struct Shard {
    std::uint16_t queue = 0;
    std::unique_ptr<net::Interface> ifc;
    std::unique_ptr<tcp::InterfaceAdapter> adapter;
    SystemRandom random;
    std::unique_ptr<tcp::RssPortChooser> chooser;
    std::unique_ptr<TcpServices> services;
    std::unique_ptr<tcp::TcpStack> stack;
    std::unique_ptr<NeighbourFeed> feed;  // shards >= 1: bindings from shard 0
};

struct WorkerArgs {
    Shard* shard = nullptr;
    drivers::Port* port = nullptr;
    std::atomic<bool>* stop = nullptr;
};

void run_one(Shard& s, drivers::Port& port, Instant now) {
    if (s.feed) (void)s.feed->apply(now, *s.ifc);
    s.services->set_now(now);
    service_once(port, s.queue, *s.ifc, now, s.stack.get());
    s.services->tick(now);
}

int worker_main(void* arg) {
    auto& w = *static_cast<WorkerArgs*>(arg);
    while (!w.stop->load(std::memory_order_relaxed))
        run_one(*w.shard, *w.port, MonotonicClock::now());
    return 0;
}

}  // namespace

int run_sharded_echo(const ShardedEchoConfig& config, std::atomic<bool>& stop) {
    const std::uint16_t n = config.num_shards;
    if (rte_lcore_count() < n) {
        std::fprintf(stderr, "l45-echo: %u queues need %u lcores (EAL -l), have %u\n", n, n,
                     rte_lcore_count());
        return 1;
    }
    drivers::PortConfig pc;
    pc.num_rx_queues = n;
    pc.num_tx_queues = n;
    pc.enable_rss = true;
    auto port = drivers::Port::open(config.port_id, pc);
    if (!port) {
        std::fprintf(stderr, "l45-echo: %s\n", port.error().c_str());
        return 1;
    }
    if (!port->rss() || port->reta().empty()) {
        std::fprintf(stderr, "l45-echo: %s: RSS did not come up\n", port->name().c_str());
        return 1;
    }

    net::InterfaceConfig ic = config.iface;
    ic.mac = drivers::station_mac(*port);
    if (auto mtu = port->mtu()) ic.mtu = *mtu;
    tcp::TcpStackConfig tc = config.tcp;
    tc.tcp.mss = static_cast<std::uint16_t>(ic.mtu - 40);

    std::vector<std::unique_ptr<Shard>> shards;
    auto release = [&] {
        for (auto& s : shards) {
            s->adapter->detach();
            s->feed.reset();
        }
        shards.clear();
    };
    for (std::uint16_t q = 0; q < n; ++q) {
        auto s = std::make_unique<Shard>();
        s->queue = q;
        net::InterfaceConfig sic = ic;
        // Only shard 0 receives ARP; it alone announces us.
        if (q != 0) sic.arp.gratuitous_at_start = false;
        s->ifc = std::make_unique<net::Interface>(sic, port->mempool(), port->tx_offloads());
        s->adapter = std::make_unique<tcp::InterfaceAdapter>(*s->ifc);
        s->services = std::make_unique<TcpServices>(tc.max_connections, config.servers, s->random);
        s->stack = std::make_unique<tcp::TcpStack>(tc, *s->adapter, port->mempool(), s->random,
                                                   *s->services);
        s->adapter->attach(*s->stack);
        s->services->attach(*s->stack);
        s->chooser =
            std::make_unique<tcp::RssPortChooser>(port->rss_key(), port->reta(), q, s->random);
        s->stack->set_port_chooser(s->chooser.get());
        shards.push_back(std::move(s));
        Shard& sh = *shards.back();
        if (auto r = sh.services->listen(); !r) {
            std::fprintf(stderr, "l45-echo: %s\n", r.error().c_str());
            release();
            return 1;
        }
        if (q != 0) {
            char name[RTE_RING_NAMESIZE];
            std::snprintf(name, sizeof name, "l45_nb_p%u_q%u", config.port_id, q);
            auto feed = NeighbourFeed::create(name, port->socket());
            if (!feed) {
                std::fprintf(stderr, "l45-echo: %s\n", feed.error().c_str());
                release();
                return 1;
            }
            sh.feed = std::move(*feed);
        }
    }

    const Instant start = MonotonicClock::now();
    for (auto& s : shards)
        s->ifc->start(start);
    std::printf("l45-echo: up on %s (%s) mac %s ip %s/%u, %u shards (RSS, reta %zu)\n",
                port->name().c_str(), port->driver_name().c_str(),
                net::mac_to_string(ic.mac).c_str(), ic.ip.to_string().c_str(), ic.prefix_len, n,
                port->reta().size());
    std::fflush(stdout);

    std::vector<WorkerArgs> args(n);
    std::uint16_t next = 1;
    unsigned lcore = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (next == n) break;
        args[next] = {shards[next].get(), &*port, &stop};
        if (rte_eal_remote_launch(worker_main, &args[next], lcore) != 0) {
            std::fprintf(stderr, "l45-echo: cannot launch shard %u on lcore %u\n", next, lcore);
            stop.store(true);
            break;
        }
        std::printf("l45-echo: shard %u on lcore %u\n", next, lcore);
        ++next;
    }
    std::fflush(stdout);

    Shard& owner = *shards[0];
    std::vector<NeighbourFeed*> feeds;
    for (auto& s : shards)
        feeds.push_back(s->feed.get());
    if (config.plan) {
        if (auto r = owner.services->start_client(MonotonicClock::now(), *config.plan); !r) {
            std::fprintf(stderr, "l45-echo: %s\n", r.error().c_str());
            stop.store(true);
        }
    }
    Instant next_publish = start + kPublishInterval;
    Instant published_until = start;
    while (!stop.load(std::memory_order_relaxed)) {
        const Instant now = MonotonicClock::now();
        run_one(owner, *port, now);
        if (now >= next_publish) {
            publish_neighbours(*owner.ifc, published_until, feeds);
            published_until = now;
            next_publish = now + kPublishInterval;
        }
        if (config.plan && owner.services->client().done) break;
    }
    stop.store(true);
    rte_eal_mp_wait_lcore();

    int rc = 0;
    if (config.plan) {
        const auto& c = owner.services->client();
        std::printf("l45-echo: client %s: sent %llu bytes sha256 %s\n", tcp::to_string(c.reason),
                    static_cast<unsigned long long>(c.sent), c.sent_sha256.c_str());
        std::printf("l45-echo: client received %llu bytes sha256 %s\n",
                    static_cast<unsigned long long>(c.received), c.received_sha256.c_str());
        if (!c.done || !c.ok) rc = 3;
    }
    for (auto& s : shards) {
        const auto& t = s->stack->counters();
        const auto& i = s->ifc->counters();
        std::printf(
            "l45-echo: shard %u: rx %llu tx %llu arp_in %llu echoed %llu discarded %llu closed "
            "%llu segments_in %llu no_connection %llu resets_sent %llu\n",
            s->queue, static_cast<unsigned long long>(i.rx_frames),
            static_cast<unsigned long long>(i.tx_frames), static_cast<unsigned long long>(i.arp_rx),
            static_cast<unsigned long long>(s->services->counters().echoed),
            static_cast<unsigned long long>(s->services->counters().discarded),
            static_cast<unsigned long long>(s->services->counters().closed),
            static_cast<unsigned long long>(t.segments_in),
            static_cast<unsigned long long>(t.no_connection),
            static_cast<unsigned long long>(t.resets_sent));
    }
    std::fflush(stdout);
    release();
    return rc;
}

}  // namespace l45::apps
