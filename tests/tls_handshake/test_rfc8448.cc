// RFC 8448 §3 (simple 1-RTT) against our server.
//
// What is matched byte for byte: our server, fed the trace's ClientHello
// record with the trace's server random and X25519 private key injected,
// sends the trace's ServerHello record exactly, and derives the trace's
// client/server handshake traffic secrets; its encrypted EncryptedExtensions
// record opens with the trace's server handshake key/iv (sequence 0).
// Not matched: the trace's EE carries supported_groups and record_size_limit,
// which our server does not send, so the transcript (and the later secrets)
// diverge from there; and the trace's server key is RSA-1024, which
// tls/pki's PrivateKey refuses (>= 2048 bits), so a P-256 credential signs.
#include "tests/tls_handshake/harness.h"

namespace l45::tls::test {
namespace {

Bytes value(const nlohmann::json& trace, std::string_view who, std::string_view what,
            std::string_view label) {
    for (const auto& step : trace.at("steps")) {
        if (step.at("who") != who) continue;
        const std::string heading = step.at("what");
        if (heading.rfind(what, 0) != 0) continue;
        if (!step.at("values").contains(std::string(label))) continue;
        return l45::test::from_hex(step.at("values").at(std::string(label)).get<std::string>());
    }
    ADD_FAILURE() << "no " << what << " / " << label;
    return {};
}

TEST(Rfc8448, ServerReproducesServerHelloAndHandshakeSecrets) {
    const auto trace = l45::test::load_json("vectors/rfc8448/simple_1rtt.json");
    const Bytes ch_record = value(trace, "client", "send handshake record", "complete record");
    const Bytes server_priv = value(trace, "server", "create an ephemeral x25519", "private key");
    const Bytes sh = value(trace, "server", "construct a ServerHello", "ServerHello");
    const Bytes c_hs = value(trace, "server", "derive secret \"tls13 c hs traffic\"", "expanded");
    const Bytes s_hs = value(trace, "server", "derive secret \"tls13 s hs traffic\"", "expanded");
    const Bytes key =
        value(trace, "server", "derive write traffic keys for handshake", "key expanded");
    const Bytes iv =
        value(trace, "server", "derive write traffic keys for handshake", "iv expanded");
    ASSERT_FALSE(ch_record.empty());

    Pair p;
    p.server_cfg.cipher_suites = {CipherSuite::aes_128_gcm_sha256};
    auto s = Connection::create(p.server_cfg, engine());
    ASSERT_TRUE(s.has_value());
    Connection& server = **s;
    server.set_random_for_testing(ByteSpan(sh.data() + 6, 32));
    server.set_key_share_private_for_testing(NamedGroup::x25519, server_priv);
    auto r = server.receive(ch_record);
    ASSERT_TRUE(r.has_value()) << alert_name(r.error().alert);
    EXPECT_EQ(*r, ch_record.size());
    EXPECT_EQ(server.negotiated().server_name, "server");

    const ByteSpan out = server.pending_output();
    ASSERT_GT(out.size(), 5 + sh.size());
    // 1. The ServerHello record, byte for byte.
    Bytes sh_record = {22, 3, 3, static_cast<std::uint8_t>(sh.size() >> 8),
                       static_cast<std::uint8_t>(sh.size())};
    sh_record.insert(sh_record.end(), sh.begin(), sh.end());
    EXPECT_EQ(l45::test::to_hex(out.first(sh_record.size())), l45::test::to_hex(sh_record));
    // 2. The handshake traffic secrets.
    const KeySchedule& ks = server.key_schedule_for_testing();
    EXPECT_EQ(l45::test::to_hex(ks.client_handshake_traffic_secret().view()),
              l45::test::to_hex(c_hs));
    EXPECT_EQ(l45::test::to_hex(ks.server_handshake_traffic_secret().view()),
              l45::test::to_hex(s_hs));
    EXPECT_EQ(p.server_log.secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"], s_hs);
    // 3. The next record (no CCS: the trace's session id is empty) opens
    //    with the trace's server handshake key and iv.
    ByteSpan rest = out.subspan(sh_record.size());
    ASSERT_EQ(rest[0], 23) << "expected an encrypted record, no CCS";
    RecordOpener opener;
    ASSERT_TRUE(
        opener.install_keys(engine(), CipherSuite::aes_128_gcm_sha256, key, iv).has_value());
    Deframer d;
    Bytes copy(rest.begin(), rest.end());
    auto used = d.feed(copy);
    ASSERT_TRUE(used.has_value());
    ASSERT_NE(d.record(), nullptr);
    auto opened = opener.open(engine(), *d.record());
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(opened->type, ContentType::handshake);
    EXPECT_EQ(opened->content[0], static_cast<std::uint8_t>(HandshakeType::encrypted_extensions));
}

}  // namespace
}  // namespace l45::tls::test
