// TLS 1.3 extension codecs: pure functions, no I/O, no crypto, no allocation.
//
// Read first: RFC 8446 §4.2 (extensions and the table of which message may
// carry which), RFC 6066 §3 (server_name), RFC 7301 §3.1 (ALPN), RFC 8449 §4
// (record_size_limit), RFC 5746 §3.6 (renegotiation_info).
//
// Every parsed value is a *view* into the bytes it was parsed from: spans and
// list views stay valid only as long as that buffer. Parsers validate the
// whole structure once (BoringSSL CBS style: length-prefixed sub-readers, then
// "trailing bytes -> decode_error"), so the list views below iterate
// validated bytes and cannot fail.
//
// Each extension's typed form has `static TlsResult<X> parse(ByteSpan body)`
// (body = extension_data, without the type and length) and
// `void serialize(Writer&) const` writing that body; the Writer's sticky ok()
// flag reports overflow. write_extension() adds the type/length header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/types.h"

namespace l45::tls::msg {

// ---------------------------------------------------------------------------
// Generic validated-list view
// ---------------------------------------------------------------------------

// Iterates a vector whose encoding was validated by a parser. Codec provides
// `using Entry = ...;` and `static bool next(Reader&, Entry&)`.
template <class Codec>
class ListView {
  public:
    using value_type = typename Codec::Entry;

    constexpr ListView() = default;
    // `validated` must already have passed the owning parser's checks.
    constexpr explicit ListView(ByteSpan validated) : raw_(validated) {}

    class iterator {
      public:
        using iterator_category = std::input_iterator_tag;
        using value_type = typename Codec::Entry;
        using difference_type = std::ptrdiff_t;
        using pointer = const value_type*;
        // By value: entries are a few spans, and `*list.begin()` must not
        // return a reference into a temporary iterator.
        using reference = value_type;

        iterator() = default;
        explicit iterator(ByteSpan rest) : rest_(rest) { advance(); }
        value_type operator*() const { return cur_; }
        pointer operator->() const { return &cur_; }
        iterator& operator++() {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        bool operator==(const iterator& o) const {
            return valid_ == o.valid_ && (!valid_ || pos_ == o.pos_);
        }

      private:
        void advance() {
            pos_ = rest_.rest().data();
            valid_ = !rest_.empty() && Codec::next(rest_, cur_);
        }
        Reader rest_{};
        value_type cur_{};
        const std::uint8_t* pos_ = nullptr;
        bool valid_ = false;
    };

    [[nodiscard]] iterator begin() const { return iterator(raw_); }
    [[nodiscard]] iterator end() const { return iterator(); }
    [[nodiscard]] bool empty() const { return raw_.empty(); }
    [[nodiscard]] std::size_t size() const {
        std::size_t n = 0;
        for (auto it = begin(); it != end(); ++it)
            ++n;
        return n;
    }
    // The vector's contents (without its length prefix).
    [[nodiscard]] constexpr ByteSpan raw() const { return raw_; }

  private:
    ByteSpan raw_{};
};

// A vector of big-endian u16 code points (cipher suites, groups, schemes,
// versions), viewed in place.
class U16List {
  public:
    constexpr U16List() = default;
    // `validated` has even length.
    constexpr explicit U16List(ByteSpan validated) : raw_(validated) {}

    [[nodiscard]] constexpr std::size_t size() const { return raw_.size() / 2; }
    [[nodiscard]] constexpr bool empty() const { return raw_.empty(); }
    [[nodiscard]] constexpr std::uint16_t operator[](std::size_t i) const {
        return load_be16(raw_.data() + 2 * i);
    }
    [[nodiscard]] constexpr bool contains(std::uint16_t v) const {
        for (std::size_t i = 0; i < size(); ++i)
            if ((*this)[i] == v) return true;
        return false;
    }
    [[nodiscard]] constexpr ByteSpan raw() const { return raw_; }

  private:
    ByteSpan raw_{};
};

// Writes a vector of u16 with a `prefix_len`-byte (1 or 2) length prefix.
void write_u16_vector(Writer& w, std::span<const std::uint16_t> values, int prefix_len = 2);

// ---------------------------------------------------------------------------
// Extension blocks
// ---------------------------------------------------------------------------

struct Extension {
    std::uint16_t type = 0;
    ByteSpan body{};  // extension_data
};

// Which message an extension block came from (RFC 8446 §4.2's table columns).
enum class ExtensionContext : std::uint8_t {
    client_hello,          // CH
    server_hello,          // SH
    hello_retry_request,   // HRR
    encrypted_extensions,  // EE
    certificate,           // CT (per CertificateEntry)
    certificate_request,   // CR
    new_session_ticket,    // NST
};

// A validated `Extension extensions<0..2^16-1>` block: well-formed, at most
// kMaxExtensions entries, no duplicated type. Unknown types are kept as raw
// (type, bytes) for the handshake layer to judge.
class ExtensionBlock {
  public:
    // Our bound on entries per block. Browsers send ~20 (with GREASE); 64
    // leaves room and keeps the duplicate check O(n^2) on a small n. More
    // entries -> decode_error.
    static constexpr std::size_t kMaxExtensions = 64;

    struct Codec {
        using Entry = Extension;
        static bool next(Reader& r, Entry& out);
    };
    using List = ListView<Codec>;

    constexpr ExtensionBlock() = default;

    // `contents` is the block *without* its u16 length prefix.
    //  - malformed, trailing bytes, > kMaxExtensions entries -> decode_error
    //  - two extensions of the same type -> illegal_parameter. RFC 8446 §4.2
    //    does not name the alert; OpenSSL (tls_collect_extensions) sends
    //    illegal_parameter for every message, BoringSSL sends
    //    illegal_parameter for ServerHello/EE but decode_error for
    //    ClientHello. We send illegal_parameter everywhere, consistently.
    [[nodiscard]] static TlsResult<ExtensionBlock> parse(ByteSpan contents);
    // Reads the u16 length prefix from `r`, then parse().
    [[nodiscard]] static TlsResult<ExtensionBlock> read_prefixed(Reader& r);

    // Writes the u16 length prefix and the contents.
    void serialize(Writer& w) const;

    [[nodiscard]] List list() const { return List(raw_); }
    [[nodiscard]] List::iterator begin() const { return list().begin(); }
    [[nodiscard]] List::iterator end() const { return list().end(); }
    [[nodiscard]] std::size_t size() const { return num_; }
    [[nodiscard]] bool empty() const { return num_ == 0; }
    [[nodiscard]] ByteSpan raw() const { return raw_; }

    [[nodiscard]] std::optional<ByteSpan> find(std::uint16_t type) const;
    [[nodiscard]] std::optional<ByteSpan> find(ExtensionType type) const {
        return find(static_cast<std::uint16_t>(type));
    }
    [[nodiscard]] bool has(ExtensionType type) const { return find(type).has_value(); }
    // The type of the last extension (pre_shared_key must be last in CH).
    [[nodiscard]] std::optional<std::uint16_t> last_type() const;

  private:
    ByteSpan raw_{};
    std::size_t num_ = 0;
};

// Writes one extension: type, u16 length, then whatever body(w) writes.
template <class F>
void write_extension(Writer& w, std::uint16_t type, F&& body) {
    w.u16(type);
    const auto prefix = w.open_u16_prefix();
    body(w);
    w.close(prefix);
}
template <class F>
void write_extension(Writer& w, ExtensionType type, F&& body) {
    write_extension(w, static_cast<std::uint16_t>(type), static_cast<F&&>(body));
}

// --- RFC 8446 §4.2 table ---------------------------------------------------

enum class ExtensionPermission : std::uint8_t {
    allowed,       // recognised and listed for this message
    not_allowed,   // recognised but not listed -> illegal_parameter
    unrecognised,  // a type we do not implement
};

// Whether `type` may appear in a message of `ctx` (RFC 8446 §4.2's table, plus
// record_size_limit: CH, EE per RFC 8449 and renegotiation_info: CH only,
// since TLS 1.3 has no renegotiation, RFC 8446 §4.1.2 / IANA "TLS 1.3: -").
[[nodiscard]] ExtensionPermission extension_permission(ExtensionContext ctx, std::uint16_t type);

// Applies the table to a whole block (RFC 8446 §4.2):
//  - a recognised extension not allowed in ctx -> illegal_parameter;
//  - an unrecognised one: CH, CR and NST ignore it (§4.1.2, §4.3.2, §4.6.1),
//    SH, HRR, EE and CT -> unsupported_extension (a server only answers
//    what the client offered, and we offer nothing we do not recognise).
// The handshake layer still checks that each response extension was
// solicited (it knows what it sent).
[[nodiscard]] TlsResult<void> check_extensions(ExtensionContext ctx, const ExtensionBlock& block);

// ---------------------------------------------------------------------------
// Typed extension bodies
// ---------------------------------------------------------------------------

// Extensions whose body must be empty in a given context: server_name in
// SH/EE (RFC 6066 §3), early_data in CH/EE (RFC 8446 §4.2.10),
// post_handshake_auth (§4.2.6). Non-empty -> decode_error.
[[nodiscard]] TlsResult<void> parse_empty(ByteSpan body);

// server_name in ClientHello (RFC 6066 §3). We accept exactly one entry of
// type host_name, as OpenSSL and BoringSSL do (anything else ->
// decode_error, as is an empty name). The name must be a DNS host name as RFC 6066 requires: 1..255
// bytes of dot-separated labels of 1..63 [A-Za-z0-9_-], no trailing dot, not
// an IPv4 literal -> else unrecognized_name (what OpenSSL/BoringSSL send for
// an over-long name or an embedded NUL).
struct ServerNameExt {
    std::string_view host_name;

    [[nodiscard]] static TlsResult<ServerNameExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};
// The host-name checks of ServerNameExt, also for a client's own config.
[[nodiscard]] bool is_valid_sni_host_name(std::string_view name);

// supported_groups (§4.2.7) NamedGroup named_group_list<2..2^16-1>;
// signature_algorithms / _cert (§4.2.3) SignatureScheme <2..2^16-2>.
// Empty or odd length -> decode_error.
struct U16ListExt {
    U16List values;

    [[nodiscard]] static TlsResult<U16ListExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};
using SupportedGroupsExt = U16ListExt;
using SignatureAlgorithmsExt = U16ListExt;

// supported_versions (§4.2.1). ClientHello: ProtocolVersion versions<2..254>.
struct SupportedVersionsClientExt {
    U16List versions;

    [[nodiscard]] static TlsResult<SupportedVersionsClientExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};
// ServerHello / HelloRetryRequest: a single selected_version.
struct SupportedVersionsServerExt {
    std::uint16_t selected_version = kTls13;

    [[nodiscard]] static TlsResult<SupportedVersionsServerExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};

// key_share (§4.2.8).
struct KeyShareEntry {
    std::uint16_t group = 0;
    ByteSpan key_exchange{};  // <1..2^16-1>

    void serialize(Writer& w) const;
};
// ClientHello: KeyShareEntry client_shares<0..2^16-1>. Each key_exchange
// must be non-empty. Two shares for one group -> illegal_parameter (§4.2.8
// "Clients MUST NOT offer multiple KeyShareEntry values for the same group ...
// Servers MAY check for violations of these rules and abort the handshake
// with an "illegal_parameter" alert").
struct KeyShareClientExt {
    struct Codec {
        using Entry = KeyShareEntry;
        static bool next(Reader& r, Entry& out);
    };
    ListView<Codec> shares;

    [[nodiscard]] static TlsResult<KeyShareClientExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
    [[nodiscard]] std::optional<KeyShareEntry> find(std::uint16_t group) const;
};
// ServerHello: one KeyShareEntry server_share.
struct KeyShareServerExt {
    KeyShareEntry server_share;

    [[nodiscard]] static TlsResult<KeyShareServerExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};
// HelloRetryRequest: NamedGroup selected_group.
struct KeyShareHrrExt {
    std::uint16_t selected_group = 0;

    [[nodiscard]] static TlsResult<KeyShareHrrExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};

// cookie (§4.2.2): opaque cookie<1..2^16-1>.
struct CookieExt {
    ByteSpan cookie{};

    [[nodiscard]] static TlsResult<CookieExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};

// application_layer_protocol_negotiation (RFC 7301 §3.1):
// ProtocolName protocol_name_list<2..2^16-1>, ProtocolName opaque<1..2^8-1>.
// An empty list or an empty name -> decode_error. In EE the server's list
// must hold exactly one name (RFC 7301 §3.1): parse_selected().
struct AlpnExt {
    struct Codec {
        using Entry = ByteSpan;
        static bool next(Reader& r, Entry& out);
    };
    ListView<Codec> protocols;

    [[nodiscard]] static TlsResult<AlpnExt> parse(ByteSpan body);
    // EE form: exactly one name, else decode_error.
    [[nodiscard]] static TlsResult<ByteSpan> parse_selected(ByteSpan body);
    void serialize(Writer& w) const;
    static void write_selected(Writer& w, ByteSpan protocol);
};

// record_size_limit (RFC 8449 §4): uint16 RecordSizeLimit. Below 64 ->
// illegal_parameter (§4 "MUST treat receipt of a smaller value as a fatal
// error"); above 2^14+1 -> illegal_parameter too: the TLS 1.3 maximum
// (§4 "a TLS 1.3 endpoint ... MUST NOT send a value higher than 2^14+1"
// unless a larger limit is negotiated, which we never do).
struct RecordSizeLimitExt {
    static constexpr std::uint16_t kMin = 64;
    static constexpr std::uint16_t kMax = (1 << 14) + 1;
    std::uint16_t limit = kMax;

    [[nodiscard]] static TlsResult<RecordSizeLimitExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};

// psk_key_exchange_modes (§4.2.9): PskKeyExchangeMode ke_modes<1..255>.
enum class PskKeyExchangeMode : std::uint8_t { psk_ke = 0, psk_dhe_ke = 1 };
struct PskKeyExchangeModesExt {
    ByteSpan modes{};

    [[nodiscard]] static TlsResult<PskKeyExchangeModesExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
    [[nodiscard]] bool contains(PskKeyExchangeMode m) const;
};

// pre_shared_key (§4.2.11).
struct PskIdentity {
    ByteSpan identity{};  // <1..2^16-1>
    std::uint32_t obfuscated_ticket_age = 0;
};
// ClientHello: OfferedPsks { identities<7..2^16-1>; binders<33..2^16-1> },
// PskBinderEntry opaque<32..255>. Different numbers of identities and
// binders -> illegal_parameter (what BoringSSL and OpenSSL send); vector
// bounds -> decode_error.
struct OfferedPsksExt {
    struct IdentityCodec {
        using Entry = PskIdentity;
        static bool next(Reader& r, Entry& out);
    };
    struct BinderCodec {
        using Entry = ByteSpan;
        static bool next(Reader& r, Entry& out);
    };
    ListView<IdentityCodec> identities;
    ListView<BinderCodec> binders;

    [[nodiscard]] static TlsResult<OfferedPsksExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
    // Bytes the binders occupy at the very end of the ClientHello, including
    // their u16 length prefix: the §4.2.11.2 "truncated ClientHello" is the
    // full message (with its header) minus this many trailing bytes.
    [[nodiscard]] std::size_t binders_len() const { return 2 + binders.raw().size(); }
};
// ServerHello: uint16 selected_identity.
struct PreSharedKeyServerExt {
    std::uint16_t selected_identity = 0;

    [[nodiscard]] static TlsResult<PreSharedKeyServerExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};

// early_data in NewSessionTicket (§4.2.10): uint32 max_early_data_size.
// (In CH and EE the body is empty: parse_empty.)
struct EarlyDataTicketExt {
    std::uint32_t max_early_data_size = 0;

    [[nodiscard]] static TlsResult<EarlyDataTicketExt> parse(ByteSpan body);
    void serialize(Writer& w) const;
};

// padding (RFC 7685): any bytes; senders use zeros. Not checked on receipt
// (BoringSSL and OpenSSL do not either).
struct PaddingExt {
    std::size_t len = 0;

    static void write(Writer& w, std::size_t len) { w.zeros(len); }
};

// renegotiation_info (RFC 5746 §3.2): opaque renegotiated_connection<0..255>.
// Only the initial-handshake form is valid (TLS 1.3 never renegotiates):
// malformed -> decode_error, non-empty renegotiated_connection ->
// handshake_failure (RFC 5746 §3.6).
[[nodiscard]] TlsResult<void> parse_renegotiation_info(ByteSpan body);
void write_renegotiation_info(Writer& w);

}  // namespace l45::tls::msg
