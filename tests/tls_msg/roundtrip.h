// Parse -> serialise helpers shared by the tls_msg tests and fuzz targets.
//
// Every parser keeps the wire bytes it accepted as views, and every TLS
// vector encoding is canonical (lengths are determined by contents), so an
// accepted input must re-serialise to exactly the same bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "stack/base/bytes.h"
#include "tls/msg/extensions.h"
#include "tls/msg/messages.h"

namespace l45::tls::msg::test {

inline constexpr std::size_t kSha256Len = 32;

// Re-serialises one typed extension body recognised in ctx. Returns
// parse error, or whether the re-serialised bytes equal `e.body`.
// Types without a typed codec (and padding) report true.
inline TlsResult<bool> extension_roundtrip(ExtensionContext ctx, const Extension& e) {
    std::array<std::uint8_t, 70000> out;
    Writer w(out);
    bool typed = true;
    auto run = [&](auto parsed) -> TlsResult<void> {
        if (!parsed) return unexpected(parsed.error());
        parsed->serialize(w);
        return {};
    };
    auto check_void = [&](TlsResult<void> r) -> TlsResult<void> { return r; };
    TlsResult<void> st;
    const bool ch = ctx == ExtensionContext::client_hello;
    switch (static_cast<ExtensionType>(e.type)) {
        case ExtensionType::server_name:
            if (ch) {
                st = run(ServerNameExt::parse(e.body));
            } else {
                st = check_void(parse_empty(e.body));
            }
            break;
        case ExtensionType::supported_groups:
        case ExtensionType::signature_algorithms:
        case ExtensionType::signature_algorithms_cert:
            st = run(U16ListExt::parse(e.body));
            break;
        case ExtensionType::supported_versions:
            if (ch) {
                st = run(SupportedVersionsClientExt::parse(e.body));
            } else {
                st = run(SupportedVersionsServerExt::parse(e.body));
            }
            break;
        case ExtensionType::key_share:
            if (ch) {
                st = run(KeyShareClientExt::parse(e.body));
            } else if (ctx == ExtensionContext::hello_retry_request) {
                st = run(KeyShareHrrExt::parse(e.body));
            } else {
                st = run(KeyShareServerExt::parse(e.body));
            }
            break;
        case ExtensionType::cookie:
            st = run(CookieExt::parse(e.body));
            break;
        case ExtensionType::application_layer_protocol_negotiation:
            if (ch) {
                st = run(AlpnExt::parse(e.body));
            } else {
                auto sel = AlpnExt::parse_selected(e.body);
                if (!sel) return unexpected(sel.error());
                AlpnExt::write_selected(w, *sel);
            }
            break;
        case ExtensionType::record_size_limit:
            st = run(RecordSizeLimitExt::parse(e.body));
            break;
        case ExtensionType::psk_key_exchange_modes:
            st = run(PskKeyExchangeModesExt::parse(e.body));
            break;
        case ExtensionType::pre_shared_key:
            if (ch) {
                st = run(OfferedPsksExt::parse(e.body));
            } else {
                st = run(PreSharedKeyServerExt::parse(e.body));
            }
            break;
        case ExtensionType::early_data:
            if (ctx == ExtensionContext::new_session_ticket) {
                st = run(EarlyDataTicketExt::parse(e.body));
            } else {
                st = check_void(parse_empty(e.body));
            }
            break;
        case ExtensionType::renegotiation_info:
            st = check_void(parse_renegotiation_info(e.body));
            if (st) write_renegotiation_info(w);
            break;
        default:
            typed = false;
            break;
    }
    if (!st) return unexpected(st.error());
    if (!typed) return true;
    if (!w.ok()) return false;
    const ByteSpan got = w.result();
    return got.size() == e.body.size() &&
           (got.empty() || std::memcmp(got.data(), e.body.data(), got.size()) == 0);
}

// Applies extension_roundtrip to every extension of a block.
inline TlsResult<bool> block_roundtrip(ExtensionContext ctx, const ExtensionBlock& block) {
    for (const Extension& e : block) {
        auto r = extension_roundtrip(ctx, e);
        if (!r) return r;
        if (!*r) return false;
    }
    return true;
}

// Parses `body` as a message of `type` (Finished with hash_len), re-writes
// it with its header into `out`; also round-trips every typed extension.
// Returns the bytes written (0 when an extension failed to round-trip), or
// the parse error.
inline TlsResult<std::size_t> reserialize(HandshakeType type, ByteSpan body, MutableByteSpan out,
                                          std::size_t hash_len = kSha256Len) {
    Writer w(out);
    bool exts_ok = true;
    auto finish = [&](const auto& parsed) -> TlsResult<std::size_t> {
        if (!parsed) return unexpected(parsed.error());
        if (!write_message(w, *parsed)) return fail(Alert::internal_error, ErrorOrigin::internal);
        if (!exts_ok) return std::size_t{0};
        return w.written();
    };
    auto blk = [&](ExtensionContext ctx, const ExtensionBlock& b) -> TlsResult<void> {
        auto r = block_roundtrip(ctx, b);
        if (!r) return unexpected(r.error());
        exts_ok = exts_ok && *r;
        return {};
    };
    switch (type) {
        case HandshakeType::client_hello: {
            auto m = ClientHello::parse(body);
            if (m) {
                if (auto r = blk(ExtensionContext::client_hello, m->extensions); !r)
                    return unexpected(r.error());
            }
            return finish(m);
        }
        case HandshakeType::server_hello: {
            auto m = ServerHello::parse(body);
            if (m) {
                if (auto r = blk(m->extension_context(), m->extensions); !r)
                    return unexpected(r.error());
            }
            return finish(m);
        }
        case HandshakeType::encrypted_extensions: {
            auto m = EncryptedExtensions::parse(body);
            if (m) {
                if (auto r = blk(ExtensionContext::encrypted_extensions, m->extensions); !r)
                    return unexpected(r.error());
            }
            return finish(m);
        }
        case HandshakeType::certificate_request: {
            auto m = CertificateRequest::parse(body);
            if (m) {
                if (auto r = blk(ExtensionContext::certificate_request, m->extensions); !r)
                    return unexpected(r.error());
            }
            return finish(m);
        }
        case HandshakeType::certificate: {
            auto m = Certificate::parse(body);
            if (m) {
                for (const CertificateEntry& ce : m->certificate_list)
                    if (auto r = blk(ExtensionContext::certificate, ce.extensions); !r)
                        return unexpected(r.error());
            }
            return finish(m);
        }
        case HandshakeType::certificate_verify:
            return finish(CertificateVerify::parse(body));
        case HandshakeType::finished:
            return finish(Finished::parse(body, hash_len));
        case HandshakeType::end_of_early_data:
            return finish(EndOfEarlyData::parse(body));
        case HandshakeType::new_session_ticket: {
            auto m = NewSessionTicket::parse(body);
            if (m) {
                if (auto r = blk(ExtensionContext::new_session_ticket, m->extensions); !r)
                    return unexpected(r.error());
            }
            return finish(m);
        }
        case HandshakeType::key_update:
            return finish(KeyUpdate::parse(body));
        case HandshakeType::message_hash:
            break;
    }
    return fail(Alert::unexpected_message);
}

}  // namespace l45::tls::msg::test
