// One proxied client of the appliance: the client's TCP connection, the TLS
// server session on it, and the plaintext TCP connection to a backend, all
// on the same lcore and TcpStack.
//
// Read first: RFC 8446 §6.1 (close_notify: each side closes its write
// direction; TLS 1.3 allows half-close), §6.2 (a fatal alert ends the
// connection), RFC 9293 §3.10.4 (CLOSE is a half-close), §3.6 (the FIN of
// each direction), docs/appliance-proxy.md.
//
// Byte paths (the copy path, see docs/appliance-proxy.md for its cost):
//   client TCP --peek--> tls::Connection::receive (decrypt in its deframer)
//              --read--> up_ (16 KiB) --send--> backend TCP
//   backend TCP --recv--> down_ (16 KiB) --write--> TLS records
//              --pending_output--> client TCP send
// Flow control is the TCP windows': a side that cannot take more leaves the
// bytes where they are (in the other side's receive queue or in up_/down_,
// the TLS output buffer up to kOutputHighWater), and the on_writable of the
// side that was full resumes the pump.
//
// Close propagation (both directions independent, half-close allowed):
//   client close_notify (or a bare TCP FIN: counted as truncation)
//       -> FIN to the backend once every byte before it was forwarded;
//   backend FIN -> close_notify to the client after its last byte, then FIN;
//   a RST or timeout on either leg -> RST on the other (the client must not
//       take a truncated response for a complete one, which a close_notify
//       would tell it);
//   a TLS error -> our alert, then FIN; the backend is reset.
// After our FIN the peer has linger_timeout to close before it is reset.
//
// Memory: every buffer is allocated by create() at start-up and reused
// through release() (tls::Connection::reset), so accepting, proxying and
// closing allocate nothing here (the handshake's OpenSSL work aside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "apps/l45-offload/proxy_options.h"
#include "stack/tcp/stack.h"
#include "tls/handshake/connection.h"

namespace l45::offload {

// What a session needs from its lcore while it runs.
struct SessionContext {
    tcp::TcpStack& stack;
    ProxyCounters& counters;
    const ProxyOptions& options;
    Instant now;
};

class TlsSession {
  public:
    enum class Phase : std::uint8_t {
        idle,         // in the pool
        handshaking,  // RFC 8446 §4 with the client; no backend yet
        connecting,   // handshake done; a backend SYN in flight or to be sent
        proxying,     // both legs up: records <-> plaintext
        closing,      // a FIN, close_notify or error happened; draining
    };

    // One TCP connection of the session.
    struct Leg {
        tcp::ConnId id{};
        bool open = false;       // a connection exists (or existed: see ended)
        bool connected = false;  // ESTABLISHED was reached
        bool fin_sent = false;   // we shut its write side
        bool ended = false;      // on_closed seen; bytes may still be readable (tail)
    };

    // Bytes of TLS records allowed to wait for the client's window before
    // backend bytes stop being read: four full records.
    static constexpr std::size_t kOutputHighWater = 4 * (16 * 1024 + 256);
    static constexpr std::size_t kChunkLen = 16 * 1024;  // TLS max plaintext

    // Start-up: the TLS connection and both chunk buffers.
    [[nodiscard]] static tls::TlsResult<std::unique_ptr<TlsSession>> create(
        const tls::Config& config, tls::CryptoEngine& engine);

    // --- driven by the Proxy ---
    // A client connection was accepted on the TLS port.
    void start(tcp::ConnId client, Instant now, Duration handshake_timeout);
    // The backend leg: a SYN was sent for backend `index`.
    void backend_connecting(tcp::ConnId id, std::size_t index, Instant deadline);
    // The backend SYN was answered; start forwarding.
    void backend_connected(SessionContext& ctx);
    // The attempt failed before ESTABLISHED (the Proxy marks it down and
    // may call backend_connecting again).
    void backend_failed();
    // No backend could be reached: no_backend_response, close_notify, FIN.
    void no_backend(SessionContext& ctx);
    // on_closed of one leg.
    void client_closed(SessionContext& ctx, tcp::CloseReason reason);
    void backend_closed(SessionContext& ctx, tcp::CloseReason reason);
    // Moves every byte that can move and propagates closes.
    void pump(SessionContext& ctx);
    // The deadline passed (handshake, linger, shutdown grace).
    void expire(SessionContext& ctx);
    // Graceful shutdown of the lcore: close_notify and FIN now, reset at
    // `hard_deadline`.
    void shut_down(SessionContext& ctx, Instant hard_deadline);
    // Back to the pool; false when the TLS connection could not be reset.
    [[nodiscard]] bool release();

    // --- state ---
    [[nodiscard]] Phase phase() const { return phase_; }
    [[nodiscard]] const Leg& client() const { return client_; }
    [[nodiscard]] const Leg& backend() const { return backend_; }
    [[nodiscard]] std::size_t backend_index() const { return backend_index_; }
    [[nodiscard]] std::uint32_t backend_attempts() const { return attempts_; }
    [[nodiscard]] Instant deadline() const { return deadline_; }
    // Handshake done and no backend leg yet: the Proxy connects one.
    [[nodiscard]] bool wants_backend() const {
        return phase_ == Phase::connecting && !backend_.open;
    }
    // Both legs are gone: release() it.
    [[nodiscard]] bool finished() const {
        return phase_ != Phase::idle && client_.ended && (!backend_.open || backend_.ended) &&
               !backend_tail_;
    }
    [[nodiscard]] const tls::Connection& tls() const { return *tls_; }

  private:
    TlsSession() = default;

    // Each returns whether it moved anything.
    bool client_in(SessionContext& ctx);
    bool to_backend(SessionContext& ctx);
    // Stops reading the backend once pending TLS output reaches high_water.
    bool from_backend(SessionContext& ctx, std::size_t high_water);
    bool client_out(SessionContext& ctx);
    bool propagate_close(SessionContext& ctx);
    void tls_failed(SessionContext& ctx, const tls::TlsError& error);
    void abort_client(SessionContext& ctx);
    void abort_backend(SessionContext& ctx);

    Phase phase_ = Phase::idle;
    Leg client_, backend_;
    std::unique_ptr<tls::Connection> tls_;
    std::vector<std::uint8_t> up_, down_;  // kChunkLen each
    std::size_t up_head_ = 0, up_tail_ = 0;
    std::size_t down_head_ = 0, down_tail_ = 0;
    std::size_t backend_index_ = 0;
    std::uint32_t attempts_ = 0;
    Instant deadline_ = Instant::max();
    bool client_eof_ = false;     // the client's write side ended
    bool backend_eof_ = false;    // every backend byte went into TLS records
    bool backend_tail_ = false;   // backend ended with bytes still to read
    bool tls_closed_ = false;     // close_notify queued
    bool failed_ = false;         // a fatal alert either way
    bool discard_up_ = false;     // client bytes have nowhere to go
    bool shutting_down_ = false;  // shut_down() was called
};

}  // namespace l45::offload
