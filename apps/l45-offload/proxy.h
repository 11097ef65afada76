// The TLS-terminating proxy of one lcore (issue 5, apps/l45-offload): the
// TcpHandler of that lcore's TcpStack. Port https_port: TLS 1.3 with the
// certificate chosen by SNI, plaintext forwarded to backends round-robin.
// Port http_port: a 301 to https for every request.
//
// Read first: tls_session.h (one client: byte paths, close propagation),
// backend_pool.h, http_redirect.h, docs/appliance-proxy.md.
//
// Per lcore and run to completion: the poll loop calls poll(now) once per
// iteration (deadlines; `now` for the callbacks), then runs the stack, whose
// callbacks land here. Everything is sized in create(): the session pool
// (each session's tls::Connection and chunk buffers), the port-80 slots, the
// table from connection handle to owner. After start() nothing allocates
// except what a TLS handshake allocates inside OpenSSL.
//
// Handshakes do not stall the bulk path: a session still in its handshake
// is not pumped in the stack's callback (a ClientHello costs ~100 us of
// key exchange and signature) but queued, once, in a FIFO of session
// indices (sized max_sessions at start-up, so it cannot overflow); poll()
// runs at most handshakes_per_poll of them. poll() opens each iteration, so
// the handshakes run between one iteration's data path and the next, and
// their flights leave in the same iteration.
//
// Sessions exhausted: an accepted connection beyond max_sessions is reset
// at once (RST; counted), which a client sees as a refused connection and a
// load balancer as a signal to go elsewhere; nothing queues.
// Backend refused: the backend is marked down for backend_down_interval and
// the next one is tried (max_backend_attempts per client); when none
// answers, the client gets no_backend_response (an HTTP 502 by default)
// over TLS, then close_notify and FIN, and the proxy keeps serving.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apps/l45-offload/backend_pool.h"
#include "apps/l45-offload/proxy_options.h"
#include "apps/l45-offload/tls_session.h"
#include "stack/base/result.h"
#include "stack/tcp/stack.h"
#include "tls/record/aead.h"

namespace l45::offload {

class Proxy final : public tcp::TcpHandler {
  public:
    // Start-up: validates the options, makes the crypto engine, every
    // session and every port-80 slot. max_tcp_connections is the stack's
    // TcpStackConfig::max_connections (the handle table's size).
    [[nodiscard]] static Result<std::unique_ptr<Proxy>, std::string> create(
        const ProxyOptions& options, std::uint32_t max_tcp_connections);
    ~Proxy() override;
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // The stack calls back into the proxy, so it is made with the proxy as
    // its handler first; then start() listens on the ports.
    [[nodiscard]] Result<void, std::string> start(tcp::TcpStack& stack, Instant now);

    // Once per poll iteration, before the stack runs: the time the callbacks
    // use, the deferred handshake steps (at most handshakes_per_poll), and
    // the deadlines (handshake, backend connect, linger, shutdown).
    void poll(Instant now);
    [[nodiscard]] std::uint32_t handshakes_queued() const { return hs_count_; }

    // Graceful shutdown: stop listening, close_notify and FIN on every
    // session, let them drain; whatever is still open after shutdown_grace
    // is reset. drained() says when everything is closed.
    void shutdown(Instant now);
    [[nodiscard]] bool drained() const;

    [[nodiscard]] const ProxyCounters& counters() const { return counters_; }
    [[nodiscard]] const BackendPool& backends() const { return backends_; }
    [[nodiscard]] std::uint32_t sessions_in_use() const {
        return static_cast<std::uint32_t>(sessions_.size() - free_sessions_.size());
    }
    // Observation (tests, debugging): session i of the pool.
    [[nodiscard]] std::uint32_t num_sessions() const {
        return static_cast<std::uint32_t>(sessions_.size());
    }
    [[nodiscard]] const TlsSession& session(std::uint32_t i) const { return *sessions_[i]; }
    [[nodiscard]] std::uint32_t http_in_use() const {
        return static_cast<std::uint32_t>(http_.size() - free_http_.size());
    }

    // --- tcp::TcpHandler ---
    void on_accept(tcp::ConnId id, std::uint16_t listen_port) override;
    void on_connected(tcp::ConnId id) override;
    void on_readable(tcp::ConnId id) override;
    void on_writable(tcp::ConnId id) override;
    void on_closed(tcp::ConnId id, tcp::CloseReason reason) override;

  private:
    enum class OwnerKind : std::uint8_t { none, client, backend, http };
    // Who a connection handle belongs to (by ConnId::index).
    struct Owner {
        tcp::ConnId id{};
        OwnerKind kind = OwnerKind::none;
        std::uint32_t index = 0;  // session or http slot
    };
    // One port-80 connection: request head in, one answer out, close.
    struct HttpSlot {
        tcp::ConnId id{};
        std::vector<std::uint8_t> in, out;  // sized at start-up
        std::size_t in_len = 0, out_len = 0, out_off = 0;
        bool active = false;
        bool answered = false;
        bool fin_sent = false;
        Instant deadline = Instant::max();
    };

    Proxy(const ProxyOptions& options, std::uint32_t max_tcp_connections);

    [[nodiscard]] Owner* owner(tcp::ConnId id);
    void set_owner(tcp::ConnId id, OwnerKind kind, std::uint32_t index);
    void clear_owner(tcp::ConnId id);
    [[nodiscard]] SessionContext context() {
        return SessionContext{*stack_, counters_, options_, now_};
    }

    void accept_tls(tcp::ConnId id);
    // A handshaking session has something to do: queue it (once) for poll(),
    // or pump it now when handshakes_per_poll is 0.
    void defer_handshake(std::uint32_t index);
    void run_handshakes();
    // Connects the session to the next backend that is up, or answers the
    // client with no_backend_response when there is none (or too many tries).
    void connect_backend(std::uint32_t index);
    // After any event: connect a backend if wanted, release when finished.
    void settle(std::uint32_t index);
    void backend_attempt_failed(std::uint32_t index, bool timeout);
    // Queues session `index` for the next poll's crypto batch when it has work.
    void want_poll(std::uint32_t index);
    // The batch: every queued session's records in one AeadBatch.
    void run_record_crypto();

    void accept_http(tcp::ConnId id);
    void serve_http(HttpSlot& slot);
    void release_http(std::uint32_t index);

    ProxyOptions options_;
    ProxyCounters counters_;
    BackendPool backends_;
    std::unique_ptr<tls::CryptoEngine> engine_;
    tls::Config tls_config_;
    tcp::TcpStack* stack_ = nullptr;
    Instant now_{};
    Instant next_scan_{};
    bool shutting_down_ = false;
    Instant hard_deadline_ = Instant::max();

    std::vector<Owner> owners_;
    // Record mbufs (TlsSession::kRecordRoom data room), per lcore. Not freed
    // with the Proxy while any is out: the stack's queues may outlive it.
    rte_mempool* record_pool_ = nullptr;
    std::vector<std::uint32_t> work_, work_now_;  // sessions for run_record_crypto()
    std::vector<std::uint8_t> queued_;            // per session: in work_
    std::vector<std::unique_ptr<TlsSession>> sessions_;
    std::vector<std::uint32_t> free_sessions_;  // a stack of indices
    // The handshake FIFO: a ring of session indices, capacity max_sessions;
    // hs_queued_[i] says session i is in it (so it is there at most once).
    std::vector<std::uint32_t> hs_ring_;
    std::vector<std::uint8_t> hs_queued_;
    std::uint32_t hs_head_ = 0, hs_count_ = 0;
    std::vector<HttpSlot> http_;
    std::vector<std::uint32_t> free_http_;
};

}  // namespace l45::offload
