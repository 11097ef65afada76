#include "apps/l45-offload/tls_session.h"

#include <algorithm>
#include <cstdint>

namespace l45::offload {

tls::TlsResult<std::unique_ptr<TlsSession>> TlsSession::create(const tls::Config& config,
                                                               tls::CryptoEngine& engine) {
    auto conn = tls::Connection::create(config, engine);
    if (!conn) return unexpected(conn.error());
    std::unique_ptr<TlsSession> s(new TlsSession());
    s->tls_ = std::move(*conn);
    s->up_.resize(kChunkLen);
    s->down_.resize(kChunkLen);
    return s;
}

void TlsSession::start(tcp::ConnId client, Instant now, Duration handshake_timeout) {
    phase_ = Phase::handshaking;
    client_ = Leg{client, true, true, false, false};
    backend_ = Leg{};
    attempts_ = 0;
    deadline_ = now + handshake_timeout;
}

void TlsSession::backend_connecting(tcp::ConnId id, std::size_t index, Instant deadline) {
    backend_ = Leg{id, true, false, false, false};
    backend_index_ = index;
    ++attempts_;
    deadline_ = deadline;
}

void TlsSession::backend_connected(SessionContext& ctx) {
    backend_.connected = true;
    ++ctx.counters.backend_connected;
    if (phase_ == Phase::connecting) {
        phase_ = Phase::proxying;
        if (!shutting_down_) deadline_ = Instant::max();
    }
    pump(ctx);
}

void TlsSession::backend_failed() {
    backend_ = Leg{};
}

void TlsSession::no_backend(SessionContext& ctx) {
    ++ctx.counters.backend_unavailable;
    discard_up_ = true;  // the request is answered here, not forwarded
    phase_ = Phase::closing;
    deadline_ = Instant::max();
    const std::string& resp = ctx.options.no_backend_response;
    if (!resp.empty() && !tls_closed_ && !failed_) {
        // Fits: the output buffer holds a handshake flight, this is < 1 KiB.
        auto w =
            tls_->write(ByteSpan(reinterpret_cast<const std::uint8_t*>(resp.data()), resp.size()));
        if (!w) return tls_failed(ctx, w.error());
    }
    if (!tls_closed_ && !failed_) {
        if (auto r = tls_->close(); !r) return tls_failed(ctx, r.error());
        tls_closed_ = true;
        ++ctx.counters.close_notify_sent;
    }
    pump(ctx);
}

void TlsSession::client_closed(SessionContext& ctx, tcp::CloseReason reason) {
    client_.ended = true;
    if (reason == tcp::CloseReason::kReset || reason == tcp::CloseReason::kTimeout)
        ++ctx.counters.client_resets;
    if (phase_ == Phase::handshaking) ++ctx.counters.handshakes_failed;
    phase_ = Phase::closing;
    // Nobody left to send records to.
    tls_->consume_output(tls_->pending_output().size());
    if (backend_.open && !backend_.ended) {
        // A backend that already sent everything (or was told we are done)
        // closes gracefully; one still talking has lost its client.
        if (backend_eof_ || backend_.fin_sent) {
            if (!backend_.fin_sent && backend_.connected) {
                ctx.stack.shutdown(backend_.id);
                backend_.fin_sent = true;
            }
        } else {
            abort_backend(ctx);
        }
    }
    pump(ctx);
}

void TlsSession::backend_closed(SessionContext& ctx, tcp::CloseReason reason) {
    backend_.ended = true;
    switch (reason) {
        case tcp::CloseReason::kNormal: {
            // Both FINs exchanged (we sent ours first, so this is TIME-WAIT).
            // TcpStack reports that only once every received byte was read;
            // a tail here means the stack's TIME-WAIT ended first (the
            // proxy could not forward for 2 MSL): counted, then cut below.
            if (const tcp::Connection* c = ctx.stack.find(backend_.id);
                c != nullptr && c->recv_available() > 0)
                ++ctx.counters.backend_tails;
            // The stack may also give the slot back once this callback
            // returns (a compact TIME-WAIT): take all that fits into TLS
            // records now, past the high-water mark.
            from_backend(ctx, SIZE_MAX);
            const tcp::Connection* c = ctx.stack.find(backend_.id);
            backend_tail_ = c != nullptr && c->recv_available() > 0;
            break;
        }
        case tcp::CloseReason::kAborted:
            break;  // ours
        case tcp::CloseReason::kReset:
        case tcp::CloseReason::kRefused:
        case tcp::CloseReason::kTimeout:
            ++ctx.counters.backend_resets;
            // The response is cut short: a close_notify would make it look
            // complete, so the client gets a reset instead.
            discard_up_ = true;
            phase_ = Phase::closing;
            abort_client(ctx);
            break;
    }
    pump(ctx);
}

void TlsSession::pump(SessionContext& ctx) {
    if (phase_ == Phase::idle) return;
    // Bounded: each round moves at most a chunk per direction and the TCP
    // buffers bound the rest; stop as soon as nothing moves.
    for (int round = 0; round < 64; ++round) {
        bool progress = client_in(ctx);
        progress |= to_backend(ctx);
        progress |= from_backend(ctx, kOutputHighWater);
        progress |= client_out(ctx);
        progress |= propagate_close(ctx);
        if (!progress) break;
    }
}

bool TlsSession::client_in(SessionContext& ctx) {
    if (!client_.open || client_.ended) return false;
    bool progress = false;
    for (;;) {
        const ByteSpan in = ctx.stack.peek(client_.id);
        if (in.empty()) break;
        if (failed_ || tls_->failed() || tls_->peer_closed()) {
            // Nothing after a fatal alert or close_notify is read (§6.1,
            // §6.2): drop it so the window stays open until the FIN.
            ctx.stack.consume(client_.id, static_cast<std::uint32_t>(in.size()));
            progress = true;
            continue;
        }
        auto taken = tls_->receive(in);
        if (!taken) {
            tls_failed(ctx, taken.error());
            return true;
        }
        if (*taken == 0) break;  // decrypted data waits for to_backend()
        ctx.stack.consume(client_.id, static_cast<std::uint32_t>(*taken));
        ctx.counters.tls_bytes_in += *taken;
        progress = true;
    }
    if (phase_ == Phase::handshaking && tls_->handshake_complete()) {
        ++ctx.counters.handshakes_ok;
        phase_ = Phase::connecting;
        if (!shutting_down_) deadline_ = Instant::max();
        progress = true;
    }
    return progress;
}

bool TlsSession::to_backend(SessionContext& ctx) {
    const bool can_send = backend_.connected && !backend_.ended && !backend_.fin_sent;
    if (!can_send && !discard_up_) return false;  // the backend is not there yet
    bool progress = false;
    for (;;) {
        if (up_head_ < up_tail_) {
            if (!can_send || discard_up_) {
                up_head_ = up_tail_ = 0;
            } else {
                const std::uint32_t n = ctx.stack.send(
                    backend_.id, ByteSpan(up_.data() + up_head_, up_tail_ - up_head_));
                up_head_ += n;
                ctx.counters.bytes_in += n;
                if (n != 0) progress = true;
                if (up_head_ < up_tail_) break;  // on_writable(backend) resumes
                up_head_ = up_tail_ = 0;
            }
        }
        if (tls_->readable() == 0) break;
        up_tail_ = tls_->read(MutableByteSpan(up_));
        progress = true;
    }
    return progress;
}

bool TlsSession::from_backend(SessionContext& ctx, std::size_t high_water) {
    if (!backend_.connected) return false;
    bool progress = false;
    if (failed_ || tls_closed_ || client_.ended) {
        // No way to the client any more: drop what the backend sends so it
        // can finish (and close) instead of stalling on a closed window.
        down_head_ = down_tail_ = 0;
        while (ctx.stack.recv(backend_.id, MutableByteSpan(down_)) != 0)
            progress = true;
        backend_tail_ = false;
        return progress;
    }
    for (;;) {
        if (down_head_ < down_tail_) {
            auto w = tls_->write(ByteSpan(down_.data() + down_head_, down_tail_ - down_head_));
            if (!w) {
                tls_failed(ctx, w.error());
                return true;
            }
            down_head_ += *w;
            ctx.counters.bytes_out += *w;
            if (*w != 0) progress = true;
            if (down_head_ < down_tail_) break;  // output full: client_out first
            down_head_ = down_tail_ = 0;
        }
        // Records wait for the client's window here, not in our memory.
        if (tls_->pending_output().size() >= high_water) break;
        // Up to 16 KiB at a time: a full record when the backend has that
        // much, a small one at once when it has less (interactive traffic).
        const std::uint32_t n = ctx.stack.recv(backend_.id, MutableByteSpan(down_));
        if (n == 0) break;
        down_tail_ = n;
        progress = true;
    }
    if (backend_tail_ && down_head_ == down_tail_) {
        const tcp::Connection* c = ctx.stack.find(backend_.id);
        if (c == nullptr) {
            // The stack reclaimed the slot (TIME-WAIT ended or was made
            // compact) before we read everything: the response is cut.
            // Reset the client rather than close_notify, which would tell
            // it the response was complete (§6.1 truncation).
            ++ctx.counters.backend_tail_lost;
            backend_tail_ = false;
            failed_ = true;
            discard_up_ = true;
            phase_ = Phase::closing;
            abort_client(ctx);
            progress = true;
        } else if (c->recv_available() == 0) {
            backend_tail_ = false;
            progress = true;
        }
    }
    return progress;
}

bool TlsSession::client_out(SessionContext& ctx) {
    const ByteSpan out = tls_->pending_output();
    if (out.empty()) return false;
    if (!client_.open || client_.ended) {
        tls_->consume_output(out.size());
        return false;
    }
    if (client_.fin_sent) return false;
    const std::uint32_t n = ctx.stack.send(client_.id, out);
    tls_->consume_output(n);
    ctx.counters.tls_bytes_out += n;
    return n != 0;  // short: on_writable(client) resumes
}

bool TlsSession::propagate_close(SessionContext& ctx) {
    bool progress = false;
    // 1. The client's write side ends: close_notify, or a bare FIN.
    if (!client_eof_ && client_.open && !client_.ended && !failed_) {
        if (tls_->peer_closed()) {
            client_eof_ = true;
            ++ctx.counters.close_notify_received;
            progress = true;
        } else if (const tcp::Connection* c = ctx.stack.find(client_.id);
                   c != nullptr && c->recv_finished()) {
            client_eof_ = true;
            progress = true;
            if (phase_ == Phase::handshaking) {
                // Gave up before Finished: nothing to say to it.
                ++ctx.counters.handshakes_failed;
                phase_ = Phase::closing;
                abort_client(ctx);
                return true;
            }
            // §6.1: a FIN without close_notify may be a truncation attack.
            // The backend still gets its FIN (HTTP/1.1 bodies carry their
            // length), but it is counted.
            ++ctx.counters.client_truncated;
        }
    }
    // 2. Every client byte before that end was forwarded: FIN the backend.
    if (client_eof_ && backend_.connected && !backend_.ended && !backend_.fin_sent &&
        up_head_ == up_tail_ && tls_->readable() == 0) {
        ctx.stack.shutdown(backend_.id);
        backend_.fin_sent = true;
        phase_ = Phase::closing;
        progress = true;
    }
    // 3. The backend's write side ended and its last byte is in a record.
    if (!backend_eof_ && backend_.connected && down_head_ == down_tail_) {
        bool eof = false;
        if (backend_.ended) {
            eof = !backend_tail_;
        } else if (const tcp::Connection* c = ctx.stack.find(backend_.id);
                   c != nullptr && c->recv_finished()) {
            eof = true;
        }
        if (eof) {
            backend_eof_ = true;
            progress = true;
        }
    }
    // 4. ... so the client gets close_notify (§6.1).
    if (backend_eof_ && !tls_closed_ && !failed_ && !client_.ended) {
        if (auto r = tls_->close(); !r) {
            tls_failed(ctx, r.error());
            return true;
        }
        tls_closed_ = true;
        ++ctx.counters.close_notify_sent;
        phase_ = Phase::closing;
        progress = true;
    }
    // 5. Our last record (close_notify or alert) is with TCP: FIN after it.
    if ((tls_closed_ || failed_) && client_.open && !client_.ended && !client_.fin_sent &&
        tls_->pending_output().empty()) {
        ctx.stack.shutdown(client_.id);
        client_.fin_sent = true;
        deadline_ = std::min(deadline_, ctx.now + ctx.options.linger_timeout);
        progress = true;
    }
    return progress;
}

void TlsSession::tls_failed(SessionContext& ctx, const tls::TlsError& error) {
    if (failed_) return;
    failed_ = true;
    if (!tls_->handshake_complete()) ++ctx.counters.handshakes_failed;
    if (error.origin == tls::ErrorOrigin::peer)
        ++ctx.counters.alerts_received;
    else
        ++ctx.counters.alerts_sent;  // queued in pending_output by the Connection
    phase_ = Phase::closing;
    discard_up_ = true;
    up_head_ = up_tail_ = 0;
    down_head_ = down_tail_ = 0;
    abort_backend(ctx);
}

void TlsSession::abort_client(SessionContext& ctx) {
    if (client_.open && !client_.ended) ctx.stack.abort(client_.id);
}

void TlsSession::abort_backend(SessionContext& ctx) {
    if (backend_.open && !backend_.ended) ctx.stack.abort(backend_.id);
    backend_tail_ = false;
}

void TlsSession::expire(SessionContext& ctx) {
    deadline_ = Instant::max();
    if (phase_ == Phase::handshaking) {
        ++ctx.counters.handshake_timeouts;
        ++ctx.counters.handshakes_failed;
        phase_ = Phase::closing;
    } else {
        ++ctx.counters.linger_timeouts;
    }
    // The RSTs' on_closed come back through the Proxy and finish the session.
    abort_client(ctx);
    abort_backend(ctx);
}

void TlsSession::shut_down(SessionContext& ctx, Instant hard_deadline) {
    if (phase_ == Phase::idle || shutting_down_) return;
    shutting_down_ = true;
    deadline_ = std::min(deadline_, hard_deadline);
    switch (phase_) {
        case Phase::handshaking:
            // No keys to close with yet; nothing was promised to this client.
            abort_client(ctx);
            break;
        case Phase::connecting:
        case Phase::proxying:
            if (!tls_closed_ && !failed_) {
                if (auto r = tls_->close(); !r) {
                    tls_failed(ctx, r.error());
                    break;
                }
                tls_closed_ = true;
                ++ctx.counters.close_notify_sent;
            }
            discard_up_ = true;
            if (backend_.connected && !backend_.ended && !backend_.fin_sent) {
                ctx.stack.shutdown(backend_.id);
                backend_.fin_sent = true;
            } else if (backend_.open && !backend_.connected) {
                abort_backend(ctx);
            }
            phase_ = Phase::closing;
            break;
        case Phase::closing:
        case Phase::idle:
            break;
    }
    pump(ctx);
}

bool TlsSession::release() {
    phase_ = Phase::idle;
    client_ = Leg{};
    backend_ = Leg{};
    up_head_ = up_tail_ = down_head_ = down_tail_ = 0;
    backend_index_ = 0;
    attempts_ = 0;
    deadline_ = Instant::max();
    client_eof_ = backend_eof_ = backend_tail_ = tls_closed_ = failed_ = discard_up_ =
        shutting_down_ = false;
    return tls_->reset().has_value();
}

}  // namespace l45::offload
