// l45-bench's engine: TLS 1.3 clients on one lcore's TcpStack, driving a
// server (l45-offload, openssl s_server, any HTTPS server) in one of three
// modes, and the plaintext echo backend that can share the same stack.
//
// Read first: RFC 8446 §4 (the handshake measured), §6.1 (close_notify, sent
// before every close), RFC 9293 §3.10.4 (CLOSE), docs/appliance-proxy.md,
// /work/wt/briefs/iface-loadgen.md (this interface is shared with the ring
// and veth tests: add members, never change existing ones).
//
// Modes:
//   handshake  one request per connection: connect, handshake, optionally
//              one request_len exchange, close_notify, close; `concurrency`
//              such connections in flight at once.
//   bulk       `concurrency` long connections, each streaming bulk_bytes
//              (0: until the duration ends) each way; echo payloads are a
//              deterministic per-connection pattern (pattern.h) and every
//              byte that comes back is compared.
//   rr         `concurrency` long connections, each sending request_len
//              bytes and waiting for the whole response before the next;
//              request->response latency goes into LoadStats::latency.
// Payload http (rr, handshake): a keep-alive `GET http_path`, the response
// read by its Content-Length, so any HTTPS server will do.
//
// Model: the caller owns the port, the Interface and the TcpStack (whose
// handler is this object, or a TcpDemux in front of it), calls poll(now)
// once per iteration before the stack runs, and stops once done().
//
// Memory: create() makes one ClientSession (a tls::Connection and its
// buffers) per concurrent connection; every later connection reuses one
// through tls::Connection::reset(), so nothing is allocated per connection
// beyond what OpenSSL allocates inside a handshake.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/l45-bench/histogram.h"
#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/net/addr.h"
#include "stack/tcp/stack.h"

namespace l45::tls {
class CryptoEngine;
}

namespace l45::loadgen {

using namespace std::chrono_literals;

enum class Mode : std::uint8_t { handshake, bulk, rr };
enum class Payload : std::uint8_t {
    echo,
    http
};  // echo: bytes come back; http: GET, read response

[[nodiscard]] const char* to_string(Mode mode);
[[nodiscard]] const char* to_string(Payload payload);

struct LoadOptions {
    Mode mode = Mode::handshake;
    Payload payload = Payload::echo;
    net::Ipv4Addr server;
    std::uint16_t port = 443;
    std::string sni = "localhost";   // also the name verified in the certificate
    std::string ca_file;             // PEM; empty + insecure=false -> error
    bool insecure = false;           // skip certificate verification (say so in output)
    std::uint32_t concurrency = 16;  // connections open at once
    std::uint64_t total = 0;         // handshake/rr: requests (0 = until duration)
    Duration duration = 10s;         // upper bound on the run
    std::size_t request_len = 64;    // rr/echo request (and response) size
    std::uint64_t bulk_bytes = 0;    // bulk: bytes per connection each way (0 = until duration)
    std::string http_path = "/";     // payload http
    tls::CryptoEngine* engine = nullptr;  // the lcore's engine (caller owns)
    Random* random = nullptr;             // injected randomness (caller owns)

    // --- added after the agreed interface ---
    // handshake mode: exchange one request_len echo (or one GET) after the
    // handshake before closing; false = handshake, close_notify, close.
    bool handshake_request = false;
    // A connection that makes no progress for this long is aborted and
    // counted as an error (a lost SYN, a server that stopped answering).
    Duration idle_timeout = 5s;
    // The CA as PEM text (an in-process harness that made it has no file);
    // when set, used instead of ca_file.
    std::string ca_pem;
    // bulk mode, payload echo: a download instead of an echo stream. The
    // client sends nothing after the handshake and reads the server's
    // stream (a SourceService behind the server), checking it against the
    // download pattern (pattern.h) until the duration ends, then closes.
    bool download = false;
};

struct LoadStats {  // cumulative; read at any time for the progress line
    std::uint64_t connects = 0, handshakes = 0, requests = 0, errors = 0;
    std::uint64_t tls_errors = 0, tcp_errors = 0, integrity_errors = 0;
    std::uint64_t bytes_sent = 0, bytes_received = 0;  // application bytes
    Histogram latency;  // ns; rr: request->response; handshake: connect->handshake done

    // --- added after the agreed interface ---
    std::uint64_t closed = 0;       // connections that ended cleanly
    std::uint64_t timeouts = 0;     // of errors: idle_timeout expiries
    Histogram handshake_latency;    // ns, every mode: TCP connect -> handshake done
    std::uint64_t http_errors = 0;  // of errors: responses with a status >= 400
};

class ClientSession;
struct SessionEnv;

// Whether another request may start: the generator's `total` and the end
// of the run (shared by every session of the generator).
struct RequestBudget {
    std::uint64_t total = 0;    // 0: no limit
    std::uint64_t started = 0;  // requests (handshake mode: connections) begun
    bool stopping = false;      // duration over or stop(): nothing new

    [[nodiscard]] bool available() const { return !stopping && (total == 0 || started < total); }
    [[nodiscard]] bool take() {
        if (!available()) return false;
        ++started;
        return true;
    }
};

class LoadGenerator final : public tcp::TcpHandler {
  public:
    // Start-up: validates the options, loads the CA, makes the session pool
    // (min(concurrency, max_tcp_connections) sessions).
    [[nodiscard]] static Result<std::unique_ptr<LoadGenerator>, std::string> create(
        const LoadOptions& options, std::uint32_t max_tcp_connections);
    ~LoadGenerator() override;
    LoadGenerator(const LoadGenerator&) = delete;
    LoadGenerator& operator=(const LoadGenerator&) = delete;

    // Opens the first connections; `now` starts the duration.
    [[nodiscard]] Result<void, std::string> start(tcp::TcpStack& stack, Instant now);
    void poll(Instant now);           // once per poll iteration, before the stack runs
    [[nodiscard]] bool done() const;  // total reached or duration over, all closed
    [[nodiscard]] const LoadStats& stats() const { return stats_; }

    // --- added after the agreed interface ---
    // Ends the run early (SIGINT): no new requests; open connections send
    // close_notify and close; done() once they have.
    void stop(Instant now);
    [[nodiscard]] std::uint32_t open_connections() const { return num_open_; }
    [[nodiscard]] const LoadOptions& options() const { return options_; }
    // When the run began (start) and when the last connection closed (or now).
    [[nodiscard]] Instant started_at() const { return started_; }
    [[nodiscard]] Instant finished_at() const { return finished_; }

    // TcpHandler: client connections only (a TcpDemux sends the rest elsewhere).
    void on_connected(tcp::ConnId id) override;
    void on_readable(tcp::ConnId id) override;
    void on_writable(tcp::ConnId id) override;
    void on_closed(tcp::ConnId id, tcp::CloseReason reason) override;

  private:
    struct Tls;  // the verifier and tls::Config every session shares
    LoadGenerator() = default;

    [[nodiscard]] ClientSession* session_of(tcp::ConnId id);
    [[nodiscard]] SessionEnv env();
    // Fills idle sessions with new connections while the run wants more.
    void open_more(Instant now);
    [[nodiscard]] bool wants_more() const;
    // on_closed: the session goes back to the pool.
    void release(ClientSession& session);
    void expire_idle(Instant now);

    LoadOptions options_;
    LoadStats stats_;
    std::unique_ptr<Tls> tls_;
    std::vector<std::unique_ptr<ClientSession>> sessions_;
    std::vector<ClientSession*> idle_;     // free sessions (a stack)
    std::vector<ClientSession*> by_slot_;  // ConnId::index -> session
    std::vector<std::uint8_t> scratch_;    // 16 KiB: decrypted data, pattern chunks
    std::string http_request_;             // payload http: the GET, built once
    RequestBudget budget_;
    tcp::TcpStack* stack_ = nullptr;
    Instant now_{};
    Instant started_{}, finished_{};
    Instant deadline_ = Instant::max();       // the duration's end
    Instant hard_deadline_ = Instant::max();  // stop + grace: what is left is reset
    Instant next_expiry_scan_{};
    std::uint64_t seed_base_ = 0;
    std::uint64_t num_opened_ = 0;
    std::uint32_t num_open_ = 0;
};

// What the plaintext backends share: listening, a table of accepted
// connections by ConnId::index, and the event routing; each says in pump()
// what it does with a connection that can move bytes.
class PlainService : public tcp::TcpHandler {
  public:
    explicit PlainService(std::uint32_t max_tcp_connections) : conns_(max_tcp_connections) {}
    [[nodiscard]] Result<void, tcp::TcpError> listen(tcp::TcpStack& stack, std::uint16_t port,
                                                     std::uint32_t backlog = 1024);

    void on_accept(tcp::ConnId id, std::uint16_t listen_port) override;
    void on_readable(tcp::ConnId id) override;
    void on_writable(tcp::ConnId id) override;
    void on_closed(tcp::ConnId id, tcp::CloseReason reason) override;

    [[nodiscard]] std::uint64_t accepted() const { return accepted_; }

  protected:
    struct Conn {
        tcp::ConnId id{};
        bool open = false;
        bool fin_sent = false;     // the peer's FIN was answered (Connection::recv_finished)
        std::uint64_t offset = 0;  // source: stream bytes the stack has taken
    };
    virtual void pump(Conn& c) = 0;
    // RFC 9293 §3.10.4: once the peer's FIN is in (and every byte before it
    // was read), answer it with ours. Returns whether the peer has finished.
    bool answer_fin(Conn& c);

    tcp::TcpStack* stack_ = nullptr;

  private:
    std::vector<Conn> conns_;  // by ConnId::index
    std::uint64_t accepted_ = 0;
};

// A plaintext echo backend (every byte back, in order; a FIN is answered
// with a FIN once everything was echoed), so one l45 process can be both
// the clients and the appliance's backend.
class EchoService final : public PlainService {
  public:
    using PlainService::PlainService;
    [[nodiscard]] std::uint64_t bytes_echoed() const { return bytes_echoed_; }

  private:
    void pump(Conn& c) override;
    std::uint64_t bytes_echoed_ = 0;
};

// A plaintext download backend: streams the download pattern (pattern.h)
// on every accepted connection for as long as the peer keeps it open (what
// it sends is discarded); the peer's FIN is answered with a FIN.
class SourceService final : public PlainService {
  public:
    explicit SourceService(std::uint32_t max_tcp_connections);
    [[nodiscard]] std::uint64_t bytes_sent() const { return bytes_sent_; }

  private:
    void pump(Conn& c) override;
    std::uint64_t bytes_sent_ = 0;
};

// The stack has ONE handler: this one routes each event to the handler that
// owns the connection: accepted connections by listen port, active opens to
// whoever claim()ed them, anything else to the default handler (the load
// generator, whose connects are never claimed).
class TcpDemux final : public tcp::TcpHandler {
  public:
    TcpDemux(std::uint32_t max_tcp_connections, tcp::TcpHandler& default_handler);
    // Connections accepted on `port` go to `handler`.
    void route_port(std::uint16_t port, tcp::TcpHandler& handler);
    // An active open made by a handler other than the default.
    void claim(tcp::ConnId id, tcp::TcpHandler& handler);

    void on_accept(tcp::ConnId id, std::uint16_t listen_port) override;
    void on_connected(tcp::ConnId id) override;
    void on_readable(tcp::ConnId id) override;
    void on_writable(tcp::ConnId id) override;
    void on_closed(tcp::ConnId id, tcp::CloseReason reason) override;

  private:
    struct Route {
        std::uint16_t port = 0;
        tcp::TcpHandler* handler = nullptr;
    };
    [[nodiscard]] tcp::TcpHandler& owner(tcp::ConnId id) const;

    tcp::TcpHandler& default_;
    std::vector<Route> ports_;
    struct Owner {
        std::uint32_t generation = 0;
        tcp::TcpHandler* handler = nullptr;
    };
    std::vector<Owner> owners_;  // by ConnId::index
};

}  // namespace l45::loadgen
