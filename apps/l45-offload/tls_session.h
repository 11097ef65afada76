// One proxied client of the appliance: the client's TCP connection, the TLS
// server session on it, and the plaintext TCP connection to a backend, all
// on the same lcore and TcpStack.
//
// Read first: RFC 8446 §6.1 (close_notify: each side closes its write
// direction; TLS 1.3 allows half-close), §6.2 (a fatal alert ends the
// connection), RFC 9293 §3.10.4 (CLOSE is a half-close), §3.6 (the FIN of
// each direction), docs/appliance-proxy.md.
//
// Byte paths (zero-copy record path, docs/appliance-proxy.md):
//   handshake: client TCP --peek--> tls::Connection::receive (its deframer),
//              which stops at the first record boundary after Finished;
//   client TCP --recv_mbuf--> rx_ (RecordQueue: records framed over the
//              segments, opened in place) --plaintext ranges, send_mbuf-->
//              backend TCP
//   backend TCP --recv into a record mbuf (the one copy left)--> sealed in
//              place --tx_q_, send_mbuf--> client TCP
//   control records both ways go through tls::Connection (receive_control,
//              pending_output), which keeps the handshake, alerts and
//              KeyUpdate; pending_output is sent only once every record
//              sealed before it is with TCP (sequence order).
// Crypto: with ProxyOptions::batch_crypto the Proxy gathers every session's
// ready records (gather), runs them as one AeadBatch, then completes each
// session (complete); without it pump() seals and opens inline, one call per
// record. Records spanning mbufs are opened inline in both modes (the
// init/update/finalize API has no batch form).
// Flow control is the TCP windows': a record's plaintext is forwarded before
// the next record is opened, so a full backend leg leaves ciphertext in the
// client leg's receive queue (its window closes); sealed records wait in
// tx_q_ (kTxHighWater) and then in TCP's send queue, and backend bytes stay
// in the backend leg's receive queue. on_writable resumes the pump.
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
// Memory: every queue is inline and allocated by create() at start-up and
// reused through release() (tls::Connection::reset), so accepting, proxying
// and closing allocate nothing here (the handshake's OpenSSL work aside).
// Record mbufs come from the Proxy's record pool (proxy.cc).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "apps/l45-offload/proxy_options.h"
#include "apps/l45-offload/record_queue.h"
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

    // Sealed records allowed to wait for the client leg's send buffer
    // before backend bytes stop being read; kTxSlots when the backend leg is
    // about to disappear (a tail to take at once).
    static constexpr std::uint32_t kTxHighWater = 4;
    static constexpr std::uint32_t kTxSlots = 8;
    // One record's plaintext ranges (a record spans at most RecordQueue::kSlots).
    static constexpr std::uint32_t kUpSlots = RecordQueue::kSlots;
    // The data room a record mbuf needs: a full record, header to tag.
    static constexpr std::size_t kRecordRoom =
        tls::kRecordHeaderLen + tls::kMaxPlaintext + tls::RecordSealer::tailroom();
    // Records of one segment at the start of a flow and again after idle
    // (everything acknowledged and nothing sealed for more than an RTO):
    // RFC 6928's initial window.
    static constexpr std::uint32_t kSmallRecordsAtStart = 10;
    // Unsent bytes in the client leg's TCP send queue above which no more
    // records are sealed: two full records.
    static constexpr std::uint32_t kUnsentHighWater = 2 * (16 * 1024 + 22);
    // Record mbufs the Proxy's pool holds per session: tx_q_ plus what the
    // client leg's send queue holds (in flight, and kUnsentHighWater). A
    // session that finds the pool empty waits and is retried by the poll.
    static constexpr std::uint32_t kRecordMbufsPerSession = 12;

    // Start-up: the TLS connection (record offload on). `record_pool` gives
    // the mbufs records are sealed into (data room >= kRecordRoom).
    [[nodiscard]] static tls::TlsResult<std::unique_ptr<TlsSession>> create(
        const tls::Config& config, tls::CryptoEngine& engine, rte_mempool* record_pool);

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
    // Moves every byte that can move and propagates closes (crypto inline
    // unless batched).
    void pump(SessionContext& ctx);
    // Batched crypto (ProxyOptions::batch_crypto): the Proxy's poll calls
    // gather() on every session with work, flushes the batch, then
    // complete() on each. gather() prepares at most one contiguous open
    // (the next record may depend on its KeyUpdate) and the seals the
    // client leg has room for; the ops live in the session until complete().
    void set_batched(bool batched) { batched_ = batched; }
    // Submits this session's ready records; returns how many.
    std::size_t gather(SessionContext& ctx, tls::AeadBatch& batch);
    void complete(SessionContext& ctx);
    // Work the Proxy's poll should look at: records waiting for crypto, or
    // a record mbuf that the pool could not give.
    [[nodiscard]] bool wants_poll() const { return wants_poll_; }
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

    // Each returns whether it moved anything. With a batch, crypto ops are
    // submitted to it; without, they run at once.
    bool client_in(SessionContext& ctx, tls::AeadBatch* batch);
    bool handshake_in(SessionContext& ctx);
    // The record at the front of rx_: opened (or submitted); false when the
    // session failed.
    bool open_front(SessionContext& ctx, tls::AeadBatch* batch);
    // A record was opened: forward or hand over its content.
    bool finish_open(SessionContext& ctx, tls::ContentType type, std::size_t content_len,
                     MutableByteSpan contiguous);
    bool to_backend(SessionContext& ctx);
    // Seals backend bytes into record mbufs while tx_q_ holds fewer than
    // high_water records.
    bool from_backend(SessionContext& ctx, std::uint32_t high_water, tls::AeadBatch* batch);
    // The content length of the next record: one segment at the start of
    // the flow, after idle and while cwnd is below a full record; 16 KiB in
    // bulk.
    [[nodiscard]] std::size_t next_record_len(const tcp::Connection& client, Instant now);
    // Tx ops done: their records may go to TCP.
    bool finish_seals(SessionContext& ctx);
    void drop_backend_input(SessionContext& ctx);
    bool client_out(SessionContext& ctx);
    // A whole record (or a framing error) waits at the front of rx_.
    [[nodiscard]] bool rx_record_waiting() {
        auto r = rx_.front_complete();
        return !r || *r;
    }
    bool propagate_close(SessionContext& ctx);
    void tls_failed(SessionContext& ctx, const tls::TlsError& error);
    void abort_client(SessionContext& ctx);
    void abort_backend(SessionContext& ctx);

    Phase phase_ = Phase::idle;
    Leg client_, backend_;
    std::unique_ptr<tls::Connection> tls_;
    rte_mempool* record_pool_ = nullptr;
    RecordQueue rx_;                              // client ciphertext, framed in place
    RangeRing<kUpSlots> up_q_;                    // plaintext for the backend leg
    RangeRing<kTxSlots> tx_q_;                    // records for the client leg, in order
    std::uint32_t tx_sealed_ = 0;                 // the first tx_sealed_ of tx_q_ are sealed
    std::array<tls::AeadOp, kTxSlots> tx_ops_{};  // the rest's ops (batched)
    std::uint32_t num_tx_ops_ = 0;
    std::uint64_t tx_op_content_ = 0;  // plaintext bytes in those
    tls::AeadOp rx_op_{};              // a contiguous open in the batch
    bool rx_op_pending_ = false;
    bool batched_ = false;
    bool wants_poll_ = false;
    std::uint32_t small_records_left_ = kSmallRecordsAtStart;
    Instant last_seal_{};
    RecordQueueCopies copies_seen_{};  // rx_.copies() already counted
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
