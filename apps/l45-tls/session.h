// One TLS connection over one kernel TCP socket: the glue between
// tls::Connection (sans-IO: bytes in, records out) and the socket, stdin and
// stdout. Non-blocking socket, ppoll(2) for waiting, back-pressure in both
// directions (nothing more is read while earlier data still waits), so an
// echo of any size cannot deadlock on full socket buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tls/handshake/connection.h"

namespace l45::apps::tls_cli {

enum class SessionMode : std::uint8_t {
    client_stdio,  // stdin -> connection -> stdout; close_notify on stdin EOF
    server_echo,   // application data is sent back as it arrives
    server_www,    // one HTTP request, answered with a status page
};

struct SessionOptions {
    SessionMode mode = SessionMode::client_stdio;
    int handshake_timeout_ms = 10000;
    // No byte in either direction for this long ends the session (0: never).
    int idle_timeout_ms = 0;
    // After our close_notify, how long to wait for the peer's.
    int close_wait_ms = 5000;
};

enum class SessionOutcome : std::uint8_t {
    ok,         // closed cleanly (close_notify, or TCP FIN after ours)
    tls_error,  // an alert was sent or received: error
    io_error,   // socket error, or TCP closed during the handshake: detail
    truncated,  // TCP closed after the handshake without close_notify
    timeout,    // handshake or idle timeout
    stopped,    // SIGINT / SIGTERM
};

struct SessionResult {
    SessionOutcome outcome = SessionOutcome::ok;
    std::optional<tls::TlsError> error;
    std::string detail;
    bool handshake_complete = false;
};

// Runs the connection on `sock` (made non-blocking here) until it ends.
// `on_established` is called once when the handshake completes.
[[nodiscard]] SessionResult run_session(
    tls::Connection& conn, int sock, const SessionOptions& options,
    const std::function<void(const tls::Connection&)>& on_established);

// "sent alert bad_certificate", "received alert handshake_failure", ...
[[nodiscard]] std::string describe_error(const tls::TlsError& error);

// The negotiated parameters on one line, for stderr and server logs. A
// client passes the name it sent (Negotiated::server_name is the server's
// view of the SNI).
[[nodiscard]] std::string describe_negotiated(const tls::Negotiated& n,
                                              std::string_view our_server_name = {});

// The --www status page (a complete HTTP/1.0 response) for `request`.
[[nodiscard]] std::string www_response(std::string_view request, const tls::Negotiated& n);

}  // namespace l45::apps::tls_cli
