// l45-echo on N lcores: one shard per rx/tx queue, each with its own
// Interface, TcpStack and services, sharing nothing on the data path.
//
// Only on a PMD with RSS (drivers::pmd_has_rss): the NIC, programmed with
// the symmetric Toeplitz key, puts both directions of a flow on one queue,
// so a passive connection stays on the shard its SYN reached; the client
// (shard 0) picks its local port with tcp::RssPortChooser so the replies
// come back to queue 0. See docs/tcp.md "Shards and RSS".
//
// ARP: the NIC hashes only IP, so ARP frames reach queue 0 alone. Shard 0
// owns ARP (answers requests, learns); every few milliseconds it passes the
// bindings it learnt since the last pass to the other shards
// (apps/common/neighbour_feed.h: messages on SP/SC rings, not shared state).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "apps/l45-echo/tcp_services.h"
#include "drivers/port.h"
#include "stack/net/config.h"
#include "stack/tcp/stack.h"

namespace l45::apps {

struct ShardedEchoConfig {
    std::uint16_t port_id = 0;
    std::uint16_t num_shards = 2;  // queues; at most rte_lcore_count()
    net::InterfaceConfig iface;    // mac is filled in from the port
    tcp::TcpStackConfig tcp;
    ServerConfig servers;            // every shard serves the same
    std::optional<ClientPlan> plan;  // runs on shard 0
};

// Opens the port with num_shards queues and RSS, runs shard 0 on this
// (main) lcore and the others on worker lcores until `stop` (or the client
// finishes), prints per-shard counters. Returns the exit code.
[[nodiscard]] int run_sharded_echo(const ShardedEchoConfig& config, std::atomic<bool>& stop);

}  // namespace l45::apps
