// From the configuration (config.h, what the operator wrote) to what one
// lcore's Proxy is told (proxy_options.h). Pure: no file, no DPDK, so the
// unit test checks every mapping.
//
// Why a separate step: the configuration speaks for the whole appliance
// ("max_connections", "mark_down_ms"), the proxy for one lcore and in
// Durations; the conversion is where the appliance's total is split over
// lcores and where memory bounds apply.
#pragma once

#include <cstdint>

#include "apps/l45-offload/config.h"
#include "apps/l45-offload/proxy_options.h"

namespace l45::offload {

// Every TLS session is made at start-up with its buffers (about 385 KiB
// with the default tls_output_buffer_len, docs/appliance-proxy.md), so the
// sessions of one lcore are capped: 256 of them take about 100 MB. Clients
// beyond that are refused (counted as sessions_exhausted), never queued.
inline constexpr std::uint32_t kMaxSessionsPerLcore = 256;

// The options of one of `num_lcores` proxy lcores. limits.max_connections
// is shared evenly (rounded up) and capped at kMaxSessionsPerLcore.
// credentials and random stay null: they are per-process / per-lcore
// objects the caller owns and sets.
[[nodiscard]] ProxyOptions config_to_options(const Config& config, std::uint32_t num_lcores);

// The TcpStack's connection table for those options: each session holds a
// client and a backend connection, each port-80 slot one, and closed
// connections linger in TIME-WAIT for a while; twice that is the margin.
[[nodiscard]] std::uint32_t tcp_connections_for(const ProxyOptions& options);

}  // namespace l45::offload
