// RFC 8448 traces, byte-exact: the transcript (with the §4.4.1 HRR rule),
// every secret, key and IV of the schedule, Finished and PSK binder values,
// and every protected record sealed and opened through the record layer.
//
// The schedule is driven only by what a handshake would have: the (EC)DHE
// shared secret (the IKM of the "handshake" extract), the PSK (section 4),
// and the handshake messages taken from the records. The printed secrets
// are only compared against, never fed back in.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/support/vectors.h"
#include "tls/record/key_schedule.h"
#include "tls/record/record.h"

namespace l45::tls {
namespace {

using test::from_hex;
using test::to_hex;
using Bytes = std::vector<std::uint8_t>;
using nlohmann::json;

constexpr HashAlgorithm kHash = HashAlgorithm::sha256;  // every trace is TLS_AES_128_GCM_SHA256
constexpr CipherSuite kSuite = CipherSuite::aes_128_gcm_sha256;

std::string hex(const Secret& s) {
    return to_hex(s.view());
}
Bytes val(const json& step, const char* name) {
    return from_hex(step.at("values").at(name).get<std::string>());
}
std::string sval(const json& step, const char* name) {
    return step.at("values").at(name).get<std::string>();
}
bool starts_with(const std::string& s, const char* prefix) {
    return s.rfind(prefix, 0) == 0;
}
bool has_values(const json& step) {
    return !step.at("values").empty();
}

// SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest (§4.1.3).
const Bytes kHrrRandom =
    from_hex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c");

struct Message {
    HandshakeType type;
    Bytes bytes;
};

// Everything the trace's record payloads carry, split into handshake
// messages, in wire order.
std::vector<Message> handshake_messages(const json& doc) {
    std::vector<Message> out;
    for (const auto& step : doc.at("steps")) {
        if (step.at("what") != "send handshake record") continue;
        const Bytes payload = val(step, "payload");
        Reader r(payload);
        while (!r.empty()) {
            std::uint8_t type = 0;
            std::uint32_t len = 0;
            ByteSpan body;
            Reader saved = r;
            EXPECT_TRUE(r.u8(type) && r.u24(len) && r.bytes(len, body));
            if (::testing::Test::HasFailure()) return out;
            out.push_back({static_cast<HandshakeType>(type),
                           Bytes(saved.rest().begin(), saved.rest().begin() + 4 + len)});
        }
    }
    return out;
}

bool is_hrr(const Message& m) {
    return m.type == HandshakeType::server_hello && m.bytes.size() >= 38 &&
           Bytes(m.bytes.begin() + 6, m.bytes.begin() + 38) == kHrrRandom;
}

struct Transcripts {
    Digest ch;           // ClientHello (the last one)
    Digest ch_sh;        // .. ServerHello
    Digest before_sfin;  // .. server CertificateVerify (server Finished input)
    Digest ch_sf;        // .. server Finished
    Digest before_cfin;  // .. client CertificateVerify / EndOfEarlyData
    Digest ch_cf;        // .. client Finished
    bool saw_hrr = false;
};

// Runs the messages through TranscriptHash as a client would: both hashes
// until the ServerHello, then select(); on HRR, message_hash replaces CH1.
Transcripts run_transcript(const std::vector<Message>& msgs) {
    Transcripts t;
    TranscriptHash th;
    EXPECT_TRUE(th.init());
    int finished_seen = 0;
    for (const auto& m : msgs) {
        if (m.type == HandshakeType::new_session_ticket) continue;  // post-handshake
        if (m.type == HandshakeType::server_hello && !th.selected()) {
            EXPECT_TRUE(th.select(kHash));
        }
        if (is_hrr(m)) {
            EXPECT_TRUE(th.replace_with_message_hash());
            t.saw_hrr = true;
        }
        if (m.type == HandshakeType::finished) {
            auto d = th.current();
            EXPECT_TRUE(d.has_value());
            (finished_seen == 0 ? t.before_sfin : t.before_cfin) = *d;
        }
        EXPECT_TRUE(th.add(m.bytes));
        auto d = th.selected() ? th.current() : th.current(kHash);
        EXPECT_TRUE(d.has_value());
        if (m.type == HandshakeType::client_hello) t.ch = *d;
        if (m.type == HandshakeType::server_hello && !is_hrr(m)) t.ch_sh = *d;
        if (m.type == HandshakeType::finished) (finished_seen++ == 0 ? t.ch_sf : t.ch_cf) = *d;
    }
    EXPECT_EQ(finished_seen, 2);
    return t;
}

struct Secrets {
    std::map<std::string, Secret> by_label;  // "c hs traffic" etc., plus "early", ...
};

class Rfc8448 : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override {
        doc_ = test::load_json(std::string("vectors/rfc8448/") + GetParam());
        msgs_ = handshake_messages(doc_);
        ASSERT_GE(msgs_.size(), 6u);
        t_ = run_transcript(msgs_);
        auto engine = CryptoEngine::create();
        ASSERT_TRUE(engine.has_value());
        engine_ = std::move(*engine);
        derive();
    }

    const json* find_step(const char* what_prefix) const {
        for (const auto& step : doc_.at("steps"))
            if (starts_with(step.at("what"), what_prefix) && has_values(step)) return &step;
        return nullptr;
    }

    // The schedule, from the inputs a handshake has.
    void derive() {
        ASSERT_TRUE(ks_.init(kSuite));
        const json* early = find_step("extract secret \"early\"");
        ASSERT_NE(early, nullptr);
        const Bytes ikm = val(*early, "IKM");
        const bool psk = ikm != Bytes(32, 0);
        ASSERT_TRUE(ks_.derive_early_secret(psk ? ByteSpan(ikm) : ByteSpan()));
        s_["early"] = ks_.early_secret();
        if (psk) {
            auto binder = ks_.binder_key(true);
            ASSERT_TRUE(binder.has_value());
            s_["res binder"] = *binder;
            auto cet = ks_.client_early_traffic_secret(t_.ch.view());
            ASSERT_TRUE(cet.has_value());
            s_["c e traffic"] = *cet;
            auto eem = ks_.early_exporter_master_secret(t_.ch.view());
            ASSERT_TRUE(eem.has_value());
            s_["e exp master"] = *eem;
        }
        const json* hs = find_step("extract secret \"handshake\"");
        ASSERT_NE(hs, nullptr);
        ASSERT_TRUE(ks_.derive_handshake_secrets(val(*hs, "IKM"), t_.ch_sh.view()));
        s_["handshake"] = ks_.handshake_secret();
        s_["c hs traffic"] = ks_.client_handshake_traffic_secret();
        s_["s hs traffic"] = ks_.server_handshake_traffic_secret();
        ASSERT_TRUE(ks_.derive_application_secrets(t_.ch_sf.view()));
        s_["master"] = ks_.master_secret();
        s_["c ap traffic"] = ks_.client_application_traffic_secret();
        s_["s ap traffic"] = ks_.server_application_traffic_secret();
        s_["exp master"] = ks_.exporter_master_secret();
        ASSERT_TRUE(ks_.derive_resumption_master_secret(t_.ch_cf.view()));
        s_["res master"] = ks_.resumption_master_secret();
        // Out of order is refused.
        EXPECT_FALSE(ks_.derive_application_secrets(t_.ch_sf.view()));
    }

    bool is_our_secret(const Bytes& prk) const {
        for (const auto& [label, s] : s_)
            if (to_hex(s.view()) == to_hex(prk)) return true;
        return false;
    }

    json doc_;
    std::vector<Message> msgs_;
    Transcripts t_;
    KeySchedule ks_;
    std::map<std::string, Secret> s_;
    std::unique_ptr<CryptoEngine> engine_;
};

// Every value the trace prints for the schedule.
TEST_P(Rfc8448, KeySchedule) {
    std::size_t checks = 0;
    for (const auto& step : doc_.at("steps")) {
        if (!has_values(step)) continue;
        const std::string what = step.at("what");
        const std::string who = step.at("who");
        SCOPED_TRACE(who + ": " + what);
        if (starts_with(what, "extract secret \"")) {
            const std::string label = what.substr(16, what.find('"', 16) - 16);
            ASSERT_TRUE(s_.count(label)) << label;
            EXPECT_EQ(hex(s_[label]), sval(step, "secret"));
            // The extract itself, from the printed salt and IKM.
            auto prk = hkdf_extract(kHash, val(step, "salt"), val(step, "IKM"));
            ASSERT_TRUE(prk.has_value());
            EXPECT_EQ(hex(*prk), sval(step, "secret"));
            ++checks;
        } else if (starts_with(what, "derive secret for ")) {  // "tls13 derived"
            const Secret prk(val(step, "PRK"));
            EXPECT_TRUE(is_our_secret(val(step, "PRK")));
            EXPECT_EQ(sval(step, "hash"), to_hex(empty_hash(kHash).view()));
            auto d = derive_secret(kHash, prk, "derived", val(step, "hash"));
            ASSERT_TRUE(d.has_value());
            EXPECT_EQ(hex(*d), sval(step, "expanded"));
            Bytes manual(32);
            ASSERT_TRUE(hkdf_expand(kHash, prk.view(), val(step, "info"), manual));
            EXPECT_EQ(to_hex(manual), sval(step, "expanded"));
            ++checks;
        } else if (starts_with(what, "derive secret \"tls13 ")) {
            const std::string label = what.substr(21, what.find('"', 21) - 21);
            ASSERT_TRUE(s_.count(label)) << label;
            EXPECT_TRUE(is_our_secret(val(step, "PRK")));
            EXPECT_EQ(hex(s_[label]), sval(step, "expanded"));
            // The transcript hash the RFC used is the one we computed.
            const std::string h = sval(step, "hash");
            if (label == "c hs traffic" || label == "s hs traffic")
                EXPECT_EQ(h, to_hex(t_.ch_sh.view()));
            else if (label == "res master")
                EXPECT_EQ(h, to_hex(t_.ch_cf.view()));
            else if (label == "c e traffic" || label == "e exp master")
                EXPECT_EQ(h, to_hex(t_.ch.view()));
            else
                EXPECT_EQ(h, to_hex(t_.ch_sf.view()));
            ++checks;
        } else if (what.find("traffic keys") != std::string::npos) {
            const Bytes prk = val(step, "PRK");
            EXPECT_TRUE(is_our_secret(prk));
            auto keys = derive_traffic_keys(kSuite, Secret(prk));
            ASSERT_TRUE(keys.has_value());
            EXPECT_EQ(hex(keys->key), sval(step, "key expanded"));
            EXPECT_EQ(hex(keys->iv), sval(step, "iv expanded"));
            ++checks;
        } else if (starts_with(what, "calculate finished")) {
            const Secret& base = s_[who == "server" ? "s hs traffic" : "c hs traffic"];
            EXPECT_EQ(hex(base), sval(step, "PRK"));
            auto fk = finished_key(kHash, base);
            ASSERT_TRUE(fk.has_value());
            EXPECT_EQ(hex(*fk), sval(step, "expanded"));
            const Digest& th = who == "server" ? t_.before_sfin : t_.before_cfin;
            auto vd = finished_verify_data(kHash, base, th.view());
            ASSERT_TRUE(vd.has_value());
            EXPECT_EQ(to_hex(vd->view()), sval(step, "finished"));
            EXPECT_TRUE(verify_finished(kHash, base, th.view(), val(step, "finished")));
            ++checks;
        } else if (starts_with(what, "calculate PSK binder")) {
            // §4.2.11.2: binder = HMAC(finished_key(binder_key), Hash(truncated CH)).
            EXPECT_EQ(hex(s_["res binder"]), sval(step, "PRK"));
            TranscriptHash th;
            ASSERT_TRUE(th.init(kHash));
            ASSERT_TRUE(th.add(val(step, "ClientHello prefix")));
            auto bh = th.current();
            ASSERT_TRUE(bh.has_value());
            EXPECT_EQ(to_hex(bh->view()), sval(step, "binder hash"));
            auto vd = finished_verify_data(kHash, s_["res binder"], bh->view());
            ASSERT_TRUE(vd.has_value());
            EXPECT_EQ(to_hex(vd->view()), sval(step, "finished"));
            ++checks;
        } else if (starts_with(what, "generate resumption secret")) {
            EXPECT_EQ(hex(s_["res master"]), sval(step, "PRK"));
            auto psk = resumption_psk(kHash, s_["res master"], val(step, "hash"));
            ASSERT_TRUE(psk.has_value());
            EXPECT_EQ(hex(*psk), sval(step, "expanded"));
            ++checks;
        }
    }
    EXPECT_GE(checks, 15u);
    std::printf("[ vectors ] %s: %zu schedule steps checked%s\n", GetParam(), checks,
                t_.saw_hrr ? " (with HRR message_hash)" : "");
}

ContentType content_type_of(const std::string& what) {
    if (what == "send handshake record") return ContentType::handshake;
    if (what == "send application_data record") return ContentType::application_data;
    if (what == "send alert record") return ContentType::alert;
    if (what == "send change_cipher_spec record") return ContentType::change_cipher_spec;
    return ContentType::invalid;
}

// Every record of the trace: plaintext ones rebuilt from header + payload;
// protected ones sealed under OUR keys and sequence numbers to the exact
// bytes of `complete record`, then opened back. Each direction's records are
// also fed through the deframer one byte at a time.
TEST_P(Rfc8448, RecordsByteExact) {
    // Key epochs per sender (§7.1, §2): the client starts protected records
    // in early data when there is a PSK, moves to handshake keys after
    // EndOfEarlyData and to application keys after its Finished; the server
    // goes handshake -> application after its Finished.
    struct Side {
        std::vector<const char*> epochs;
        std::size_t epoch = 0;
        RecordSealer sealer;
        RecordOpener opener;
        bool installed = false;
        Bytes wire;  // every record this side sent, for the deframer check
        std::vector<Bytes> records;
    };
    std::map<std::string, Side> sides;
    sides["client"].epochs =
        s_.count("c e traffic")
            ? std::vector<const char*>{"c e traffic", "c hs traffic", "c ap traffic"}
            : std::vector<const char*>{"c hs traffic", "c ap traffic"};
    sides["server"].epochs = {"s hs traffic", "s ap traffic"};
    std::size_t sealed = 0;
    for (const auto& step : doc_.at("steps")) {
        const std::string what = step.at("what");
        if (!starts_with(what, "send ")) continue;
        const std::string who = step.at("who");
        SCOPED_TRACE(who + ": " + what);
        Side& side = sides[who];
        const Bytes payload = val(step, "payload");
        const Bytes complete = val(step, "complete record");
        const ContentType type = content_type_of(what);
        ASSERT_NE(type, ContentType::invalid);
        side.wire.insert(side.wire.end(), complete.begin(), complete.end());
        side.records.push_back(complete);
        if (complete[0] != static_cast<std::uint8_t>(ContentType::application_data)) {
            // Plaintext record: header (legacy version as printed) + payload.
            std::array<std::uint8_t, kRecordHeaderLen> header;
            write_record_header(header, type, static_cast<std::uint16_t>(payload.size()),
                                load_be16(complete.data() + 1));
            Bytes rebuilt(header.begin(), header.end());
            rebuilt.insert(rebuilt.end(), payload.begin(), payload.end());
            EXPECT_EQ(to_hex(rebuilt), to_hex(complete));
            continue;
        }
        if (!side.installed) {
            ASSERT_TRUE(side.sealer.install(*engine_, kSuite, s_[side.epochs[side.epoch]]));
            ASSERT_TRUE(side.opener.install(*engine_, kSuite, s_[side.epochs[side.epoch]]));
            side.installed = true;
        }
        const std::uint64_t seq = side.sealer.sequence();
        // Seal straight into a buffer with headroom and tailroom.
        Bytes buf(RecordSealer::headroom() + payload.size() + RecordSealer::tailroom());
        std::copy(payload.begin(), payload.end(), buf.begin() + RecordSealer::headroom());
        auto len = side.sealer.seal(*engine_, type, buf, payload.size());
        ASSERT_TRUE(len.has_value());
        buf.resize(*len);
        EXPECT_EQ(to_hex(buf), to_hex(complete))
            << "epoch " << side.epochs[side.epoch] << " seq " << seq;
        ++sealed;
        // Open the RFC's bytes back.
        Bytes in = complete;
        RecordView rec;
        auto h = parse_record_header(in);
        ASSERT_TRUE(h.has_value());
        rec.header = *h;
        rec.header_bytes = ByteSpan(in).first(kRecordHeaderLen);
        rec.fragment = MutableByteSpan(in).subspan(kRecordHeaderLen);
        auto opened = side.opener.open(*engine_, rec);
        ASSERT_TRUE(opened.has_value());
        EXPECT_EQ(opened->type, type);
        EXPECT_EQ(to_hex(opened->content), to_hex(payload));
        // Epoch changes after EndOfEarlyData and after Finished.
        if (type == ContentType::handshake) {
            bool change = false;
            Reader r(payload);
            std::uint8_t t = 0;
            std::uint32_t l = 0;
            ByteSpan body;
            while (r.u8(t) && r.u24(l) && r.bytes(l, body))
                change |= t == static_cast<std::uint8_t>(HandshakeType::finished) ||
                          t == static_cast<std::uint8_t>(HandshakeType::end_of_early_data);
            if (change && side.epoch + 1 < side.epochs.size()) {
                ++side.epoch;
                side.installed = false;
            }
        }
    }
    // Per trace, as counted in the RFC (27 in all, vectors/rfc8448/README.md).
    const std::map<std::string, std::size_t> expected = {{"simple_1rtt.json", 7},
                                                         {"hrr.json", 4},
                                                         {"compat_mode.json", 4},
                                                         {"client_auth.json", 4},
                                                         {"resumed_0rtt.json", 8}};
    EXPECT_EQ(sealed, expected.at(GetParam()));
    std::printf("[ vectors ] %s: %zu protected records byte-exact\n", GetParam(), sealed);

    // The same wire bytes, one byte per feed(), give back the same records.
    for (auto& [who, side] : sides) {
        Deframer deframer;
        std::vector<Bytes> got;
        for (std::size_t i = 0; i < side.wire.size(); ++i) {
            auto used = deframer.feed(ByteSpan(side.wire).subspan(i, 1));
            ASSERT_TRUE(used.has_value());
            ASSERT_EQ(*used, 1u);
            if (RecordView* rec = deframer.record()) {
                Bytes whole(rec->header_bytes.begin(), rec->header_bytes.end());
                whole.insert(whole.end(), rec->fragment.begin(), rec->fragment.end());
                got.push_back(whole);
                deframer.pop();
            }
        }
        EXPECT_EQ(deframer.buffered(), 0u);
        EXPECT_EQ(got, side.records) << who;
    }
}

INSTANTIATE_TEST_SUITE_P(Traces, Rfc8448,
                         ::testing::Values("simple_1rtt.json", "hrr.json", "compat_mode.json",
                                           "client_auth.json", "resumed_0rtt.json"),
                         [](const auto& p) {
                             std::string name = p.param;
                             return name.substr(0, name.find('.'));
                         });

}  // namespace
}  // namespace l45::tls
