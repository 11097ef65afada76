// HKDF (RFC 5869) through the key schedule's hkdf_extract/hkdf_expand:
// Wycheproof hkdf_sha256_test.json and hkdf_sha384_test.json, plus the TLS
// wrappers (HKDF-Expand-Label encoding, Finished, KeyUpdate, exporter).
#include <gtest/gtest.h>

#include <vector>

#include "tests/support/vectors.h"
#include "tls/record/key_schedule.h"

namespace l45::tls {
namespace {

using test::from_hex;
using test::to_hex;
using Bytes = std::vector<std::uint8_t>;

class WycheproofHkdf : public ::testing::TestWithParam<HashAlgorithm> {};

TEST_P(WycheproofHkdf, ExtractThenExpand) {
    const HashAlgorithm hash = GetParam();
    const auto doc =
        test::load_json(hash == HashAlgorithm::sha256 ? "vectors/wycheproof/hkdf_sha256_test.json"
                                                      : "vectors/wycheproof/hkdf_sha384_test.json");
    std::size_t valid = 0, invalid = 0;
    for (const auto& group : doc.at("testGroups")) {
        for (const auto& t : group.at("tests")) {
            SCOPED_TRACE("tcId " + std::to_string(t.at("tcId").get<int>()));
            const Bytes ikm = from_hex(t.at("ikm").get<std::string>());
            const Bytes salt = from_hex(t.at("salt").get<std::string>());
            const Bytes info = from_hex(t.at("info").get<std::string>());
            const std::size_t size = t.at("size");
            const bool ok = t.at("result") == "valid";
            auto prk = hkdf_extract(hash, salt, ikm);
            ASSERT_TRUE(prk.has_value());
            ASSERT_EQ(prk->size(), hash_len(hash));
            Bytes okm(size);
            auto r = hkdf_expand(hash, prk->view(), info, okm);
            if (ok) {
                ASSERT_TRUE(r.has_value());
                EXPECT_EQ(to_hex(okm), t.at("okm").get<std::string>());
                ++valid;
            } else {
                EXPECT_FALSE(r.has_value());
                ++invalid;
            }
        }
    }
    EXPECT_EQ(valid + invalid, doc.at("numberOfTests").get<std::size_t>());
    EXPECT_GT(valid, 50u);
    EXPECT_GT(invalid, 0u);
}

INSTANTIATE_TEST_SUITE_P(Hkdf, WycheproofHkdf,
                         ::testing::Values(HashAlgorithm::sha256, HashAlgorithm::sha384),
                         [](const auto& p) {
                             return p.param == HashAlgorithm::sha256 ? "Sha256" : "Sha384";
                         });

// RFC 8448 §3 "derive secret for handshake": the HkdfLabel the RFC prints as
// `info`, expanded from the early secret, and our Expand-Label of the same.
TEST(HkdfExpandLabel, MatchesRfc8448Info) {
    const Bytes early =
        from_hex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a");
    const Digest empty = empty_hash(HashAlgorithm::sha256);
    EXPECT_EQ(to_hex(empty.view()),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const Bytes info = from_hex(
        "00200d746c733133206465726976656420e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49599"
        "1b7852b855");
    Bytes a(32), b(32);
    ASSERT_TRUE(hkdf_expand(HashAlgorithm::sha256, early, info, a).has_value());
    ASSERT_TRUE(
        hkdf_expand_label(HashAlgorithm::sha256, early, "derived", empty.view(), b).has_value());
    EXPECT_EQ(to_hex(a), "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba");
    EXPECT_EQ(to_hex(b), to_hex(a));
    // Over-long labels/contexts are refused rather than truncated.
    EXPECT_FALSE(
        hkdf_expand_label(HashAlgorithm::sha256, early, std::string(250, 'x'), {}, b).has_value());
    EXPECT_FALSE(hkdf_expand_label(HashAlgorithm::sha256, early, "x", Bytes(256), b).has_value());
}

// §7.2: each KeyUpdate derives the next secret with "traffic upd"; two
// steps differ from one another and from the start, and the chain is
// deterministic. Cross-checked against HKDF-Expand with the label spelled
// out by hand (00 20 | 11 "tls13 traffic upd" | 00).
TEST(KeyUpdate, NextTrafficSecret) {
    for (HashAlgorithm hash : {HashAlgorithm::sha256, HashAlgorithm::sha384}) {
        const std::size_t len = hash_len(hash);
        Secret s0(Bytes(len, 0x5a));
        auto s1 = next_application_traffic_secret(hash, s0);
        ASSERT_TRUE(s1.has_value());
        Bytes info = {0x00, static_cast<std::uint8_t>(len), 17};
        for (char c : std::string("tls13 traffic upd"))
            info.push_back(static_cast<std::uint8_t>(c));
        info.push_back(0);
        Bytes manual(len);
        ASSERT_TRUE(hkdf_expand(hash, s0.view(), info, manual).has_value());
        EXPECT_EQ(to_hex(s1->view()), to_hex(manual));
        auto s2 = next_application_traffic_secret(hash, *s1);
        ASSERT_TRUE(s2.has_value());
        EXPECT_NE(to_hex(s2->view()), to_hex(s1->view()));
        EXPECT_NE(to_hex(s1->view()), to_hex(s0.view()));
    }
}

// §4.4.4 with RFC 8448 §3's server Finished; a one-bit change is decrypt_error.
TEST(Finished, VerifyDataAndConstantTimeVerify) {
    const auto doc = test::load_json("vectors/rfc8448/simple_1rtt.json");
    std::string finished_hex, finished_key_hex;
    for (const auto& step : doc.at("steps")) {
        if (step.at("who") != "server") continue;
        const std::string what = step.at("what");
        const auto& values = step.at("values");
        if (what == "calculate finished \"tls13 finished\"") {
            finished_hex = values.at("finished");
            finished_key_hex = values.at("expanded");
        }
    }
    ASSERT_FALSE(finished_hex.empty());
    // Transcript-Hash(ClientHello..CertificateVerify)
    TranscriptHash full;
    ASSERT_TRUE(full.init(HashAlgorithm::sha256));
    for (const auto& step : doc.at("steps")) {
        const auto& values = step.at("values");
        for (const char* name : {"ClientHello", "ServerHello", "EncryptedExtensions", "Certificate",
                                 "CertificateVerify"})
            if (values.contains(name)) {
                ASSERT_TRUE(full.add(from_hex(values.at(name).get<std::string>())));
            }
    }
    auto hash = full.current();
    ASSERT_TRUE(hash.has_value());
    const Secret s_hs(from_hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"));
    auto key = finished_key(HashAlgorithm::sha256, s_hs);
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(to_hex(key->view()), finished_key_hex);
    auto vd = finished_verify_data(HashAlgorithm::sha256, s_hs, hash->view());
    ASSERT_TRUE(vd.has_value());
    EXPECT_EQ(to_hex(vd->view()), finished_hex);
    EXPECT_TRUE(verify_finished(HashAlgorithm::sha256, s_hs, hash->view(), vd->view()).has_value());
    Bytes bad(vd->view().begin(), vd->view().end());
    bad[31] ^= 1;
    auto r = verify_finished(HashAlgorithm::sha256, s_hs, hash->view(), bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().alert, Alert::decrypt_error);
    bad.pop_back();
    EXPECT_FALSE(verify_finished(HashAlgorithm::sha256, s_hs, hash->view(), bad).has_value());
}

// §7.5 exporter: a different label or context gives different output; the
// same inputs give the same output (no RFC vector exists for TLS 1.3).
TEST(Exporter, DependsOnLabelAndContext) {
    const Secret ems(from_hex("fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50"));
    Bytes a(32), b(32), c(32), d(32);
    ASSERT_TRUE(export_keying_material(HashAlgorithm::sha256, ems, "EXPERIMENTAL a", {}, a));
    ASSERT_TRUE(export_keying_material(HashAlgorithm::sha256, ems, "EXPERIMENTAL a", {}, b));
    ASSERT_TRUE(export_keying_material(HashAlgorithm::sha256, ems, "EXPERIMENTAL b", {}, c));
    ASSERT_TRUE(export_keying_material(HashAlgorithm::sha256, ems, "EXPERIMENTAL a", Bytes{1}, d));
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(a, d);
}

}  // namespace
}  // namespace l45::tls
