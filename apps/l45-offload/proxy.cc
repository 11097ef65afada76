#include "apps/l45-offload/proxy.h"

#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

#include "apps/l45-offload/http_redirect.h"

namespace l45::offload {

namespace {
// Deadlines are looked at this often, not every iteration: a scan walks
// every session, and a millisecond is far below any timeout here.
constexpr Duration kScanInterval = 1ms;
}  // namespace

Proxy::Proxy(const ProxyOptions& options, std::uint32_t max_tcp_connections)
    : options_(options),
      backends_(options.backends, options.backend_down_interval),
      owners_(max_tcp_connections) {}

Proxy::~Proxy() {
    sessions_.clear();  // their queues give record mbufs back
    // Mbufs still in a TcpStack's queues would point into a freed pool.
    if (record_pool_ != nullptr && rte_mempool_full(record_pool_)) rte_mempool_free(record_pool_);
}

Result<std::unique_ptr<Proxy>, std::string> Proxy::create(const ProxyOptions& options,
                                                          std::uint32_t max_tcp_connections) {
    if (options.credentials == nullptr || options.credentials->size() == 0)
        return unexpected(std::string("proxy: no certificate"));
    if (options.random == nullptr) return unexpected(std::string("proxy: no random source"));
    if (options.backends.empty()) return unexpected(std::string("proxy: no backend"));
    if (options.max_sessions == 0) return unexpected(std::string("proxy: max_sessions is 0"));
    if (options.https_port == 0 || options.https_port == options.http_port)
        return unexpected(std::string("proxy: bad listen ports"));
    if (options.max_http_request_len < 64)
        return unexpected(std::string("proxy: max_http_request_len below 64"));
    if (max_tcp_connections == 0) return unexpected(std::string("proxy: no TCP connections"));

    std::unique_ptr<Proxy> p(new Proxy(options, max_tcp_connections));
    auto engine = tls::CryptoEngine::create();
    if (!engine) return unexpected(std::string("proxy: no crypto engine (IPsec-MB)"));
    p->engine_ = std::move(*engine);

    p->tls_config_.role = tls::Role::server;
    p->tls_config_.credentials = options.credentials;
    p->tls_config_.random = options.random;
    p->tls_config_.output_buffer_len = options.tls_output_buffer_len;
    p->tls_config_.key_log = options.key_log;

    // Record mbufs: header + 16 KiB + tag each (docs/appliance-proxy.md,
    // "Memory"). A unique name per Proxy: one per lcore, and tests make many.
    static std::atomic<std::uint32_t> pool_serial{0};
    char pool_name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(pool_name, sizeof pool_name, "l45_rec_%u", pool_serial.fetch_add(1));
    const std::uint32_t num_records =
        options.max_sessions * TlsSession::kRecordMbufsPerSession + 64;
    p->record_pool_ = rte_pktmbuf_pool_create(
        pool_name, num_records, std::min<std::uint32_t>(64, num_records / 2), 0,
        static_cast<std::uint16_t>(RTE_PKTMBUF_HEADROOM + TlsSession::kRecordRoom),
        static_cast<int>(rte_socket_id()));
    if (p->record_pool_ == nullptr)
        return unexpected(std::string("proxy: no memory for the record mbuf pool"));

    p->sessions_.reserve(options.max_sessions);
    p->free_sessions_.reserve(options.max_sessions);
    p->work_.reserve(options.max_sessions);
    p->work_now_.reserve(options.max_sessions);
    p->queued_.assign(options.max_sessions, 0);
    for (std::uint32_t i = 0; i < options.max_sessions; ++i) {
        auto s = TlsSession::create(p->tls_config_, *p->engine_, p->record_pool_);
        if (!s)
            return unexpected("proxy: TLS session: " +
                              std::string(tls::alert_name(s.error().alert)));
        (*s)->set_batched(options.batch_crypto);
        p->sessions_.push_back(std::move(*s));
    }
    p->hs_ring_.resize(options.max_sessions);
    p->hs_queued_.resize(options.max_sessions);
    // Popped from the back: session 0 first.
    for (std::uint32_t i = options.max_sessions; i-- > 0;)
        p->free_sessions_.push_back(i);

    p->http_.resize(options.max_http_connections);
    p->free_http_.reserve(options.max_http_connections);
    for (auto& slot : p->http_) {
        slot.in.resize(options.max_http_request_len);
        slot.out.resize(max_redirect_response_len(options.max_http_request_len));
    }
    for (std::uint32_t i = options.max_http_connections; i-- > 0;)
        p->free_http_.push_back(i);
    return p;
}

Result<void, std::string> Proxy::start(tcp::TcpStack& stack, Instant now) {
    stack_ = &stack;
    now_ = now;
    if (stack.config().max_connections > owners_.size())
        return unexpected(
            std::string("proxy: the stack has more connections than the proxy knows"));
    if (auto r = stack.listen(options_.https_port, options_.listen_backlog); !r)
        return unexpected("proxy: listen " + std::to_string(options_.https_port) + ": " +
                          tcp::to_string(r.error()));
    if (options_.http_port != 0) {
        if (auto r = stack.listen(options_.http_port, options_.listen_backlog); !r)
            return unexpected("proxy: listen " + std::to_string(options_.http_port) + ": " +
                              tcp::to_string(r.error()));
    }
    return {};
}

// --- handle table ---

Proxy::Owner* Proxy::owner(tcp::ConnId id) {
    if (!id.valid() || id.index >= owners_.size()) return nullptr;
    Owner& o = owners_[id.index];
    return o.kind != OwnerKind::none && o.id == id ? &o : nullptr;
}

void Proxy::set_owner(tcp::ConnId id, OwnerKind kind, std::uint32_t index) {
    if (id.index < owners_.size()) owners_[id.index] = Owner{id, kind, index};
}

void Proxy::clear_owner(tcp::ConnId id) {
    if (Owner* o = owner(id)) *o = Owner{};
}

// --- time ---

void Proxy::poll(Instant now) {
    now_ = now;
    if (stack_ == nullptr) return;
    run_handshakes();
    if (!work_.empty()) run_record_crypto();
    if (now < next_scan_) return;
    next_scan_ = now + kScanInterval;
    for (std::uint32_t i = 0; i < sessions_.size(); ++i) {
        TlsSession& s = *sessions_[i];
        if (s.phase() == TlsSession::Phase::idle || s.deadline() > now) continue;
        if (s.phase() == TlsSession::Phase::connecting && s.backend().open &&
            !s.backend().connected) {
            backend_attempt_failed(i, true);
        } else {
            SessionContext ctx = context();
            s.expire(ctx);
        }
        settle(i);
    }
    for (std::uint32_t i = 0; i < http_.size(); ++i) {
        HttpSlot& slot = http_[i];
        if (!slot.active || slot.deadline > now) continue;
        slot.deadline = Instant::max();
        if (slot.answered)
            ++counters_.linger_timeouts;
        else
            ++counters_.http_timeouts;
        stack_->abort(slot.id);  // on_closed releases the slot
    }
}

// --- TcpHandler ---

void Proxy::on_accept(tcp::ConnId id, std::uint16_t listen_port) {
    if (listen_port == options_.https_port)
        accept_tls(id);
    else if (options_.http_port != 0 && listen_port == options_.http_port)
        accept_http(id);
    else
        stack_->abort(id);
}

void Proxy::on_connected(tcp::ConnId id) {
    Owner* o = owner(id);
    if (o == nullptr || o->kind != OwnerKind::backend) return;
    const std::uint32_t index = o->index;
    TlsSession& s = *sessions_[index];
    backends_.mark_up(s.backend_index());
    SessionContext ctx = context();
    s.backend_connected(ctx);
    settle(index);
}

void Proxy::on_readable(tcp::ConnId id) {
    Owner* o = owner(id);
    if (o == nullptr) return;
    const std::uint32_t index = o->index;
    if (o->kind == OwnerKind::http) return serve_http(http_[index]);
    if (sessions_[index]->phase() == TlsSession::Phase::handshaking) return defer_handshake(index);
    SessionContext ctx = context();
    sessions_[index]->pump(ctx);
    settle(index);
}

void Proxy::on_writable(tcp::ConnId id) {
    on_readable(id);  // the same pump: whatever waited for room moves now
}

void Proxy::on_closed(tcp::ConnId id, tcp::CloseReason reason) {
    Owner* o = owner(id);
    if (o == nullptr) return;
    const OwnerKind kind = o->kind;
    const std::uint32_t index = o->index;
    *o = Owner{};
    if (kind == OwnerKind::http) return release_http(index);
    TlsSession& s = *sessions_[index];
    SessionContext ctx = context();
    if (kind == OwnerKind::client) {
        s.client_closed(ctx, reason);
    } else if (!s.backend().connected && reason != tcp::CloseReason::kAborted) {
        // RST to our SYN (refused) or SYN retransmissions ran out.
        backend_attempt_failed(index, reason == tcp::CloseReason::kTimeout);
    } else {
        s.backend_closed(ctx, reason);
    }
    settle(index);
}

// --- TLS sessions ---

void Proxy::accept_tls(tcp::ConnId id) {
    ++counters_.connections_accepted;
    if (shutting_down_ || free_sessions_.empty()) {
        ++counters_.sessions_exhausted;
        stack_->abort(id);  // RST: the client may try another lcore or host
        return;
    }
    const std::uint32_t index = free_sessions_.back();
    free_sessions_.pop_back();
    counters_.connections_active = sessions_in_use();
    set_owner(id, OwnerKind::client, index);
    TlsSession& s = *sessions_[index];
    s.start(id, now_, options_.handshake_timeout);
    defer_handshake(index);  // the ClientHello may have come with the ACK
}

void Proxy::defer_handshake(std::uint32_t index) {
    if (options_.handshakes_per_poll == 0) {
        SessionContext ctx = context();
        sessions_[index]->pump(ctx);
        return settle(index);
    }
    if (hs_queued_[index] != 0) return;  // already waiting: one pump serves both events
    hs_queued_[index] = 1;
    hs_ring_[(hs_head_ + hs_count_) % hs_ring_.size()] = index;
    ++hs_count_;
    ++counters_.handshake_steps_deferred;
    counters_.handshake_queue_max =
        std::max<std::uint64_t>(counters_.handshake_queue_max, hs_count_);
}

void Proxy::run_handshakes() {
    for (std::uint32_t n = 0; n < options_.handshakes_per_poll && hs_count_ > 0; ++n) {
        const std::uint32_t index = hs_ring_[hs_head_];
        hs_head_ = (hs_head_ + 1) % static_cast<std::uint32_t>(hs_ring_.size());
        --hs_count_;
        hs_queued_[index] = 0;
        // The session may have ended (client reset) or been reused since it
        // was queued; a pump of whatever it is now is harmless, and an idle
        // one is skipped.
        TlsSession& s = *sessions_[index];
        if (s.phase() == TlsSession::Phase::idle) continue;
        ++counters_.handshake_steps_run;
        SessionContext ctx = context();
        s.pump(ctx);
        settle(index);
    }
    if (hs_count_ > 0) ++counters_.handshake_polls_full;
}

void Proxy::connect_backend(std::uint32_t index) {
    TlsSession& s = *sessions_[index];
    SessionContext ctx = context();
    if (s.backend_attempts() >= options_.max_backend_attempts) return s.no_backend(ctx);
    const auto pick = backends_.pick(now_);
    if (!pick) return s.no_backend(ctx);
    const BackendAddress& b = backends_.address(*pick);
    auto id = stack_->connect(now_, b.addr, b.port);
    if (!id) return s.no_backend(ctx);  // table full or no local port: not the backend's fault
    ++counters_.backend_connects;
    set_owner(*id, OwnerKind::backend, index);
    s.backend_connecting(*id, *pick, now_ + options_.backend_connect_timeout);
}

void Proxy::backend_attempt_failed(std::uint32_t index, bool timeout) {
    TlsSession& s = *sessions_[index];
    if (timeout)
        ++counters_.backend_timeouts;
    else
        ++counters_.backend_refused;
    if (backends_.mark_down(s.backend_index(), now_)) ++counters_.backend_marked_down;
    // A connect that timed out here is still in SYN-SENT: drop it quietly
    // (its on_closed finds no owner).
    if (Owner* o = owner(s.backend().id); o != nullptr) {
        const tcp::ConnId id = s.backend().id;
        *o = Owner{};
        stack_->abort(id);
    }
    s.backend_failed();
    // settle() tries the next backend (or answers no_backend_response).
}

void Proxy::want_poll(std::uint32_t index) {
    if (queued_[index] || !sessions_[index]->wants_poll()) return;
    queued_[index] = 1;
    work_.push_back(index);
}

void Proxy::run_record_crypto() {
    // Sessions queued during this round go to the next poll.
    work_now_.swap(work_);
    work_.clear();
    for (std::uint32_t index : work_now_)
        queued_[index] = 0;
    SessionContext ctx = context();
    {
        tls::AeadBatch batch(*engine_);
        std::size_t num_ops = 0;
        for (std::uint32_t index : work_now_)
            num_ops += sessions_[index]->gather(ctx, batch);
        if (num_ops != 0) {
            // Every op is final once flush() returns; failures are per op.
            (void)batch.flush();
            ++counters_.crypto_batches;
            counters_.crypto_batch_ops += num_ops;
        }
    }
    for (std::uint32_t index : work_now_) {
        sessions_[index]->complete(ctx);
        settle(index);
    }
    work_now_.clear();
}

void Proxy::settle(std::uint32_t index) {
    TlsSession& s = *sessions_[index];
    want_poll(index);
    if (s.wants_backend()) {
        if (s.client().ended) {
            // The client left while we looked for a backend.
        } else {
            connect_backend(index);
        }
    }
    if (!s.finished()) return;
    if (s.release()) {
        free_sessions_.push_back(index);
    } else {
        // Kept out of the pool; sessions_in_use() then counts it for good.
        ++counters_.tls_reset_failed;
    }
    counters_.connections_active = sessions_in_use();
}

// --- port 80 ---

void Proxy::accept_http(tcp::ConnId id) {
    ++counters_.http_accepted;
    if (shutting_down_ || free_http_.empty()) {
        ++counters_.http_exhausted;
        stack_->abort(id);
        return;
    }
    const std::uint32_t index = free_http_.back();
    free_http_.pop_back();
    HttpSlot& slot = http_[index];
    slot.id = id;
    slot.active = true;
    slot.deadline = now_ + options_.http_request_timeout;
    set_owner(id, OwnerKind::http, index);
    serve_http(slot);
}

void Proxy::serve_http(HttpSlot& slot) {
    if (!slot.answered) {
        // Collect the head, bounded by the slot's buffer.
        for (ByteSpan in = stack_->peek(slot.id); !in.empty(); in = stack_->peek(slot.id)) {
            const std::size_t room = slot.in.size() - slot.in_len;
            if (room == 0) break;
            const std::size_t n = std::min(room, in.size());
            std::memcpy(slot.in.data() + slot.in_len, in.data(), n);
            slot.in_len += n;
            stack_->consume(slot.id, static_cast<std::uint32_t>(n));
        }
        std::size_t bound = slot.in.size();
        const tcp::Connection* c = stack_->find(slot.id);
        if (c != nullptr && c->recv_finished()) {
            if (slot.in_len == 0) {
                stack_->close(slot.id);  // connected and left without a word
                return;
            }
            bound = slot.in_len;  // no more is coming: a head not complete by now is bad
        }
        const HttpAnswer a = answer_http(ByteSpan(slot.in.data(), slot.in_len), bound,
                                         options_.https_port, MutableByteSpan(slot.out));
        if (a.verdict == HttpVerdict::need_more) return;
        slot.answered = true;
        slot.out_len = a.response_len;
        slot.out_off = 0;
        if (a.verdict == HttpVerdict::redirect)
            ++counters_.redirects;
        else
            ++counters_.http_bad_requests;
        slot.deadline = now_ + options_.linger_timeout;
    }
    // One answer per connection (Connection: close): the rest is dropped.
    for (ByteSpan in = stack_->peek(slot.id); !in.empty(); in = stack_->peek(slot.id))
        stack_->consume(slot.id, static_cast<std::uint32_t>(in.size()));
    if (slot.out_off < slot.out_len) {
        slot.out_off += stack_->send(
            slot.id, ByteSpan(slot.out.data() + slot.out_off, slot.out_len - slot.out_off));
    }
    if (slot.out_off == slot.out_len && !slot.fin_sent) {
        stack_->shutdown(slot.id);
        slot.fin_sent = true;
    }
}

void Proxy::release_http(std::uint32_t index) {
    HttpSlot& slot = http_[index];
    slot.id = {};
    slot.in_len = slot.out_len = slot.out_off = 0;
    slot.active = slot.answered = slot.fin_sent = false;
    slot.deadline = Instant::max();
    free_http_.push_back(index);
}

// --- shutdown ---

void Proxy::shutdown(Instant now) {
    now_ = now;
    if (shutting_down_ || stack_ == nullptr) return;
    shutting_down_ = true;
    hard_deadline_ = now + options_.shutdown_grace;
    stack_->unlisten(options_.https_port);
    if (options_.http_port != 0) stack_->unlisten(options_.http_port);
    for (std::uint32_t i = 0; i < sessions_.size(); ++i) {
        TlsSession& s = *sessions_[i];
        if (s.phase() == TlsSession::Phase::idle) continue;
        SessionContext ctx = context();
        s.shut_down(ctx, hard_deadline_);
        settle(i);
    }
    for (auto& slot : http_)
        if (slot.active) slot.deadline = std::min(slot.deadline, hard_deadline_);
    next_scan_ = now;
}

bool Proxy::drained() const {
    return sessions_in_use() == counters_.tls_reset_failed && http_in_use() == 0;
}

}  // namespace l45::offload
