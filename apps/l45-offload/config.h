// l45-offload's configuration: a TOML file (toml++), overridden by CLI flags.
//
//   l45-offload [EAL args] -- [--config FILE] [flags]
//
// Why it looks like this:
//   - Config is a plain struct with the defaults written next to the fields:
//     with no file and no flag it describes the embedded default, which runs
//     on a laptop (net_tap, a self-signed CA and server certificate generated
//     at first run into tls.generated_dir, one queue, a backend on the
//     kernel's side of the tap). docs/appliance.md is its reference.
//   - Everything is checked at load, before the EAL's ports are touched, and
//     every problem is reported at once, each as "file:line: key: what"
//     (or "--flag: what" for a command-line value): a typo in a key is an
//     error, not a silently ignored setting; certificate, key and keylog
//     paths are checked to exist then, not at the first handshake.
//   - Relative paths in the file are relative to the file's directory, so a
//     configuration and its certificates move together; on the command line
//     they are relative to the working directory, as a shell user expects.
//   - Start-up code only: it allocates and may use exceptions internally
//     (toml++ reports parse errors that way); none escape.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/steering_rules.h"
#include "stack/base/result.h"
#include "stack/net/addr.h"

namespace l45::offload {

struct CertificateConfig {
    // SNI names this certificate serves, lower case; "*.example.com" matches
    // one label. The default certificate may have none.
    std::vector<std::string> server_names;
    std::string cert_path;  // PEM: the leaf, then its chain
    std::string key_path;   // PEM private key
};

struct BackendConfig {
    net::Ipv4Addr addr;
    std::uint16_t port = 0;
    friend bool operator==(const BackendConfig&, const BackendConfig&) = default;
};

enum class SteeringChoice : std::uint8_t {
    automatic,  // rte_flow rules when the NIC takes them, else software ("auto")
    software,   // always classify in software ("software")
};

enum class Balance : std::uint8_t {
    round_robin,  // "round-robin"
};

struct Config {
    // [listen]
    std::uint16_t https_port = 443;
    std::uint16_t http_port = 80;  // 301 redirect to https; 0: off

    // [network]
    std::string port_name;                      // DPDK port; "": the first one
    std::string vdev = "net_tap0,iface=l45o0";  // created when the EAL has no port; "": never
    net::Ipv4Addr ip = net::Ipv4Addr::from_octets(198, 18, 0, 2);
    std::uint8_t prefix_len = 24;
    std::optional<net::Ipv4Addr> gateway = net::Ipv4Addr::from_octets(198, 18, 0, 1);

    // [queues]
    std::vector<std::uint16_t> tls_queues = {0};
    std::uint16_t control_queue = 0;
    SteeringChoice steering = SteeringChoice::automatic;

    // [tls] and [[certificates]]
    std::vector<CertificateConfig> certificates;  // empty: generate one (below)
    std::size_t default_certificate = 0;          // index; when no SNI name matches
    std::string generated_dir = "l45-offload-pki";
    std::vector<std::string> generated_names = {"localhost"};
    std::string keylog_file;  // NSS key log (Wireshark); "": off

    // [backends]
    std::vector<BackendConfig> backends = {{net::Ipv4Addr::from_octets(198, 18, 0, 1), 8000}};
    Balance balance = Balance::round_robin;
    // [health]: a backend that refuses a connection is skipped for this long.
    std::uint32_t mark_down_ms = 5000;

    // [limits]
    std::uint32_t max_connections = 65536;
    // Handshake steps per poll iteration and lcore (ProxyOptions); 0: inline.
    std::uint32_t handshakes_per_poll = 2;

    // [stats]
    double stats_interval_s = 10;  // one-line summary; 0: off
    bool telemetry = true;         // counters through rte_telemetry

    // True when the certificates are to be generated (the embedded default).
    [[nodiscard]] bool generate_certificates() const { return certificates.empty(); }
};

// Command-line values; each set one replaces the file's (lists as a whole).
struct CliOverrides {
    std::string config_path;
    std::optional<std::uint16_t> https_port;
    std::optional<std::uint16_t> http_port;
    std::optional<std::string> port_name;
    std::optional<std::string> vdev;
    std::optional<std::string> ip;  // "A.B.C.D/NN"
    std::optional<std::string> gateway;
    std::optional<std::vector<std::uint16_t>> tls_queues;
    std::optional<std::uint16_t> control_queue;
    std::optional<std::string> steering;
    std::optional<std::string> cert_path;  // with key_path: the only, default, certificate
    std::optional<std::string> key_path;
    std::optional<std::vector<std::string>> backends;  // "IP:PORT"
    std::optional<std::uint32_t> max_connections;
    std::optional<double> stats_interval_s;
    std::optional<bool> telemetry;
    std::optional<std::string> keylog_file;
};

// Registers --config and the override flags on `app`; parse fills `out`.
void add_cli_options(CLI::App& app, CliOverrides& out);

// Reads the file (if any), applies the overrides, validates.
[[nodiscard]] Result<Config, std::string> load_config(const CliOverrides& cli);

// The same from TOML text; `source_name` names it in errors, relative paths
// are taken from `base_dir`.
[[nodiscard]] Result<Config, std::string> parse_config(std::string_view toml_text,
                                                       std::string_view source_name,
                                                       std::string_view base_dir,
                                                       const CliOverrides& cli = {});

[[nodiscard]] const char* to_string(SteeringChoice steering);

// What drivers::Steering::install needs from the configuration: the ports
// the appliance serves (https, and the redirect port when on: both are TCP
// served by the TLS lcores), the queues, and the local address (traffic to
// any other address follows the default route). num_rx_queues and the key
// length come from the port at install.
[[nodiscard]] drivers::SteeringConfig steering_config(const Config& config);

}  // namespace l45::offload
