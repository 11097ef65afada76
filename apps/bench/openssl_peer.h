// The OpenSSL peer: the baseline l45's TLS figures are compared with (issue 5
// item 8). Linux kernel TCP over 127.0.0.1 and OpenSSL 3 libssl, TLS 1.3,
// TLS_AES_128_GCM_SHA256, X25519, an ECDSA P-256 certificate from the same
// generator l45 uses (tls::pki::generate_self_signed). A server thread pinned
// to one CPU, a client thread pinned to the other, each a non-blocking epoll
// loop (the shape of an nginx worker), running the workloads of l45-bench:
//
//   bulk       the server SSL_writes record_len bytes (one 16 KiB record) as
//              fast as the socket takes them on each of `connections`
//              streams; the client SSL_reads and throws the bytes away.
//   handshake  `connections` in flight; each is a new TCP connection, a full
//              handshake (no tickets, no session cache: no resumption), an
//              optional request_len echo, close_notify both ways, close.
//   rr         `connections` long connections, each sending request_len bytes
//              and waiting for the request_len echo before the next one; the
//              client times every request (p50/p99 under that load).
//
// The server thread's CPU time (pthread_getcpuclockid; user and system from
// /proc/self/task/<tid>/stat) is read at both edges of the measured window,
// so every figure also exists per server CPU-second: what one core of this
// server does, whatever share of the CPU the scheduler gave it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace l45::bench::peer {

enum class Workload : std::uint8_t { bulk, handshake, rr };

[[nodiscard]] const char* workload_name(Workload w);

struct PeerCredentials {
    std::string chain_pem;  // the server's leaf (then any intermediate)
    std::string key_pem;    // the leaf's key
    std::string ca_pem;     // the client's trust anchor (with verify)
    std::string server_name;
};

struct PeerOptions {
    Workload workload = Workload::bulk;
    int server_cpu = 1;
    int client_cpu = 0;
    double seconds = 3.0;  // measured window
    double warmup = 0.5;   // before the window (connections set up, caches warm)
    std::uint32_t connections = 1;
    std::size_t record_len = 16384;  // bulk: bytes per SSL_write = one record
    std::size_t request_len = 64;    // rr: request = response; handshake: 0 = no echo
    // The client verifies the server's chain and name. Off by default: the
    // client thread is not what is measured, and chain verification costs
    // the client more than the whole server handshake (docs/performance.md).
    bool verify = false;
};

struct PeerResult {
    double window_s = 0;
    std::uint64_t bytes = 0;       // bulk: application bytes the client read in the window
    std::uint64_t handshakes = 0;  // completed by the server in the window
    std::uint64_t requests = 0;    // echoes completed by the client in the window
    std::uint64_t errors = 0;      // any failure before the stop (the run is void then)
    double server_cpu_s = 0;       // server thread CPU time in the window
    double server_user_s = 0;      // the same split (clock-tick resolution)
    double server_sys_s = 0;
    double client_cpu_s = 0;
    double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;  // rr latency in the window
    std::string negotiated;  // cipher, group, certificate key as seen once
};

// Runs one workload; returns when both threads have closed everything.
// Exits the process when the set-up itself fails (sockets, SSL_CTX).
[[nodiscard]] PeerResult run_peer(const PeerCredentials& creds, const PeerOptions& options);

}  // namespace l45::bench::peer
