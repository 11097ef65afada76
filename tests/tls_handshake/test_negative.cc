// The misbehaving peer: each case asserts the exact alert the other side
// receives (RFC 8446 §6.2). Encrypted records are forged with the secrets
// from the victim's peer's key log.
#include "tests/tls_handshake/harness.h"
#include "tls/msg/messages.h"

namespace l45::tls::test {
namespace {

// Rewrites the handshake messages inside the server's encrypted flight with
// the server handshake traffic secret (one message per record, as our
// server sends them).
Bytes rewrite_server_flight(ByteSpan wire, CipherSuite suite, const Bytes& s_hs,
                            const std::function<void(HandshakeType, Bytes&)>& edit) {
    RecordOpener opener;
    RecordSealer sealer;
    Secret sec(s_hs);
    EXPECT_TRUE(opener.install(engine(), suite, sec).has_value());
    EXPECT_TRUE(sealer.install(engine(), suite, sec).has_value());
    Bytes out;
    Deframer d;
    while (!wire.empty()) {
        auto used = d.feed(wire);
        EXPECT_TRUE(used.has_value());
        wire = wire.subspan(*used);
        RecordView* rec = d.record();
        if (!rec) continue;
        if (rec->header.type != ContentType::application_data || !opener.installed()) {
            out.insert(out.end(), rec->header_bytes.begin(), rec->header_bytes.end());
            out.insert(out.end(), rec->fragment.begin(), rec->fragment.end());
        } else {
            auto opened = opener.open(engine(), *rec);
            EXPECT_TRUE(opened.has_value());
            Bytes content(opened->content.begin(), opened->content.end());
            if (opened->type == ContentType::handshake)
                edit(static_cast<HandshakeType>(content[0]), content);
            Bytes buf(5 + content.size() + 17);
            std::memcpy(buf.data() + 5, content.data(), content.size());
            auto n = sealer.seal(engine(), opened->type, buf, content.size());
            EXPECT_TRUE(n.has_value());
            out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(*n));
        }
        d.pop();
    }
    return out;
}

// Runs CH -> server, then the server's flight (edited) -> client.
void tamper_server_flight(Pair& p, const std::function<void(HandshakeType, Bytes&)>& edit) {
    p.start();
    ASSERT_TRUE(Pair::deliver(*p.client, *p.server, SIZE_MAX, nullptr, p.server_error));
    const ByteSpan flight = p.server->pending_output();
    Bytes edited =
        rewrite_server_flight(flight, p.server->negotiated().suite,
                              p.server_log.secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"], edit);
    p.server->consume_output(flight.size());
    auto r = p.client->receive(edited);
    EXPECT_FALSE(r.has_value());
    if (!r) p.client_error = r.error();
    p.pump();  // the client's alert reaches the server
}

TEST(Negative, TamperedServerFinishedIsDecryptError) {
    Pair p;
    tamper_server_flight(p, [](HandshakeType t, Bytes& m) {
        if (t == HandshakeType::finished) m.back() ^= 1;
    });
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::decrypt_error);
    ASSERT_TRUE(p.server_error);
    EXPECT_EQ(p.server_error->alert, Alert::decrypt_error);
    EXPECT_EQ(p.server_error->origin, ErrorOrigin::peer);
}

TEST(Negative, WrongCertificateVerifySignatureIsDecryptError) {
    for (KeyType k : {KeyType::ecdsa_p256, KeyType::ed25519, KeyType::rsa2048}) {
        Pair p(k);
        tamper_server_flight(p, [](HandshakeType t, Bytes& m) {
            if (t == HandshakeType::certificate_verify) m.back() ^= 1;
        });
        ASSERT_TRUE(p.client_error) << key_type_name(k);
        EXPECT_EQ(p.client_error->alert, Alert::decrypt_error) << key_type_name(k);
        ASSERT_TRUE(p.server_error);
        EXPECT_EQ(p.server_error->alert, Alert::decrypt_error);
    }
}

TEST(Negative, UnsolicitedExtensionInEncryptedExtensions) {
    Pair p;
    tamper_server_flight(p, [](HandshakeType t, Bytes& m) {
        if (t != HandshakeType::encrypted_extensions) return;
        // Add ALPN, which the client did not offer.
        const Bytes alpn = {0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, 'h', '2'};
        Bytes body(m.begin() + 6, m.end());
        body.insert(body.end(), alpn.begin(), alpn.end());
        Bytes out = {8, 0,
                     0, static_cast<std::uint8_t>(body.size() + 2),
                     0, static_cast<std::uint8_t>(body.size())};
        out.insert(out.end(), body.begin(), body.end());
        m = out;
    });
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::unsupported_extension);
}

// Appends one extension (type, length and body already encoded) to an
// EncryptedExtensions message.
void append_to_ee(Bytes& m, const Bytes& ext) {
    Bytes body(m.begin() + 6, m.end());
    body.insert(body.end(), ext.begin(), ext.end());
    Bytes out = {8,
                 0,
                 static_cast<std::uint8_t>((body.size() + 2) >> 8),
                 static_cast<std::uint8_t>(body.size() + 2),
                 static_cast<std::uint8_t>(body.size() >> 8),
                 static_cast<std::uint8_t>(body.size())};
    out.insert(out.end(), body.begin(), body.end());
    m = out;
}

// RFC 8449 §4: a value below 64 is a fatal illegal_parameter.
TEST(Negative, RecordSizeLimit63InEncryptedExtensionsIsIllegalParameter) {
    Pair p;
    p.server_cfg.record_size_limit = std::nullopt;  // the server does not answer itself
    ASSERT_TRUE(p.client_cfg.record_size_limit.has_value());
    tamper_server_flight(p, [](HandshakeType t, Bytes& m) {
        if (t == HandshakeType::encrypted_extensions) append_to_ee(m, {0, 28, 0, 2, 0, 63});
    });
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::illegal_parameter);
    ASSERT_TRUE(p.server_error);
    EXPECT_EQ(p.server_error->alert, Alert::illegal_parameter);
}

// The same extension with a valid value is accepted (control for the above).
TEST(Negative, RecordSizeLimit64InEncryptedExtensionsIsAccepted) {
    Pair p;
    p.server_cfg.record_size_limit = std::nullopt;
    tamper_server_flight(p, [](HandshakeType t, Bytes& m) {
        if (t == HandshakeType::encrypted_extensions) append_to_ee(m, {0, 28, 0, 2, 0, 64});
    });
    // The edit breaks the transcript, so Finished fails: decrypt_error, not
    // an extension alert.
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::decrypt_error);
}

// RFC 8449 §4 / RFC 8446 §4.2: not offered -> unsupported_extension.
TEST(Negative, UnsolicitedRecordSizeLimitIsUnsupportedExtension) {
    Pair p;
    p.client_cfg.record_size_limit = std::nullopt;
    tamper_server_flight(p, [](HandshakeType t, Bytes& m) {
        if (t == HandshakeType::encrypted_extensions) append_to_ee(m, {0, 28, 0, 2, 0x40, 0x01});
    });
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::unsupported_extension);
}

// --- ClientHello rewriting: the server alone judges it ---
struct ChParts {
    Bytes before_exts;  // body up to the extensions vector
    std::vector<std::pair<std::uint16_t, Bytes>> exts;
};

ChParts split_client_hello(ByteSpan record) {
    ByteSpan body = record.subspan(5 + 4);
    auto ch = msg::ClientHello::parse(body);
    EXPECT_TRUE(ch.has_value());
    ChParts parts;
    const std::size_t ext_off = body.size() - ch->extensions.raw().size() - 2;
    parts.before_exts.assign(body.begin(), body.begin() + static_cast<long>(ext_off));
    for (const msg::Extension& e : ch->extensions)
        parts.exts.push_back({e.type, Bytes(e.body.begin(), e.body.end())});
    return parts;
}

Bytes join_client_hello(const ChParts& parts) {
    Bytes exts;
    for (const auto& [type, body] : parts.exts) {
        exts.push_back(static_cast<std::uint8_t>(type >> 8));
        exts.push_back(static_cast<std::uint8_t>(type));
        exts.push_back(static_cast<std::uint8_t>(body.size() >> 8));
        exts.push_back(static_cast<std::uint8_t>(body.size()));
        exts.insert(exts.end(), body.begin(), body.end());
    }
    Bytes body = parts.before_exts;
    body.push_back(static_cast<std::uint8_t>(exts.size() >> 8));
    body.push_back(static_cast<std::uint8_t>(exts.size()));
    body.insert(body.end(), exts.begin(), exts.end());
    Bytes msg = {1, 0, static_cast<std::uint8_t>(body.size() >> 8),
                 static_cast<std::uint8_t>(body.size())};
    msg.insert(msg.end(), body.begin(), body.end());
    Bytes rec = {22, 3, 1, static_cast<std::uint8_t>(msg.size() >> 8),
                 static_cast<std::uint8_t>(msg.size())};
    rec.insert(rec.end(), msg.begin(), msg.end());
    return rec;
}

// Feeds the edited ClientHello to a fresh server; returns its error (if any)
// and checks that the alert the client would read is the same.
std::optional<Alert> server_verdict(const std::function<void(ChParts&)>& edit,
                                    bool* handshaking = nullptr) {
    Pair p;
    p.start();
    ChParts parts = split_client_hello(p.client->pending_output());
    edit(parts);
    const Bytes rec = join_client_hello(parts);
    auto r = p.server->receive(rec);
    if (handshaking) *handshaking = r.has_value() && !p.server->pending_output().empty();
    if (r) return std::nullopt;
    const auto wire_alert = plaintext_alert(p.server->pending_output());
    EXPECT_EQ(wire_alert, r.error().alert);
    // The client reads the same alert.
    auto c = p.client->receive(p.server->pending_output());
    EXPECT_FALSE(c.has_value());
    if (!c) {
        EXPECT_EQ(c.error().alert, r.error().alert);
    }
    return r.error().alert;
}

void remove_ext(ChParts& parts, ExtensionType type) {
    std::erase_if(parts.exts,
                  [&](const auto& e) { return e.first == static_cast<std::uint16_t>(type); });
}

TEST(Negative, UnknownClientHelloExtensionIsIgnored) {
    bool ok = false;
    EXPECT_EQ(server_verdict(
                  [](ChParts& c) {
                      c.exts.insert(c.exts.begin(), {0x7777, {1, 2, 3}});
                  },
                  &ok),
              std::nullopt);
    EXPECT_TRUE(ok);
}

TEST(Negative, DuplicatedExtensionIsIllegalParameter) {
    EXPECT_EQ(server_verdict([](ChParts& c) { c.exts.insert(c.exts.begin(), c.exts.front()); }),
              Alert::illegal_parameter);
}

TEST(Negative, MissingKeyShareIsMissingExtension) {
    EXPECT_EQ(server_verdict([](ChParts& c) { remove_ext(c, ExtensionType::key_share); }),
              Alert::missing_extension);
    EXPECT_EQ(server_verdict([](ChParts& c) { remove_ext(c, ExtensionType::supported_groups); }),
              Alert::missing_extension);
}

TEST(Negative, Tls12OnlyClientHelloIsProtocolVersion) {
    EXPECT_EQ(server_verdict([](ChParts& c) { remove_ext(c, ExtensionType::supported_versions); }),
              Alert::protocol_version);
    EXPECT_EQ(server_verdict([](ChParts& c) {
                  for (auto& e : c.exts)
                      if (e.first == 43) e.second = {2, 3, 3};
              }),
              Alert::protocol_version);
}

TEST(Negative, NoCommonSuiteIsHandshakeFailure) {
    Pair p;
    p.client_cfg.cipher_suites = {CipherSuite::chacha20_poly1305_sha256};
    p.server_cfg.cipher_suites = {CipherSuite::aes_128_gcm_sha256};
    p.handshake();
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::handshake_failure);
}

TEST(Negative, TruncatedClientHelloIsDecodeError) {
    Pair p;
    p.start();
    Bytes rec(p.client->pending_output().begin(), p.client->pending_output().end());
    // The guard also tells g++ 12 (-O2 + ASan) the size cannot wrap below;
    // without it -Wstringop-overflow breaks the -Werror build.
    const std::size_t full_len = rec.size();
    ASSERT_GT(full_len, 64u);
    rec.resize(full_len - 10);
    const std::size_t msg_len = rec.size() - 5;
    rec[3] = static_cast<std::uint8_t>(msg_len >> 8);
    rec[4] = static_cast<std::uint8_t>(msg_len);
    rec[6] = 0;
    rec[7] = static_cast<std::uint8_t>((msg_len - 4) >> 8);
    rec[8] = static_cast<std::uint8_t>(msg_len - 4);
    auto r = p.server->receive(rec);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::decode_error);
    EXPECT_EQ(plaintext_alert(p.server->pending_output()), Alert::decode_error);
}

TEST(Negative, OversizedRecordIsRecordOverflow) {
    Pair p;
    p.start();
    const Bytes header = {22, 3, 3, 0x40, 0x01};  // 2^14 + 1
    auto r = p.server->receive(header);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::record_overflow);
    EXPECT_EQ(plaintext_alert(p.server->pending_output()), Alert::record_overflow);
}

// Seals `inner` (TLSInnerPlaintext, type byte included or not) as the client
// would with `secret` at sequence `seq`.
Bytes forge(CipherSuite suite, const Bytes& secret, std::uint64_t seq, Bytes inner) {
    auto keys = derive_traffic_keys(suite, Secret(secret));
    AeadContext aead;
    EXPECT_TRUE(aead.install(engine(), suite, keys->key.view(), keys->iv.view()).has_value());
    const std::size_t len = inner.size() + 16;
    Bytes rec = {23, 3, 3, static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
    std::array<std::uint8_t, 16> tag{};
    EXPECT_TRUE(aead.seal(engine(), seq, ByteSpan(rec.data(), 5), inner, tag).has_value());
    rec.insert(rec.end(), inner.begin(), inner.end());
    rec.insert(rec.end(), tag.begin(), tag.end());
    return rec;
}

// After the handshake (client sent no app record yet: seq 0).
Alert server_alert_on(const Bytes& inner_plaintext) {
    Pair p;
    p.handshake();
    EXPECT_TRUE(p.server->handshake_complete());
    const Bytes rec = forge(p.client->negotiated().suite,
                            p.client_log.secrets["CLIENT_TRAFFIC_SECRET_0"], 0, inner_plaintext);
    auto r = p.server->receive(rec);
    EXPECT_FALSE(r.has_value());
    // The client decrypts the server's alert.
    auto c = p.client->receive(p.server->pending_output());
    EXPECT_FALSE(c.has_value());
    if (!c) {
        EXPECT_EQ(c.error().origin, ErrorOrigin::peer);
    }
    if (!c && r) return Alert::close_notify;
    EXPECT_EQ(c.error().alert, r.error().alert);
    return r.error().alert;
}

TEST(Negative, AllZeroInnerPlaintextIsUnexpectedMessage) {
    EXPECT_EQ(server_alert_on(Bytes(20, 0)), Alert::unexpected_message);
}

TEST(Negative, BadInnerTypeIsUnexpectedMessage) {
    EXPECT_EQ(server_alert_on({'h', 'i', 99, 0, 0}), Alert::unexpected_message);
}

TEST(Negative, RenegotiationAttemptIsUnexpectedMessage) {
    EXPECT_EQ(server_alert_on({1, 0, 0, 2, 3, 3, 22}), Alert::unexpected_message);
}

TEST(Negative, TamperedCiphertextIsBadRecordMac) {
    Pair p;
    p.handshake();
    ASSERT_EQ(*p.client->write(Bytes(100, 1)), 100u);
    Bytes wire(p.client->pending_output().begin(), p.client->pending_output().end());
    p.client->consume_output(wire.size());
    wire[10] ^= 0x80;
    auto r = p.server->receive(wire);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::bad_record_mac);
    auto c = p.client->receive(p.server->pending_output());
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().alert, Alert::bad_record_mac);
}

TEST(Negative, ApplicationDataBeforeFinishedIsUnexpectedMessage) {
    Pair p;
    p.start();
    ASSERT_TRUE(Pair::deliver(*p.client, *p.server, SIZE_MAX, nullptr, p.server_error));
    ASSERT_TRUE(Pair::deliver(*p.server, *p.client, SIZE_MAX, nullptr, p.client_error));
    // Drop the client's Finished; send app data under its handshake key.
    p.client->consume_output(p.client->pending_output().size());
    const Bytes rec =
        forge(p.client->negotiated().suite, p.client_log.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"],
              0, {'e', 'a', 'r', 'l', 'y', 23});
    auto r = p.server->receive(rec);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::unexpected_message);
}

TEST(Negative, PlaintextHandshakeAfterKeysIsUnexpectedMessage) {
    Pair p;
    p.handshake();
    const Bytes rec = {22, 3, 3, 0, 4, 1, 0, 0, 0};
    auto r = p.server->receive(rec);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::unexpected_message);
}

TEST(Negative, GarbageNeverCrashes) {
    SeededRandom rng(77);
    for (int i = 0; i < 300; ++i) {
        Pair p;
        p.start();
        Bytes junk(static_cast<std::size_t>(rng.below(400)) + 1);
        rng.fill(junk);
        if (i % 2) junk[0] = 22;
        auto r = p.server->receive(junk);
        if (!r) {
            EXPECT_TRUE(p.server->failed());
        }
    }
}

}  // namespace
}  // namespace l45::tls::test

namespace l45::tls::test {
namespace {

// A TLS 1.2 ServerHello (no supported_versions) answering the client's hello,
// as a plaintext handshake record; `random_tail` ends the server random.
Bytes tls12_server_hello(ByteSpan random_tail) {
    Bytes body;
    body.push_back(0x03);
    body.push_back(0x03);  // legacy_version TLS 1.2
    Bytes random(32, 0x42);
    std::copy(random_tail.begin(), random_tail.end(), random.end() - random_tail.size());
    body.insert(body.end(), random.begin(), random.end());
    body.push_back(0);  // legacy_session_id_echo: empty
    body.push_back(0xc0);
    body.push_back(0x2f);  // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    body.push_back(0);     // compression: null
    // extensions: renegotiation_info, empty (RFC 5746), as TLS 1.2 servers send
    for (std::uint8_t b : {0x00, 0x05, 0xff, 0x01, 0x00, 0x01, 0x00})
        body.push_back(b);
    Bytes record = {22, 0x03, 0x03, 0, 0, 2, 0, 0, 0};
    record[3] = static_cast<std::uint8_t>((body.size() + 4) >> 8);
    record[4] = static_cast<std::uint8_t>(body.size() + 4);
    record[8] = static_cast<std::uint8_t>(body.size());
    record.insert(record.end(), body.begin(), body.end());
    return record;
}

std::optional<Alert> client_verdict_on(const Bytes& server_hello) {
    Pair p;
    p.start();
    p.client->consume_output(p.client->pending_output().size());  // the ClientHello
    auto r = p.client->receive(server_hello);
    if (r) return std::nullopt;
    return r.error().alert;
}

// RFC 8446 §4.1.3: a TLS 1.3 client that gets a TLS 1.2 ServerHello whose
// random ends in a downgrade sentinel was downgraded by an attacker.
TEST(Negative, DowngradeSentinelIsIllegalParameter) {
    const std::uint8_t tls12[] = {'D', 'O', 'W', 'N', 'G', 'R', 'D', 0x01};
    const std::uint8_t tls11[] = {'D', 'O', 'W', 'N', 'G', 'R', 'D', 0x00};
    EXPECT_EQ(client_verdict_on(tls12_server_hello(tls12)), Alert::illegal_parameter);
    EXPECT_EQ(client_verdict_on(tls12_server_hello(tls11)), Alert::illegal_parameter);
}

// Without a sentinel it is an honest TLS 1.2 server, which l45 does not speak.
TEST(Negative, Tls12ServerHelloIsProtocolVersion) {
    const std::uint8_t plain[] = {1, 2, 3, 4, 5, 6, 7, 8};
    EXPECT_EQ(client_verdict_on(tls12_server_hello(plain)), Alert::protocol_version);
}

}  // namespace
}  // namespace l45::tls::test
