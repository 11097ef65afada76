#include "apps/l45-offload/config_to_options.h"

#include <algorithm>
#include <chrono>

namespace l45::offload {

ProxyOptions config_to_options(const Config& config, std::uint32_t num_lcores) {
    ProxyOptions o;
    o.https_port = config.https_port;
    o.http_port = config.http_port;
    const std::uint32_t lcores = std::max<std::uint32_t>(num_lcores, 1);
    const std::uint32_t share = (config.max_connections + lcores - 1) / lcores;
    o.max_sessions = std::clamp<std::uint32_t>(share, 1, kMaxSessionsPerLcore);
    // Port-80 clients only get a 301: a slot is small and short-lived, but
    // there is no reason to hold more of them than TLS sessions.
    o.max_http_connections = o.max_sessions;
    o.handshakes_per_poll = config.handshakes_per_poll;
    o.backends.clear();
    for (const BackendConfig& b : config.backends)
        o.backends.push_back(BackendAddress{b.addr, b.port});
    o.backend_down_interval =
        std::chrono::duration_cast<Duration>(std::chrono::milliseconds(config.mark_down_ms));
    return o;
}

std::uint32_t tcp_connections_for(const ProxyOptions& options) {
    return 2 * (2 * options.max_sessions + options.max_http_connections);
}

}  // namespace l45::offload
