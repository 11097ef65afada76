// The TLS 1.3 client state machine (RFC 8446 §4, Appendix A.1).
//
// Read first: RFC 8446 §4.1.2-4.1.4 (hellos, HelloRetryRequest), §4.2
// (which extensions a server may answer), §4.3.1, §4.3.2, §4.4 (server
// authentication), Appendix D.4 (middlebox compatibility).
//
// Each do_* function handles one ClientState and returns what it waits for.
#include <cstring>

#include "tls/handshake/connection.h"
#include "tls/handshake/internal.h"

namespace l45::tls {

using hs_internal::contains;
using hs_internal::require;
using hs_internal::u16;

TlsResult<HandshakeWait> Connection::client_step() {
    switch (client_state_) {
        case ClientState::send_client_hello:
            return do_send_client_hello();
        case ClientState::wait_server_hello:
            return do_wait_server_hello();
        case ClientState::wait_encrypted_extensions:
            return do_wait_encrypted_extensions();
        case ClientState::wait_certificate_or_request:
            return do_wait_certificate_or_request();
        case ClientState::wait_certificate:
            return do_wait_certificate();
        case ClientState::wait_certificate_verify:
            return do_wait_certificate_verify();
        case ClientState::wait_finished:
            return do_wait_server_finished();
        case ClientState::send_client_finished:
            return do_send_client_finished();
        case ClientState::established:
            return HandshakeWait::done;
    }
    return fail(Alert::internal_error, ErrorOrigin::internal);
}

// §4.1.2: the ClientHello (the second one after a HelloRetryRequest carries
// the cookie and the share for the group the server asked for).
TlsResult<void> Connection::write_client_hello(ByteSpan cookie) {
    Writer w(msg_buf_);
    w.u8(u16(HandshakeType::client_hello) & 0xff);
    const auto body = w.open_u24_prefix();
    w.u16(kTls12);
    w.bytes(client_random_);
    const auto sid = w.open_u8_prefix();
    w.bytes({session_id_.data(), session_id_len_});
    w.close(sid);
    const auto suites = w.open_u16_prefix();
    for (CipherSuite s : config_.cipher_suites)
        w.u16(u16(s));
    w.close(suites);
    w.u8(1);  // legacy_compression_methods = {null}
    w.u8(0);
    const auto exts = w.open_u16_prefix();
    if (!config_.server_name.empty() && msg::is_valid_sni_host_name(config_.server_name)) {
        msg::write_extension(w, ExtensionType::server_name, [&](Writer& x) {
            msg::ServerNameExt{config_.server_name}.serialize(x);
        });
    }
    msg::write_extension(w, ExtensionType::supported_groups, [&](Writer& x) {
        const auto p = x.open_u16_prefix();
        for (NamedGroup g : config_.groups)
            x.u16(u16(g));
        x.close(p);
    });
    msg::write_extension(w, ExtensionType::signature_algorithms, [&](Writer& x) {
        const auto p = x.open_u16_prefix();
        for (SignatureScheme s : schemes_)
            x.u16(u16(s));
        x.close(p);
    });
    msg::write_extension(w, ExtensionType::supported_versions, [&](Writer& x) {
        x.u8(2);
        x.u16(kTls13);
    });
    msg::write_extension(w, ExtensionType::key_share, [&](Writer& x) {
        const auto p = x.open_u16_prefix();
        msg::KeyShareEntry{u16(key_share_->group()), key_share_->public_key()}.serialize(x);
        x.close(p);
    });
    if (!config_.alpn.empty()) {
        offered_alpn_ = true;
        msg::write_extension(w, ExtensionType::application_layer_protocol_negotiation,
                             [&](Writer& x) {
                                 const auto p = x.open_u16_prefix();
                                 for (const auto& name : config_.alpn) {
                                     const auto n = x.open_u8_prefix();
                                     x.bytes(hs_internal::as_bytes(name));
                                     x.close(n);
                                 }
                                 x.close(p);
                             });
    }
    // RFC 8449 §4: what we accept; repeated in ClientHello2 (§4.1.2).
    if (config_.record_size_limit) {
        offered_record_size_limit_ = true;
        msg::write_extension(w, ExtensionType::record_size_limit, [&](Writer& x) {
            msg::RecordSizeLimitExt{*config_.record_size_limit}.serialize(x);
        });
    }
    if (!cookie.empty()) {
        msg::write_extension(w, ExtensionType::cookie,
                             [&](Writer& x) { msg::CookieExt{cookie}.serialize(x); });
    }
    w.close(exts);
    w.close(body);
    if (!w.ok()) return fail(Alert::internal_error, ErrorOrigin::internal);
    L45_TRY(queue_handshake(w.result()));
    client_first_hello_ = false;
    return {};
}

// §4.1.2, D.4: random, a 32-byte session id in compatibility mode, and one
// key share for our first group.
TlsResult<HandshakeWait> Connection::do_send_client_hello() {
    config_.random->fill(client_random_);
    if (config_.middlebox_compat) {
        session_id_len_ = 32;
        config_.random->fill({session_id_.data(), session_id_len_});
    }
    auto share = make_key_share(config_.groups.front());
    if (!share) return unexpected(share.error());
    key_share_.emplace(std::move(*share));
    L45_TRY(write_client_hello({}));
    client_state_ = ClientState::wait_server_hello;
    return HandshakeWait::ok;
}

// §4.1.3 ServerHello (or §4.1.4 HelloRetryRequest, same syntax).
TlsResult<HandshakeWait> Connection::do_wait_server_hello() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    if (m->type != HandshakeType::server_hello) return fail(Alert::unexpected_message);
    auto sh = msg::ServerHello::parse(m->body);
    if (!sh) return unexpected(sh.error());
    if (sh->is_hello_retry_request()) return do_process_hello_retry(*sh, *m);

    const auto sv = sh->extensions.find(ExtensionType::supported_versions);
    if (!sv) {
        // A TLS 1.2 (or older) ServerHello. §4.1.3: a downgrade sentinel
        // means an attacker removed TLS 1.3 -> illegal_parameter; otherwise
        // we simply do not speak that version -> protocol_version.
        if (sh->downgrade_sentinel() != msg::DowngradeSentinel::none)
            return fail(Alert::illegal_parameter);
        return fail(Alert::protocol_version);
    }
    L45_TRY(msg::check_extensions(msg::ExtensionContext::server_hello, sh->extensions));
    auto version = msg::SupportedVersionsServerExt::parse(*sv);
    if (!version) return unexpected(version.error());
    // §4.2.1: a version we did not offer, or below TLS 1.3.
    L45_TRY(require(version->selected_version == kTls13, Alert::illegal_parameter));
    L45_TRY(require(sh->legacy_version == kTls12, Alert::illegal_parameter));
    // §4.1.3: the echo must be exactly our session id.
    L45_TRY(require(
        hs_internal::equal(sh->legacy_session_id_echo, {session_id_.data(), session_id_len_}),
        Alert::illegal_parameter));
    const auto suite = static_cast<CipherSuite>(sh->cipher_suite);
    L45_TRY(require(contains(config_.cipher_suites, suite), Alert::illegal_parameter));
    // §4.1.4: the ServerHello after a HelloRetryRequest keeps its suite.
    if (hrr_done_) L45_TRY(require(suite == negotiated_.suite, Alert::illegal_parameter));
    // §4.2: only what we asked for (no PSK offered: supported_versions and
    // key_share only).
    for (const msg::Extension& ext : sh->extensions) {
        if (ext.type != u16(ExtensionType::supported_versions) &&
            ext.type != u16(ExtensionType::key_share))
            return fail(Alert::unsupported_extension);
    }
    const auto ks = sh->extensions.find(ExtensionType::key_share);
    if (!ks) return fail(Alert::missing_extension);
    auto server_share = msg::KeyShareServerExt::parse(*ks);
    if (!server_share) return unexpected(server_share.error());
    // §4.2.8: the group must be the one we sent a share for.
    L45_TRY(require(server_share->server_share.group == u16(key_share_->group()),
                    Alert::illegal_parameter));
    auto shared = key_share_->derive(server_share->server_share.key_exchange);
    if (!shared) return unexpected(shared.error());

    std::memcpy(server_random_.data(), sh->random.data(), server_random_.size());
    negotiated_.suite = suite;
    negotiated_.group = key_share_->group();
    L45_TRY(schedule_.init(suite));
    if (!transcript_.selected()) L45_TRY(transcript_.select(schedule_.hash()));
    L45_TRY(transcript_.add(m->full));
    L45_TRY(derive_handshake_keys(shared->view()));
    // §5.1: the ServerHello must end its record (keys change here).
    L45_TRY(install_read(schedule_.server_handshake_traffic_secret()));
    L45_TRY(install_write(schedule_.client_handshake_traffic_secret()));
    key_share_.reset();
    client_state_ = ClientState::wait_encrypted_extensions;
    return HandshakeWait::ok;
}

// §4.1.4 HelloRetryRequest: at most one; it must change something, name a
// group we offered but did not send a share for, and a suite we offered.
TlsResult<HandshakeWait> Connection::do_process_hello_retry(const msg::ServerHello& hrr,
                                                            const msg::HandshakeMessage& m) {
    if (hrr_done_) return fail(Alert::unexpected_message);
    const auto sv = hrr.extensions.find(ExtensionType::supported_versions);
    if (!sv) return fail(Alert::protocol_version);
    L45_TRY(msg::check_extensions(msg::ExtensionContext::hello_retry_request, hrr.extensions));
    auto version = msg::SupportedVersionsServerExt::parse(*sv);
    if (!version) return unexpected(version.error());
    L45_TRY(require(version->selected_version == kTls13, Alert::illegal_parameter));
    L45_TRY(require(
        hs_internal::equal(hrr.legacy_session_id_echo, {session_id_.data(), session_id_len_}),
        Alert::illegal_parameter));
    const auto suite = static_cast<CipherSuite>(hrr.cipher_suite);
    L45_TRY(require(contains(config_.cipher_suites, suite), Alert::illegal_parameter));
    for (const msg::Extension& ext : hrr.extensions) {
        if (ext.type != u16(ExtensionType::supported_versions) &&
            ext.type != u16(ExtensionType::key_share) && ext.type != u16(ExtensionType::cookie))
            return fail(Alert::unsupported_extension);
    }
    std::optional<NamedGroup> new_group;
    if (const auto ks = hrr.extensions.find(ExtensionType::key_share)) {
        auto selected = msg::KeyShareHrrExt::parse(*ks);
        if (!selected) return unexpected(selected.error());
        const auto group = static_cast<NamedGroup>(selected->selected_group);
        // §4.2.8: offered in supported_groups, and not the share we sent.
        L45_TRY(require(contains(config_.groups, group) && group != key_share_->group(),
                        Alert::illegal_parameter));
        new_group = group;
    }
    if (const auto c = hrr.extensions.find(ExtensionType::cookie)) {
        auto cookie = msg::CookieExt::parse(*c);
        if (!cookie) return unexpected(cookie.error());
        cookie_.assign(cookie->cookie.begin(), cookie->cookie.end());
    }
    // §4.1.4: an HRR that would not change the ClientHello.
    if (!new_group && cookie_.empty()) return fail(Alert::illegal_parameter);

    hrr_done_ = true;
    negotiated_.hello_retry = true;
    negotiated_.suite = suite;
    // §4.4.1: ClientHello1 becomes message_hash, then the HRR joins.
    L45_TRY(transcript_.select(suite_info(suite)->hash));
    L45_TRY(transcript_.replace_with_message_hash());
    L45_TRY(transcript_.add(m.full));
    if (new_group) {
        auto share = make_key_share(*new_group);
        if (!share) return unexpected(share.error());
        key_share_.emplace(std::move(*share));
    }
    // D.4: the CCS goes before our second flight, here ClientHello2.
    if (config_.middlebox_compat) L45_TRY(queue_ccs_once());
    L45_TRY(write_client_hello(cookie_));
    return HandshakeWait::ok;  // still wait_server_hello
}

// §4.3.1: only answers to what we offered.
TlsResult<HandshakeWait> Connection::do_wait_encrypted_extensions() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    if (m->type != HandshakeType::encrypted_extensions) return fail(Alert::unexpected_message);
    auto ee = msg::EncryptedExtensions::parse(m->body);
    if (!ee) return unexpected(ee.error());
    L45_TRY(msg::check_extensions(msg::ExtensionContext::encrypted_extensions, ee->extensions));
    for (const msg::Extension& ext : ee->extensions) {
        switch (static_cast<ExtensionType>(ext.type)) {
            case ExtensionType::server_name:
                // RFC 6066 §3: empty, and only when we sent SNI.
                if (config_.server_name.empty()) return fail(Alert::unsupported_extension);
                L45_TRY(msg::parse_empty(ext.body));
                break;
            case ExtensionType::supported_groups: {
                // §4.2.7: the server's preferences, informational only.
                auto groups = msg::SupportedGroupsExt::parse(ext.body);
                if (!groups) return unexpected(groups.error());
                break;
            }
            case ExtensionType::application_layer_protocol_negotiation: {
                if (!offered_alpn_) return fail(Alert::unsupported_extension);
                auto selected = msg::AlpnExt::parse_selected(ext.body);
                if (!selected) return unexpected(selected.error());
                const std::string name(selected->begin(), selected->end());
                // RFC 7301 §3.2: a protocol we did not offer.
                L45_TRY(require(contains(config_.alpn, name), Alert::illegal_parameter));
                negotiated_.alpn = name;
                break;
            }
            case ExtensionType::record_size_limit: {
                // RFC 8449 §4: only in answer to ours; below 64 (or above
                // 2^14+1) -> illegal_parameter in the codec.
                if (!offered_record_size_limit_) return fail(Alert::unsupported_extension);
                auto limit = msg::RecordSizeLimitExt::parse(ext.body);
                if (!limit) return unexpected(limit.error());
                // Our records from Finished on carry at most limit - 1 bytes
                // of content (the type byte counts, TLS 1.3).
                sealer_.set_record_size_limit(limit->limit);
                // The server knew our limit when it protected this record and
                // every later one.
                L45_TRY(require(current_inner_len_ <= *config_.record_size_limit,
                                Alert::record_overflow));
                opener_.set_record_size_limit(*config_.record_size_limit);
                break;
            }
            default:
                return fail(Alert::unsupported_extension);
        }
    }
    L45_TRY(transcript_.add(m->full));
    client_state_ = ClientState::wait_certificate_or_request;
    return HandshakeWait::ok;
}

TlsResult<HandshakeWait> Connection::do_wait_certificate_or_request() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    if (m->type == HandshakeType::certificate_request) {
        // §4.3.2: we have no client certificate configured; we answer with
        // an empty Certificate and no CertificateVerify (§4.4.2).
        auto cr = msg::CertificateRequest::parse(m->body);
        if (!cr) return unexpected(cr.error());
        L45_TRY(msg::check_extensions(msg::ExtensionContext::certificate_request, cr->extensions));
        certificate_requested_ = true;
        cert_request_context_.assign(cr->certificate_request_context.begin(),
                                     cr->certificate_request_context.end());
        L45_TRY(transcript_.add(m->full));
        client_state_ = ClientState::wait_certificate;
        return HandshakeWait::ok;
    }
    if (m->type != HandshakeType::certificate) return fail(Alert::unexpected_message);
    L45_TRY(process_server_certificate(*m));
    client_state_ = ClientState::wait_certificate_verify;
    return HandshakeWait::ok;
}

TlsResult<HandshakeWait> Connection::do_wait_certificate() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    if (m->type != HandshakeType::certificate) return fail(Alert::unexpected_message);
    L45_TRY(process_server_certificate(*m));
    client_state_ = ClientState::wait_certificate_verify;
    return HandshakeWait::ok;
}

// §4.4.2, §4.4.2.4: the server's chain, verified against the trust store and
// server_name.
TlsResult<void> Connection::process_server_certificate(const msg::HandshakeMessage& m) {
    auto cert = msg::Certificate::parse(m.body);
    if (!cert) return unexpected(cert.error());
    // §4.4.2: in the handshake the context is empty.
    L45_TRY(require(cert->certificate_request_context.empty(), Alert::illegal_parameter));
    // §4.4.2.4: an empty server Certificate -> decode_error.
    if (cert->certificate_list.empty()) return fail(Alert::decode_error);
    static constexpr std::size_t kMaxChainLen = 16;
    std::array<ByteSpan, kMaxChainLen> chain{};
    std::size_t n = 0;
    for (const msg::CertificateEntry& entry : cert->certificate_list) {
        if (n == kMaxChainLen) return fail(Alert::bad_certificate);
        L45_TRY(msg::check_extensions(msg::ExtensionContext::certificate, entry.extensions));
        // We requested neither OCSP stapling nor SCTs (§4.4.2.1).
        if (!entry.extensions.empty()) return fail(Alert::unsupported_extension);
        chain[n++] = entry.cert_data;
    }
    const std::span<const ByteSpan> chain_view(chain.data(), n);
    TlsResult<pki::PublicKey> key = fail(Alert::internal_error, ErrorOrigin::internal);
    if (config_.insecure_skip_verify_DANGEROUS) {
        key = insecure_verifier_->verify(chain_view, {});
    } else {
        if (config_.wall_clock) config_.verifier->set_time(config_.wall_clock());
        key = config_.verifier->verify(chain_view, config_.server_name);
    }
    if (!key) return unexpected(key.error());
    peer_key_ = std::move(*key);
    negotiated_.peer_certificates.clear();
    for (const ByteSpan der : chain_view)
        negotiated_.peer_certificates.emplace_back(der.begin(), der.end());
    return transcript_.add(m.full);
}

// §4.4.3: signed by the leaf key over the transcript up to Certificate.
TlsResult<HandshakeWait> Connection::do_wait_certificate_verify() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    if (m->type != HandshakeType::certificate_verify) return fail(Alert::unexpected_message);
    auto cv = msg::CertificateVerify::parse(m->body);
    if (!cv) return unexpected(cv.error());
    const auto scheme = static_cast<SignatureScheme>(cv->algorithm);
    // §4.4.3: a scheme we did not offer in signature_algorithms.
    L45_TRY(require(contains(schemes_, scheme), Alert::illegal_parameter));
    auto hash = transcript_.current();
    if (!hash) return unexpected(hash.error());
    L45_TRY(pki::verify(peer_key_, scheme, hash->view(), /*server=*/true, cv->signature));
    negotiated_.signature_scheme = scheme;
    L45_TRY(transcript_.add(m->full));
    client_state_ = ClientState::wait_finished;
    return HandshakeWait::ok;
}

// §4.4.4: the server's Finished, then the application secrets (§7.1).
TlsResult<HandshakeWait> Connection::do_wait_server_finished() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    L45_TRY(verify_peer_finished(*m, schedule_.server_handshake_traffic_secret()));
    L45_TRY(derive_application_keys());
    L45_TRY(install_read(schedule_.server_application_traffic_secret()));
    client_state_ = ClientState::send_client_finished;
    return HandshakeWait::ok;
}

// §4.4.4 (and §4.4.2 for an empty Certificate when one was requested).
TlsResult<HandshakeWait> Connection::do_send_client_finished() {
    if (config_.middlebox_compat) L45_TRY(queue_ccs_once());
    if (certificate_requested_) {
        Writer w(msg_buf_);
        w.u8(u16(HandshakeType::certificate) & 0xff);
        const auto body = w.open_u24_prefix();
        msg::Certificate::write_body(w, cert_request_context_, {});
        w.close(body);
        if (!w.ok()) return fail(Alert::internal_error, ErrorOrigin::internal);
        L45_TRY(queue_handshake(w.result()));
    }
    L45_TRY(send_finished(schedule_.client_handshake_traffic_secret()));
    L45_TRY(install_write(schedule_.client_application_traffic_secret()));
    auto hash = transcript_.current();
    if (!hash) return unexpected(hash.error());
    L45_TRY(schedule_.derive_resumption_master_secret(hash->view()));
    handshake_done_ = true;
    client_state_ = ClientState::established;
    return HandshakeWait::done;
}

}  // namespace l45::tls
