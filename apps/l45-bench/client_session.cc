#include "apps/l45-bench/client_session.h"

#include <algorithm>
#include <limits>

#include "apps/l45-bench/pattern.h"

namespace l45::loadgen {

tls::TlsResult<std::unique_ptr<ClientSession>> ClientSession::create(const tls::Config& config,
                                                                     tls::CryptoEngine& engine) {
    auto conn = tls::Connection::create(config, engine);
    if (!conn) return unexpected(conn.error());
    std::unique_ptr<ClientSession> s(new ClientSession());
    s->tls_ = std::move(*conn);
    return s;
}

void ClientSession::start(tcp::ConnId id, std::uint64_t seed, Instant now) {
    phase_ = Phase::connecting;
    id_ = id;
    seed_ = seed;
    parser_.reset();
    opened_at_ = request_at_ = last_progress_ = now;
    tx_offset_ = rx_offset_ = tx_target_ = 0;
    request_written_ = 0;
    body_remaining_ = 0;
    body_until_close_ = false;
    response_keep_alive_ = true;
    in_request_ = false;
    work_done_ = false;
    close_sent_ = false;
    fin_sent_ = false;
    failed_ = false;
    aborted_ = false;
    integrity_bad_ = false;
    peer_end_seen_ = false;
    cut_ = false;
    closed_ = false;
}

void ClientSession::on_connected(SessionEnv& env) {
    if (phase_ != Phase::connecting) return;
    payload_http_ = env.options.payload == Payload::http;
    ++env.stats.connects;
    phase_ = Phase::handshaking;  // the ClientHello is already in pending_output()
    last_progress_ = env.now;
    pump(env);
}

void ClientSession::pump(SessionEnv& env) {
    if (phase_ == Phase::idle || phase_ == Phase::connecting) return;
    bool any = false;
    // Bounded: each round moves at most what the TCP queues and the TLS
    // output buffer hold; stop as soon as nothing moves.
    for (int round = 0; round < 64; ++round) {
        bool progress = receive(env);
        if (phase_ == Phase::handshaking && tls_->handshake_complete()) {
            handshake_done(env);
            progress = true;
        }
        progress |= read_app_data(env);
        progress |= peer_end(env);
        progress |= write_app_data(env);
        progress |= flush(env);
        progress |= finish_close(env);
        if (!progress) break;
        any = true;
    }
    if (any) last_progress_ = env.now;
}

bool ClientSession::receive(SessionEnv& env) {
    bool progress = false;
    for (ByteSpan in = env.stack.peek(id_); !in.empty(); in = env.stack.peek(id_)) {
        if (phase_ == Phase::closing || tls_->failed() || tls_->peer_closed()) {
            // Our part is over (or §6.1/§6.2: nothing after close_notify or
            // a fatal alert is read): drop it so the window stays open and
            // the stack can report the close.
            env.stack.consume(id_, static_cast<std::uint32_t>(in.size()));
            progress = true;
            continue;
        }
        auto taken = tls_->receive(in);
        if (!taken) {
            fail_tls(env, taken.error());
            return true;
        }
        if (*taken == 0) break;  // decrypted data waits for read_app_data()
        env.stack.consume(id_, static_cast<std::uint32_t>(*taken));
        progress = true;
    }
    return progress;
}

void ClientSession::handshake_done(SessionEnv& env) {
    ++env.stats.handshakes;
    const auto took = static_cast<std::uint64_t>((env.now - opened_at_).count());
    env.stats.handshake_latency.record(took);
    phase_ = Phase::running;
    switch (env.options.mode) {
        case Mode::handshake:
            // The connection itself was the request (budgeted when opened).
            env.stats.latency.record(took);
            if (env.options.handshake_request && !env.budget.stopping) {
                start_request(env);
            } else {
                ++env.stats.requests;
                work_done_ = true;
                begin_close(env);
            }
            return;
        case Mode::bulk:
            if (!http()) {
                // One stream per connection (budgeted when opened).
                in_request_ = true;
                request_at_ = env.now;
                if (env.options.download) {
                    // The server streams; we send nothing and read until
                    // stop() (the duration's end) closes.
                    tx_target_ = 0;
                    if (env.budget.stopping) {
                        in_request_ = false;
                        work_done_ = true;
                        begin_close(env);
                    }
                    return;
                }
                tx_target_ = env.options.bulk_bytes != 0
                                 ? env.options.bulk_bytes
                                 : std::numeric_limits<std::uint64_t>::max();
                if (env.budget.stopping) tx_target_ = 0;
                if (tx_target_ == 0) {
                    work_done_ = true;
                    begin_close(env);
                }
                return;
            }
            return next_request(env);  // bulk over http: GETs back to back
        case Mode::rr:
            return next_request(env);
    }
}

void ClientSession::start_request(SessionEnv& env) {
    in_request_ = true;
    request_at_ = env.now;
    if (http()) {
        request_written_ = 0;
        body_remaining_ = 0;
        body_until_close_ = false;
        parser_.reset();
    } else {
        tx_target_ = tx_offset_ + env.options.request_len;
    }
}

void ClientSession::next_request(SessionEnv& env) {
    // Handshake mode does one request per connection; rr (and bulk over
    // http) as many as the budget grants.
    if (env.options.mode == Mode::handshake || !env.budget.take()) {
        work_done_ = true;
        return begin_close(env);
    }
    start_request(env);
}

void ClientSession::request_done(SessionEnv& env) {
    in_request_ = false;
    ++env.stats.requests;
    if (env.options.mode == Mode::rr)
        env.stats.latency.record(static_cast<std::uint64_t>((env.now - request_at_).count()));
    if (http() && !response_keep_alive_) {
        // RFC 9112 §9.6: the server closes after this response; a new
        // connection takes the next request.
        work_done_ = true;
        return begin_close(env);
    }
    next_request(env);
}

bool ClientSession::read_app_data(SessionEnv& env) {
    bool progress = false;
    while (tls_->readable() != 0) {
        const std::size_t n = tls_->read(MutableByteSpan(env.scratch));
        env.stats.bytes_received += n;
        progress = true;
        if (phase_ != Phase::running || failed_) continue;  // nothing expected any more
        ByteSpan data(env.scratch.data(), n);
        if (!http()) {
            if (env.options.download) {
                check_download(env, data);
            } else {
                check_echo(env, data);
            }
            continue;
        }
        while (!data.empty() && in_request_ && phase_ == Phase::running) {
            if (!parser_.complete()) {
                auto taken = parser_.feed(data);
                if (!taken) {
                    fail(env, nullptr);  // not an HTTP/1.1 response we can follow
                    return true;
                }
                data = data.subspan(*taken);
                if (!parser_.complete()) break;
                const auto& head = parser_.response();
                response_keep_alive_ = head.keep_alive;
                if (head.status >= 400) {
                    // The request reached the server but failed there (a 502
                    // from a proxy whose backend is down): counted, and the
                    // response is still read so the connection stays usable.
                    ++env.stats.errors;
                    ++env.stats.http_errors;
                }
                if (head.content_length) {
                    body_remaining_ = *head.content_length;
                } else if (!head.keep_alive) {
                    body_until_close_ = true;  // RFC 9112 §6.3 step 8
                } else {
                    body_remaining_ = 0;  // 204/304-like, or no body we can delimit
                }
            } else if (body_until_close_) {
                data = {};
            } else {
                const auto take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(body_remaining_, data.size()));
                body_remaining_ -= take;
                data = data.subspan(take);
            }
            if (parser_.complete() && !body_until_close_ && body_remaining_ == 0) request_done(env);
        }
    }
    return progress;
}

void ClientSession::check_echo(SessionEnv& env, ByteSpan data) {
    // Bytes beyond what we sent cannot be an echo: all of them count.
    const std::uint64_t expected =
        tx_offset_ > rx_offset_ ? std::min<std::uint64_t>(tx_offset_ - rx_offset_, data.size()) : 0;
    std::uint64_t bad = data.size() - expected;
    bad += count_pattern_mismatches(seed_, rx_offset_, data.first(expected));
    rx_offset_ += data.size();
    if (bad != 0) {
        env.stats.integrity_errors += bad;
        if (!integrity_bad_) {
            integrity_bad_ = true;
            ++env.stats.errors;
        }
    }
    if (!in_request_ || rx_offset_ < tx_target_) return;
    if (env.options.mode == Mode::bulk) {
        // The whole stream came back.
        in_request_ = false;
        ++env.stats.requests;
        work_done_ = true;
        return begin_close(env);
    }
    request_done(env);
}

void ClientSession::check_download(SessionEnv& env, ByteSpan data) {
    const std::uint64_t bad = count_download_mismatches(rx_offset_, data);
    rx_offset_ += data.size();
    if (bad != 0) {
        env.stats.integrity_errors += bad;
        if (!integrity_bad_) {
            integrity_bad_ = true;
            ++env.stats.errors;
        }
    }
}

bool ClientSession::peer_end(SessionEnv& env) {
    if (peer_end_seen_ || phase_ == Phase::closing) return false;
    const tcp::Connection* c = env.stack.find(id_);
    const bool fin = c != nullptr && c->recv_finished();
    if (!tls_->peer_closed() && !fin) return false;
    peer_end_seen_ = true;
    if (in_request_ && body_until_close_ && tls_->peer_closed()) {
        request_done(env);  // the body's end (RFC 9112 §6.3 step 8), then we close
        work_done_ = true;
    } else if (in_request_ || phase_ != Phase::running) {
        // A FIN (or close_notify) in the middle of a response or of the
        // handshake: RFC 8446 §6.1 truncation.
        fail(env, &LoadStats::tcp_errors);
        return true;
    } else {
        work_done_ = true;  // an idle keep-alive connection the server ended
    }
    begin_close(env);
    return true;
}

bool ClientSession::write_app_data(SessionEnv& env) {
    if (phase_ != Phase::running || !in_request_ || close_sent_ || failed_) return false;
    bool progress = false;
    if (http()) {
        while (request_written_ < env.http_request.size()) {
            auto w = tls_->write(env.http_request.subspan(request_written_));
            if (!w) {
                fail_tls(env, w.error());
                return true;
            }
            if (*w == 0) break;
            request_written_ += *w;
            env.stats.bytes_sent += *w;
            progress = true;
        }
        return progress;
    }
    while (tx_offset_ < tx_target_ && tls_->pending_output().size() < kOutputHighWater) {
        const auto want = static_cast<std::size_t>(
            std::min<std::uint64_t>(env.scratch.size(), tx_target_ - tx_offset_));
        const auto chunk = env.scratch.first(want);
        fill_pattern(seed_, tx_offset_, chunk);
        auto w = tls_->write(ByteSpan(chunk.data(), chunk.size()));
        if (!w) {
            fail_tls(env, w.error());
            return true;
        }
        if (*w == 0) break;
        tx_offset_ += *w;
        env.stats.bytes_sent += *w;
        progress = true;
    }
    return progress;
}

bool ClientSession::flush(SessionEnv& env) {
    if (aborted_ || fin_sent_) return false;
    bool progress = false;
    const ByteSpan out = tls_->pending_output();
    if (!out.empty()) {
        const std::uint32_t n = env.stack.send(id_, out);
        tls_->consume_output(n);
        progress = n != 0;
    }
    // §6.1: our FIN follows close_notify (or the alert) once it is out.
    if (phase_ == Phase::closing && tls_->pending_output().empty()) {
        // A half-close (RFC 9293 §3.10.4): the server's close_notify, tickets
        // or last response bytes may still come, and data arriving after a
        // full close() would be answered with a reset (RFC 2525 §2.17).
        env.stack.shutdown(id_);
        fin_sent_ = true;
        progress = true;
    }
    return progress;
}

bool ClientSession::finish_close(SessionEnv& env) {
    if (!fin_sent_ || closed_ || aborted_) return false;
    // Both FINs seen and every byte read: the stack may free the slot (the
    // connection enters TIME-WAIT and on_closed follows).
    const tcp::Connection* c = env.stack.find(id_);
    if (c == nullptr || !c->recv_finished()) return false;
    env.stack.close(id_);
    closed_ = true;
    return true;
}

void ClientSession::begin_close(SessionEnv& env) {
    if (phase_ == Phase::idle || phase_ == Phase::closing) return;
    if (phase_ == Phase::connecting || phase_ == Phase::handshaking) return abort(env);
    phase_ = Phase::closing;
    in_request_ = false;
    if (!close_sent_ && !tls_->failed()) {
        if (auto r = tls_->close(); !r) return fail_tls(env, r.error());
        close_sent_ = true;
    }
}

void ClientSession::fail_tls(SessionEnv& env, const tls::TlsError& /*error*/) {
    if (!failed_ && !work_done_) {
        ++env.stats.errors;
        ++env.stats.tls_errors;
    }
    failed_ = true;
    in_request_ = false;
    // Our alert (if the error was ours) is in pending_output(): flush() sends
    // it, then the FIN.
    if (phase_ == Phase::connecting) return abort(env);
    phase_ = Phase::closing;
}

void ClientSession::fail(SessionEnv& env, std::uint64_t LoadStats::*counter) {
    if (!failed_ && !work_done_) {
        ++env.stats.errors;
        if (counter != nullptr) ++(env.stats.*counter);
    }
    failed_ = true;
    in_request_ = false;
    if (phase_ == Phase::connecting) return abort(env);
    phase_ = Phase::closing;  // FIN without close_notify: the exchange was cut
}

void ClientSession::abort(SessionEnv& env) {
    if (!aborted_) env.stack.abort(id_);
    aborted_ = true;
    in_request_ = false;
    phase_ = Phase::closing;
}

void ClientSession::expire(SessionEnv& env) {
    if (phase_ == Phase::idle) return;
    if (!failed_ && !work_done_) {
        ++env.stats.errors;
        ++env.stats.timeouts;
    }
    failed_ = true;
    abort(env);
}

void ClientSession::stop(SessionEnv& env) {
    switch (phase_) {
        case Phase::idle:
        case Phase::closing:
            return;
        case Phase::connecting:
        case Phase::handshaking:
            // Cut at the end of the run: not a failure of the server, and
            // not a clean close either.
            work_done_ = true;
            cut_ = true;
            return abort(env);
        case Phase::running:
            break;
    }
    if (env.options.mode == Mode::bulk && !http() && env.options.download) {
        // A download ends when we stop reading: the stream was the request.
        in_request_ = false;
        ++env.stats.requests;
    } else if (env.options.mode == Mode::bulk && !http()) {
        // Send nothing more; close once what was sent has come back.
        tx_target_ = tx_offset_;
        if (rx_offset_ < tx_target_) return;
        in_request_ = false;
        ++env.stats.requests;
    } else if (in_request_) {
        return;  // request_done() finds the budget closed and closes
    }
    work_done_ = true;
    begin_close(env);
    pump(env);
}

void ClientSession::on_closed(SessionEnv& env, tcp::CloseReason /*reason*/) {
    if (phase_ == Phase::idle) return;
    // What is still readable may finish a response (a close-delimited body).
    if (!aborted_ && phase_ != Phase::closing) {
        receive(env);
        read_app_data(env);
        peer_end(env);
    }
    if (!failed_ && !work_done_) {
        // Reset, refused, timed out, or closed under a request.
        ++env.stats.errors;
        ++env.stats.tcp_errors;
        failed_ = true;
    }
    if (!failed_ && !cut_) ++env.stats.closed;
    phase_ = Phase::closing;
    aborted_ = true;  // the handle is dead: nothing more goes to the stack
}

bool ClientSession::release() {
    phase_ = Phase::idle;
    id_ = {};
    if (auto r = tls_->reset(); !r) {
        reset_pending_ = true;
        return false;
    }
    reset_pending_ = false;
    return true;
}

}  // namespace l45::loadgen
