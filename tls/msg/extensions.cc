// TLS 1.3 extension codecs. See extensions.h for the RFC sections.
#include "tls/msg/extensions.h"

#include <array>

namespace l45::tls::msg {
namespace {

[[nodiscard]] constexpr Unexpected<TlsError> decode_error() {
    return fail(Alert::decode_error);
}

std::string_view as_chars(ByteSpan s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
}
ByteSpan as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// A u16-prefixed vector of u16 values taking all of `body`, with at least
// one element; returns the contents.
bool read_u16_vector(Reader& r, int prefix_len, U16List& out) {
    Reader list;
    const bool ok = prefix_len == 1 ? r.u8_prefixed(list) : r.u16_prefixed(list);
    if (!ok || list.empty() || list.remaining() % 2 != 0) return false;
    out = U16List(list.rest());
    return true;
}

}  // namespace

void write_u16_vector(Writer& w, std::span<const std::uint16_t> values, int prefix_len) {
    const auto prefix = prefix_len == 1 ? w.open_u8_prefix() : w.open_u16_prefix();
    for (std::uint16_t v : values)
        w.u16(v);
    w.close(prefix);
}

// --- ExtensionBlock --------------------------------------------------------

bool ExtensionBlock::Codec::next(Reader& r, Entry& out) {
    Reader body;
    if (!r.u16(out.type) || !r.u16_prefixed(body)) return false;
    out.body = body.rest();
    return true;
}

TlsResult<ExtensionBlock> ExtensionBlock::parse(ByteSpan contents) {
    std::array<std::uint16_t, kMaxExtensions> seen{};
    std::size_t num = 0;
    Reader r(contents);
    while (!r.empty()) {
        Extension e;
        if (!Codec::next(r, e)) return decode_error();
        if (num == kMaxExtensions) return decode_error();
        for (std::size_t i = 0; i < num; ++i)
            if (seen[i] == e.type) return fail(Alert::illegal_parameter);
        seen[num++] = e.type;
    }
    ExtensionBlock b;
    b.raw_ = contents;
    b.num_ = num;
    return b;
}

TlsResult<ExtensionBlock> ExtensionBlock::read_prefixed(Reader& r) {
    Reader contents;
    if (!r.u16_prefixed(contents)) return decode_error();
    return parse(contents.rest());
}

void ExtensionBlock::serialize(Writer& w) const {
    const auto prefix = w.open_u16_prefix();
    w.bytes(raw_);
    w.close(prefix);
}

std::optional<ByteSpan> ExtensionBlock::find(std::uint16_t type) const {
    for (const Extension& e : list())
        if (e.type == type) return e.body;
    return std::nullopt;
}

std::optional<std::uint16_t> ExtensionBlock::last_type() const {
    std::optional<std::uint16_t> last;
    for (const Extension& e : list())
        last = e.type;
    return last;
}

// --- RFC 8446 §4.2 table -----------------------------------------------------

namespace {

// Bit per ExtensionContext.
constexpr std::uint8_t bit(ExtensionContext c) {
    return static_cast<std::uint8_t>(1u << static_cast<unsigned>(c));
}
constexpr std::uint8_t CH = bit(ExtensionContext::client_hello);
constexpr std::uint8_t SH = bit(ExtensionContext::server_hello);
constexpr std::uint8_t HRR = bit(ExtensionContext::hello_retry_request);
constexpr std::uint8_t EE = bit(ExtensionContext::encrypted_extensions);
constexpr std::uint8_t CT = bit(ExtensionContext::certificate);
constexpr std::uint8_t CR = bit(ExtensionContext::certificate_request);
constexpr std::uint8_t NST = bit(ExtensionContext::new_session_ticket);

// Contexts for a recognised type, 0 when unrecognised.
constexpr std::uint8_t allowed_contexts(std::uint16_t type) {
    switch (static_cast<ExtensionType>(type)) {
        case ExtensionType::server_name:
        case ExtensionType::max_fragment_length:
        case ExtensionType::supported_groups:
        case ExtensionType::use_srtp:
        case ExtensionType::heartbeat:
        case ExtensionType::application_layer_protocol_negotiation:
        case ExtensionType::client_certificate_type:
        case ExtensionType::server_certificate_type:
        case ExtensionType::record_size_limit:  // RFC 8449 §5: CH, EE
            return CH | EE;
        case ExtensionType::status_request:
        case ExtensionType::signed_certificate_timestamp:
            return CH | CR | CT;
        case ExtensionType::signature_algorithms:
        case ExtensionType::certificate_authorities:
        case ExtensionType::signature_algorithms_cert:
            return CH | CR;
        case ExtensionType::padding:
        case ExtensionType::psk_key_exchange_modes:
        case ExtensionType::post_handshake_auth:
        case ExtensionType::renegotiation_info:
            return CH;
        case ExtensionType::key_share:
        case ExtensionType::supported_versions:
            return CH | SH | HRR;
        case ExtensionType::pre_shared_key:
            return CH | SH;
        case ExtensionType::early_data:
            return CH | EE | NST;
        case ExtensionType::cookie:
            return CH | HRR;
        case ExtensionType::oid_filters:
            return CR;
    }
    return 0;
}

}  // namespace

ExtensionPermission extension_permission(ExtensionContext ctx, std::uint16_t type) {
    const std::uint8_t allowed = allowed_contexts(type);
    if (allowed == 0) return ExtensionPermission::unrecognised;
    return (allowed & bit(ctx)) != 0 ? ExtensionPermission::allowed
                                     : ExtensionPermission::not_allowed;
}

TlsResult<void> check_extensions(ExtensionContext ctx, const ExtensionBlock& block) {
    for (const Extension& e : block) {
        switch (extension_permission(ctx, e.type)) {
            case ExtensionPermission::allowed:
                break;
            case ExtensionPermission::not_allowed:
                return fail(Alert::illegal_parameter);
            case ExtensionPermission::unrecognised:
                switch (ctx) {
                    case ExtensionContext::client_hello:
                    case ExtensionContext::certificate_request:
                    case ExtensionContext::new_session_ticket:
                        break;
                    case ExtensionContext::server_hello:
                    case ExtensionContext::hello_retry_request:
                    case ExtensionContext::encrypted_extensions:
                    case ExtensionContext::certificate:
                        return fail(Alert::unsupported_extension);
                }
                break;
        }
    }
    return {};
}

// --- typed bodies ------------------------------------------------------------

TlsResult<void> parse_empty(ByteSpan body) {
    if (!body.empty()) return decode_error();
    return {};
}

bool is_valid_sni_host_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    std::size_t label_len = 0;
    bool label_all_digits = true;
    for (char c : name) {
        if (c == '.') {
            if (label_len == 0) return false;  // leading dot or ".."
            label_len = 0;
            label_all_digits = true;
            continue;
        }
        const bool digit = c >= '0' && c <= '9';
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!digit && !alpha && c != '-' && c != '_') return false;
        label_all_digits = label_all_digits && digit;
        if (++label_len > 63) return false;
    }
    // label_len == 0: trailing dot (RFC 6066 §3 "without a trailing dot").
    // A numeric last label: an IPv4 literal (RFC 6066 §3 "Literal IPv4 and
    // IPv6 addresses are not permitted"; IPv6 fails the character check).
    return label_len != 0 && !label_all_digits;
}

TlsResult<ServerNameExt> ServerNameExt::parse(ByteSpan body) {
    Reader r(body);
    Reader list;
    if (!r.u16_prefixed(list) || !r.empty() || list.empty()) return decode_error();
    std::uint8_t name_type = 0;
    Reader host;
    // HostName is opaque<1..2^16-1>: an empty name is a syntax error.
    if (!list.u8(name_type) || name_type != 0 /* host_name */ || !list.u16_prefixed(host) ||
        host.empty() || !list.empty())
        return decode_error();
    const std::string_view name = as_chars(host.rest());
    if (!is_valid_sni_host_name(name)) return fail(Alert::unrecognized_name);
    return ServerNameExt{name};
}

void ServerNameExt::serialize(Writer& w) const {
    const auto list = w.open_u16_prefix();
    w.u8(0);  // host_name
    const auto name = w.open_u16_prefix();
    w.bytes(as_bytes(host_name));
    w.close(name);
    w.close(list);
}

TlsResult<U16ListExt> U16ListExt::parse(ByteSpan body) {
    Reader r(body);
    U16ListExt out;
    if (!read_u16_vector(r, 2, out.values) || !r.empty()) return decode_error();
    return out;
}

void U16ListExt::serialize(Writer& w) const {
    const auto prefix = w.open_u16_prefix();
    w.bytes(values.raw());
    w.close(prefix);
}

TlsResult<SupportedVersionsClientExt> SupportedVersionsClientExt::parse(ByteSpan body) {
    Reader r(body);
    SupportedVersionsClientExt out;
    if (!read_u16_vector(r, 1, out.versions) || !r.empty()) return decode_error();
    return out;
}

void SupportedVersionsClientExt::serialize(Writer& w) const {
    const auto prefix = w.open_u8_prefix();
    w.bytes(versions.raw());
    w.close(prefix);
}

TlsResult<SupportedVersionsServerExt> SupportedVersionsServerExt::parse(ByteSpan body) {
    Reader r(body);
    SupportedVersionsServerExt out;
    if (!r.u16(out.selected_version) || !r.empty()) return decode_error();
    return out;
}

void SupportedVersionsServerExt::serialize(Writer& w) const {
    w.u16(selected_version);
}

void KeyShareEntry::serialize(Writer& w) const {
    w.u16(group);
    const auto prefix = w.open_u16_prefix();
    w.bytes(key_exchange);
    w.close(prefix);
}

namespace {
bool read_key_share_entry(Reader& r, KeyShareEntry& out) {
    Reader key;
    if (!r.u16(out.group) || !r.u16_prefixed(key) || key.empty()) return false;
    out.key_exchange = key.rest();
    return true;
}
}  // namespace

bool KeyShareClientExt::Codec::next(Reader& r, Entry& out) {
    return read_key_share_entry(r, out);
}

TlsResult<KeyShareClientExt> KeyShareClientExt::parse(ByteSpan body) {
    Reader r(body);
    Reader list;
    if (!r.u16_prefixed(list) || !r.empty()) return decode_error();
    const ByteSpan raw = list.rest();
    // Entries are at least 5 bytes, so a list may hold ~13000 of them: a
    // bitmap of the 2^16 groups keeps the duplicate check linear.
    std::array<std::uint64_t, 1024> seen{};
    Reader walk(raw);
    while (!walk.empty()) {
        KeyShareEntry e;
        if (!read_key_share_entry(walk, e)) return decode_error();
        std::uint64_t& word = seen[e.group >> 6];
        const std::uint64_t mask = std::uint64_t{1} << (e.group & 63);
        if ((word & mask) != 0) return fail(Alert::illegal_parameter);
        word |= mask;
    }
    KeyShareClientExt out;
    out.shares = ListView<Codec>(raw);
    return out;
}

void KeyShareClientExt::serialize(Writer& w) const {
    const auto prefix = w.open_u16_prefix();
    w.bytes(shares.raw());
    w.close(prefix);
}

std::optional<KeyShareEntry> KeyShareClientExt::find(std::uint16_t group) const {
    for (const KeyShareEntry& e : shares)
        if (e.group == group) return e;
    return std::nullopt;
}

TlsResult<KeyShareServerExt> KeyShareServerExt::parse(ByteSpan body) {
    Reader r(body);
    KeyShareServerExt out;
    if (!read_key_share_entry(r, out.server_share) || !r.empty()) return decode_error();
    return out;
}

void KeyShareServerExt::serialize(Writer& w) const {
    server_share.serialize(w);
}

TlsResult<KeyShareHrrExt> KeyShareHrrExt::parse(ByteSpan body) {
    Reader r(body);
    KeyShareHrrExt out;
    if (!r.u16(out.selected_group) || !r.empty()) return decode_error();
    return out;
}

void KeyShareHrrExt::serialize(Writer& w) const {
    w.u16(selected_group);
}

TlsResult<CookieExt> CookieExt::parse(ByteSpan body) {
    Reader r(body);
    Reader cookie;
    if (!r.u16_prefixed(cookie) || !r.empty() || cookie.empty()) return decode_error();
    return CookieExt{cookie.rest()};
}

void CookieExt::serialize(Writer& w) const {
    const auto prefix = w.open_u16_prefix();
    w.bytes(cookie);
    w.close(prefix);
}

bool AlpnExt::Codec::next(Reader& r, Entry& out) {
    Reader name;
    if (!r.u8_prefixed(name) || name.empty()) return false;
    out = name.rest();
    return true;
}

TlsResult<AlpnExt> AlpnExt::parse(ByteSpan body) {
    Reader r(body);
    Reader list;
    if (!r.u16_prefixed(list) || !r.empty() || list.empty()) return decode_error();
    const ByteSpan raw = list.rest();
    ByteSpan name;
    while (!list.empty())
        if (!Codec::next(list, name)) return decode_error();
    AlpnExt out;
    out.protocols = ListView<Codec>(raw);
    return out;
}

TlsResult<ByteSpan> AlpnExt::parse_selected(ByteSpan body) {
    Reader r(body);
    Reader list;
    ByteSpan name;
    if (!r.u16_prefixed(list) || !r.empty() || !Codec::next(list, name) || !list.empty())
        return decode_error();
    return name;
}

void AlpnExt::serialize(Writer& w) const {
    const auto prefix = w.open_u16_prefix();
    w.bytes(protocols.raw());
    w.close(prefix);
}

void AlpnExt::write_selected(Writer& w, ByteSpan protocol) {
    const auto list = w.open_u16_prefix();
    const auto name = w.open_u8_prefix();
    w.bytes(protocol);
    w.close(name);
    w.close(list);
}

TlsResult<RecordSizeLimitExt> RecordSizeLimitExt::parse(ByteSpan body) {
    Reader r(body);
    RecordSizeLimitExt out;
    if (!r.u16(out.limit) || !r.empty()) return decode_error();
    if (out.limit < kMin || out.limit > kMax) return fail(Alert::illegal_parameter);
    return out;
}

void RecordSizeLimitExt::serialize(Writer& w) const {
    w.u16(limit);
}

TlsResult<PskKeyExchangeModesExt> PskKeyExchangeModesExt::parse(ByteSpan body) {
    Reader r(body);
    Reader modes;
    if (!r.u8_prefixed(modes) || !r.empty() || modes.empty()) return decode_error();
    return PskKeyExchangeModesExt{modes.rest()};
}

void PskKeyExchangeModesExt::serialize(Writer& w) const {
    const auto prefix = w.open_u8_prefix();
    w.bytes(modes);
    w.close(prefix);
}

bool PskKeyExchangeModesExt::contains(PskKeyExchangeMode m) const {
    for (std::uint8_t v : modes)
        if (v == static_cast<std::uint8_t>(m)) return true;
    return false;
}

bool OfferedPsksExt::IdentityCodec::next(Reader& r, Entry& out) {
    Reader id;
    if (!r.u16_prefixed(id) || id.empty() || !r.u32(out.obfuscated_ticket_age)) return false;
    out.identity = id.rest();
    return true;
}

bool OfferedPsksExt::BinderCodec::next(Reader& r, Entry& out) {
    Reader binder;
    if (!r.u8_prefixed(binder) || binder.remaining() < 32) return false;
    out = binder.rest();
    return true;
}

TlsResult<OfferedPsksExt> OfferedPsksExt::parse(ByteSpan body) {
    Reader r(body);
    Reader identities;
    Reader binders;
    if (!r.u16_prefixed(identities) || !r.u16_prefixed(binders) || !r.empty())
        return decode_error();
    OfferedPsksExt out;
    out.identities = ListView<IdentityCodec>(identities.rest());
    out.binders = ListView<BinderCodec>(binders.rest());
    // identities<7..2^16-1>, binders<33..2^16-1>: at least one of each.
    if (identities.empty() || binders.empty()) return decode_error();
    std::size_t num_identities = 0;
    std::size_t num_binders = 0;
    PskIdentity id;
    while (!identities.empty()) {
        if (!IdentityCodec::next(identities, id)) return decode_error();
        ++num_identities;
    }
    ByteSpan binder;
    while (!binders.empty()) {
        if (!BinderCodec::next(binders, binder)) return decode_error();
        ++num_binders;
    }
    if (num_identities != num_binders) return fail(Alert::illegal_parameter);
    return out;
}

void OfferedPsksExt::serialize(Writer& w) const {
    auto prefix = w.open_u16_prefix();
    w.bytes(identities.raw());
    w.close(prefix);
    prefix = w.open_u16_prefix();
    w.bytes(binders.raw());
    w.close(prefix);
}

TlsResult<PreSharedKeyServerExt> PreSharedKeyServerExt::parse(ByteSpan body) {
    Reader r(body);
    PreSharedKeyServerExt out;
    if (!r.u16(out.selected_identity) || !r.empty()) return decode_error();
    return out;
}

void PreSharedKeyServerExt::serialize(Writer& w) const {
    w.u16(selected_identity);
}

TlsResult<EarlyDataTicketExt> EarlyDataTicketExt::parse(ByteSpan body) {
    Reader r(body);
    EarlyDataTicketExt out;
    if (!r.u32(out.max_early_data_size) || !r.empty()) return decode_error();
    return out;
}

void EarlyDataTicketExt::serialize(Writer& w) const {
    w.u32(max_early_data_size);
}

TlsResult<void> parse_renegotiation_info(ByteSpan body) {
    Reader r(body);
    Reader conn;
    if (!r.u8_prefixed(conn) || !r.empty()) return decode_error();
    if (!conn.empty()) return fail(Alert::handshake_failure);
    return {};
}

void write_renegotiation_info(Writer& w) {
    w.u8(0);
}

}  // namespace l45::tls::msg
