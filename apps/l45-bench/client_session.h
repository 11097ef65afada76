// One TLS 1.3 client connection of the load generator over a TcpStack
// connection: connect, handshake, the mode's requests, close_notify, close.
//
// Read first: RFC 8446 §4 (the client's handshake: tls::Connection in the
// client role does it; this file moves its bytes), §6.1 (closure: we send
// close_notify before our FIN and read until the peer's FIN; a FIN without
// close_notify in the middle of a response is truncation, an error), RFC
// 9112 §6.3 (how a response body's length is found: Content-Length, else
// the connection's close), RFC 9293 §3.10.4 (CLOSE keeps receiving).
//
// Byte paths:
//   TCP receive queue --peek--> tls::Connection::receive --read--> scratch
//       -> pattern check (echo) or HTTP response parser (http)
//   pattern / GET request --write--> TLS records --pending_output--> TCP send
// Flow control is TCP's: what the stack does not take stays in the TLS
// output buffer (up to kOutputHighWater) and on_writable resumes.
//
// Memory: create() makes the tls::Connection and the response parser; a
// finished session goes back to the pool through release()
// (tls::Connection::reset), so connections after the first allocate
// nothing here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "apps/common/http1.h"
#include "apps/l45-bench/load_generator.h"
#include "tls/handshake/connection.h"

namespace l45::loadgen {

// What a session needs from its generator while it runs.
struct SessionEnv {
    tcp::TcpStack& stack;
    LoadStats& stats;
    const LoadOptions& options;
    RequestBudget& budget;
    std::span<std::uint8_t> scratch;  // >= 16 KiB, shared by the generator's sessions
    ByteSpan http_request;            // the GET, built once
    Instant now;
};

class ClientSession {
  public:
    enum class Phase : std::uint8_t {
        idle,         // in the pool
        connecting,   // SYN sent (RFC 9293 SYN-SENT)
        handshaking,  // RFC 8446 §4: ClientHello out, waiting for the server's flight
        running,      // the mode's requests (rr, handshake+request) or stream (bulk)
        closing,      // close_notify (and then our FIN) sent or an error: draining
    };

    // Bytes of TLS records allowed to wait for TCP before the stream pauses.
    static constexpr std::size_t kOutputHighWater = 4 * (16 * 1024 + 256);

    [[nodiscard]] static tls::TlsResult<std::unique_ptr<ClientSession>> create(
        const tls::Config& config, tls::CryptoEngine& engine);

    // The generator opened `id` for this session; `seed` names its pattern.
    void start(tcp::ConnId id, std::uint64_t seed, Instant now);
    void on_connected(SessionEnv& env);
    // Moves every byte that can move; starts requests and closes.
    void pump(SessionEnv& env);
    void on_closed(SessionEnv& env, tcp::CloseReason reason);
    // No progress for idle_timeout: reset, counted as a timeout.
    void expire(SessionEnv& env);
    // The run is ending: finish the request in flight, then close (a session
    // still connecting or handshaking is reset).
    void stop(SessionEnv& env);
    // Back to the pool; false when the TLS connection could not be reset
    // (it is then failed() and release() may be tried again).
    [[nodiscard]] bool release();

    [[nodiscard]] Phase phase() const { return phase_; }
    [[nodiscard]] tcp::ConnId id() const { return id_; }
    [[nodiscard]] Instant last_progress() const { return last_progress_; }
    [[nodiscard]] bool reset_pending() const { return reset_pending_; }

  private:
    ClientSession() = default;

    // Each returns whether it moved anything.
    bool receive(SessionEnv& env);
    bool read_app_data(SessionEnv& env);
    bool write_app_data(SessionEnv& env);
    bool flush(SessionEnv& env);
    // The current request (rr, http, handshake+request) has its response.
    void request_done(SessionEnv& env);
    // Starts the next request if the mode and budget allow, else closes.
    void next_request(SessionEnv& env);
    void start_request(SessionEnv& env);
    // Echo: compares what came back with what was sent.
    void check_echo(SessionEnv& env, ByteSpan data);
    // Download (LoadOptions::download): compares with the download pattern.
    void check_download(SessionEnv& env, ByteSpan data);
    // The peer's close_notify or FIN: the end of a close-delimited body,
    // truncation, or an idle connection closed by the server.
    bool peer_end(SessionEnv& env);
    void handshake_done(SessionEnv& env);
    // close_notify, then FIN once the output is out.
    void begin_close(SessionEnv& env);
    // After our FIN: once the peer's FIN came and everything was read, the
    // full close that lets the stack release the connection.
    bool finish_close(SessionEnv& env);
    void fail_tls(SessionEnv& env, const tls::TlsError& error);
    // A failure that is not TLS's (truncation, an unexpected close).
    void fail(SessionEnv& env, std::uint64_t LoadStats::*counter);
    void abort(SessionEnv& env);
    [[nodiscard]] bool http() const { return payload_http_; }

    Phase phase_ = Phase::idle;
    tcp::ConnId id_{};
    std::unique_ptr<tls::Connection> tls_;
    apps::http::ResponseParser parser_;
    std::uint64_t seed_ = 0;
    bool payload_http_ = false;

    Instant opened_at_{}, request_at_{}, last_progress_{};
    // Echo stream offsets: what was written into TLS and what came back.
    std::uint64_t tx_offset_ = 0, rx_offset_ = 0;
    std::uint64_t tx_target_ = 0;  // the stream offset the current request ends at
    // HTTP: bytes of the GET written, body bytes still to come.
    std::size_t request_written_ = 0;
    std::uint64_t body_remaining_ = 0;
    bool body_until_close_ = false;  // no Content-Length: the body ends with the connection
    bool response_keep_alive_ = true;
    bool in_request_ = false;     // a request is written or awaited
    bool peer_end_seen_ = false;  // peer_end() handled the peer's close
    bool work_done_ = false;      // everything this connection was for happened
    bool close_sent_ = false;     // close_notify queued
    bool fin_sent_ = false;       // our FIN (TcpStack::shutdown)
    bool closed_ = false;         // TcpStack::close after the peer's FIN
    bool failed_ = false;         // counted as an error already
    bool aborted_ = false;        // TcpStack::abort called
    bool integrity_bad_ = false;  // a mismatch was counted on this connection
    bool reset_pending_ = false;  // release() failed once
    bool cut_ = false;            // reset by stop() before the handshake completed
};

}  // namespace l45::loadgen
