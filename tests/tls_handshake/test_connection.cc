// TLS 1.3 client and server pumped in memory (RFC 8446 §4): every suite,
// group and signature type, HRR, KeyUpdate, bulk transfer, fragmentation and
// the alerts of §6.2 on their errors.
#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

#include "tests/tls_handshake/harness.h"

namespace l45::tls::test {
namespace {

void expect_echo(Pair& p, std::size_t len) {
    Bytes data(len);
    SeededRandom(9).fill(data);
    auto w = p.client->write(data);
    ASSERT_TRUE(w.has_value());
    ASSERT_EQ(*w, len);
    Bytes got;
    p.pump(SIZE_MAX, nullptr, &got);
    EXPECT_EQ(got, data);
    auto w2 = p.server->write(data);
    ASSERT_TRUE(w2.has_value());
    Bytes back;
    p.pump(SIZE_MAX, &back, nullptr);
    EXPECT_EQ(back, data);
}

// --- every suite x group x signature type ---
struct MatrixParam {
    CipherSuite suite;
    NamedGroup group;
    KeyType key;
};

class Matrix : public ::testing::TestWithParam<MatrixParam> {};

TEST_P(Matrix, HandshakeAndDataBothWays) {
    const auto prm = GetParam();
    Pair p(prm.key);
    p.client_cfg.cipher_suites = {prm.suite};
    p.client_cfg.groups = {prm.group};
    p.handshake();
    ASSERT_FALSE(p.client_error) << alert_name(p.client_error->alert);
    ASSERT_FALSE(p.server_error) << alert_name(p.server_error->alert);
    ASSERT_TRUE(p.client->handshake_complete());
    ASSERT_TRUE(p.server->handshake_complete());
    EXPECT_EQ(p.client->negotiated().suite, prm.suite);
    EXPECT_EQ(p.server->negotiated().group, prm.group);
    EXPECT_FALSE(p.client->negotiated().hello_retry);
    EXPECT_EQ(p.server->negotiated().server_name, "server.l45.test");
    EXPECT_EQ(p.client->negotiated().peer_certificates.size(), 1u);
    EXPECT_EQ(p.client->negotiated().signature_scheme, p.server->negotiated().signature_scheme);
    // Both sides logged the same five secrets (NSS key log).
    for (const char* label :
         {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
          "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}) {
        ASSERT_EQ(p.client_log.secrets.count(label), 1u) << label;
        EXPECT_EQ(p.client_log.secrets[label], p.server_log.secrets[label]) << label;
        EXPECT_EQ(p.client_log.secrets[label].size(),
                  prm.suite == CipherSuite::aes_256_gcm_sha384 ? 48u : 32u);
    }
    Bytes e1(32), e2(32);
    ASSERT_TRUE(p.client->export_keying_material("EXPERIMENTAL test", {}, e1).has_value());
    ASSERT_TRUE(p.server->export_keying_material("EXPERIMENTAL test", {}, e2).has_value());
    EXPECT_EQ(e1, e2);
    expect_echo(p, 40000);
}

std::vector<MatrixParam> matrix() {
    std::vector<MatrixParam> out;
    for (auto s : {CipherSuite::aes_128_gcm_sha256, CipherSuite::aes_256_gcm_sha384,
                   CipherSuite::chacha20_poly1305_sha256})
        for (auto g : {NamedGroup::x25519, NamedGroup::secp256r1, NamedGroup::secp384r1})
            for (auto k :
                 {KeyType::ecdsa_p256, KeyType::ecdsa_p384, KeyType::rsa2048, KeyType::ed25519})
                out.push_back({s, g, k});
    return out;
}
INSTANTIATE_TEST_SUITE_P(All, Matrix, ::testing::ValuesIn(matrix()), [](const auto& param_info) {
    return std::to_string(static_cast<int>(param_info.param.suite)) + "_" +
           std::to_string(static_cast<int>(param_info.param.group)) + "_" +
           key_type_name(param_info.param.key);
});

// Config::record_offload (the appliance's kTLS-like split): receive() stops
// right after the client's Finished; the caller opens the following records
// with the connection's own opener, hands a KeyUpdate back through
// receive_control (which switches the read key and queues the answer), and
// seals its own records after the connection's pending output, so the peer
// sees one sequence of records per direction.
TEST(RecordOffload, CallerOwnsTheRecordLayerAfterFinished) {
    Pair p;
    p.server_cfg.record_offload = true;
    p.start();
    std::optional<TlsError> err;
    Pair::deliver(*p.client, *p.server, SIZE_MAX, nullptr, err);  // ClientHello
    Pair::deliver(*p.server, *p.client, SIZE_MAX, nullptr, err);  // server flight
    ASSERT_FALSE(err);
    ASSERT_TRUE(p.client->handshake_complete());
    // Finished, then application data, a KeyUpdate, more data: one buffer.
    const Bytes one = {'o', 'n', 'e'}, two = {'t', 'w', 'o', '!'};
    ASSERT_EQ(p.client->write(one).value(), one.size());
    ASSERT_TRUE(p.client->key_update(true).has_value());
    ASSERT_EQ(p.client->write(two).value(), two.size());
    const Bytes wire(p.client->pending_output().begin(), p.client->pending_output().end());
    p.client->consume_output(wire.size());
    auto taken = p.server->receive(wire);
    ASSERT_TRUE(taken.has_value());
    ASSERT_LT(*taken, wire.size());  // stopped at the record after Finished
    EXPECT_TRUE(p.server->handshake_complete());
    EXPECT_TRUE(p.server->record_offloaded());
    EXPECT_EQ(p.server->readable(), 0u);
    // The caller's record layer.
    Bytes rest(wire.begin() + static_cast<long>(*taken), wire.end());
    Deframer d;
    std::vector<Bytes> app;
    ByteSpan in(rest);
    while (!in.empty()) {
        auto used = d.feed(in);
        ASSERT_TRUE(used.has_value());
        in = in.subspan(*used);
        RecordView* rec = d.record();
        if (rec == nullptr) continue;
        auto opened = p.server->record_opener().open(p.server->engine(), *rec);
        ASSERT_TRUE(opened.has_value());
        if (opened->type == ContentType::application_data)
            app.emplace_back(opened->content.begin(), opened->content.end());
        else
            ASSERT_TRUE(p.server->receive_control(opened->type, opened->content).has_value());
        d.pop();
    }
    ASSERT_EQ(app.size(), 2u);
    EXPECT_EQ(app[0], one);
    EXPECT_EQ(app[1], two);  // opened with the key the KeyUpdate installed
    EXPECT_EQ(p.server->read_key_generation(), 1u);
    EXPECT_EQ(p.server->write_key_generation(), 1u);  // answered (update_requested)
    // The answer is pending: it goes out before the record sealed next.
    ASSERT_FALSE(p.server->pending_output().empty());
    Bytes to_client(p.server->pending_output().begin(), p.server->pending_output().end());
    p.server->consume_output(to_client.size());
    const Bytes resp = {'r', 'e', 's', 'p'};
    Bytes rec(RecordSealer::headroom() + resp.size() + RecordSealer::tailroom());
    std::copy(resp.begin(), resp.end(), rec.begin() + RecordSealer::headroom());
    auto n = p.server->record_sealer().seal(p.server->engine(), ContentType::application_data, rec,
                                            resp.size());
    ASSERT_TRUE(n.has_value());
    to_client.insert(to_client.end(), rec.begin(), rec.begin() + static_cast<long>(*n));
    // A bad tag of the caller's: the alert follows, under the same sequence.
    (void)p.server->record_failed(TlsError{Alert::bad_record_mac});
    EXPECT_TRUE(p.server->failed());
    EXPECT_EQ(p.server->error()->alert, Alert::bad_record_mac);
    to_client.insert(to_client.end(), p.server->pending_output().begin(),
                     p.server->pending_output().end());
    Bytes got;
    std::size_t off = 0;
    std::optional<TlsError> client_error;
    while (off < to_client.size()) {
        auto r = p.client->receive(ByteSpan(to_client).subspan(off));
        if (!r) {
            client_error = r.error();
            break;
        }
        off += *r;
        std::uint8_t buf[64];
        const std::size_t k = p.client->read(buf);
        got.insert(got.end(), buf, buf + k);
        if (*r == 0 && k == 0) break;
    }
    EXPECT_EQ(got, resp);
    EXPECT_EQ(p.client->read_key_generation(), 1u);
    ASSERT_TRUE(client_error.has_value());
    EXPECT_EQ(client_error->alert, Alert::bad_record_mac);
    EXPECT_EQ(client_error->origin, ErrorOrigin::peer);
}

TEST(Connection, SignatureSchemePerKeyType) {
    const std::pair<KeyType, SignatureScheme> cases[] = {
        {KeyType::ecdsa_p256, SignatureScheme::ecdsa_secp256r1_sha256},
        {KeyType::ecdsa_p384, SignatureScheme::ecdsa_secp384r1_sha384},
        {KeyType::rsa2048, SignatureScheme::rsa_pss_rsae_sha256},
        {KeyType::ed25519, SignatureScheme::ed25519}};
    for (auto [key, scheme] : cases) {
        Pair p(key);
        p.handshake();
        ASSERT_TRUE(p.client->handshake_complete());
        EXPECT_EQ(p.client->negotiated().signature_scheme, scheme) << key_type_name(key);
    }
}

// --- HelloRetryRequest (§4.1.4) ---
TEST(Connection, HelloRetryRequestWhenServerWantsAnotherGroup) {
    for (bool compat : {true, false}) {
        Pair p;
        p.client_cfg.middlebox_compat = compat;
        p.server_cfg.groups = {NamedGroup::secp256r1};
        p.handshake();
        ASSERT_FALSE(p.client_error) << alert_name(p.client_error->alert);
        ASSERT_FALSE(p.server_error) << alert_name(p.server_error->alert);
        ASSERT_TRUE(p.client->handshake_complete());
        EXPECT_TRUE(p.client->negotiated().hello_retry);
        EXPECT_TRUE(p.server->negotiated().hello_retry);
        EXPECT_EQ(p.client->negotiated().group, NamedGroup::secp256r1);
        expect_echo(p, 1000);
    }
}

TEST(Connection, NoCommonGroupIsHandshakeFailure) {
    Pair p;
    p.client_cfg.groups = {NamedGroup::x25519};
    p.server_cfg.groups = {NamedGroup::secp384r1};
    p.handshake();
    ASSERT_TRUE(p.server_error);
    EXPECT_EQ(p.server_error->alert, Alert::handshake_failure);
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::handshake_failure);
    EXPECT_EQ(p.client_error->origin, ErrorOrigin::peer);
}

TEST(Connection, AlpnNegotiationAndMismatch) {
    {
        Pair p;
        p.client_cfg.alpn = {"h2", "http/1.1"};
        p.server_cfg.alpn = {"http/1.1", "h2"};
        p.handshake();
        ASSERT_TRUE(p.client->handshake_complete());
        EXPECT_EQ(p.client->negotiated().alpn, "http/1.1");
        EXPECT_EQ(p.server->negotiated().alpn, "http/1.1");
    }
    {
        Pair p;
        p.client_cfg.alpn = {"h2"};
        p.server_cfg.alpn = {"imap"};
        p.handshake();
        ASSERT_TRUE(p.client_error);
        EXPECT_EQ(p.client_error->alert, Alert::no_application_protocol);
    }
}

// --- KeyUpdate (§4.6.3) ---
TEST(Connection, KeyUpdateBothWaysWithAndWithoutRequest) {
    Pair p;
    p.handshake();
    ASSERT_TRUE(p.client->handshake_complete());
    ASSERT_TRUE(p.client->key_update(false).has_value());
    expect_echo(p, 100);
    EXPECT_EQ(p.client->write_key_generation(), 1u);
    EXPECT_EQ(p.server->read_key_generation(), 1u);
    EXPECT_EQ(p.server->write_key_generation(), 0u);
    ASSERT_TRUE(p.server->key_update(true).has_value());
    expect_echo(p, 100);
    EXPECT_EQ(p.server->write_key_generation(), 1u);
    EXPECT_EQ(p.client->read_key_generation(), 1u);
    EXPECT_EQ(p.client->write_key_generation(), 2u);  // answered the request
    EXPECT_EQ(p.server->read_key_generation(), 2u);
    ASSERT_TRUE(p.client->key_update(true).has_value());
    expect_echo(p, 100);
    EXPECT_EQ(p.server->write_key_generation(), 2u);
    EXPECT_EQ(p.client->read_key_generation(), 2u);
    EXPECT_FALSE(p.client_error);
    EXPECT_FALSE(p.server_error);
}

// --- close_notify (§6.1) ---
TEST(Connection, CloseNotify) {
    Pair p;
    p.handshake();
    ASSERT_TRUE(p.client->close().has_value());
    p.pump();
    EXPECT_TRUE(p.server->peer_closed());
    EXPECT_EQ(p.server->status(), ConnectionStatus::closed);
    EXPECT_EQ(*p.client->write(Bytes(10)), 0u);
}

// --- reset(): one Connection object serves one session after another ---
TEST(Connection, ResetServesAFreshSessionInTheSameBuffers) {
    Pair p;
    p.handshake();
    ASSERT_TRUE(p.client->handshake_complete());
    expect_echo(p, 40000);
    const auto first_secret = p.server_log.secrets["CLIENT_TRAFFIC_SECRET_0"];
    ASSERT_FALSE(first_secret.empty());
    // Leave unsent output behind on both sides: reset must drop it.
    ASSERT_TRUE(p.server->write(Bytes(100)).has_value());
    ASSERT_TRUE(p.client->close().has_value());
    // Output was fully drained before close(), so close_notify sits at the
    // start of the client's output buffer.
    const std::uint8_t* client_out_before = p.client->pending_output().data();

    const Connection* server_before = p.server.get();
    ASSERT_TRUE(p.server->reset().has_value());
    ASSERT_TRUE(p.client->reset().has_value());
    EXPECT_EQ(p.server.get(), server_before);
    EXPECT_EQ(p.server->status(), ConnectionStatus::handshaking);
    EXPECT_FALSE(p.server->handshake_complete());
    EXPECT_TRUE(p.server->pending_output().empty());
    EXPECT_EQ(p.server->readable(), 0u);
    // The client queued a fresh ClientHello at the start of its old buffer.
    const ByteSpan hello = p.client->pending_output();
    ASSERT_FALSE(hello.empty());
    EXPECT_EQ(hello[0], 22);                     // handshake record
    EXPECT_EQ(hello.data(), client_out_before);  // the same buffer, not a new one
    EXPECT_EQ(p.client->client_state(), ClientState::wait_server_hello);

    p.pump();
    ASSERT_FALSE(p.client_error);
    ASSERT_FALSE(p.server_error);
    ASSERT_TRUE(p.client->handshake_complete());
    ASSERT_TRUE(p.server->handshake_complete());
    EXPECT_EQ(p.server->negotiated().server_name, "server.l45.test");
    // A new session: new keys (the key log saw the second handshake).
    EXPECT_NE(p.server_log.secrets["CLIENT_TRAFFIC_SECRET_0"], first_secret);
    EXPECT_EQ(p.server_log.secrets["CLIENT_TRAFFIC_SECRET_0"],
              p.client_log.secrets["CLIENT_TRAFFIC_SECRET_0"]);
    expect_echo(p, 70000);
}

TEST(Connection, ResetAfterAFatalAlertClearsTheError) {
    Pair p;
    p.start();
    // Garbage instead of a ClientHello: the server fails with an alert.
    const Bytes junk = {22, 3, 1, 0, 4, 99, 0, 0, 0};
    EXPECT_FALSE(p.server->receive(junk).has_value());
    ASSERT_TRUE(p.server->failed());
    ASSERT_TRUE(plaintext_alert(p.server->pending_output()).has_value());
    ASSERT_TRUE(p.server->reset().has_value());
    EXPECT_FALSE(p.server->failed());
    EXPECT_TRUE(p.server->pending_output().empty());
    p.pump();
    ASSERT_FALSE(p.client_error);
    ASSERT_FALSE(p.server_error);
    EXPECT_TRUE(p.server->handshake_complete());
    expect_echo(p, 1000);
}

// --- bulk transfer checked by SHA-256 ---
std::size_t transfer_bytes(const char* env, std::size_t dflt) {
    const char* v = std::getenv(env);
    return v ? std::strtoull(v, nullptr, 10) : dflt;
}

void bulk(std::size_t total) {
    Pair p;
    p.handshake();
    ASSERT_TRUE(p.client->handshake_complete());
    Bytes chunk(256 * 1024);
    SeededRandom rng(5);
    EVP_MD_CTX* tx = EVP_MD_CTX_new();
    EVP_MD_CTX* rx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(tx, EVP_sha256(), nullptr);
    EVP_DigestInit_ex(rx, EVP_sha256(), nullptr);
    std::size_t sent = 0, received = 0;
    std::uint8_t buf[16384];
    auto drain = [&] {
        const ByteSpan out = p.client->pending_output();
        auto r = p.server->receive(out);
        ASSERT_TRUE(r.has_value());
        p.client->consume_output(*r);
        while (p.server->readable() != 0) {
            const std::size_t n = p.server->read(buf);
            EVP_DigestUpdate(rx, buf, n);
            received += n;
        }
    };
    while (sent < total) {
        const std::size_t n = std::min(chunk.size(), total - sent);
        rng.fill({chunk.data(), n});
        std::size_t off = 0;
        while (off < n) {
            auto w = p.client->write({chunk.data() + off, n - off});
            ASSERT_TRUE(w.has_value());
            off += *w;
            if (*w == 0) drain();  // output full: let the server take it
        }
        EVP_DigestUpdate(tx, chunk.data(), n);
        sent += n;
    }
    while (received < total && !p.client->pending_output().empty())
        drain();
    Bytes a(32), b(32);
    EVP_DigestFinal_ex(tx, a.data(), nullptr);
    EVP_DigestFinal_ex(rx, b.data(), nullptr);
    EVP_MD_CTX_free(tx);
    EVP_MD_CTX_free(rx);
    EXPECT_EQ(sent, total);
    EXPECT_EQ(received, total);
    EXPECT_EQ(a, b);
}

TEST(Transfer, LargeTransferSha256) {
    bulk(transfer_bytes("L45_TLS_TRANSFER_BYTES", std::size_t{64} << 20));
}
TEST(TransferLong, OneGibibyte) {
    if (!std::getenv("L45_TLS_LONG")) GTEST_SKIP() << "set L45_TLS_LONG=1 (suite tls-long)";
    bulk(transfer_bytes("L45_TLS_LONG_BYTES", std::size_t{1} << 30));
}

// --- fragmentation and coalescing (§5.1) ---
TEST(Connection, OneBytePerReceive) {
    Pair p(KeyType::rsa2048);
    p.server_cfg.groups = {NamedGroup::secp384r1};  // HRR too
    p.handshake(1);
    ASSERT_FALSE(p.client_error) << alert_name(p.client_error->alert);
    ASSERT_FALSE(p.server_error) << alert_name(p.server_error->alert);
    ASSERT_TRUE(p.client->handshake_complete());
    ASSERT_TRUE(p.server->handshake_complete());
    Bytes data(20000, 0x5a);
    ASSERT_EQ(*p.client->write(data), data.size());
    Bytes got;
    p.pump(1, nullptr, &got);
    EXPECT_EQ(got, data);
}

TEST(Connection, CoalescedFlightsAndRecords) {
    Pair p;
    p.start();
    // Everything the server sends (SH, CCS, EE..Finished) in one receive().
    ASSERT_TRUE(Pair::deliver(*p.client, *p.server, SIZE_MAX, nullptr, p.server_error));
    ASSERT_TRUE(Pair::deliver(*p.server, *p.client, SIZE_MAX, nullptr, p.client_error));
    ASSERT_TRUE(p.client->handshake_complete());
    // Client Finished + three app records in one delivery.
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(*p.client->write(Bytes(1000, static_cast<std::uint8_t>(i))), 1000u);
    Bytes got;
    p.pump(SIZE_MAX, nullptr, &got);
    ASSERT_EQ(got.size(), 3000u);
    EXPECT_EQ(got[2999], 2);
}

// --- certificates (§4.4.2.4) ---
TEST(Connection, HostnameMismatchIsBadCertificate) {
    Pair p(KeyType::ecdsa_p256, "other.l45.test");
    p.handshake();
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::bad_certificate);
    ASSERT_TRUE(p.server_error);
    EXPECT_EQ(p.server_error->alert, Alert::bad_certificate);
    EXPECT_EQ(p.server_error->origin, ErrorOrigin::peer);
}

TEST(Connection, UntrustedCaIsUnknownCa) {
    const auto other = make_pki(KeyType::ecdsa_p256, "server.l45.test");
    Pair p(KeyType::ecdsa_p256, "server.l45.test", other.ca_pem);
    p.handshake();
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::unknown_ca);
    ASSERT_TRUE(p.server_error);
    EXPECT_EQ(p.server_error->alert, Alert::unknown_ca);
}

TEST(Connection, InsecureFlagAcceptsAnyCertificate) {
    const auto other = make_pki(KeyType::ecdsa_p256, "x.l45.test");
    Pair p(KeyType::ecdsa_p256, "server.l45.test", other.ca_pem);
    p.client_cfg.verifier = nullptr;
    p.client_cfg.insecure_skip_verify_DANGEROUS = true;
    p.handshake();
    EXPECT_TRUE(p.client->handshake_complete());
}

TEST(Connection, ExpiredCertificateByInjectedWallClock) {
    Pair p;
    p.client_cfg.wall_clock = [] { return std::time(nullptr) + 3600L * 24 * 400; };
    p.handshake();
    ASSERT_TRUE(p.client_error);
    EXPECT_EQ(p.client_error->alert, Alert::certificate_expired);
}

}  // namespace
}  // namespace l45::tls::test
