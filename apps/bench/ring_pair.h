// l45-bench against l45-offload in one process, over the in-process wire
// (issue 5, item 7): a drivers::RingWire between
//
//   host A (198.18.0.1): the l45-bench LoadGenerator (TLS clients) and an
//       EchoService on port echo_port (the proxy's backend), one TcpStack
//       behind a loadgen::TcpDemux;
//   host B (198.18.0.2): the l45-offload Proxy (TLS on 443) on its own
//       TcpStack, forwarding to A's echo_port;
//
// each host polled by its own lcore, in real time (the steady clock), so
// what runs is what the two programs run: the same handlers, the same
// run-to-completion loop (apps::service_once), the same mbuf paths.
//
// Why it looks like this:
//   - Host A runs on the calling lcore, host B on the next worker lcore
//     (rte_eal_remote_launch). Nothing is shared between them but the wire,
//     a stop flag and one "B is idle" flag B publishes for the drain. Every
//     object is built on the calling lcore before B starts (the launch
//     orders those writes before B's first read) and read after B stopped
//     (rte_eal_wait_lcore orders B's last writes before the results).
//   - The wire is pumped (not direct) so that its fault injector can drop
//     frames: each lcore pumps the direction it transmits
//     (RingWire::pump_a_to_b / pump_b_to_a), which keeps every ring
//     single-producer single-consumer.
//   - With lcores = 1, or no worker lcore in the EAL, both hosts take turns
//     on the calling lcore (said in the result).
//   - The certificate is made per run (an ECDSA P-256 CA and a leaf for
//     load.sni); the load generator verifies the chain against that CA
//     unless RingPairOptions::insecure.
//   - A library (l45_ring_pair) for the wire tests and the benchmarks: the
//     caller chooses mode, lcores, duration, loss; the result carries every
//     counter a test asserts on.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "apps/l45-bench/load_generator.h"
#include "apps/l45-offload/proxy_options.h"
#include "drivers/fault.h"
#include "drivers/port.h"
#include "drivers/wire.h"
#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/tcp/connection.h"

namespace l45::bench {

struct RingPairOptions {
    // What host A's load generator does (mode, concurrency, total, duration,
    // bulk_bytes, request_len, download, ...). The harness sets what names
    // host B or belongs to A's lcore: server, port, ca_pem, insecure,
    // engine, random. With load.download A's backend on echo_port is a
    // loadgen::SourceService (the proxy seals its stream, A's clients open
    // and check it) instead of the EchoService.
    loadgen::LoadOptions load;
    // The load generator does not verify the proxy's certificate (no chain
    // building, no ECDSA verify per handshake), so the client side costs
    // less and the proxy is nearer to being the limit (the OpenSSL peer's
    // client does not verify by default either).
    bool insecure = false;
    // 2: A on the calling lcore, B on the next worker lcore. 1: both take
    // turns on the calling lcore (also the fallback without a worker).
    unsigned lcores = 2;
    // Drop rate of the wire's fault injector, each direction (1% = 0.01).
    double loss = 0;
    std::uint64_t seed = 1;                  // the injectors' and both hosts' randomness
    std::uint32_t max_sessions = 64;         // the proxy's TLS sessions
    std::uint32_t max_connections = 1024;    // each TcpStack's table
    std::uint32_t ring_size = 4096;          // each wire ring
    std::uint32_t num_mbufs = 32767;         // the port mempool, if this run creates it
    Duration msl = std::chrono::seconds(1);  // TIME-WAIT = 2 msl, on both hosts
    std::uint16_t echo_port = 8080;
    // After the load generator is done: how long both hosts have to close
    // every connection and the proxy to release every session.
    Duration drain_timeout = std::chrono::seconds(15);
    // After 64 empty polls in a row an lcore sleeps this long (0: spin, as a
    // DPDK lcore does; > 0 for time-shared CPUs, at the cost of latency).
    double idle_sleep_us = 0;
    // Called on A's lcore every progress_interval (0: never).
    Duration progress_interval{0};
    std::function<void(const loadgen::LoadStats&, Duration elapsed)> on_progress;
};

struct RingPairResult {
    // Empty when the run finished and drained; else what went wrong (the
    // counters below still say how far it got).
    std::string error;
    unsigned lcores = 0;  // the lcores that actually ran hosts
    loadgen::LoadStats load;
    double seconds = 0;  // the load generator's run (start -> last close)
    double setup_s = 0;  // wire, certificate, both hosts
    double drain_s = 0;  // load generator done -> both hosts idle
    std::uint64_t echo_accepted = 0;
    std::uint64_t echo_bytes = 0;
    offload::ProxyCounters proxy;
    std::uint32_t proxy_sessions_in_use = 0;  // after the drain
    bool proxy_drained = false;
    std::uint32_t a_connections = 0;  // TcpStack::num_connections after the drain
    std::uint32_t b_connections = 0;
    tcp::TcpCounters tcp_a, tcp_b;
    drivers::WireCounters wire;
    drivers::FaultCounters a_to_b, b_to_a;  // the injectors (drops)
    drivers::PortCounters port_a, port_b;
    double cpu_a_s = 0, cpu_b_s = 0;  // CPU time of each lcore's thread over the run
    // DPDK's busy/idle split of each lcore's poll loop (rte_rdtsc around
    // every iteration): the share of its TSC time spent in iterations that
    // received a frame or had work. A spinning lcore's CPU time includes
    // every empty poll while it waits for the other (time-shared) lcore;
    // busy_cpu = cpu x busy share estimates the CPU its work took. With
    // 1 lcore, A's figures cover both hosts and B's are 0.
    double busy_a = 0, busy_b = 0;
    double busy_cpu_a_s = 0, busy_cpu_b_s = 0;
    std::uint64_t source_bytes = 0;  // load.download: what the backend streamed
};

// Builds the wire and both hosts, runs the load to its end and drains.
// An error here is a set-up failure (EAL, wire, certificate, options).
[[nodiscard]] Result<RingPairResult, std::string> run_ring_pair(const RingPairOptions& options);

}  // namespace l45::bench
