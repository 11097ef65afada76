// What one lcore's TLS-terminating proxy is told (ProxyOptions) and what it
// counts (ProxyCounters). The configuration file and the CLI (config.{h,cc})
// fill ProxyOptions; nothing here parses anything.
//
// Read first: docs/appliance-proxy.md (the proxy's behaviour: sessions,
// backends, close propagation, the redirect), RFC 8446 §6.1 (close_notify),
// RFC 9110 §15.4.2 (301) and §15.6.3 (502).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/net/addr.h"
#include "tls/handshake/config.h"
#include "tls/pki/certificate.h"

namespace l45::offload {

using namespace std::chrono_literals;

struct BackendAddress {
    net::Ipv4Addr addr;
    std::uint16_t port = 0;
};

struct ProxyOptions {
    // --- listeners ---
    std::uint16_t https_port = 443;
    std::uint16_t http_port = 80;  // the 301 redirect; 0: no listener
    std::uint32_t listen_backlog = 128;

    // --- TLS ---
    // Certificates by SNI (RFC 6066 §3); read-only, may be shared by lcores.
    const tls::pki::CredentialSelector* credentials = nullptr;
    // Key shares and randoms; one per lcore (not thread-safe).
    Random* random = nullptr;
    // TLS sessions of this lcore, all made at start-up (each holds the
    // buffers of a tls::Connection, about 330 KiB with the defaults).
    // An accepted connection beyond this is reset and counted.
    std::uint32_t max_sessions = 256;
    // Capacity of each session's TLS output buffer (tls::Config); at least
    // one handshake flight. Records waiting for the client's TCP window.
    std::size_t tls_output_buffer_len = 192 * 1024;
    // Record crypto of all sessions gathered into one IPsec-MB batch per
    // poll() (true), or run inline, one call per record (false). See
    // docs/appliance-proxy.md for the measurement behind the default.
    bool batch_crypto = true;
    // A client must finish its handshake within this.
    Duration handshake_timeout = 10s;
    // Handshake steps (a session in its handshake with bytes to read: the
    // ClientHello's key exchange and signature are ~100 us of OpenSSL work)
    // run at most this many per poll iteration, from a FIFO, so the
    // sessions already proxying are pumped between them. 0: inline, in the
    // stack's callback (no deferral).
    std::uint32_t handshakes_per_poll = 2;
    // NSS key-log lines of every session (tls.keylog_file, keylog.h); unset:
    // none. Called on this lcore during handshakes. These are secrets.
    tls::KeyLogSink key_log;

    // --- backends ---
    // Plaintext servers, tried round-robin. At least one.
    std::vector<BackendAddress> backends;
    // A backend that refused (RST to the SYN) or did not answer is skipped
    // for this long.
    Duration backend_down_interval = 10s;
    // SYN-SENT longer than this counts as a timeout (the TCP default of six
    // retransmissions would take two minutes).
    Duration backend_connect_timeout = 3s;
    // Backends tried for one client before it gets no_backend_response.
    std::uint32_t max_backend_attempts = 4;
    // Sent to the client over TLS, then close_notify, when no backend could
    // be reached. Empty: close_notify alone.
    std::string no_backend_response =
        "HTTP/1.1 502 Bad Gateway\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 21\r\n"
        "Connection: close\r\n"
        "\r\n"
        "no backend available\n";

    // --- closing ---
    // After our FIN, how long the peer has to send its own before the
    // connection is reset (a client that never closes cannot hold a session).
    Duration linger_timeout = 5s;
    // shutdown(): sessions still open this long after are reset.
    Duration shutdown_grace = 5s;

    // --- HTTP redirect (port 80) ---
    std::uint32_t max_http_connections = 256;
    // A request head (request line + header fields) longer than this gets
    // 400 (RFC 9112 §2.3 lets a server bound it).
    std::uint32_t max_http_request_len = 4096;
    // How long a port-80 client has to send its request head.
    Duration http_request_timeout = 10s;
};

// Per-lcore counters. An X-macro so that for_each() (telemetry, the stats
// line, test dumps) can never miss a field.
#define L45_PROXY_COUNTERS(X)                                                        \
    X(connections_accepted) /* TLS port: TCP connections accepted */                 \
    X(connections_active)   /* gauge: sessions in use */                             \
    X(sessions_exhausted)   /* accepted while every session was busy: reset */       \
    X(handshakes_ok)                                                                 \
    X(handshakes_failed) /* TLS error or timeout before Finished */                  \
    X(handshake_timeouts)                                                            \
    X(handshake_steps_deferred) /* pumps queued to the handshake FIFO */             \
    X(handshake_steps_run)      /* ... and run from it */                            \
    X(handshake_queue_max)      /* gauge: the FIFO's deepest */                      \
    X(handshake_polls_full)     /* polls that left steps waiting */                  \
    X(alerts_sent)              /* fatal alerts of ours (close_notify excluded) */   \
    X(alerts_received)          /* fatal alerts from clients */                      \
    X(close_notify_sent)                                                             \
    X(close_notify_received)                                                         \
    X(client_truncated) /* client TCP FIN without close_notify */                    \
    X(client_resets)    /* client RST or TCP timeout */                              \
    X(bytes_in)         /* plaintext client -> backend */                            \
    X(bytes_out)        /* plaintext backend -> client */                            \
    X(tls_bytes_in)     /* TLS records received from clients */                      \
    X(tls_bytes_out)    /* TLS records sent to clients */                            \
    X(backend_connects) /* SYNs to backends */                                       \
    X(backend_connected)                                                             \
    X(backend_refused)  /* RST to our SYN */                                         \
    X(backend_timeouts) /* no answer within backend_connect_timeout */               \
    X(backend_marked_down)                                                           \
    X(backend_resets)      /* backend RST after connecting */                        \
    X(backend_unavailable) /* clients given no_backend_response */                   \
    X(backend_tails)       /* backend ended (both FINs) with bytes still unread */   \
    X(backend_tail_lost)   /* ... and they were gone before we could read them */    \
    X(linger_timeouts)     /* peers reset for not closing after our FIN */           \
    X(tls_reset_failed)    /* a session could not be reset: taken out of the pool */ \
    X(records_in_place)    /* client records opened in one mbuf (batched AeadOp) */  \
    X(records_sliced)      /* ... spanning mbufs, opened in place slice by slice */  \
    X(records_control)     /* ... whose inner type went back to tls::Connection */   \
    X(rx_copies)           /* received bytes copied: shared mbuf or coalesce() */    \
    X(rx_copied_bytes)                                                               \
    X(records_sealed)    /* records sealed straight into tx mbufs */                 \
    X(records_small)     /* ... of them sized to one segment (start, idle, cwnd) */  \
    X(record_pool_empty) /* a record mbuf was wanted and the pool was empty */       \
    X(crypto_batches)    /* AeadBatch flushes with at least one op */                \
    X(crypto_batch_ops)  /* ops in them */                                           \
    X(http_accepted)     /* port 80 */                                               \
    X(http_exhausted)    /* port 80 accepted with every slot busy: reset */          \
    X(redirects)         /* 301 sent */                                              \
    X(http_bad_requests) /* 400 sent */                                              \
    X(http_timeouts)

struct ProxyCounters {
#define L45_PROXY_COUNTER_FIELD(name) std::uint64_t name = 0;
    L45_PROXY_COUNTERS(L45_PROXY_COUNTER_FIELD)
#undef L45_PROXY_COUNTER_FIELD

    // f(std::string_view name, std::uint64_t value), in declaration order.
    template <class F>
    void for_each(F&& f) const {
#define L45_PROXY_COUNTER_VISIT(name) f(std::string_view(#name), name);
        L45_PROXY_COUNTERS(L45_PROXY_COUNTER_VISIT)
#undef L45_PROXY_COUNTER_VISIT
    }
};

}  // namespace l45::offload
