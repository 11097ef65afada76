// RFC 8448 traces: every handshake message parses, re-serialises to the
// identical bytes, and decodes to the values the RFC's text describes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/vectors.h"
#include "tests/tls_msg/roundtrip.h"
#include "tls/msg/handshake_reader.h"

namespace l45::tls::msg {
namespace {

using Bytes = std::vector<std::uint8_t>;
using l45::test::from_hex;
using l45::test::load_json;
using l45::test::to_hex;

const char* const kTraces[] = {"simple_1rtt", "resumed_0rtt", "hrr", "client_auth", "compat_mode"};

struct TraceMessage {
    std::string label;  // the RFC value label, e.g. "ClientHello"
    std::string who;
    Bytes full;  // header + body
};

nlohmann::json trace(const std::string& name) {
    return load_json("vectors/rfc8448/" + name + ".json");
}

// Every handshake message of a trace, in order, taken from the plaintext of
// the "send handshake record" steps (deframed by HandshakeReader), which
// covers the resumed trace's full ClientHello with binders.
std::vector<HandshakeMessage> deframe_records(const nlohmann::json& t,
                                              std::vector<Bytes>& storage) {
    std::vector<HandshakeMessage> out;
    for (const auto& step : t["steps"]) {
        if (step["what"] != "send handshake record") continue;
        const Bytes payload = from_hex(step["values"]["payload"].get<std::string>());
        HandshakeReader reader;
        EXPECT_TRUE(reader.feed(payload));
        for (;;) {
            auto m = reader.next();
            EXPECT_TRUE(m);
            if (!m || !m->has_value()) break;
            storage.emplace_back((*m)->full.begin(), (*m)->full.end());
            const ByteSpan full = storage.back();
            out.push_back({(*m)->type, full.subspan(4), full});
        }
        EXPECT_FALSE(reader.has_partial());
    }
    return out;
}

std::vector<TraceMessage> constructed_messages(const nlohmann::json& t) {
    std::vector<TraceMessage> out;
    for (const auto& step : t["steps"]) {
        for (const auto& [label, value] : step["values"].items()) {
            if (label.empty() || label[0] < 'A' || label[0] > 'Z') continue;
            if (label == "IKM" || label == "PRK" || label == "ClientHello prefix") continue;
            out.push_back(
                {label, step["who"].get<std::string>(), from_hex(value.get<std::string>())});
        }
    }
    return out;
}

Bytes reserialized(HandshakeType type, ByteSpan body) {
    Bytes out(70000);
    auto n = test::reserialize(type, body, out);
    EXPECT_TRUE(n) << "alert " << (n ? 0 : static_cast<int>(n.error().alert));
    if (!n) return {};
    EXPECT_NE(*n, 0u) << "an extension did not round-trip";
    out.resize(*n);
    return out;
}

TEST(Rfc8448, EveryRecordMessageRoundTrips) {
    std::size_t total = 0;
    for (const char* name : kTraces) {
        SCOPED_TRACE(name);
        const auto t = trace(name);
        std::vector<Bytes> storage;
        const auto msgs = deframe_records(t, storage);
        ASSERT_GE(msgs.size(), 4u);
        for (const auto& m : msgs) {
            SCOPED_TRACE(static_cast<int>(m.type));
            EXPECT_EQ(to_hex(reserialized(m.type, m.body)), to_hex(m.full));
            ++total;
        }
    }
    // simple 8 + resumed 6 + hrr 9 + client_auth 10 + compat 7 (see RFC 8448).
    EXPECT_EQ(total, 40u);
}

TEST(Rfc8448, EveryConstructedMessageRoundTrips) {
    std::size_t total = 0;
    for (const char* name : kTraces) {
        SCOPED_TRACE(name);
        const auto t = trace(name);
        for (const auto& m : constructed_messages(t)) {
            SCOPED_TRACE(m.label);
            if (std::string(name) == "resumed_0rtt" && m.label == "ClientHello")
                continue;  // see below
            auto split = split_message(m.full);
            ASSERT_TRUE(split);
            EXPECT_EQ(to_hex(reserialized(split->type, split->body)), to_hex(m.full));
            ++total;
        }
    }
    EXPECT_GE(total, 35u);
}

// Section 4 prints the ClientHello without its binders; that "prefix" is the
// full ClientHello minus OfferedPsks::binders_len() trailing bytes.
TEST(Rfc8448, ResumedClientHelloPrefixIsTruncatedHello) {
    const auto t = trace("resumed_0rtt");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    ASSERT_FALSE(msgs.empty());
    ASSERT_EQ(msgs[0].type, HandshakeType::client_hello);
    auto ch = ClientHello::parse(msgs[0].body);
    ASSERT_TRUE(ch);
    EXPECT_EQ(ch->extensions.last_type(),
              static_cast<std::uint16_t>(ExtensionType::pre_shared_key));
    auto psk = OfferedPsksExt::parse(*ch->extensions.find(ExtensionType::pre_shared_key));
    ASSERT_TRUE(psk);
    EXPECT_EQ(psk->binders_len(), 35u);
    const ByteSpan truncated = msgs[0].full.first(msgs[0].full.size() - psk->binders_len());
    std::string prefix;
    for (const auto& step : t["steps"])
        if (step["what"] == "calculate PSK binder" && step["values"].contains("ClientHello prefix"))
            prefix = step["values"]["ClientHello prefix"].get<std::string>();
    ASSERT_FALSE(prefix.empty());
    EXPECT_EQ(to_hex(truncated), prefix);
    // The constructed-message value is that same prefix.
    for (const auto& m : constructed_messages(t)) {
        if (m.label == "ClientHello") {
            EXPECT_EQ(to_hex(m.full), prefix);
        }
    }
}

TEST(Rfc8448, SimpleClientHelloFields) {
    const auto t = trace("simple_1rtt");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    auto ch = ClientHello::parse(msgs.at(0).body);
    ASSERT_TRUE(ch);
    EXPECT_EQ(ch->legacy_version, kTls12);
    EXPECT_TRUE(ch->legacy_session_id.empty());
    ASSERT_EQ(ch->cipher_suites.size(), 3u);
    EXPECT_EQ(ch->cipher_suites[0], 0x1301);
    EXPECT_EQ(ch->cipher_suites[1], 0x1303);
    EXPECT_EQ(ch->cipher_suites[2], 0x1302);
    EXPECT_EQ(ch->extensions.size(), 9u);
    EXPECT_TRUE(check_extensions(ExtensionContext::client_hello, ch->extensions));

    auto sni = ServerNameExt::parse(*ch->extensions.find(ExtensionType::server_name));
    ASSERT_TRUE(sni);
    EXPECT_EQ(sni->host_name, "server");

    auto groups = U16ListExt::parse(*ch->extensions.find(ExtensionType::supported_groups));
    ASSERT_TRUE(groups);
    ASSERT_EQ(groups->values.size(), 9u);
    EXPECT_EQ(groups->values[0], static_cast<std::uint16_t>(NamedGroup::x25519));
    EXPECT_EQ(groups->values[1], static_cast<std::uint16_t>(NamedGroup::secp256r1));
    EXPECT_EQ(groups->values[8], 0x0104);  // ffdhe8192

    auto ks = KeyShareClientExt::parse(*ch->extensions.find(ExtensionType::key_share));
    ASSERT_TRUE(ks);
    ASSERT_EQ(ks->shares.size(), 1u);
    auto x = ks->find(static_cast<std::uint16_t>(NamedGroup::x25519));
    ASSERT_TRUE(x);
    EXPECT_EQ(x->key_exchange.size(), 32u);
    EXPECT_EQ(to_hex(x->key_exchange),
              "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c");

    auto sv =
        SupportedVersionsClientExt::parse(*ch->extensions.find(ExtensionType::supported_versions));
    ASSERT_TRUE(sv);
    ASSERT_EQ(sv->versions.size(), 1u);
    EXPECT_EQ(sv->versions[0], kTls13);

    auto sigs = U16ListExt::parse(*ch->extensions.find(ExtensionType::signature_algorithms));
    ASSERT_TRUE(sigs);
    EXPECT_EQ(sigs->values.size(), 15u);
    EXPECT_EQ(sigs->values[0], static_cast<std::uint16_t>(SignatureScheme::ecdsa_secp256r1_sha256));
    EXPECT_TRUE(
        sigs->values.contains(static_cast<std::uint16_t>(SignatureScheme::rsa_pss_rsae_sha256)));
    EXPECT_FALSE(sigs->values.contains(static_cast<std::uint16_t>(SignatureScheme::ed25519)));

    auto modes =
        PskKeyExchangeModesExt::parse(*ch->extensions.find(ExtensionType::psk_key_exchange_modes));
    ASSERT_TRUE(modes);
    EXPECT_TRUE(modes->contains(PskKeyExchangeMode::psk_dhe_ke));
    EXPECT_FALSE(modes->contains(PskKeyExchangeMode::psk_ke));

    auto rsl = RecordSizeLimitExt::parse(*ch->extensions.find(ExtensionType::record_size_limit));
    ASSERT_TRUE(rsl);
    EXPECT_EQ(rsl->limit, 0x4001);

    EXPECT_TRUE(parse_renegotiation_info(*ch->extensions.find(ExtensionType::renegotiation_info)));
    // session_ticket (35) is a TLS 1.2 extension we do not know: kept raw.
    EXPECT_EQ(extension_permission(ExtensionContext::client_hello, 35),
              ExtensionPermission::unrecognised);
    ASSERT_TRUE(ch->extensions.find(35));
    EXPECT_TRUE(ch->extensions.find(35)->empty());
}

TEST(Rfc8448, SimpleServerFlightFields) {
    const auto t = trace("simple_1rtt");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    // CH, SH, EE, CT, CV, FIN, client FIN, NST
    ASSERT_EQ(msgs.size(), 8u);
    auto sh = ServerHello::parse(msgs[1].body);
    ASSERT_TRUE(sh);
    EXPECT_FALSE(sh->is_hello_retry_request());
    EXPECT_EQ(sh->downgrade_sentinel(), DowngradeSentinel::none);
    EXPECT_EQ(sh->cipher_suite, 0x1301);
    EXPECT_TRUE(check_extensions(sh->extension_context(), sh->extensions));
    auto ks = KeyShareServerExt::parse(*sh->extensions.find(ExtensionType::key_share));
    ASSERT_TRUE(ks);
    EXPECT_EQ(ks->server_share.group, static_cast<std::uint16_t>(NamedGroup::x25519));
    EXPECT_EQ(ks->server_share.key_exchange.size(), 32u);
    auto sv =
        SupportedVersionsServerExt::parse(*sh->extensions.find(ExtensionType::supported_versions));
    ASSERT_TRUE(sv);
    EXPECT_EQ(sv->selected_version, kTls13);

    ASSERT_EQ(msgs[2].type, HandshakeType::encrypted_extensions);
    auto ee = EncryptedExtensions::parse(msgs[2].body);
    ASSERT_TRUE(ee);
    EXPECT_TRUE(check_extensions(ExtensionContext::encrypted_extensions, ee->extensions));
    EXPECT_TRUE(parse_empty(*ee->extensions.find(ExtensionType::server_name)));
    EXPECT_EQ(ee->extensions.size(), 3u);

    ASSERT_EQ(msgs[3].type, HandshakeType::certificate);
    auto cert = Certificate::parse(msgs[3].body);
    ASSERT_TRUE(cert);
    EXPECT_TRUE(cert->certificate_request_context.empty());
    ASSERT_EQ(cert->certificate_list.size(), 1u);
    const CertificateEntry& leaf = *cert->certificate_list.begin();
    EXPECT_EQ(leaf.cert_data.size(), 432u);
    EXPECT_EQ(leaf.cert_data[0], 0x30);  // DER SEQUENCE
    EXPECT_TRUE(leaf.extensions.empty());

    ASSERT_EQ(msgs[4].type, HandshakeType::certificate_verify);
    auto cv = CertificateVerify::parse(msgs[4].body);
    ASSERT_TRUE(cv);
    EXPECT_EQ(cv->algorithm, static_cast<std::uint16_t>(SignatureScheme::rsa_pss_rsae_sha256));
    EXPECT_EQ(cv->signature.size(), 128u);

    ASSERT_EQ(msgs[5].type, HandshakeType::finished);
    auto fin = Finished::parse(msgs[5].body, 32);
    ASSERT_TRUE(fin);
    EXPECT_EQ(fin->verify_data.size(), 32u);
    EXPECT_EQ(Finished::parse(msgs[5].body, 48).error().alert, Alert::decode_error);

    ASSERT_EQ(msgs[7].type, HandshakeType::new_session_ticket);
    auto nst = NewSessionTicket::parse(msgs[7].body);
    ASSERT_TRUE(nst);
    EXPECT_EQ(nst->ticket_lifetime, 30u);
    EXPECT_EQ(nst->ticket_age_add, 0xfad6aac5u);
    EXPECT_EQ(to_hex(nst->ticket_nonce), "0000");
    EXPECT_EQ(nst->ticket.size(), 178u);
    EXPECT_EQ(nst->max_early_data_size(), 1024u);
    EXPECT_TRUE(check_extensions(ExtensionContext::new_session_ticket, nst->extensions));
}

TEST(Rfc8448, HelloRetryRequestFields) {
    const auto t = trace("hrr");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    ASSERT_GE(msgs.size(), 4u);
    auto hrr = ServerHello::parse(msgs[1].body);
    ASSERT_TRUE(hrr);
    EXPECT_TRUE(hrr->is_hello_retry_request());
    EXPECT_EQ(hrr->extension_context(), ExtensionContext::hello_retry_request);
    EXPECT_TRUE(check_extensions(ExtensionContext::hello_retry_request, hrr->extensions));
    auto ks = KeyShareHrrExt::parse(*hrr->extensions.find(ExtensionType::key_share));
    ASSERT_TRUE(ks);
    EXPECT_EQ(ks->selected_group, static_cast<std::uint16_t>(NamedGroup::secp256r1));
    // The ServerHello form must not accept the HRR's 2-byte body.
    EXPECT_FALSE(KeyShareServerExt::parse(*hrr->extensions.find(ExtensionType::key_share)));
    auto cookie = CookieExt::parse(*hrr->extensions.find(ExtensionType::cookie));
    ASSERT_TRUE(cookie);
    EXPECT_EQ(cookie->cookie.size(), 114u);

    // ClientHello2 echoes the cookie and carries a P-256 share of 65 bytes.
    auto ch2 = ClientHello::parse(msgs[2].body);
    ASSERT_TRUE(ch2);
    auto cookie2 = CookieExt::parse(*ch2->extensions.find(ExtensionType::cookie));
    ASSERT_TRUE(cookie2);
    EXPECT_EQ(to_hex(cookie2->cookie), to_hex(cookie->cookie));
    auto ks2 = KeyShareClientExt::parse(*ch2->extensions.find(ExtensionType::key_share));
    ASSERT_TRUE(ks2);
    ASSERT_EQ(ks2->shares.size(), 1u);
    EXPECT_EQ(ks2->shares.begin()->group, static_cast<std::uint16_t>(NamedGroup::secp256r1));
    EXPECT_EQ(ks2->shares.begin()->key_exchange.size(), 65u);
    EXPECT_EQ(ks2->shares.begin()->key_exchange[0], 0x04);  // uncompressed point
    ASSERT_TRUE(ch2->extensions.find(ExtensionType::padding));
    EXPECT_EQ(ch2->extensions.find(ExtensionType::padding)->size(), 175u);

    auto sh = ServerHello::parse(msgs[3].body);
    ASSERT_TRUE(sh);
    EXPECT_FALSE(sh->is_hello_retry_request());
    auto ks3 = KeyShareServerExt::parse(*sh->extensions.find(ExtensionType::key_share));
    ASSERT_TRUE(ks3);
    EXPECT_EQ(ks3->server_share.key_exchange.size(), 65u);
}

// The message_hash that replaces ClientHello1 (§4.4.1): the RFC 8448 §5
// transcript check needs Hash(CH1); here the construction's framing.
TEST(Rfc8448, MessageHashConstruction) {
    std::array<std::uint8_t, 32> hash{};
    for (std::size_t i = 0; i < hash.size(); ++i)
        hash[i] = static_cast<std::uint8_t>(i);
    std::array<std::uint8_t, 64> out{};
    Writer w(out);
    ASSERT_TRUE(write_message_hash(w, hash));
    EXPECT_EQ(w.written(), 36u);
    EXPECT_EQ(to_hex(ByteSpan(out).first(4)), "fe000020");
    EXPECT_EQ(to_hex(ByteSpan(out).subspan(4, 32)), to_hex(hash));
    std::array<std::uint8_t, 10> small{};
    Writer w2(small);
    EXPECT_FALSE(write_message_hash(w2, hash));
}

TEST(Rfc8448, CompatModeSessionId) {
    const auto t = trace("compat_mode");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    auto ch = ClientHello::parse(msgs.at(0).body);
    ASSERT_TRUE(ch);
    EXPECT_EQ(ch->legacy_session_id.size(), 32u);
    auto sh = ServerHello::parse(msgs.at(1).body);
    ASSERT_TRUE(sh);
    EXPECT_EQ(to_hex(sh->legacy_session_id_echo), to_hex(ch->legacy_session_id));
    EXPECT_EQ(to_hex(ch->legacy_session_id),
              "a80c165581a8e0d06c0018d54d3a06dd32cfd4051eb026fad3fd0ba99269e6ef");
}

TEST(Rfc8448, ResumedPskFields) {
    const auto t = trace("resumed_0rtt");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    // CH, SH, EE, server FIN, EOED, client FIN
    ASSERT_EQ(msgs.size(), 6u);
    auto ch = ClientHello::parse(msgs[0].body);
    ASSERT_TRUE(ch);
    EXPECT_TRUE(check_extensions(ExtensionContext::client_hello, ch->extensions));
    EXPECT_TRUE(parse_empty(*ch->extensions.find(ExtensionType::early_data)));
    auto psk = OfferedPsksExt::parse(*ch->extensions.find(ExtensionType::pre_shared_key));
    ASSERT_TRUE(psk);
    ASSERT_EQ(psk->identities.size(), 1u);
    ASSERT_EQ(psk->binders.size(), 1u);
    const PskIdentity& id = *psk->identities.begin();
    EXPECT_EQ(id.identity.size(), 178u);
    // ticket_age_add 0xfad6aac5 plus the ticket's age in ms (RFC 8448 §4).
    EXPECT_EQ(id.obfuscated_ticket_age, 0xfad6aacbu);
    EXPECT_EQ((*psk->binders.begin()).size(), 32u);

    // The identity is the section 3 ticket.
    const auto t3 = trace("simple_1rtt");
    std::vector<Bytes> storage3;
    const auto msgs3 = deframe_records(t3, storage3);
    auto nst = NewSessionTicket::parse(msgs3.at(7).body);
    ASSERT_TRUE(nst);
    EXPECT_EQ(to_hex(id.identity), to_hex(nst->ticket));

    auto sh = ServerHello::parse(msgs[1].body);
    ASSERT_TRUE(sh);
    auto sel = PreSharedKeyServerExt::parse(*sh->extensions.find(ExtensionType::pre_shared_key));
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->selected_identity, 0);

    auto ee = EncryptedExtensions::parse(msgs[2].body);
    ASSERT_TRUE(ee);
    EXPECT_TRUE(parse_empty(*ee->extensions.find(ExtensionType::early_data)));
    EXPECT_EQ(msgs[4].type, HandshakeType::end_of_early_data);
    EXPECT_TRUE(EndOfEarlyData::parse(msgs[4].body));
}

TEST(Rfc8448, ClientAuthFields) {
    const auto t = trace("client_auth");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    // CH, SH, EE, CR, CT, CV, FIN, client CT, CV, FIN
    ASSERT_EQ(msgs.size(), 10u);
    ASSERT_EQ(msgs[3].type, HandshakeType::certificate_request);
    auto cr = CertificateRequest::parse(msgs[3].body);
    ASSERT_TRUE(cr);
    EXPECT_TRUE(cr->certificate_request_context.empty());
    EXPECT_TRUE(check_extensions(ExtensionContext::certificate_request, cr->extensions));
    auto sigs = U16ListExt::parse(*cr->extensions.find(ExtensionType::signature_algorithms));
    ASSERT_TRUE(sigs);
    EXPECT_EQ(sigs->values.size(), 15u);

    auto server_cv = CertificateVerify::parse(msgs[5].body);
    ASSERT_TRUE(server_cv);
    EXPECT_EQ(server_cv->algorithm,
              static_cast<std::uint16_t>(SignatureScheme::ecdsa_secp256r1_sha256));
    EXPECT_EQ(server_cv->signature[0], 0x30);  // DER ECDSA-Sig-Value

    auto client_cert = Certificate::parse(msgs[7].body);
    ASSERT_TRUE(client_cert);
    EXPECT_EQ(client_cert->certificate_list.size(), 1u);
    auto client_cv = CertificateVerify::parse(msgs[8].body);
    ASSERT_TRUE(client_cv);
    EXPECT_EQ(client_cv->algorithm,
              static_cast<std::uint16_t>(SignatureScheme::rsa_pss_rsae_sha256));
}

}  // namespace
}  // namespace l45::tls::msg

namespace l45::tls::msg {
namespace {

// Builds RFC 8448 §3's ClientHello from its fields with the serialisers the
// handshake layer uses, and gets the RFC's bytes back.
TEST(Rfc8448, ClientHelloBuiltFromFieldsMatches) {
    const auto t = trace("simple_1rtt");
    std::vector<Bytes> storage;
    const auto msgs = deframe_records(t, storage);
    auto rfc = ClientHello::parse(msgs.at(0).body);
    ASSERT_TRUE(rfc);
    auto rfc_ks = KeyShareClientExt::parse(*rfc->extensions.find(ExtensionType::key_share));
    ASSERT_TRUE(rfc_ks);

    static constexpr std::uint16_t kSuites[] = {0x1301, 0x1303, 0x1302};
    static constexpr std::uint16_t kGroups[] = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100,
                                                0x0101, 0x0102, 0x0103, 0x0104};
    static constexpr std::uint16_t kSchemes[] = {0x0403, 0x0503, 0x0603, 0x0203, 0x0804,
                                                 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
                                                 0x0201, 0x0402, 0x0502, 0x0602, 0x0202};
    static constexpr std::uint16_t kVersions[] = {kTls13};
    static constexpr std::uint8_t kModes[] = {1};

    std::array<std::uint8_t, 1024> ext_buf{};
    Writer ew(ext_buf);
    write_extension(ew, ExtensionType::server_name,
                    [](Writer& w) { ServerNameExt{"server"}.serialize(w); });
    write_extension(ew, ExtensionType::renegotiation_info, write_renegotiation_info);
    write_extension(ew, ExtensionType::supported_groups,
                    [](Writer& w) { write_u16_vector(w, kGroups); });
    write_extension(ew, std::uint16_t{35}, [](Writer&) {});  // session_ticket
    write_extension(ew, ExtensionType::key_share, [&](Writer& w) {
        const auto list = w.open_u16_prefix();
        KeyShareEntry{static_cast<std::uint16_t>(NamedGroup::x25519),
                      rfc_ks->shares.begin()->key_exchange}
            .serialize(w);
        w.close(list);
    });
    write_extension(ew, ExtensionType::supported_versions,
                    [](Writer& w) { write_u16_vector(w, kVersions, 1); });
    write_extension(ew, ExtensionType::signature_algorithms,
                    [](Writer& w) { write_u16_vector(w, kSchemes); });
    write_extension(ew, ExtensionType::psk_key_exchange_modes,
                    [](Writer& w) { PskKeyExchangeModesExt{kModes}.serialize(w); });
    write_extension(ew, ExtensionType::record_size_limit,
                    [](Writer& w) { RecordSizeLimitExt{0x4001}.serialize(w); });
    ASSERT_TRUE(ew.ok());

    std::array<std::uint8_t, 16> suites_buf{};
    Writer sw(suites_buf);
    for (std::uint16_t s : kSuites)
        sw.u16(s);

    ClientHello ch;
    ch.random = rfc->random;
    ch.cipher_suites = U16List(sw.result());
    static constexpr std::uint8_t kNull[] = {0};
    ch.legacy_compression_methods = kNull;
    auto block = ExtensionBlock::parse(ew.result());
    ASSERT_TRUE(block);
    ch.extensions = *block;

    std::array<std::uint8_t, 1024> out{};
    Writer w(out);
    ASSERT_TRUE(write_message(w, ch));
    EXPECT_EQ(to_hex(w.result()), to_hex(msgs[0].full));
}

TEST(Rfc8448, DowngradeSentinels) {
    ServerHello sh;
    EXPECT_EQ(sh.downgrade_sentinel(), DowngradeSentinel::none);
    const std::uint8_t downgrd[] = {0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44};
    std::copy(std::begin(downgrd), std::end(downgrd), sh.random.begin() + 24);
    sh.random[31] = 0x01;
    EXPECT_EQ(sh.downgrade_sentinel(), DowngradeSentinel::tls12);
    sh.random[31] = 0x00;
    EXPECT_EQ(sh.downgrade_sentinel(), DowngradeSentinel::tls11_or_below);
    sh.random[31] = 0x02;
    EXPECT_EQ(sh.downgrade_sentinel(), DowngradeSentinel::none);
    sh.random = kHelloRetryRequestRandom;
    EXPECT_TRUE(sh.is_hello_retry_request());
}

}  // namespace
}  // namespace l45::tls::msg
