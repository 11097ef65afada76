#include "apps/l45-offload/tls_session.h"

#include <algorithm>
#include <cstdint>

namespace l45::offload {

namespace {

constexpr auto internal_error = [] {
    return tls::TlsError{tls::Alert::internal_error, tls::ErrorOrigin::internal};
};

// One op now, without a batch (the "one call per record" mode).
void run_now(tls::CryptoEngine& engine, tls::AeadOp& op) {
    tls::TlsResult<void> r;
    if (op.direction == tls::AeadDirection::seal)
        r = op.ctx->seal(engine, op.seq, op.aad, op.data,
                         std::span<std::uint8_t, tls::kAeadTagLen>(op.tag, tls::kAeadTagLen));
    else
        r = op.ctx->open(engine, op.seq, op.aad, op.data,
                         std::span<const std::uint8_t, tls::kAeadTagLen>(op.tag, tls::kAeadTagLen));
    if (r)
        op.status = tls::AeadOpStatus::ok;
    else
        op.status = r.error().alert == tls::Alert::bad_record_mac
                        ? tls::AeadOpStatus::bad_record_mac
                        : tls::AeadOpStatus::internal_error;
}

}  // namespace

tls::TlsResult<std::unique_ptr<TlsSession>> TlsSession::create(const tls::Config& config,
                                                               tls::CryptoEngine& engine,
                                                               rte_mempool* record_pool) {
    if (record_pool == nullptr ||
        rte_pktmbuf_data_room_size(record_pool) < RTE_PKTMBUF_HEADROOM + kRecordRoom)
        return unexpected(internal_error());
    tls::Config offload = config;
    offload.record_offload = true;
    auto conn = tls::Connection::create(offload, engine);
    if (!conn) return unexpected(conn.error());
    std::unique_ptr<TlsSession> s(new TlsSession());
    s->tls_ = std::move(*conn);
    s->record_pool_ = record_pool;
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
    if (num_tx_ops_ == 0) {
        tx_q_.clear();
        tx_sealed_ = 0;
    }
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
            from_backend(ctx, kTxSlots, nullptr);
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
    wants_poll_ = false;
    tls::AeadBatch* inline_crypto = nullptr;  // crypto now, one call per record
    // Bounded: each round moves at most a record per direction and the TCP
    // buffers bound the rest; stop as soon as nothing moves.
    for (int round = 0; round < 64; ++round) {
        bool progress = client_in(ctx, inline_crypto);
        progress |= to_backend(ctx);
        if (!batched_) progress |= from_backend(ctx, kTxHighWater, inline_crypto);
        progress |= client_out(ctx);
        progress |= propagate_close(ctx);
        if (!progress) break;
    }
    if (batched_ && phase_ != Phase::idle) {
        // Work for the next gather(): a record to open or bytes to seal.
        const tcp::Connection* b = backend_.connected ? ctx.stack.find(backend_.id) : nullptr;
        const bool open_ready = tls_->record_offloaded() && !rx_op_pending_ && up_q_.empty() &&
                                !failed_ && !tls_->peer_closed() && rx_record_waiting();
        wants_poll_ = wants_poll_ || open_ready || (b != nullptr && b->recv_available() > 0);
    }
}

std::size_t TlsSession::gather(SessionContext& ctx, tls::AeadBatch& batch) {
    if (phase_ == Phase::idle) return 0;
    wants_poll_ = false;
    std::size_t num_ops = 0;
    if (!rx_op_pending_) {
        client_in(ctx, &batch);
        num_ops += rx_op_pending_ ? 1 : 0;
    }
    const std::uint32_t before = num_tx_ops_;
    from_backend(ctx, kTxHighWater, &batch);
    return num_ops + (num_tx_ops_ - before);
}

void TlsSession::complete(SessionContext& ctx) {
    if (phase_ == Phase::idle) return;
    // Sealed records first: they were numbered before anything the opened
    // record (a KeyUpdate) makes the connection queue.
    finish_seals(ctx);
    if (rx_op_pending_) {
        rx_op_pending_ = false;
        auto opened = tls_->record_opener().finish_open(rx_op_);
        if (!opened) {
            rx_.clear();
            tls_failed(ctx, tls_->record_failed(opened.error()).error);
        } else {
            finish_open(ctx, opened->type, opened->content.size(), opened->content);
        }
    }
    pump(ctx);
}

bool TlsSession::handshake_in(SessionContext& ctx) {
    bool progress = false;
    for (;;) {
        const ByteSpan in = ctx.stack.peek(client_.id);
        if (in.empty()) break;
        auto taken = tls_->receive(in);
        if (!taken) {
            tls_failed(ctx, taken.error());
            return true;
        }
        if (*taken == 0) break;  // the rest is the record layer's (offload)
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

bool TlsSession::client_in(SessionContext& ctx, tls::AeadBatch* batch) {
    if (!client_.open || client_.ended) return false;
    if (failed_ || tls_->failed() || tls_->peer_closed()) {
        // Nothing after a fatal alert or close_notify is read (§6.1, §6.2):
        // drop it so the window stays open until the FIN.
        if (rx_op_pending_) return false;  // its mbufs stay until complete()
        bool progress = !rx_.empty();
        rx_.clear();
        MbufPtr m;
        std::uint32_t off = 0, len = 0;
        while (ctx.stack.recv_mbuf(client_.id, m, off, len)) {
            m.reset();
            progress = true;
        }
        return progress;
    }
    if (!tls_->record_offloaded()) return handshake_in(ctx);
    if (rx_op_pending_) return false;
    bool progress = false;
    for (;;) {
        auto complete = rx_.front_complete();
        if (!complete) {
            rx_.clear();
            tls_failed(ctx, tls_->record_failed(complete.error()).error);
            return true;
        }
        if (!*complete) {
            if (rx_.full()) {
                // Tiny segments: more slices than the queue holds for one
                // record. Copy what is queued into one mbuf and go on.
                if (!rx_.coalesce(record_pool_)) {
                    ++ctx.counters.record_pool_empty;
                    wants_poll_ = true;
                    break;
                }
                progress = true;
                continue;
            }
            MbufPtr m;
            std::uint32_t off = 0, len = 0;
            if (!ctx.stack.recv_mbuf(client_.id, m, off, len)) break;
            ctx.counters.tls_bytes_in += len;
            if (!rx_.push(m, off, len, record_pool_)) {
                // A shared mbuf and no pool mbuf to copy it into: the
                // bytes cannot be kept, so the stream is broken.
                ++ctx.counters.record_pool_empty;
                rx_.clear();
                tls_failed(ctx, tls_->record_failed(internal_error()).error);
                return true;
            }
            progress = true;
            continue;
        }
        // One record's plaintext at a time: a backend leg that cannot take
        // it leaves the next records in the client's receive queue.
        if (!up_q_.empty()) break;
        if (!open_front(ctx, batch)) return true;
        progress = true;
        if (rx_op_pending_) break;  // in the batch: complete() goes on
    }
    // Copies the queue made (shared mbufs, coalesce) into the counters.
    const RecordQueueCopies& c = rx_.copies();
    ctx.counters.rx_copies +=
        (c.shared_mbufs - copies_seen_.shared_mbufs) + (c.coalesced - copies_seen_.coalesced);
    ctx.counters.rx_copied_bytes += c.bytes - copies_seen_.bytes;
    copies_seen_ = c;
    return progress;
}

bool TlsSession::open_front(SessionContext& ctx, tls::AeadBatch* batch) {
    std::array<MutableByteSpan, tls::kMaxRecordSlices> slices{};
    std::size_t n = rx_.fragment_slices(slices);
    if (n == 0) {
        // More spans than an open takes: copy into one mbuf.
        if (!rx_.coalesce(record_pool_) || (n = rx_.fragment_slices(slices)) == 0) {
            ++ctx.counters.record_pool_empty;
            rx_.clear();
            tls_failed(ctx, tls_->record_failed(internal_error()).error);
            return false;
        }
    }
    tls::RecordOpener& opener = tls_->record_opener();
    if (n == 1) {
        ++ctx.counters.records_in_place;
        tls::RecordView view{rx_.header(), rx_.header_bytes(), slices[0]};
        if (auto r = opener.prepare_open(view, rx_op_); !r) {
            rx_.clear();
            tls_failed(ctx, tls_->record_failed(r.error()).error);
            return false;
        }
        if (batch != nullptr) {
            rx_op_pending_ = true;
            batch->submit(rx_op_);
            return true;
        }
        run_now(tls_->engine(), rx_op_);
        auto opened = opener.finish_open(rx_op_);
        if (!opened) {
            rx_.clear();
            tls_failed(ctx, tls_->record_failed(opened.error()).error);
            return false;
        }
        return finish_open(ctx, opened->type, opened->content.size(), opened->content);
    }
    ++ctx.counters.records_sliced;
    std::size_t content_len = 0;
    auto type = opener.open_slices(tls_->engine(), rx_.header(), rx_.header_bytes(),
                                   std::span<const MutableByteSpan>(slices.data(), n), content_len);
    if (!type) {
        rx_.clear();
        tls_failed(ctx, tls_->record_failed(type.error()).error);
        return false;
    }
    return finish_open(ctx, *type, content_len, {});
}

bool TlsSession::finish_open(SessionContext& ctx, tls::ContentType type, std::size_t content_len,
                             MutableByteSpan contiguous) {
    if (type == tls::ContentType::application_data) {
        if (discard_up_ || content_len == 0) {
            rx_.drop_record();
            return true;
        }
        rx_.pop_record(content_len, [&](MbufPtr& m, std::uint32_t off, std::uint32_t len) {
            // Fits: up_q_ was empty and a record spans at most kUpSlots.
            (void)up_q_.push(m, off, len);
        });
        return true;
    }
    // Handshake (KeyUpdate) or alert: the connection's business.
    ++ctx.counters.records_control;
    tls::TlsResult<void> r;
    if (!contiguous.empty() || content_len == 0) {
        r = tls_->receive_control(type, ByteSpan(contiguous.data(), content_len));
    } else {
        // Spread over slices: hand it over in pieces (the handshake reader
        // reassembles; a valid alert is 2 bytes, a KeyUpdate 5).
        std::array<std::uint8_t, 256> piece{};
        for (std::size_t off = 0; off < content_len && r; off += piece.size()) {
            const std::size_t len = std::min(piece.size(), content_len - off);
            if (!rx_.copy_content(off, MutableByteSpan(piece.data(), len))) {
                r = unexpected(internal_error());
                break;
            }
            r = tls_->receive_control(type, ByteSpan(piece.data(), len));
        }
    }
    rx_.drop_record();
    if (!r) {
        tls_failed(ctx, r.error());
        return false;
    }
    return true;
}

bool TlsSession::to_backend(SessionContext& ctx) {
    const bool can_send = backend_.connected && !backend_.ended && !backend_.fin_sent;
    if (discard_up_) {
        const bool had = !up_q_.empty();
        up_q_.clear();
        return had;
    }
    bool progress = false;
    while (can_send && !up_q_.empty()) {
        MbufRange& r = up_q_.front();
        const std::uint32_t len = r.len;
        if (!ctx.stack.send_mbuf(backend_.id, r.m, r.offset, r.len)) break;  // on_writable
        up_q_.pop_front();
        ctx.counters.bytes_in += len;
        progress = true;
    }
    return progress;
}

void TlsSession::drop_backend_input(SessionContext& ctx) {
    MbufPtr m;
    std::uint32_t off = 0, len = 0;
    while (ctx.stack.recv_mbuf(backend_.id, m, off, len))
        m.reset();
}

std::size_t TlsSession::next_record_len(const tcp::Connection& client, Instant now) {
    const std::size_t full = tls_->record_sealer().max_content_len();
    // RFC 5681 §4.1's restart condition, applied to the record size: after
    // more than an RTO with everything acknowledged, the client's TCP would
    // restart slow start, so records go back to one segment.
    if (client.flight_len() == 0 && client.unsent_len() == 0 && now - last_seal_ > client.rto())
        small_records_left_ = kSmallRecordsAtStart;
    const std::size_t overhead = tls::kRecordHeaderLen + tls::RecordSealer::tailroom();
    const std::size_t segment = client.snd_mss() > overhead + 1 ? client.snd_mss() - overhead : 1;
    // Bulk: once the congestion window holds a whole 16 KiB record, a
    // record's first byte no longer waits an RTT for its last.
    if (small_records_left_ == 0 && client.cc().cwnd >= full + overhead) return full;
    return std::min(segment, full);
}

bool TlsSession::from_backend(SessionContext& ctx, std::uint32_t high_water,
                              tls::AeadBatch* batch) {
    if (!backend_.connected) return false;
    bool progress = false;
    if (failed_ || tls_closed_ || client_.ended) {
        // No way to the client any more: drop what the backend sends so it
        // can finish (and close) instead of stalling on a closed window.
        const tcp::Connection* b = ctx.stack.find(backend_.id);
        progress = b != nullptr && b->recv_available() > 0;
        drop_backend_input(ctx);
        backend_tail_ = false;
        return progress;
    }
    const tcp::Connection* client = ctx.stack.find(client_.id);
    tls::RecordSealer& sealer = tls_->record_sealer();
    while (client != nullptr && tx_q_.size() < std::min(high_water, kTxSlots) &&
           tls_->can_write() && tls_->record_offloaded() && tls_->pending_output().empty()) {
        // (pending_output first: what the connection queued precedes any
        // record sealed from now on.)
        const tcp::Connection* b = ctx.stack.find(backend_.id);
        if (b == nullptr || b->recv_available() == 0) break;
        // Seal just in time: records wait for cwnd as plaintext in the
        // backend leg, not as ciphertext in the client leg, so each is
        // sized by the cwnd of the moment and record mbufs stay few. The
        // Proxy's poll looks again (the client leg's ACKs raise no event).
        if (client->unsent_len() >= kUnsentHighWater && high_water != kTxSlots) {
            wants_poll_ = true;
            break;
        }
        MbufPtr m(rte_pktmbuf_alloc(record_pool_));
        if (!m) {
            ++ctx.counters.record_pool_empty;
            wants_poll_ = true;  // the Proxy's poll retries
            break;
        }
        const std::size_t want = next_record_len(*client, ctx.now);
        // Bulk: while the client leg has a record's worth unsent or in
        // flight (the wire stays busy), wait for a whole record rather than
        // seal what has arrived: a partial one costs a header, a tag and an
        // AEAD call more per byte. Bytes that stop short of a record (a
        // paused backend) go once the leg drains; the Proxy's poll looks.
        const tcp::State bs = b->state();
        const bool more_coming = bs == tcp::State::kEstablished || bs == tcp::State::kFinWait1 ||
                                 bs == tcp::State::kFinWait2;
        if (b->recv_available() < want && more_coming && high_water != kTxSlots &&
            client->unsent_len() + client->flight_len() >= want) {
            wants_poll_ = true;
            break;
        }
        std::uint8_t* base = rte_pktmbuf_mtod(m.get(), std::uint8_t*);
        const std::size_t room = rte_pktmbuf_tailroom(m.get());
        // The one copy left on this path: backend segments -> record mbuf.
        const std::uint32_t n = ctx.stack.recv(
            backend_.id, MutableByteSpan(base + tls::kRecordHeaderLen,
                                         std::min(want, room - kRecordRoom + tls::kMaxPlaintext)));
        if (n == 0) break;
        tls::AeadOp& op = tx_ops_[num_tx_ops_];
        auto total = sealer.prepare_seal(tls::ContentType::application_data,
                                         MutableByteSpan(base, room), n, 0, op);
        if (!total) {
            tls_failed(ctx, tls_->record_failed(total.error()).error);
            return true;
        }
        if (rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(*total)) == nullptr) {
            tls_failed(ctx, tls_->record_failed(internal_error()).error);
            return true;
        }
        if (n < want || want < sealer.max_content_len()) ++ctx.counters.records_small;
        if (want < sealer.max_content_len() && small_records_left_ > 0) --small_records_left_;
        last_seal_ = ctx.now;
        ++ctx.counters.records_sealed;
        (void)tx_q_.push(m, 0, static_cast<std::uint32_t>(*total));  // size checked above
        ctx.counters.bytes_out += n;
        ++num_tx_ops_;
        progress = true;
        if (batch != nullptr) {
            batch->submit(op);
        } else {
            run_now(tls_->engine(), op);
            if (!finish_seals(ctx)) return true;
        }
    }
    if (backend_tail_ && tx_q_.size() < kTxSlots) {
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

bool TlsSession::finish_seals(SessionContext& ctx) {
    bool ok = true;
    for (std::uint32_t i = 0; i < num_tx_ops_; ++i) {
        if (tx_ops_[i].status != tls::AeadOpStatus::ok) ok = false;
        tx_ops_[i] = tls::AeadOp{};
    }
    num_tx_ops_ = 0;
    if (!ok) {
        // Our own failure (no key, wrong engine): nothing sealed may go out.
        tx_q_.clear();
        tx_sealed_ = 0;
        tls_failed(ctx, tls_->record_failed(internal_error()).error);
        return false;
    }
    tx_sealed_ = tx_q_.size();
    return true;
}

bool TlsSession::client_out(SessionContext& ctx) {
    if (!client_.open || client_.ended) {
        tls_->consume_output(tls_->pending_output().size());
        if (num_tx_ops_ == 0) {
            tx_q_.clear();
            tx_sealed_ = 0;
        }
        return false;
    }
    if (client_.fin_sent) return false;
    bool progress = false;
    while (tx_sealed_ > 0) {
        MbufRange& r = tx_q_.front();
        const std::uint32_t len = r.len;
        if (!ctx.stack.send_mbuf(client_.id, r.m, r.offset, r.len)) return progress;
        tx_q_.pop_front();
        --tx_sealed_;
        ctx.counters.tls_bytes_out += len;
        progress = true;
    }
    // The connection's records come after every record sealed before them.
    if (!tx_q_.empty()) return progress;
    const ByteSpan out = tls_->pending_output();
    if (out.empty()) return progress;
    const std::uint32_t n = ctx.stack.send(client_.id, out);
    tls_->consume_output(n);
    ctx.counters.tls_bytes_out += n;
    return progress || n != 0;  // short: on_writable(client) resumes
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
                   c != nullptr && c->recv_finished() && !rx_op_pending_ && up_q_.empty() &&
                   !rx_record_waiting()) {
            // (Every whole record already received was processed first.)
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
        up_q_.empty() && tls_->readable() == 0) {
        ctx.stack.shutdown(backend_.id);
        backend_.fin_sent = true;
        phase_ = Phase::closing;
        progress = true;
    }
    // 3. The backend's write side ended and its last byte is in a record.
    if (!backend_eof_ && backend_.connected && num_tx_ops_ == 0) {
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
        tls_->pending_output().empty() && tx_q_.empty()) {
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
    up_q_.clear();
    if (!rx_op_pending_) rx_.clear();
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
    rx_.clear();
    up_q_.clear();
    tx_q_.clear();
    tx_sealed_ = 0;
    for (tls::AeadOp& op : tx_ops_)
        op = tls::AeadOp{};
    num_tx_ops_ = 0;
    rx_op_ = tls::AeadOp{};
    rx_op_pending_ = false;
    wants_poll_ = false;
    small_records_left_ = kSmallRecordsAtStart;
    last_seal_ = Instant{};
    backend_index_ = 0;
    attempts_ = 0;
    deadline_ = Instant::max();
    client_eof_ = backend_eof_ = backend_tail_ = tls_closed_ = failed_ = discard_up_ =
        shutting_down_ = false;
    return tls_->reset().has_value();
}

}  // namespace l45::offload
