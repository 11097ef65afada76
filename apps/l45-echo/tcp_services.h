// The TCP side of l45-echo: the glue between the TCP stack's events and the
// protocol sessions, which know nothing of the stack (they are bytes in,
// bytes out, and tested alone):
//   servers  echo (RFC 862) on port 7, discard (RFC 863) on port 9, always;
//            iperf3 (iperf3.h) on 5201 with --iperf3; HTTP/1.1
//            (http_sessions.h) with --http PORT
//   clients  (one per run) the pattern client (--connect: stream a seeded
//            pattern, hash both directions), the iperf3 client
//            (--iperf3-client) and the HTTP GET client (--http-get).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/l45-echo/http_sessions.h"
#include "apps/l45-echo/iperf3.h"
#include "apps/l45-echo/pattern.h"
#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/tcp/stack.h"

namespace l45::apps {

inline constexpr std::uint16_t kEchoPort = 7;
inline constexpr std::uint16_t kDiscardPort = 9;

struct ServerConfig {
    bool iperf3 = false;
    std::uint16_t iperf3_port = iperf3::kDefaultPort;
    std::uint16_t http_port = 0;       // 0: no HTTP server
    std::uint32_t http_sessions = 64;  // concurrent HTTP connections (allocated at start-up)
    std::uint64_t seed = 1;            // of the pattern /bytes/N serves
};

struct ClientPlan {
    enum class Kind : std::uint8_t { kPattern, kIperf3, kHttpGet };
    Kind kind = Kind::kPattern;
    net::Ipv4Addr dst;
    std::uint16_t port = 0;
    std::uint64_t send_len = 0;  // pattern: bytes to send, then FIN; iperf3: -n
    std::uint64_t seed = 1;      // the pattern: SeededRandom(seed) bytes
    bool reverse = false;        // iperf3: the server sends
    // Pattern client: FIN only once the peer's FIN arrived (and all is sent).
    // For peers such as OpenBSD nc that stop sending when they read EOF.
    bool fin_after_peer = false;
    std::string http_host;  // HTTP GET: Host header and target
    std::string http_target;
    std::string out_path;  // HTTP GET: where the body goes (empty: only hashed)
};

struct ClientReport {
    bool done = false;
    bool connected = false;
    bool ok = false;  // what the client mode counts as success
    tcp::CloseReason reason = tcp::CloseReason::kNormal;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::string sent_sha256;
    std::string received_sha256;
    Duration elapsed{};            // connect to close (iperf3: TEST_RUNNING to TEST_END)
    std::uint64_t peer_bytes = 0;  // iperf3: what the server counted
    int http_status = 0;
    std::string error;
};

// Incremental SHA-256 (OpenSSL EVP) printed as hex.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(ByteSpan data);
    [[nodiscard]] std::string hex_digest();

  private:
    EVP_MD_CTX* ctx_;
};

struct ServiceCounters {
    std::uint64_t echoed = 0;
    std::uint64_t discarded = 0;
    std::uint64_t opened = 0;  // accepted or connected: each one ends in on_closed
    std::uint64_t closed = 0;
    std::uint64_t http_requests = 0;
    std::uint64_t http_bad_requests = 0;
    std::uint64_t http_body_bytes = 0;
    std::uint64_t http_refused = 0;  // no free session
    std::uint64_t iperf3_tests = 0;  // completed (IPERF_DONE)
    std::uint64_t iperf3_failed = 0;
    std::uint64_t iperf3_bytes = 0;  // data bytes moved by completed tests
    std::uint64_t iperf3_denied = 0;
};

class TcpServices final : public tcp::TcpHandler {
  public:
    TcpServices(std::uint32_t max_connections, const ServerConfig& config, Random& random);
    ~TcpServices() override;

    // The stack calls back into this handler; attach once it exists.
    void attach(tcp::TcpStack& stack) { stack_ = &stack; }
    [[nodiscard]] Result<void, std::string> listen();
    [[nodiscard]] Result<void, std::string> start_client(Instant now, const ClientPlan& plan);
    // Work that waits on time or on the peer's ACKs rather than on an event.
    void tick(Instant now);

    [[nodiscard]] const ClientReport& client() const { return report_; }
    [[nodiscard]] const ServiceCounters& counters() const { return counters_; }

    // Set by the loop before it runs the stack, for the client's timing.
    void set_now(Instant now) { now_ = now; }

    void on_accept(tcp::ConnId id, std::uint16_t listen_port) override;
    void on_connected(tcp::ConnId id) override;
    void on_readable(tcp::ConnId id) override;
    void on_writable(tcp::ConnId id) override;
    void on_closed(tcp::ConnId id, tcp::CloseReason reason) override;

  private:
    enum class Role : std::uint8_t {
        kNone,
        kEcho,
        kDiscard,
        kPatternClient,
        kHttp,
        kHttpGet,
        kIperfNew,  // on the iperf3 port, its first 37 bytes not yet read
        kIperfControl,
        kIperfData,
        kIperfClientControl,
        kIperfClientData,
    };

    // One iperf3 test (the server runs one at a time, as iperf3 -s does).
    struct IperfServerTest {
        std::optional<iperf3::ServerControl> control;
        tcp::ConnId control_id{};
        tcp::ConnId data_id{};
        std::uint64_t data_bytes = 0;
        bool data_closed = false;
        Instant running_since{};
        Instant end_requested_at{};
        PatternSource pattern;
    };
    struct IperfClientRun {
        std::optional<iperf3::ClientControl> control;
        tcp::ConnId control_id{};
        tcp::ConnId data_id{};
        bool data_open = false;
        bool control_open = false;
        Instant running_since{};
        Instant all_acked_at = Instant::max();  // sender: every byte acknowledged
    };

    void serve_echo(tcp::ConnId id);
    void serve_discard(tcp::ConnId id);
    void serve_http(tcp::ConnId id);
    void read_iperf_cookie(tcp::ConnId id);
    void serve_iperf_control(tcp::ConnId id);
    void serve_iperf_data(tcp::ConnId id);
    void iperf_server_settle(Instant now);
    void iperf_server_reset();
    void pattern_send(tcp::ConnId id);
    void pattern_receive(tcp::ConnId id);
    void http_get_io(tcp::ConnId id);
    void iperf_client_control_io(tcp::ConnId id);
    void iperf_client_data_io(tcp::ConnId id);
    void iperf_client_check(Instant now);
    void finish_client(bool ok, std::string error = {});
    // Sends what `source` has pending; false when the send buffer filled.
    template <class Source>
    bool flush(tcp::ConnId id, Source& source);
    // Sends pattern bytes; false when the send buffer filled.
    bool send_pattern(tcp::ConnId id, PatternSource& pattern, Sha256* hash, std::uint64_t& sent);
    [[nodiscard]] Role& role(tcp::ConnId id) { return roles_[id.index]; }

    tcp::TcpStack* stack_ = nullptr;
    ServerConfig config_;
    Random& random_;
    std::vector<Role> roles_;  // by ConnId::index, sized at start-up
    ServiceCounters counters_;
    Instant now_{};

    // HTTP server sessions: a pool made at start-up, one per connection.
    std::vector<std::unique_ptr<HttpServerSession>> http_pool_;
    std::vector<std::uint32_t> http_free_;
    std::vector<std::uint32_t> http_slot_;  // by ConnId::index

    // iperf3 server: partial cookies of new connections, and the test.
    std::vector<iperf3::Cookie> cookies_;  // by ConnId::index
    std::vector<std::uint8_t> cookie_len_;
    IperfServerTest iperf_;

    // The client (at most one).
    ClientPlan plan_{};
    ClientReport report_{};
    tcp::ConnId client_id_{};
    PatternSource pattern_;
    bool fin_sent_ = false;
    Instant started_{};
    Sha256 sent_hash_;
    Sha256 received_hash_;
    std::unique_ptr<HttpGetClient> http_get_;
    std::FILE* out_file_ = nullptr;
    IperfClientRun iperf_client_;
};

}  // namespace l45::apps
