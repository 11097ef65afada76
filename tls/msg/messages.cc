// TLS 1.3 handshake message codecs. See messages.h for the RFC sections.
#include "tls/msg/messages.h"

#include <algorithm>

namespace l45::tls::msg {
namespace {

[[nodiscard]] constexpr Unexpected<TlsError> decode_error() {
    return fail(Alert::decode_error);
}

void write_u8_vector(Writer& w, ByteSpan v) {
    const auto prefix = w.open_u8_prefix();
    w.bytes(v);
    w.close(prefix);
}
void write_u16_vector(Writer& w, ByteSpan v) {
    const auto prefix = w.open_u16_prefix();
    w.bytes(v);
    w.close(prefix);
}

// Reads `u16 length + extensions` with the given minimum total length
// (the <N..2^16-1> lower bound of the message's extensions vector).
TlsResult<ExtensionBlock> read_extensions(Reader& r, std::size_t min_len) {
    Reader contents;
    if (!r.u16_prefixed(contents) || contents.remaining() < min_len) return decode_error();
    return ExtensionBlock::parse(contents.rest());
}

}  // namespace

// --- ClientHello (§4.1.2) ----------------------------------------------------

TlsResult<ClientHello> ClientHello::parse(ByteSpan body) {
    Reader r(body);
    ClientHello ch;
    Reader session_id;
    Reader suites;
    Reader compression;
    if (!r.u16(ch.legacy_version) || !r.copy(ch.random) || !r.u8_prefixed(session_id) ||
        session_id.remaining() > kMaxSessionIdLen || !r.u16_prefixed(suites) || suites.empty() ||
        suites.remaining() % 2 != 0 || !r.u8_prefixed(compression) || compression.empty())
        return decode_error();
    ch.legacy_session_id = session_id.rest();
    ch.cipher_suites = U16List(suites.rest());
    ch.legacy_compression_methods = compression.rest();
    // "For every TLS 1.3 ClientHello, this vector MUST contain exactly one
    // byte, set to zero ... any other value ... illegal_parameter".
    if (ch.legacy_compression_methods.size() != 1 || ch.legacy_compression_methods[0] != 0)
        return fail(Alert::illegal_parameter);
    // No extensions at all: a TLS 1.2-or-older hello (§4.1.2 "servers MUST
    // check for the presence of extensions"); without supported_versions
    // there is no TLS 1.3 to negotiate (§4.2.1 -> protocol_version).
    if (r.empty()) return fail(Alert::protocol_version);
    auto exts = read_extensions(r, 8);
    if (!exts) return unexpected(exts.error());
    if (!r.empty()) return decode_error();
    ch.extensions = *exts;
    // §4.2.11: pre_shared_key "MUST be the last extension in the
    // ClientHello ... Servers MUST check ... illegal_parameter".
    if (ch.extensions.has(ExtensionType::pre_shared_key) &&
        ch.extensions.last_type() != static_cast<std::uint16_t>(ExtensionType::pre_shared_key))
        return fail(Alert::illegal_parameter);
    return ch;
}

void ClientHello::serialize_body(Writer& w) const {
    w.u16(legacy_version);
    w.bytes(random);
    write_u8_vector(w, legacy_session_id);
    write_u16_vector(w, cipher_suites.raw());
    write_u8_vector(w, legacy_compression_methods);
    extensions.serialize(w);
}

// --- ServerHello (§4.1.3) ----------------------------------------------------

TlsResult<ServerHello> ServerHello::parse(ByteSpan body) {
    Reader r(body);
    ServerHello sh;
    Reader session_id;
    if (!r.u16(sh.legacy_version) || !r.copy(sh.random) || !r.u8_prefixed(session_id) ||
        session_id.remaining() > kMaxSessionIdLen || !r.u16(sh.cipher_suite) ||
        !r.u8(sh.legacy_compression_method))
        return decode_error();
    sh.legacy_session_id_echo = session_id.rest();
    // The extensions are parsed first so that truncation is a decode_error
    // whatever the compression byte says. No minimum length: a TLS 1.2
    // ServerHello may carry none, or only renegotiation_info, and the client
    // must still see it as one (§4.1.3 downgrade check, protocol_version);
    // TLS 1.3's mandatory supported_versions is the handshake's check.
    auto exts = read_extensions(r, 0);
    if (!exts) return unexpected(exts.error());
    if (!r.empty()) return decode_error();
    sh.extensions = *exts;
    // "legacy_compression_method: A single byte which MUST have the value 0."
    if (sh.legacy_compression_method != 0) return fail(Alert::illegal_parameter);
    return sh;
}

void ServerHello::serialize_body(Writer& w) const {
    w.u16(legacy_version);
    w.bytes(random);
    write_u8_vector(w, legacy_session_id_echo);
    w.u16(cipher_suite);
    w.u8(legacy_compression_method);
    extensions.serialize(w);
}

DowngradeSentinel ServerHello::downgrade_sentinel() const {
    static constexpr std::array<std::uint8_t, 7> kDowngrd = {0x44, 0x4f, 0x57, 0x4e,
                                                             0x47, 0x52, 0x44};  // "DOWNGRD"
    if (!std::equal(kDowngrd.begin(), kDowngrd.end(), random.begin() + 24))
        return DowngradeSentinel::none;
    if (random[31] == 0x01) return DowngradeSentinel::tls12;
    if (random[31] == 0x00) return DowngradeSentinel::tls11_or_below;
    return DowngradeSentinel::none;
}

// --- EncryptedExtensions (§4.3.1) --------------------------------------------

TlsResult<EncryptedExtensions> EncryptedExtensions::parse(ByteSpan body) {
    Reader r(body);
    auto exts = read_extensions(r, 0);
    if (!exts) return unexpected(exts.error());
    if (!r.empty()) return decode_error();
    return EncryptedExtensions{*exts};
}

void EncryptedExtensions::serialize_body(Writer& w) const {
    extensions.serialize(w);
}

// --- CertificateRequest (§4.3.2) ---------------------------------------------

TlsResult<CertificateRequest> CertificateRequest::parse(ByteSpan body) {
    Reader r(body);
    Reader context;
    if (!r.u8_prefixed(context)) return decode_error();
    auto exts = read_extensions(r, 2);
    if (!exts) return unexpected(exts.error());
    if (!r.empty()) return decode_error();
    if (!exts->has(ExtensionType::signature_algorithms)) return fail(Alert::missing_extension);
    return CertificateRequest{context.rest(), *exts};
}

void CertificateRequest::serialize_body(Writer& w) const {
    write_u8_vector(w, certificate_request_context);
    extensions.serialize(w);
}

// --- Certificate (§4.4.2) ----------------------------------------------------

namespace {
// One CertificateEntry; `out_error` distinguishes a malformed entry
// (decode_error) from a bad extension block (its own alert).
bool read_certificate_entry(Reader& r, CertificateEntry& out, TlsError& out_error) {
    Reader cert;
    Reader exts;
    if (!r.u24_prefixed(cert) || cert.empty() || !r.u16_prefixed(exts)) {
        out_error = TlsError{Alert::decode_error};
        return false;
    }
    auto block = ExtensionBlock::parse(exts.rest());
    if (!block) {
        out_error = block.error();
        return false;
    }
    out.cert_data = cert.rest();
    out.extensions = *block;
    return true;
}
}  // namespace

bool Certificate::Codec::next(Reader& r, Entry& out) {
    TlsError ignored;
    return read_certificate_entry(r, out, ignored);
}

TlsResult<Certificate> Certificate::parse(ByteSpan body) {
    Reader r(body);
    Reader context;
    Reader list;
    if (!r.u8_prefixed(context) || !r.u24_prefixed(list) || !r.empty()) return decode_error();
    Certificate c;
    c.certificate_request_context = context.rest();
    c.certificate_list = ListView<Codec>(list.rest());
    while (!list.empty()) {
        CertificateEntry e;
        TlsError err;
        if (!read_certificate_entry(list, e, err)) return unexpected(err);
    }
    return c;
}

void Certificate::serialize_body(Writer& w) const {
    write_u8_vector(w, certificate_request_context);
    const auto prefix = w.open_u24_prefix();
    w.bytes(certificate_list.raw());
    w.close(prefix);
}

void Certificate::write_body(Writer& w, ByteSpan context, std::span<const ByteSpan> certs_der) {
    write_u8_vector(w, context);
    const auto list = w.open_u24_prefix();
    for (ByteSpan der : certs_der) {
        const auto cert = w.open_u24_prefix();
        w.bytes(der);
        w.close(cert);
        w.u16(0);  // no per-entry extensions
    }
    w.close(list);
}

// --- CertificateVerify (§4.4.3) ----------------------------------------------

TlsResult<CertificateVerify> CertificateVerify::parse(ByteSpan body) {
    Reader r(body);
    CertificateVerify cv;
    Reader sig;
    if (!r.u16(cv.algorithm) || !r.u16_prefixed(sig) || !r.empty()) return decode_error();
    cv.signature = sig.rest();
    return cv;
}

void CertificateVerify::serialize_body(Writer& w) const {
    w.u16(algorithm);
    write_u16_vector(w, signature);
}

// --- Finished (§4.4.4) -------------------------------------------------------

TlsResult<Finished> Finished::parse(ByteSpan body, std::size_t hash_len) {
    if (body.size() != hash_len) return decode_error();
    return Finished{body};
}

void Finished::serialize_body(Writer& w) const {
    w.bytes(verify_data);
}

// --- EndOfEarlyData (§4.5) ---------------------------------------------------

TlsResult<EndOfEarlyData> EndOfEarlyData::parse(ByteSpan body) {
    if (!body.empty()) return decode_error();
    return EndOfEarlyData{};
}

// --- NewSessionTicket (§4.6.1) -----------------------------------------------

TlsResult<NewSessionTicket> NewSessionTicket::parse(ByteSpan body) {
    Reader r(body);
    NewSessionTicket t;
    Reader nonce;
    Reader ticket;
    if (!r.u32(t.ticket_lifetime) || !r.u32(t.ticket_age_add) || !r.u8_prefixed(nonce) ||
        !r.u16_prefixed(ticket) || ticket.empty())
        return decode_error();
    auto exts = read_extensions(r, 0);
    if (!exts) return unexpected(exts.error());
    if (!r.empty()) return decode_error();
    t.ticket_nonce = nonce.rest();
    t.ticket = ticket.rest();
    t.extensions = *exts;
    if (auto ed = t.extensions.find(ExtensionType::early_data)) {
        auto parsed = EarlyDataTicketExt::parse(*ed);
        if (!parsed) return unexpected(parsed.error());
    }
    return t;
}

void NewSessionTicket::serialize_body(Writer& w) const {
    w.u32(ticket_lifetime);
    w.u32(ticket_age_add);
    write_u8_vector(w, ticket_nonce);
    write_u16_vector(w, ticket);
    extensions.serialize(w);
}

std::optional<std::uint32_t> NewSessionTicket::max_early_data_size() const {
    auto ed = extensions.find(ExtensionType::early_data);
    if (!ed) return std::nullopt;
    auto parsed = EarlyDataTicketExt::parse(*ed);
    if (!parsed) return std::nullopt;  // cannot happen after parse()
    return parsed->max_early_data_size;
}

// --- KeyUpdate (§4.6.3) ------------------------------------------------------

TlsResult<KeyUpdate> KeyUpdate::parse(ByteSpan body) {
    Reader r(body);
    std::uint8_t v = 0;
    if (!r.u8(v) || !r.empty()) return decode_error();
    // "If an implementation receives any other value, it MUST terminate the
    // connection with an "illegal_parameter" alert."
    if (v > 1) return fail(Alert::illegal_parameter);
    return KeyUpdate{static_cast<KeyUpdateRequest>(v)};
}

// --- message_hash (§4.4.1) and framing ---------------------------------------

bool write_message_hash(Writer& w, ByteSpan client_hello1_hash) {
    if (client_hello1_hash.size() > 255) return false;
    w.u8(static_cast<std::uint8_t>(HandshakeType::message_hash));
    w.u24(static_cast<std::uint32_t>(client_hello1_hash.size()));
    w.bytes(client_hello1_hash);
    return w.ok();
}

TlsResult<HandshakeView> split_message(ByteSpan full) {
    Reader r(full);
    std::uint8_t type = 0;
    Reader body;
    if (!r.u8(type) || !r.u24_prefixed(body) || !r.empty()) return decode_error();
    return HandshakeView{static_cast<HandshakeType>(type), body.rest()};
}

}  // namespace l45::tls::msg
