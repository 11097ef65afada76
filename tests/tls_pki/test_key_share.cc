// ECDHE key shares: Wycheproof X25519 and P-256 ECDH vectors, RFC 8448's
// x25519 (section 3) and P-256 (section 5) key pairs, peer-share validation
// and deterministic key generation.
#include <gtest/gtest.h>

#include "tests/tls_pki/pki_test_util.h"
#include "tls/pki/key_share.h"

namespace l45::tls::pki {
namespace {

using test::alert_of;
using test::Bytes;
using test::hex;

Bytes to_vec(ByteSpan s) {
    return {s.begin(), s.end()};
}

bool all_zero(const Bytes& b) {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

// Wycheproof x25519_test.json: every valid and acceptable case derives the
// expected secret, except that a zero shared secret (low-order public keys)
// must be refused with illegal_parameter (RFC 8446 §7.4.2).
TEST(KeyShareWycheproof, X25519) {
    const auto doc = l45::test::load_json("vectors/wycheproof/x25519_test.json");
    int num_run = 0, num_zero = 0, num_acceptable = 0;
    for (const auto& group : doc.at("testGroups")) {
        for (const auto& t : group.at("tests")) {
            SCOPED_TRACE("tcId " + std::to_string(t.at("tcId").get<int>()));
            const Bytes priv = hex(t.at("private").get<std::string>());
            const Bytes pub = hex(t.at("public").get<std::string>());
            const Bytes shared = hex(t.at("shared").get<std::string>());
            const std::string result = t.at("result");
            auto share = KeyShare::from_private(NamedGroup::x25519, priv);
            ASSERT_TRUE(share);
            auto secret = share->derive(pub);
            ++num_run;
            if (result == "acceptable") ++num_acceptable;
            if (pub.size() != 32) {
                EXPECT_EQ(alert_of(secret), Alert::illegal_parameter);
            } else if (all_zero(shared)) {
                ++num_zero;
                EXPECT_EQ(alert_of(secret), Alert::illegal_parameter);
            } else {
                ASSERT_TRUE(secret) << result;
                EXPECT_EQ(to_vec(secret->view()), shared);
            }
        }
    }
    EXPECT_GT(num_run, 500);
    EXPECT_GT(num_zero, 0);
    EXPECT_GT(num_acceptable, 0);
}

// The private keys of ecdh_secp256r1_ecpoint_test.json are ASN.1 integers:
// sometimes with a leading 00, sometimes shorter than 32 bytes.
Bytes scalar32(Bytes k) {
    while (k.size() > 32 && k.front() == 0)
        k.erase(k.begin());
    Bytes out(32 - std::min<std::size_t>(32, k.size()), 0);
    out.insert(out.end(), k.begin(), k.end());
    return out;
}

// Wycheproof ecdh_secp256r1_ecpoint_test.json: valid points derive the
// expected X coordinate; invalid ones (off the curve, wrong length, infinity,
// bad encoding) are illegal_parameter. "acceptable" are compressed points,
// which TLS 1.3 forbids (§4.2.8.2): refused, or if accepted, correct.
TEST(KeyShareWycheproof, EcdhP256Ecpoint) {
    const auto doc = l45::test::load_json("vectors/wycheproof/ecdh_secp256r1_ecpoint_test.json");
    int num_valid = 0, num_invalid = 0;
    for (const auto& group : doc.at("testGroups")) {
        for (const auto& t : group.at("tests")) {
            SCOPED_TRACE("tcId " + std::to_string(t.at("tcId").get<int>()));
            const Bytes priv = scalar32(hex(t.at("private").get<std::string>()));
            const Bytes pub = hex(t.at("public").get<std::string>());
            const Bytes shared = hex(t.at("shared").get<std::string>());
            const std::string result = t.at("result");
            auto share = KeyShare::from_private(NamedGroup::secp256r1, priv);
            ASSERT_TRUE(share);
            auto secret = share->derive(pub);
            if (result == "valid") {
                ++num_valid;
                ASSERT_TRUE(secret);
                EXPECT_EQ(to_vec(secret->view()), shared);
            } else if (result == "invalid") {
                ++num_invalid;
                EXPECT_EQ(alert_of(secret), Alert::illegal_parameter);
            } else if (secret) {
                EXPECT_EQ(to_vec(secret->view()), shared);
            } else {
                EXPECT_EQ(alert_of(secret), Alert::illegal_parameter);
            }
        }
    }
    EXPECT_GT(num_valid, 100);
    EXPECT_GT(num_invalid, 20);
}

// Both key pairs of an RFC 8448 trace: each side's private key gives its
// public key, and both directions of the exchange give the IKM of the
// "handshake" extract.
void expect_trace_key_exchange(const char* trace_file, NamedGroup group, const char* step,
                               std::size_t public_key_len) {
    const auto trace = l45::test::load_json(trace_file);
    const Bytes c_priv = test::rfc8448_value(trace, "client", step, "private key");
    const Bytes c_pub = test::rfc8448_value(trace, "client", step, "public key");
    const Bytes s_priv = test::rfc8448_value(trace, "server", step, "private key");
    const Bytes s_pub = test::rfc8448_value(trace, "server", step, "public key");
    const Bytes ikm = test::rfc8448_value(trace, "server", "extract secret \"handshake\"", "IKM");
    ASSERT_EQ(c_pub.size(), public_key_len);
    ASSERT_EQ(ikm.size(), 32u);

    auto client = KeyShare::from_private(group, c_priv);
    auto server = KeyShare::from_private(group, s_priv);
    ASSERT_TRUE(client);
    ASSERT_TRUE(server);
    EXPECT_EQ(to_vec(client->public_key()), c_pub);
    EXPECT_EQ(to_vec(server->public_key()), s_pub);
    auto k1 = client->derive(s_pub);
    auto k2 = server->derive(c_pub);
    ASSERT_TRUE(k1);
    ASSERT_TRUE(k2);
    EXPECT_EQ(to_vec(k1->view()), ikm);
    EXPECT_EQ(to_vec(k2->view()), ikm);
}

// RFC 8448 §3: the trace's x25519 key pairs.
TEST(KeyShareRfc8448, SimpleX25519BothDirections) {
    expect_trace_key_exchange("vectors/rfc8448/simple_1rtt.json", NamedGroup::x25519,
                              "create an ephemeral x25519", 32);
}

// RFC 8448 §5: after the HelloRetryRequest both sides use P-256.
TEST(KeyShareRfc8448, HrrP256BothDirections) {
    expect_trace_key_exchange("vectors/rfc8448/hrr.json", NamedGroup::secp256r1,
                              "create an ephemeral P-256", 65);
}

class KeyShareGroups : public ::testing::TestWithParam<NamedGroup> {};

// Two freshly generated shares agree, and the wire form has the §4.2.8.2
// shape: raw 32 bytes, or 0x04 || X || Y.
TEST_P(KeyShareGroups, GenerateAndAgree) {
    const NamedGroup g = GetParam();
    SystemRandom rng;
    auto a = KeyShare::generate(g, rng);
    auto b = KeyShare::generate(g, rng);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->group(), g);
    EXPECT_EQ(a->public_key().size(), key_share_public_len(g));
    if (g != NamedGroup::x25519) {
        EXPECT_EQ(a->public_key()[0], 0x04);
    }
    EXPECT_NE(to_vec(a->public_key()), to_vec(b->public_key()));
    auto ka = a->derive(b->public_key());
    auto kb = b->derive(a->public_key());
    ASSERT_TRUE(ka);
    ASSERT_TRUE(kb);
    EXPECT_EQ(ka->size(), g == NamedGroup::secp384r1 ? 48u : 32u);
    EXPECT_EQ(to_vec(ka->view()), to_vec(kb->view()));
}

// The injected random source fully determines the key.
TEST_P(KeyShareGroups, DeterministicWithSeededRandom) {
    const NamedGroup g = GetParam();
    SeededRandom r1(0x1234), r2(0x1234), r3(0x1235);
    auto a = KeyShare::generate(g, r1);
    auto b = KeyShare::generate(g, r2);
    auto c = KeyShare::generate(g, r3);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(to_vec(a->public_key()), to_vec(b->public_key()));
    EXPECT_NE(to_vec(a->public_key()), to_vec(c->public_key()));
}

TEST_P(KeyShareGroups, RejectsMalformedPeerShares) {
    const NamedGroup g = GetParam();
    SeededRandom rng(7);
    auto a = KeyShare::generate(g, rng);
    auto b = KeyShare::generate(g, rng);
    ASSERT_TRUE(a && b);
    const Bytes good = to_vec(b->public_key());

    Bytes longer = good;
    longer.push_back(0);
    EXPECT_EQ(alert_of(a->derive(longer)), Alert::illegal_parameter);
    EXPECT_EQ(alert_of(a->derive(ByteSpan(good).first(good.size() - 1))), Alert::illegal_parameter);
    EXPECT_EQ(alert_of(a->derive({})), Alert::illegal_parameter);

    if (g == NamedGroup::x25519) {
        // The all-zero public key is a low-order point: zero shared secret.
        EXPECT_EQ(alert_of(a->derive(Bytes(32, 0))), Alert::illegal_parameter);
        // u = 1 is low order too.
        Bytes one(32, 0);
        one[0] = 1;
        EXPECT_EQ(alert_of(a->derive(one)), Alert::illegal_parameter);
    } else {
        // Compressed (0x02/0x03) and hybrid (0x06/0x07) forms are refused
        // even when the length is right.
        for (std::uint8_t prefix : {0x00, 0x02, 0x03, 0x06, 0x07}) {
            Bytes bad = good;
            bad[0] = prefix;
            EXPECT_EQ(alert_of(a->derive(bad)), Alert::illegal_parameter) << int{prefix};
        }
        // Off the curve: Y + 1.
        Bytes off = good;
        off.back() ^= 0x01;
        EXPECT_EQ(alert_of(a->derive(off)), Alert::illegal_parameter);
        // (0, 0) is not on either curve.
        Bytes zeros(good.size(), 0);
        zeros[0] = 0x04;
        EXPECT_EQ(alert_of(a->derive(zeros)), Alert::illegal_parameter);
        // X >= p: all-ones coordinates.
        Bytes big(good.size(), 0xff);
        big[0] = 0x04;
        EXPECT_EQ(alert_of(a->derive(big)), Alert::illegal_parameter);
    }
    // The good share still works after all that.
    EXPECT_TRUE(a->derive(good));
}

INSTANTIATE_TEST_SUITE_P(All, KeyShareGroups,
                         ::testing::Values(NamedGroup::x25519, NamedGroup::secp256r1,
                                           NamedGroup::secp384r1));

// Rejection sampling: an out-of-range draw (>= n, or zero) is discarded and
// the next draw is used, so the key equals from_private(next draw).
TEST(KeyShare, NistScalarRejectionSampling) {
    const Bytes valid = hex("0612465c89a023ab17855b0a6bcebfd3febb53aef84138647b5352e02c10c346");
    test::ScriptedRandom rng;
    rng.push(Bytes(32, 0xff));  // > n
    rng.push(Bytes(32, 0x00));  // zero
    // n itself (P-256 order).
    rng.push(hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"));
    rng.push(valid);
    auto generated = KeyShare::generate(NamedGroup::secp256r1, rng);
    auto expected = KeyShare::from_private(NamedGroup::secp256r1, valid);
    ASSERT_TRUE(generated);
    ASSERT_TRUE(expected);
    EXPECT_EQ(to_vec(generated->public_key()), to_vec(expected->public_key()));

    // n - 1 is the largest valid scalar.
    const Bytes n_minus_1 = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550");
    EXPECT_TRUE(KeyShare::from_private(NamedGroup::secp256r1, n_minus_1));
}

TEST(KeyShare, RejectsBadPrivateKeysAndGroups) {
    SystemRandom rng;
    EXPECT_EQ(alert_of(KeyShare::generate(NamedGroup::x448, rng)), Alert::internal_error);
    EXPECT_EQ(alert_of(KeyShare::generate(NamedGroup::secp521r1, rng)), Alert::internal_error);
    EXPECT_EQ(alert_of(KeyShare::from_private(NamedGroup::x25519, Bytes(31, 1))),
              Alert::internal_error);
    EXPECT_EQ(alert_of(KeyShare::from_private(NamedGroup::secp256r1, Bytes(32, 0))),
              Alert::internal_error);
    EXPECT_EQ(alert_of(KeyShare::from_private(NamedGroup::secp256r1, Bytes(32, 0xff))),
              Alert::internal_error);
    EXPECT_EQ(alert_of(KeyShare::from_private(NamedGroup::secp384r1, Bytes(32, 1))),
              Alert::internal_error);
    EXPECT_TRUE(key_share_supported(NamedGroup::x25519));
    EXPECT_FALSE(key_share_supported(NamedGroup::x448));
    EXPECT_EQ(key_share_public_len(NamedGroup::secp384r1), 97u);
    EXPECT_EQ(supported_groups().front(), NamedGroup::x25519);
}

}  // namespace
}  // namespace l45::tls::pki
