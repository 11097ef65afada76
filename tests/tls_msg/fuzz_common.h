// Shared body of the tls_msg libFuzzer targets: parse -> serialise -> parse
// -> serialise, asserting that an accepted input re-serialises to itself and
// that the second parse agrees with the first.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tests/tls_msg/roundtrip.h"

namespace l45::tls::msg::fuzz {

inline void check(bool ok) {
    if (!ok) std::abort();
}

// Large enough for any body a u24 length can carry in a fuzz input
// (libFuzzer's default -max_len is far below this).
inline constexpr std::size_t kOutLen = (1 << 20) + 8;

inline void roundtrip_message(HandshakeType type, ByteSpan body, std::size_t hash_len = 32) {
    static std::array<std::uint8_t, kOutLen> out1;
    static std::array<std::uint8_t, kOutLen> out2;
    if (body.size() + 4 > kOutLen) return;
    auto r1 = test::reserialize(type, body, out1, hash_len);
    if (!r1) {
        // Errors are alerts we send about the peer's input, never internal.
        check(r1.error().origin == ErrorOrigin::local);
        check(r1.error().alert != Alert::internal_error);
        return;
    }
    check(*r1 != 0);  // every typed extension round-tripped
    check(*r1 == body.size() + 4);
    check(out1[0] == static_cast<std::uint8_t>(type));
    check(body.empty() || std::memcmp(out1.data() + 4, body.data(), body.size()) == 0);
    // The serialised form, with its header, splits and parses again to the
    // same bytes.
    auto split = split_message(ByteSpan(out1).first(*r1));
    check(split.has_value());
    check(split->type == type);
    auto r2 = test::reserialize(type, split->body, out2, hash_len);
    check(r2.has_value() && *r2 == *r1);
    check(std::memcmp(out1.data(), out2.data(), *r1) == 0);
}

// One typed extension body, for ctx/type chosen by the selector byte.
inline void roundtrip_extension(std::uint8_t selector, ByteSpan body) {
    struct Sel {
        ExtensionContext ctx;
        ExtensionType type;
    };
    static constexpr Sel kSel[] = {
        {ExtensionContext::client_hello, ExtensionType::server_name},
        {ExtensionContext::encrypted_extensions, ExtensionType::server_name},
        {ExtensionContext::client_hello, ExtensionType::supported_groups},
        {ExtensionContext::client_hello, ExtensionType::signature_algorithms},
        {ExtensionContext::certificate_request, ExtensionType::signature_algorithms_cert},
        {ExtensionContext::client_hello, ExtensionType::supported_versions},
        {ExtensionContext::server_hello, ExtensionType::supported_versions},
        {ExtensionContext::client_hello, ExtensionType::key_share},
        {ExtensionContext::server_hello, ExtensionType::key_share},
        {ExtensionContext::hello_retry_request, ExtensionType::key_share},
        {ExtensionContext::hello_retry_request, ExtensionType::cookie},
        {ExtensionContext::client_hello, ExtensionType::application_layer_protocol_negotiation},
        {ExtensionContext::encrypted_extensions,
         ExtensionType::application_layer_protocol_negotiation},
        {ExtensionContext::client_hello, ExtensionType::record_size_limit},
        {ExtensionContext::client_hello, ExtensionType::psk_key_exchange_modes},
        {ExtensionContext::client_hello, ExtensionType::pre_shared_key},
        {ExtensionContext::server_hello, ExtensionType::pre_shared_key},
        {ExtensionContext::client_hello, ExtensionType::early_data},
        {ExtensionContext::new_session_ticket, ExtensionType::early_data},
        {ExtensionContext::client_hello, ExtensionType::renegotiation_info},
    };
    const Sel& s = kSel[selector % std::size(kSel)];
    auto r = test::extension_roundtrip(s.ctx, Extension{static_cast<std::uint16_t>(s.type), body});
    if (r) check(*r);
}

}  // namespace l45::tls::msg::fuzz
