// A TLS 1.3 connection, client or server (RFC 8446), sans-IO.
//
// Read first: RFC 8446 §2 (protocol overview), §4 (handshake; the state
// machines are in Appendix A.1 and A.2), §5 (record layer), §6 (alerts),
// Appendix D.4 (middlebox compatibility mode).
//
// Bytes in, bytes out; no sockets, clocks or threads in here. The same
// object runs over l45 TCP (appliance), kernel sockets (CLI) and memory
// (tests):
//
//   auto conn = Connection::create(config, engine);     // set-up: allocates
//   loop {
//     n = conn->receive(bytes_from_peer);                // takes n bytes (maybe < all)
//     send(conn->pending_output()); conn->consume_output(sent);
//     conn->read(buf) / conn->write(data)
//     if (conn->failed()) { flush pending_output(), then close the transport }
//   }
//
// Memory: every buffer (record deframer, handshake reader, output) is sized
// in create(); receive/read/write/key_update/close never allocate. The
// handshake itself (key shares, X.509, signatures) allocates inside OpenSSL.
//
// Errors: the first TlsError is final. When it is ours (origin local or
// internal) the alert record is queued in pending_output() BEFORE the
// connection reports failure, so flushing the output delivers it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/handshake/config.h"
#include "tls/msg/handshake_reader.h"
#include "tls/msg/messages.h"
#include "tls/pki/key_share.h"
#include "tls/pki/signature.h"
#include "tls/record/aead.h"
#include "tls/record/key_schedule.h"
#include "tls/record/record.h"
#include "tls/types.h"

namespace l45::tls {

// RFC 8446 A.1 (client) — one state per handshake step.
enum class ClientState : std::uint8_t {
    send_client_hello,            // §4.1.2
    wait_server_hello,            // §4.1.3 (ServerHello or HelloRetryRequest)
    wait_encrypted_extensions,    // §4.3.1
    wait_certificate_or_request,  // §4.4.2 / §4.3.2
    wait_certificate,             // §4.4.2 (after a CertificateRequest)
    wait_certificate_verify,      // §4.4.3
    wait_finished,                // §4.4.4
    send_client_finished,         // §4.4.4 (+ empty Certificate if requested)
    established,                  // §4.6, §5: application data
};

// RFC 8446 A.2 (server).
enum class ServerState : std::uint8_t {
    wait_client_hello,     // §4.1.2 (the first, or the second after HRR)
    send_server_flight,    // §4.1.3, §4.3.1, §4.4.2-4.4.4
    wait_client_finished,  // §4.4.4 (tolerating one CCS, D.4)
    established,
};

// What a state function is waiting for (BoringSSL's ssl_hs_wait_t).
enum class HandshakeWait : std::uint8_t {
    ok,            // state advanced: run the next one
    read_message,  // needs another handshake message from the peer
    done,          // handshake complete
};

enum class ConnectionStatus : std::uint8_t {
    handshaking,
    established,  // application data both ways
    closed,       // close_notify sent and/or received (see peer_closed())
    failed,       // a fatal alert was sent or received: error()
};

// What the handshake settled on (valid once handshake_complete()).
struct Negotiated {
    CipherSuite suite = CipherSuite::aes_128_gcm_sha256;
    NamedGroup group = NamedGroup::x25519;
    SignatureScheme signature_scheme = SignatureScheme::ecdsa_secp256r1_sha256;
    bool hello_retry = false;  // a HelloRetryRequest happened
    std::string alpn;          // empty when none was negotiated
    std::string server_name;   // SNI (the client's name, as the server saw it)
    // The peer's certificate chain as received, DER, leaf first (client only;
    // empty on a server, which does not request client certificates yet).
    std::vector<std::vector<std::uint8_t>> peer_certificates;
};

class Connection {
  public:
    // Validates the config (server: credentials; client: verifier or the
    // insecure flag; both: random, non-empty suites/groups) -> internal_error.
    // A client queues its ClientHello at once: pending_output() is non-empty.
    [[nodiscard]] static TlsResult<std::unique_ptr<Connection>> create(const Config& config,
                                                                       CryptoEngine& engine);
    ~Connection();
    Connection(const Connection&) = delete;

    // Returns the connection to the state create() left it in (same config
    // and engine), keeping its buffers: the record output, the handshake
    // message buffer and reader, which make up nearly all of its memory. A
    // pool of connections made at start-up (the appliance: one per possible
    // TLS session of an lcore) then serves one TCP connection after another
    // without allocating them again. Everything of the previous session
    // (keys, transcript, negotiated parameters, pending output, error) is
    // destroyed as by the destructor. A client queues a fresh ClientHello.
    // What it still allocates is what every handshake allocates (OpenSSL's
    // transcript hash contexts). Error only from that re-initialisation; the
    // connection is then failed() and may be reset again.
    [[nodiscard]] TlsResult<void> reset();
    Connection& operator=(const Connection&) = delete;

    // --- input ---
    // Feeds bytes received from the peer, split anywhere (down to 1 byte).
    // Returns how many were taken: fewer than offered when decrypted
    // application data waits for read() (or the output buffer is nearly
    // full); offer the rest again after read()/consume_output(). On a fatal
    // error returns it (and the alert is queued for sending).
    [[nodiscard]] TlsResult<std::size_t> receive(ByteSpan in);

    // --- output ---
    // Records to send, in order. Valid until the next non-const call.
    [[nodiscard]] ByteSpan pending_output() const {
        return {out_.data() + out_head_, out_tail_ - out_head_};
    }
    // The first n bytes of pending_output() were sent.
    void consume_output(std::size_t n);

    // --- application data ---
    // Seals app_data into records of at most 2^14 bytes of content (fewer
    // when the peer announced a record_size_limit, RFC 8449). Returns
    // how much was taken: 0 before the handshake completes or after close();
    // less than all when the output buffer is full. Error only when failed.
    [[nodiscard]] TlsResult<std::size_t> write(ByteSpan app_data);
    // Copies decrypted application data out; returns the length (0: none).
    [[nodiscard]] std::size_t read(MutableByteSpan out);
    // Bytes of decrypted application data waiting in the current record.
    [[nodiscard]] std::size_t readable() const { return app_pending_.size(); }

    // §6.1: queues close_notify; write() refuses afterwards.
    [[nodiscard]] TlsResult<void> close();
    // §4.6.3: queues KeyUpdate and switches our write keys; with
    // request_peer the peer answers with its own KeyUpdate.
    [[nodiscard]] TlsResult<void> key_update(bool request_peer);

    // --- record-layer offload (kTLS-like split; docs/appliance-proxy.md) ---
    // With Config::record_offload the caller (the appliance) frames and
    // protects application records itself, in its own buffers (mbufs), with
    // this connection's opener and sealer, so each direction keeps one
    // sequence of record numbers and one key schedule. The connection keeps
    // the handshake, alerts and post-handshake messages:
    //  - receive() stops at the record boundary right after the handshake
    //    completes; every later byte stays with the caller;
    //  - the caller opens records with record_opener(); one whose inner type
    //    is not application_data goes to receive_control() (KeyUpdate,
    //    alerts incl. close_notify). A KeyUpdate switches the opener's key
    //    there, so open the next record only after this one was handed over;
    //  - the caller seals application records with record_sealer(), and
    //    only while pending_output() is empty: what the connection queued
    //    (alerts, a KeyUpdate answer, close_notify) must reach the peer
    //    before any record sealed after it;
    //  - an error of the caller's record layer (bad tag, overflow) goes to
    //    record_failed(), which records it and queues our alert.
    // True once the caller owns the record layer.
    [[nodiscard]] bool record_offloaded() const {
        return config_.record_offload && handshake_done_ && !error_ && deframer_.buffered() == 0 &&
               app_pending_.empty();
    }
    [[nodiscard]] RecordOpener& record_opener() { return opener_; }
    [[nodiscard]] RecordSealer& record_sealer() { return sealer_; }
    [[nodiscard]] CryptoEngine& engine() { return engine_; }
    // Application data may be sealed (handshake done, no close_notify or
    // error yet).
    [[nodiscard]] bool can_write() const { return handshake_done_ && !close_sent_ && !error_; }
    // A record the caller opened whose inner type is handshake or alert,
    // in order. Ignored after the peer's close_notify (§6.1).
    [[nodiscard]] TlsResult<void> receive_control(ContentType type, ByteSpan content);
    Unexpected<TlsError> record_failed(TlsError error) { return fail_with(error); }

    // --- state ---
    [[nodiscard]] Role role() const { return config_.role; }
    [[nodiscard]] ConnectionStatus status() const;
    [[nodiscard]] bool handshake_complete() const { return handshake_done_; }
    [[nodiscard]] bool peer_closed() const { return peer_closed_; }
    [[nodiscard]] bool failed() const { return error_.has_value(); }
    [[nodiscard]] std::optional<TlsError> error() const { return error_; }
    [[nodiscard]] ClientState client_state() const { return client_state_; }
    [[nodiscard]] ServerState server_state() const { return server_state_; }
    [[nodiscard]] const Negotiated& negotiated() const { return negotiated_; }
    // Our and the peer's current application traffic epochs (key updates
    // done): KeyUpdate tests read these.
    [[nodiscard]] std::uint32_t write_key_generation() const { return write_generation_; }
    [[nodiscard]] std::uint32_t read_key_generation() const { return read_generation_; }

    // RFC 8446 §7.5 exporter, valid once the handshake is complete.
    [[nodiscard]] TlsResult<void> export_keying_material(std::string_view label, ByteSpan context,
                                                         MutableByteSpan out) const;

    // ---- Test hooks (RFC 8448 reproduction and negative tests) ----
    // Fixes the next key share's private key instead of drawing one.
    void set_key_share_private_for_testing(NamedGroup group, ByteSpan private_key);
    // Fixes our 32-byte random (client: before create() queues the hello, so
    // see Config::random; this one applies to a server's ServerHello).
    void set_random_for_testing(ByteSpan random);
    [[nodiscard]] const KeySchedule& key_schedule_for_testing() const { return schedule_; }

  private:
    struct Buffers;  // what reset() carries over to the fresh state
    Connection(const Config& config, CryptoEngine& engine);
    Connection(Config&& config, CryptoEngine& engine, Buffers&& kept);
    [[nodiscard]] TlsResult<void> init();

    // connection.cc: records, alerts, post-handshake
    [[nodiscard]] TlsResult<void> process_record(RecordView& rec, bool& keep_record);
    [[nodiscard]] TlsResult<void> process_handshake_bytes(ByteSpan plaintext);
    [[nodiscard]] TlsResult<void> process_alert(ByteSpan content);
    [[nodiscard]] TlsResult<void> run_handshake();
    [[nodiscard]] TlsResult<void> process_post_handshake(const msg::HandshakeMessage& m);
    [[nodiscard]] TlsResult<void> queue_record(ContentType type, ByteSpan content);
    [[nodiscard]] TlsResult<void> queue_handshake(ByteSpan message);  // + transcript
    void queue_alert(Alert alert);
    [[nodiscard]] TlsResult<void> queue_ccs_once();
    [[nodiscard]] bool make_room(std::size_t len);
    // Records the first error; queues its alert when it is ours.
    Unexpected<TlsError> fail_with(TlsError error);
    // §5.1: a key change must fall on a message boundary.
    [[nodiscard]] TlsResult<void> check_key_change_boundary() const;
    [[nodiscard]] TlsResult<void> install_read(const Secret& secret);
    [[nodiscard]] TlsResult<void> install_write(const Secret& secret);
    void key_log(std::string_view label, const Secret& secret);
    [[nodiscard]] TlsResult<msg::HandshakeMessage> take_message(bool& have);
    [[nodiscard]] TlsResult<void> derive_handshake_keys(ByteSpan shared_secret);
    [[nodiscard]] TlsResult<void> derive_application_keys();
    [[nodiscard]] TlsResult<void> send_finished(const Secret& base_key);
    [[nodiscard]] TlsResult<void> verify_peer_finished(const msg::HandshakeMessage& m,
                                                       const Secret& base_key);
    [[nodiscard]] TlsResult<pki::KeyShare> make_key_share(NamedGroup group);

    // client.cc — one function per ClientState (RFC 8446 A.1)
    [[nodiscard]] TlsResult<HandshakeWait> client_step();
    [[nodiscard]] TlsResult<HandshakeWait> do_send_client_hello();
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_server_hello();
    [[nodiscard]] TlsResult<HandshakeWait> do_process_hello_retry(const msg::ServerHello& hrr,
                                                                  const msg::HandshakeMessage& m);
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_encrypted_extensions();
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_certificate_or_request();
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_certificate();
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_certificate_verify();
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_server_finished();
    [[nodiscard]] TlsResult<HandshakeWait> do_send_client_finished();
    [[nodiscard]] TlsResult<void> process_server_certificate(const msg::HandshakeMessage& m);
    [[nodiscard]] TlsResult<void> write_client_hello(ByteSpan cookie);

    // server.cc — one function per ServerState (RFC 8446 A.2)
    [[nodiscard]] TlsResult<HandshakeWait> server_step();
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_client_hello();
    [[nodiscard]] TlsResult<HandshakeWait> do_send_server_flight();
    [[nodiscard]] TlsResult<HandshakeWait> do_wait_client_finished();

    Config config_;
    CryptoEngine& engine_;
    std::vector<SignatureScheme> schemes_;  // config or pki defaults

    // Record layer.
    Deframer deframer_;
    RecordOpener opener_;
    RecordSealer sealer_;
    msg::HandshakeReader hs_reader_;
    std::vector<std::uint8_t> out_;
    std::size_t out_head_ = 0, out_tail_ = 0;
    std::vector<std::uint8_t> msg_buf_;  // one outgoing handshake message
    MutableByteSpan app_pending_{};      // decrypted app data inside the deframer

    // Handshake.
    ClientState client_state_ = ClientState::send_client_hello;
    ServerState server_state_ = ServerState::wait_client_hello;
    TranscriptHash transcript_;
    KeySchedule schedule_;
    Negotiated negotiated_;
    msg::Random client_random_{}, server_random_{};
    std::array<std::uint8_t, 32> session_id_{};
    std::size_t session_id_len_ = 0;
    std::optional<pki::KeyShare> key_share_;
    std::optional<std::pair<NamedGroup, std::vector<std::uint8_t>>> test_private_;
    std::optional<std::vector<std::uint8_t>> test_random_;
    std::vector<std::uint8_t> cookie_;      // HRR cookie (sent by server / echoed by client)
    std::vector<std::uint8_t> peer_share_;  // server: the client's chosen share
    pki::PublicKey peer_key_;
    std::optional<pki::CertificateVerifier> insecure_verifier_;
    bool client_first_hello_ = true;  // its record says 0x0301 (§5.1)
    const pki::Credential* credential_ = nullptr;
    std::array<SignatureScheme, 64> peer_schemes_{};
    std::size_t num_peer_schemes_ = 0;
    std::optional<std::vector<std::uint8_t>> ch1_hash_;  // server: detecting a second HRR
    std::size_t handshake_bytes_ = 0;
    bool hrr_done_ = false;
    bool certificate_requested_ = false;
    std::vector<std::uint8_t> cert_request_context_;
    bool ccs_sent_ = false;
    bool ccs_received_ = false;
    bool peer_compat_ = false;  // server: the client sent a legacy_session_id
    bool offered_alpn_ = false;
    // RFC 8449: client: we sent record_size_limit; server: the client's value.
    bool offered_record_size_limit_ = false;
    std::optional<std::uint16_t> peer_record_size_limit_;
    // TLSInnerPlaintext length of the protected record being processed (the
    // client checks the record that carried EncryptedExtensions, RFC 8449).
    std::size_t current_inner_len_ = 0;

    // Status.
    bool handshake_done_ = false;
    bool peer_closed_ = false;
    bool close_sent_ = false;
    bool key_update_pending_ = false;  // peer asked; answered with our next output
    std::uint32_t write_generation_ = 0, read_generation_ = 0;
    std::optional<TlsError> error_;
};

}  // namespace l45::tls
