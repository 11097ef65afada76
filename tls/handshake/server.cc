// The TLS 1.3 server state machine (RFC 8446 §4, Appendix A.2).
//
// Read first: RFC 8446 §4.1.1 (negotiation), §4.1.2 (ClientHello), §4.1.4
// (HelloRetryRequest), §4.2.1, §4.2.7, §4.2.8 (versions, groups, shares),
// §9.2 (mandatory extensions -> missing_extension), RFC 6066 §3, RFC 7301.
//
// No resumption and no client authentication yet: pre_shared_key and
// early_data offers are ignored (a full handshake follows).
#include <cstring>

#include "tls/handshake/connection.h"
#include "tls/handshake/internal.h"

namespace l45::tls {

using hs_internal::contains;
using hs_internal::require;
using hs_internal::u16;

namespace {
inline constexpr std::size_t kCookieLen = 32;
}

TlsResult<HandshakeWait> Connection::server_step() {
    switch (server_state_) {
        case ServerState::wait_client_hello:
            return do_wait_client_hello();
        case ServerState::send_server_flight:
            return do_send_server_flight();
        case ServerState::wait_client_finished:
            return do_wait_client_finished();
        case ServerState::established:
            return HandshakeWait::done;
    }
    return fail(Alert::internal_error, ErrorOrigin::internal);
}

// §4.1.2 ClientHello (the first, or the second after our HelloRetryRequest).
TlsResult<HandshakeWait> Connection::do_wait_client_hello() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    if (m->type != HandshakeType::client_hello) return fail(Alert::unexpected_message);
    auto ch = msg::ClientHello::parse(m->body);
    if (!ch) return unexpected(ch.error());
    const msg::ExtensionBlock& exts = ch->extensions;

    // §4.2.1: without supported_versions (or without 0x0304 in it) this is
    // a TLS 1.2-or-older hello, and we only speak TLS 1.3.
    const auto sv = exts.find(ExtensionType::supported_versions);
    if (!sv) return fail(Alert::protocol_version);
    auto versions = msg::SupportedVersionsClientExt::parse(*sv);
    if (!versions) return unexpected(versions.error());
    if (!versions->versions.contains(kTls13)) return fail(Alert::protocol_version);
    L45_TRY(msg::check_extensions(msg::ExtensionContext::client_hello, exts));

    if (hrr_done_) {
        // §4.1.2: ClientHello2 repeats ClientHello1 except for the share and
        // the cookie.
        L45_TRY(require(
            hs_internal::equal(ch->legacy_session_id, {session_id_.data(), session_id_len_}),
            Alert::illegal_parameter));
        L45_TRY(
            require(ch->cipher_suites.contains(u16(negotiated_.suite)), Alert::illegal_parameter));
        const auto c = exts.find(ExtensionType::cookie);
        if (!c) return fail(Alert::missing_extension);
        auto cookie = msg::CookieExt::parse(*c);
        if (!cookie) return unexpected(cookie.error());
        L45_TRY(require(hs_internal::equal(cookie->cookie, cookie_), Alert::illegal_parameter));
    } else {
        // §4.1.1: the suite by OUR preference.
        bool found = false;
        for (CipherSuite s : config_.cipher_suites) {
            if (ch->cipher_suites.contains(u16(s))) {
                negotiated_.suite = s;
                found = true;
                break;
            }
        }
        if (!found) return fail(Alert::handshake_failure);
        std::memcpy(client_random_.data(), ch->random.data(), client_random_.size());
        session_id_len_ = ch->legacy_session_id.size();
        if (session_id_len_ != 0)
            std::memcpy(session_id_.data(), ch->legacy_session_id.data(), session_id_len_);
        peer_compat_ = session_id_len_ != 0;
    }

    // §9.2: a ClientHello without pre_shared_key needs these three.
    const auto sa = exts.find(ExtensionType::signature_algorithms);
    const auto sg = exts.find(ExtensionType::supported_groups);
    const auto ks = exts.find(ExtensionType::key_share);
    if (!sa || !sg || !ks) return fail(Alert::missing_extension);
    auto sig_algs = msg::SignatureAlgorithmsExt::parse(*sa);
    if (!sig_algs) return unexpected(sig_algs.error());
    auto groups = msg::SupportedGroupsExt::parse(*sg);
    if (!groups) return unexpected(groups.error());
    auto shares = msg::KeyShareClientExt::parse(*ks);
    if (!shares) return unexpected(shares.error());
    // §4.2.8: every share's group must be listed in supported_groups.
    std::size_t num_shares = 0;
    for (const msg::KeyShareEntry& e : shares->shares) {
        L45_TRY(require(groups->values.contains(e.group), Alert::illegal_parameter));
        ++num_shares;
    }

    // Signature schemes the client accepts AND we are willing to use.
    num_peer_schemes_ = 0;
    for (std::size_t i = 0; i < sig_algs->values.size(); ++i) {
        const auto s = static_cast<SignatureScheme>(sig_algs->values[i]);
        if (num_peer_schemes_ < peer_schemes_.size() && contains(schemes_, s))
            peer_schemes_[num_peer_schemes_++] = s;
    }

    // Group: a share we can use (our preference), else HRR for a group the
    // client listed (§4.1.1, §4.1.4), else handshake_failure.
    std::optional<msg::KeyShareEntry> chosen;
    if (hrr_done_) {
        // §4.1.4: exactly one share, for the group we asked for.
        chosen = shares->find(u16(negotiated_.group));
        L45_TRY(require(chosen.has_value() && num_shares == 1, Alert::illegal_parameter));
    } else {
        for (NamedGroup g : config_.groups) {
            if (!groups->values.contains(u16(g))) continue;
            if (auto e = shares->find(u16(g))) {
                chosen = e;
                negotiated_.group = g;
                break;
            }
        }
    }
    std::optional<NamedGroup> retry_group;
    if (!chosen) {
        for (NamedGroup g : config_.groups) {
            if (groups->values.contains(u16(g))) {
                retry_group = g;
                break;
            }
        }
        if (!retry_group) return fail(Alert::handshake_failure);
    }

    // RFC 6066 §3 SNI -> the certificate (§4.4.2.2).
    std::optional<std::string_view> sni;
    if (const auto sn = exts.find(ExtensionType::server_name)) {
        auto name = msg::ServerNameExt::parse(*sn);
        if (!name) return unexpected(name.error());
        negotiated_.server_name.assign(name->host_name);
        sni = negotiated_.server_name;
    }
    credential_ = config_.credentials->select(sni);
    if (credential_ == nullptr) return fail(Alert::internal_error, ErrorOrigin::internal);
    auto scheme = pki::choose_scheme(credential_->key, {peer_schemes_.data(), num_peer_schemes_});
    if (!scheme) return unexpected(scheme.error());
    negotiated_.signature_scheme = *scheme;

    // RFC 7301 §3.2: our preference among the client's protocols.
    negotiated_.alpn.clear();
    if (const auto a = exts.find(ExtensionType::application_layer_protocol_negotiation)) {
        auto alpn = msg::AlpnExt::parse(*a);
        if (!alpn) return unexpected(alpn.error());
        if (!config_.alpn.empty()) {
            for (const std::string& ours : config_.alpn) {
                for (const ByteSpan theirs : alpn->protocols) {
                    if (hs_internal::equal(theirs, hs_internal::as_bytes(ours))) {
                        negotiated_.alpn = ours;
                        break;
                    }
                }
                if (!negotiated_.alpn.empty()) break;
            }
            if (negotiated_.alpn.empty()) return fail(Alert::no_application_protocol);
        }
    }
    // RFC 8449 §4: the client's limit binds our protected records (always
    // honoured, even when we do not announce our own).
    peer_record_size_limit_.reset();
    if (const auto rsl = exts.find(ExtensionType::record_size_limit)) {
        auto limit = msg::RecordSizeLimitExt::parse(*rsl);
        if (!limit) return unexpected(limit.error());
        peer_record_size_limit_ = limit->limit;
    }
    if (const auto ri = exts.find(ExtensionType::renegotiation_info))
        L45_TRY(msg::parse_renegotiation_info(*ri));

    if (!transcript_.selected()) L45_TRY(transcript_.select(suite_info(negotiated_.suite)->hash));
    L45_TRY(transcript_.add(m->full));

    if (retry_group) {
        // §4.1.4: HelloRetryRequest with the group and a cookie the client
        // must echo; the transcript restarts with message_hash (§4.4.1).
        L45_TRY(transcript_.replace_with_message_hash());
        negotiated_.group = *retry_group;
        cookie_.resize(kCookieLen);
        config_.random->fill(cookie_);
        Writer w(msg_buf_);
        w.u8(u16(HandshakeType::server_hello) & 0xff);
        const auto body = w.open_u24_prefix();
        w.u16(kTls12);
        w.bytes(msg::kHelloRetryRequestRandom);
        const auto sid = w.open_u8_prefix();
        w.bytes({session_id_.data(), session_id_len_});
        w.close(sid);
        w.u16(u16(negotiated_.suite));
        w.u8(0);
        const auto e = w.open_u16_prefix();
        msg::write_extension(w, ExtensionType::key_share,
                             [&](Writer& x) { x.u16(u16(*retry_group)); });
        msg::write_extension(w, ExtensionType::supported_versions,
                             [&](Writer& x) { x.u16(kTls13); });
        msg::write_extension(w, ExtensionType::cookie,
                             [&](Writer& x) { msg::CookieExt{cookie_}.serialize(x); });
        w.close(e);
        w.close(body);
        if (!w.ok()) return fail(Alert::internal_error, ErrorOrigin::internal);
        L45_TRY(queue_handshake(w.result()));
        // D.4: a CCS right after our first handshake message.
        if (peer_compat_) L45_TRY(queue_ccs_once());
        hrr_done_ = true;
        negotiated_.hello_retry = true;
        return HandshakeWait::ok;  // wait for ClientHello2
    }

    peer_share_.assign(chosen->key_exchange.begin(), chosen->key_exchange.end());
    server_state_ = ServerState::send_server_flight;
    return HandshakeWait::ok;
}

// §4.1.3 ServerHello, §4.3.1 EncryptedExtensions, §4.4.2 Certificate,
// §4.4.3 CertificateVerify, §4.4.4 Finished.
TlsResult<HandshakeWait> Connection::do_send_server_flight() {
    if (test_random_ && test_random_->size() == server_random_.size())
        std::memcpy(server_random_.data(), test_random_->data(), server_random_.size());
    else
        config_.random->fill(server_random_);
    auto share = make_key_share(negotiated_.group);
    if (!share) return unexpected(share.error());
    key_share_.emplace(std::move(*share));
    auto shared = key_share_->derive(peer_share_);
    if (!shared) return unexpected(shared.error());

    {
        Writer w(msg_buf_);
        w.u8(u16(HandshakeType::server_hello) & 0xff);
        const auto body = w.open_u24_prefix();
        w.u16(kTls12);
        w.bytes(server_random_);
        const auto sid = w.open_u8_prefix();
        w.bytes({session_id_.data(), session_id_len_});
        w.close(sid);
        w.u16(u16(negotiated_.suite));
        w.u8(0);
        const auto e = w.open_u16_prefix();
        msg::write_extension(w, ExtensionType::key_share, [&](Writer& x) {
            msg::KeyShareEntry{u16(negotiated_.group), key_share_->public_key()}.serialize(x);
        });
        msg::write_extension(w, ExtensionType::supported_versions,
                             [&](Writer& x) { x.u16(kTls13); });
        w.close(e);
        w.close(body);
        if (!w.ok()) return fail(Alert::internal_error, ErrorOrigin::internal);
        L45_TRY(queue_handshake(w.result()));
    }
    if (peer_compat_) L45_TRY(queue_ccs_once());
    key_share_.reset();

    L45_TRY(schedule_.init(negotiated_.suite));
    L45_TRY(derive_handshake_keys(shared->view()));
    // §5.1: ClientHello must have ended its record.
    L45_TRY(install_read(schedule_.client_handshake_traffic_secret()));
    L45_TRY(install_write(schedule_.server_handshake_traffic_secret()));
    // RFC 8449: from EncryptedExtensions on, our records obey the client's
    // limit; the client learns ours from EncryptedExtensions, before any
    // record it protects.
    const bool announce_limit = peer_record_size_limit_ && config_.record_size_limit;
    if (peer_record_size_limit_) sealer_.set_record_size_limit(*peer_record_size_limit_);
    if (announce_limit) opener_.set_record_size_limit(*config_.record_size_limit);

    {
        Writer w(msg_buf_);
        w.u8(u16(HandshakeType::encrypted_extensions) & 0xff);
        const auto body = w.open_u24_prefix();
        const auto e = w.open_u16_prefix();
        // RFC 6066 §3: an empty server_name when we used the client's SNI.
        if (!negotiated_.server_name.empty())
            msg::write_extension(w, ExtensionType::server_name, [](Writer&) {});
        // RFC 8449 §4: only when the client sent one.
        if (announce_limit) {
            msg::write_extension(w, ExtensionType::record_size_limit, [&](Writer& x) {
                msg::RecordSizeLimitExt{*config_.record_size_limit}.serialize(x);
            });
        }
        if (!negotiated_.alpn.empty()) {
            msg::write_extension(
                w, ExtensionType::application_layer_protocol_negotiation, [&](Writer& x) {
                    msg::AlpnExt::write_selected(x, hs_internal::as_bytes(negotiated_.alpn));
                });
        }
        w.close(e);
        w.close(body);
        if (!w.ok()) return fail(Alert::internal_error, ErrorOrigin::internal);
        L45_TRY(queue_handshake(w.result()));
    }
    {
        const pki::CertificateChain& chain = credential_->chain;
        std::array<ByteSpan, 16> certs{};
        const std::size_t n = std::min(chain.num_certs(), certs.size());
        for (std::size_t i = 0; i < n; ++i)
            certs[i] = chain.der(i);
        Writer w(msg_buf_);
        w.u8(u16(HandshakeType::certificate) & 0xff);
        const auto body = w.open_u24_prefix();
        msg::Certificate::write_body(w, {}, {certs.data(), n});
        w.close(body);
        if (!w.ok()) return fail(Alert::internal_error, ErrorOrigin::internal);
        L45_TRY(queue_handshake(w.result()));
    }
    {
        auto hash = transcript_.current();
        if (!hash) return unexpected(hash.error());
        std::array<std::uint8_t, pki::kMaxSignatureLen> sig{};
        auto sig_len = credential_->key.sign(negotiated_.signature_scheme, hash->view(), true, sig);
        if (!sig_len) return unexpected(sig_len.error());
        msg::CertificateVerify cv;
        cv.algorithm = u16(negotiated_.signature_scheme);
        cv.signature = ByteSpan(sig.data(), *sig_len);
        Writer w(msg_buf_);
        if (!msg::write_message(w, cv)) return fail(Alert::internal_error, ErrorOrigin::internal);
        L45_TRY(queue_handshake(w.result()));
    }
    L45_TRY(send_finished(schedule_.server_handshake_traffic_secret()));
    L45_TRY(derive_application_keys());
    L45_TRY(install_write(schedule_.server_application_traffic_secret()));
    server_state_ = ServerState::wait_client_finished;
    return HandshakeWait::ok;
}

// §4.4.4: the client's Finished (no client Certificate: we never request
// one yet). A CCS before it was dropped by the record layer (D.4).
TlsResult<HandshakeWait> Connection::do_wait_client_finished() {
    bool have = false;
    auto m = take_message(have);
    if (!m) return unexpected(m.error());
    if (!have) return HandshakeWait::read_message;
    L45_TRY(verify_peer_finished(*m, schedule_.client_handshake_traffic_secret()));
    L45_TRY(install_read(schedule_.client_application_traffic_secret()));
    auto hash = transcript_.current();
    if (!hash) return unexpected(hash.error());
    L45_TRY(schedule_.derive_resumption_master_secret(hash->view()));
    handshake_done_ = true;
    server_state_ = ServerState::established;
    return HandshakeWait::done;
}

}  // namespace l45::tls
