// The connection's common half: record dispatch, output records, alerts,
// key installation and logging, post-handshake messages (RFC 8446 §4.6,
// §5, §6). The state machines are in client.cc and server.cc.
#include "tls/handshake/connection.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "tls/handshake/internal.h"

namespace l45::tls {

using hs_internal::require;

TlsResult<std::unique_ptr<Connection>> Connection::create(const Config& config,
                                                          CryptoEngine& engine) {
    if (config.random == nullptr || config.cipher_suites.empty() || config.groups.empty())
        return fail(Alert::internal_error, ErrorOrigin::internal);
    for (CipherSuite s : config.cipher_suites)
        if (!suite_info(s)) return fail(Alert::internal_error, ErrorOrigin::internal);
    for (NamedGroup g : config.groups)
        if (!pki::key_share_supported(g)) return fail(Alert::internal_error, ErrorOrigin::internal);
    if (config.role == Role::server &&
        (config.credentials == nullptr || config.credentials->size() == 0))
        return fail(Alert::internal_error, ErrorOrigin::internal);
    if (config.record_size_limit && (*config.record_size_limit < msg::RecordSizeLimitExt::kMin ||
                                     *config.record_size_limit > msg::RecordSizeLimitExt::kMax))
        return fail(Alert::internal_error, ErrorOrigin::internal);
    if (config.role == Role::client && config.verifier == nullptr &&
        !config.insecure_skip_verify_DANGEROUS)
        return fail(Alert::internal_error, ErrorOrigin::internal);
    std::unique_ptr<Connection> conn(new Connection(config, engine));
    if (auto r = conn->init(); !r) return unexpected(r.error());
    return conn;
}

Connection::Connection(const Config& config, CryptoEngine& engine)
    : config_(config),
      engine_(engine),
      hs_reader_(msg::HandshakeReaderLimits{
          config.max_handshake_message_len,
          std::min<std::size_t>(config.max_handshake_message_len, 16 * 1024)}) {}

Connection::~Connection() = default;

struct Connection::Buffers {
    std::vector<SignatureScheme> schemes;
    msg::HandshakeReader reader;
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> msg;
};

Connection::Connection(Config&& config, CryptoEngine& engine, Buffers&& kept)
    : config_(std::move(config)),
      engine_(engine),
      schemes_(std::move(kept.schemes)),
      hs_reader_(std::move(kept.reader)),
      out_(std::move(kept.out)),
      msg_buf_(std::move(kept.msg)) {
    hs_reader_.reset();
}

TlsResult<void> Connection::reset() {
    // Destroy and rebuild in place rather than clearing member by member: a
    // member added later cannot be forgotten here, and the destructor wipes
    // the old secrets exactly as it does at the end of a connection. C++20
    // lets the same storage hold the new object (same type, complete object),
    // so the caller's pointer stays valid.
    Buffers kept{std::move(schemes_), std::move(hs_reader_), std::move(out_), std::move(msg_buf_)};
    Config config = std::move(config_);
    CryptoEngine& engine = engine_;
    Connection* self = this;
    self->~Connection();
    self = new (self) Connection(std::move(config), engine, std::move(kept));
    auto r = self->init();
    if (!r) self->error_ = r.error();
    return r;
}

TlsResult<void> Connection::init() {
    schemes_ = config_.signature_schemes;
    if (schemes_.empty()) {
        const auto def = pki::verify_schemes();
        schemes_.assign(def.begin(), def.end());
    }
    out_.resize(std::max<std::size_t>(config_.output_buffer_len, 4 * kMaxCiphertext));
    msg_buf_.resize(config_.max_handshake_message_len + 1024);
    if (config_.insecure_skip_verify_DANGEROUS)
        insecure_verifier_.emplace(pki::CertificateVerifier::insecure_skip_verify());
    if (auto r = transcript_.init(); !r) return r;
    if (config_.role == Role::client) return run_handshake();
    return {};
}

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

TlsResult<std::size_t> Connection::receive(ByteSpan in) {
    if (error_) return unexpected(*error_);
    std::size_t used_total = 0;
    for (;;) {
        if (!app_pending_.empty() || peer_closed_) break;
        RecordView* rec = deframer_.record();
        if (rec == nullptr) {
            if (used_total == in.size()) break;
            // Offload: the caller takes over at this record boundary.
            if (config_.record_offload && handshake_done_) break;
            // Backpressure: leave room for a KeyUpdate answer or an alert.
            if (handshake_done_ && !make_room(2 * kRecordHeaderLen + 64)) break;
            auto used = deframer_.feed(in.subspan(used_total));
            if (!used) return fail_with(used.error());
            used_total += *used;
            continue;
        }
        bool keep = false;
        if (auto r = process_record(*rec, keep); !r) return fail_with(r.error());
        if (error_) return unexpected(*error_);  // the peer's fatal alert
        if (!keep) deframer_.pop();
    }
    return used_total;
}

TlsResult<void> Connection::receive_control(ContentType type, ByteSpan content) {
    if (error_) return unexpected(*error_);
    if (peer_closed_) return {};  // §6.1: nothing after close_notify is read
    if (!handshake_done_) return fail_with(TlsError{Alert::internal_error, ErrorOrigin::internal});
    TlsResult<void> r;
    switch (type) {
        case ContentType::handshake:
            r = process_handshake_bytes(content);
            break;
        case ContentType::alert:
            r = process_alert(content);
            break;
        default:  // application data is the caller's; anything else cannot be opened
            r = fail(Alert::internal_error, ErrorOrigin::internal);
            break;
    }
    if (!r) return fail_with(r.error());
    if (error_) return unexpected(*error_);  // the peer's fatal alert
    return {};
}

TlsResult<void> Connection::process_record(RecordView& rec, bool& keep_record) {
    const ByteSpan fragment = rec.fragment;
    switch (rec.header.type) {
        case ContentType::change_cipher_spec: {
            // §5 / D.4: one unprotected 0x01 between the first ClientHello and
            // the peer's Finished is dropped; anything else is unexpected.
            const bool after_first_hello = config_.role == Role::client || hrr_done_ ||
                                           server_state_ != ServerState::wait_client_hello;
            if (handshake_done_ || !after_first_hello || ccs_received_ || fragment.size() != 1 ||
                fragment[0] != 1)
                return fail(Alert::unexpected_message);
            ccs_received_ = true;
            return {};
        }
        case ContentType::alert:
            // Unprotected alerts are accepted until the handshake completes:
            // a peer that failed on our hello cannot encrypt its alert.
            if (handshake_done_) return fail(Alert::unexpected_message);
            return process_alert(fragment);
        case ContentType::handshake:
            if (opener_.installed()) return fail(Alert::unexpected_message);
            return process_handshake_bytes(fragment);
        case ContentType::application_data: {
            if (!opener_.installed()) return fail(Alert::unexpected_message);
            current_inner_len_ = fragment.size() > kAeadTagLen ? fragment.size() - kAeadTagLen : 0;
            auto opened = opener_.open(engine_, rec);
            if (!opened) return unexpected(opened.error());
            switch (opened->type) {
                case ContentType::handshake:
                    return process_handshake_bytes(opened->content);
                case ContentType::alert:
                    return process_alert(opened->content);
                case ContentType::application_data:
                    // §2, §4.4.4: no application data before Finished.
                    if (!handshake_done_) return fail(Alert::unexpected_message);
                    if (opened->content.empty()) return {};
                    app_pending_ = opened->content;
                    keep_record = true;
                    return {};
                default:
                    return fail(Alert::unexpected_message);
            }
        }
        default:
            return fail(Alert::unexpected_message);
    }
}

TlsResult<void> Connection::process_alert(ByteSpan content) {
    // §6: an alert record carries exactly one alert (level, description).
    if (content.size() != 2) return fail(Alert::decode_error);
    const auto description = static_cast<Alert>(content[1]);
    if (description == Alert::close_notify) {
        peer_closed_ = true;
        return {};
    }
    // §6.1: user_canceled is followed by close_notify; nothing to do yet.
    if (description == Alert::user_canceled &&
        content[0] == static_cast<std::uint8_t>(AlertLevel::warning))
        return {};
    // §6.2: every other alert is fatal, whatever its level says.
    error_ = TlsError{description, ErrorOrigin::peer};
    return {};
}

TlsResult<void> Connection::process_handshake_bytes(ByteSpan plaintext) {
    // §5.1: no zero-length handshake fragments.
    if (plaintext.empty()) return fail(Alert::unexpected_message);
    if (!handshake_done_) {
        handshake_bytes_ += plaintext.size();
        if (handshake_bytes_ > config_.max_handshake_total_len)
            return fail(Alert::handshake_failure);
    }
    if (auto r = hs_reader_.feed(plaintext); !r) return r;
    if (!handshake_done_) {
        if (auto r = run_handshake(); !r) return r;
        if (!handshake_done_) return {};
    }
    for (;;) {
        auto next = hs_reader_.next();
        if (!next) return unexpected(next.error());
        if (!*next) return {};
        if (auto r = process_post_handshake(**next); !r) return r;
    }
}

TlsResult<void> Connection::run_handshake() {
    for (;;) {
        auto wait = config_.role == Role::client ? client_step() : server_step();
        if (!wait) return unexpected(wait.error());
        if (*wait != HandshakeWait::ok) return {};
    }
}

TlsResult<msg::HandshakeMessage> Connection::take_message(bool& have) {
    auto next = hs_reader_.next();
    if (!next) return unexpected(next.error());
    have = next->has_value();
    if (!have) return msg::HandshakeMessage{};
    return **next;
}

// §4.6: after the handshake only NewSessionTicket (to a client) and
// KeyUpdate are legal; a ClientHello here is a renegotiation attempt.
TlsResult<void> Connection::process_post_handshake(const msg::HandshakeMessage& m) {
    switch (m.type) {
        case HandshakeType::key_update: {
            auto ku = msg::KeyUpdate::parse(m.body);
            if (!ku) return unexpected(ku.error());
            // §4.6.3, §5.1: the key changes after this message.
            if (auto r = check_key_change_boundary(); !r) return r;
            if (auto r = opener_.update(engine_); !r) return r;
            ++read_generation_;
            if (ku->request_update == msg::KeyUpdateRequest::update_requested && !close_sent_)
                return key_update(false);
            return {};
        }
        case HandshakeType::new_session_ticket: {
            if (config_.role != Role::client) return fail(Alert::unexpected_message);
            // §4.6.1: parsed for validity; resumption is not implemented, so
            // the ticket is dropped.
            auto nst = msg::NewSessionTicket::parse(m.body);
            if (!nst) return unexpected(nst.error());
            if (auto r = msg::check_extensions(msg::ExtensionContext::new_session_ticket,
                                               nst->extensions);
                !r)
                return r;
            return {};
        }
        default:
            return fail(Alert::unexpected_message);
    }
}

TlsResult<void> Connection::check_key_change_boundary() const {
    if (hs_reader_.has_partial()) return fail(Alert::unexpected_message);
    return {};
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

void Connection::consume_output(std::size_t n) {
    out_head_ += std::min(n, out_tail_ - out_head_);
    if (out_head_ == out_tail_) out_head_ = out_tail_ = 0;
}

bool Connection::make_room(std::size_t len) {
    if (out_.size() - out_tail_ >= len) return true;
    if (out_head_ != 0) {
        const std::size_t pending = out_tail_ - out_head_;
        if (pending != 0) std::memmove(out_.data(), out_.data() + out_head_, pending);
        out_head_ = 0;
        out_tail_ = pending;
    }
    return out_.size() - out_tail_ >= len;
}

TlsResult<void> Connection::queue_record(ContentType type, ByteSpan content) {
    std::size_t off = 0;
    const bool sealed = sealer_.installed();
    // RFC 8449: protected records respect the peer's record_size_limit
    // (the sealer knows it); unprotected ones are not subject to it (§4).
    const std::size_t max_chunk = sealed ? sealer_.max_content_len() : kMaxPlaintext;
    if (max_chunk == 0) return fail(Alert::internal_error, ErrorOrigin::internal);
    do {
        const std::size_t chunk = std::min(content.size() - off, max_chunk);
        const std::size_t need = kRecordHeaderLen + chunk + (sealed ? RecordSealer::tailroom() : 0);
        if (!make_room(need)) return fail(Alert::internal_error, ErrorOrigin::internal);
        std::uint8_t* p = out_.data() + out_tail_;
        if (chunk != 0) std::memcpy(p + kRecordHeaderLen, content.data() + off, chunk);
        if (sealed) {
            auto n = sealer_.seal(engine_, type, MutableByteSpan(p, need), chunk);
            if (!n) return unexpected(n.error());
            out_tail_ += *n;
        } else {
            // §5.1: 0x0301 is allowed for an initial ClientHello only.
            const std::uint16_t version = client_first_hello_ && config_.role == Role::client &&
                                                  type == ContentType::handshake
                                              ? 0x0301
                                              : kTls12;
            write_record_header(std::span<std::uint8_t, kRecordHeaderLen>(p, kRecordHeaderLen),
                                type, static_cast<std::uint16_t>(chunk), version);
            out_tail_ += kRecordHeaderLen + chunk;
        }
        off += chunk;
    } while (off < content.size());
    return {};
}

TlsResult<void> Connection::queue_handshake(ByteSpan message) {
    if (auto r = transcript_.add(message); !r) return r;
    return queue_record(ContentType::handshake, message);
}

TlsResult<void> Connection::queue_ccs_once() {
    if (ccs_sent_) return {};
    ccs_sent_ = true;
    // D.4: always unprotected, even once handshake keys are in place.
    if (!make_room(kRecordHeaderLen + 1)) return fail(Alert::internal_error, ErrorOrigin::internal);
    std::uint8_t* p = out_.data() + out_tail_;
    write_record_header(std::span<std::uint8_t, kRecordHeaderLen>(p, kRecordHeaderLen),
                        ContentType::change_cipher_spec, 1);
    p[kRecordHeaderLen] = 1;
    out_tail_ += kRecordHeaderLen + 1;
    return {};
}

void Connection::queue_alert(Alert alert) {
    const auto level = alert == Alert::close_notify || alert == Alert::user_canceled
                           ? AlertLevel::warning
                           : AlertLevel::fatal;
    const std::array<std::uint8_t, 2> body = {static_cast<std::uint8_t>(level),
                                              static_cast<std::uint8_t>(alert)};
    (void)queue_record(ContentType::alert, body);
}

Unexpected<TlsError> Connection::fail_with(TlsError error) {
    if (!error_) {
        error_ = error;
        if (error.origin != ErrorOrigin::peer) queue_alert(error.alert);
    }
    return {*error_};
}

ConnectionStatus Connection::status() const {
    if (error_) return ConnectionStatus::failed;
    if (close_sent_ || peer_closed_) return ConnectionStatus::closed;
    if (handshake_done_) return ConnectionStatus::established;
    return ConnectionStatus::handshaking;
}

// ---------------------------------------------------------------------------
// Application data, close, KeyUpdate
// ---------------------------------------------------------------------------

TlsResult<std::size_t> Connection::write(ByteSpan app_data) {
    if (error_) return unexpected(*error_);
    if (!handshake_done_ || close_sent_) return std::size_t{0};
    std::size_t done = 0;
    while (done < app_data.size()) {
        const std::size_t chunk = std::min(app_data.size() - done, sealer_.max_content_len());
        if (!make_room(kRecordHeaderLen + chunk + RecordSealer::tailroom())) break;
        if (auto r = queue_record(ContentType::application_data, app_data.subspan(done, chunk)); !r)
            return fail_with(r.error());
        done += chunk;
    }
    return done;
}

std::size_t Connection::read(MutableByteSpan out) {
    const std::size_t n = std::min(out.size(), app_pending_.size());
    if (n != 0) std::memcpy(out.data(), app_pending_.data(), n);
    app_pending_ = app_pending_.subspan(n);
    if (app_pending_.empty() && deframer_.record() != nullptr) deframer_.pop();
    return n;
}

TlsResult<void> Connection::close() {
    if (error_) return unexpected(*error_);
    if (close_sent_) return {};
    close_sent_ = true;
    queue_alert(Alert::close_notify);
    return {};
}

TlsResult<void> Connection::key_update(bool request_peer) {
    if (error_) return unexpected(*error_);
    if (!handshake_done_ || close_sent_) return fail(Alert::internal_error, ErrorOrigin::internal);
    std::array<std::uint8_t, 8> buf{};
    Writer w(buf);
    msg::KeyUpdate ku;
    ku.request_update = request_peer ? msg::KeyUpdateRequest::update_requested
                                     : msg::KeyUpdateRequest::update_not_requested;
    if (!msg::write_message(w, ku)) return fail(Alert::internal_error, ErrorOrigin::internal);
    if (auto r = queue_record(ContentType::handshake, w.result()); !r) return fail_with(r.error());
    // §4.6.3: our next records use the next generation.
    if (auto r = sealer_.update(engine_); !r) return fail_with(r.error());
    ++write_generation_;
    return {};
}

TlsResult<void> Connection::export_keying_material(std::string_view label, ByteSpan context,
                                                   MutableByteSpan out) const {
    if (!handshake_done_) return fail(Alert::internal_error, ErrorOrigin::internal);
    return tls::export_keying_material(schedule_.hash(), schedule_.exporter_master_secret(), label,
                                       context, out);
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

TlsResult<void> Connection::install_read(const Secret& secret) {
    if (auto r = check_key_change_boundary(); !r) return r;
    return opener_.install(engine_, negotiated_.suite, secret);
}

TlsResult<void> Connection::install_write(const Secret& secret) {
    return sealer_.install(engine_, negotiated_.suite, secret);
}

// NSS key-log line: LABEL <client_random hex> <secret hex>. Only to the
// configured sink: these are the keys to the whole connection.
void Connection::key_log(std::string_view label, const Secret& secret) {
    if (!config_.key_log) return;
    static constexpr char kHex[] = "0123456789abcdef";
    std::array<char, 48 + 1 + 2 * msg::kRandomLen + 1 + 2 * kMaxSecretLen> line{};
    std::size_t n = 0;
    if (label.size() > 48) return;
    std::memcpy(line.data(), label.data(), label.size());
    n += label.size();
    line[n++] = ' ';
    for (std::uint8_t b : client_random_) {
        line[n++] = kHex[b >> 4];
        line[n++] = kHex[b & 15];
    }
    line[n++] = ' ';
    for (std::uint8_t b : secret.view()) {
        line[n++] = kHex[b >> 4];
        line[n++] = kHex[b & 15];
    }
    config_.key_log(std::string_view(line.data(), n));
    explicit_bzero(line.data(), line.size());
}

TlsResult<void> Connection::derive_handshake_keys(ByteSpan shared_secret) {
    auto hash = transcript_.current();
    if (!hash) return unexpected(hash.error());
    if (auto r = schedule_.derive_handshake_secrets(shared_secret, hash->view()); !r) return r;
    key_log("CLIENT_HANDSHAKE_TRAFFIC_SECRET", schedule_.client_handshake_traffic_secret());
    key_log("SERVER_HANDSHAKE_TRAFFIC_SECRET", schedule_.server_handshake_traffic_secret());
    return {};
}

TlsResult<void> Connection::derive_application_keys() {
    auto hash = transcript_.current();
    if (!hash) return unexpected(hash.error());
    if (auto r = schedule_.derive_application_secrets(hash->view()); !r) return r;
    key_log("CLIENT_TRAFFIC_SECRET_0", schedule_.client_application_traffic_secret());
    key_log("SERVER_TRAFFIC_SECRET_0", schedule_.server_application_traffic_secret());
    key_log("EXPORTER_SECRET", schedule_.exporter_master_secret());
    return {};
}

// §4.4.4: verify_data over the transcript so far, then the message joins it.
TlsResult<void> Connection::send_finished(const Secret& base_key) {
    auto hash = transcript_.current();
    if (!hash) return unexpected(hash.error());
    auto verify = finished_verify_data(schedule_.hash(), base_key, hash->view());
    if (!verify) return unexpected(verify.error());
    Writer w(msg_buf_);
    msg::Finished fin;
    fin.verify_data = verify->view();
    if (!msg::write_message(w, fin)) return fail(Alert::internal_error, ErrorOrigin::internal);
    return queue_handshake(w.result());
}

TlsResult<void> Connection::verify_peer_finished(const msg::HandshakeMessage& m,
                                                 const Secret& base_key) {
    if (m.type != HandshakeType::finished) return fail(Alert::unexpected_message);
    auto fin = msg::Finished::parse(m.body, hash_len(schedule_.hash()));
    if (!fin) return unexpected(fin.error());
    auto hash = transcript_.current();
    if (!hash) return unexpected(hash.error());
    // Constant-time comparison inside verify_finished -> decrypt_error.
    if (auto r = verify_finished(schedule_.hash(), base_key, hash->view(), fin->verify_data); !r)
        return r;
    return transcript_.add(m.full);
}

TlsResult<pki::KeyShare> Connection::make_key_share(NamedGroup group) {
    if (test_private_ && test_private_->first == group)
        return pki::KeyShare::from_private(group, test_private_->second);
    return pki::KeyShare::generate(group, *config_.random);
}

void Connection::set_key_share_private_for_testing(NamedGroup group, ByteSpan private_key) {
    test_private_.emplace(group, std::vector<std::uint8_t>(private_key.begin(), private_key.end()));
}

void Connection::set_random_for_testing(ByteSpan random) {
    test_random_.emplace(random.begin(), random.end());
}

}  // namespace l45::tls
