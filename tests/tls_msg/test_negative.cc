// Negative tests for every parser: truncation at every offset, trailing
// bytes, vector bounds, duplicated extensions, the RFC's named alerts, and
// 100,000 seeded random/mutated inputs.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/support/vectors.h"
#include "tests/tls_msg/roundtrip.h"
#include "tls/msg/handshake_reader.h"

namespace l45::tls::msg {
namespace {

using Bytes = std::vector<std::uint8_t>;
using l45::test::from_hex;
using l45::test::to_hex;

// --- builders ----------------------------------------------------------------

struct Ext {
    std::uint16_t type;
    Bytes body;
};

void put16(Bytes& b, std::size_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put24(Bytes& b, std::size_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 16));
    put16(b, v & 0xffff);
}
void append(Bytes& b, const Bytes& v) {
    b.insert(b.end(), v.begin(), v.end());
}
Bytes u8vec(const Bytes& v) {
    Bytes b{static_cast<std::uint8_t>(v.size())};
    append(b, v);
    return b;
}
Bytes u16vec(const Bytes& v) {
    Bytes b;
    put16(b, v.size());
    append(b, v);
    return b;
}
Bytes u24vec(const Bytes& v) {
    Bytes b;
    put24(b, v.size());
    append(b, v);
    return b;
}
Bytes block(const std::vector<Ext>& exts) {
    Bytes c;
    for (const Ext& e : exts) {
        put16(c, e.type);
        append(c, u16vec(e.body));
    }
    return u16vec(c);
}
constexpr std::uint16_t T(ExtensionType t) {
    return static_cast<std::uint16_t>(t);
}

std::vector<Ext> default_ch_exts() {
    return {
        {T(ExtensionType::supported_versions), from_hex("020304")},
        {T(ExtensionType::supported_groups), from_hex("0002001d")},
        {T(ExtensionType::key_share), u16vec(from_hex("001d0020" + std::string(64, '1')))},
        {T(ExtensionType::signature_algorithms), from_hex("00020804")},
    };
}

struct ChOpts {
    Bytes session_id{};
    Bytes suites = from_hex("1301");
    Bytes compression = from_hex("00");
    std::vector<Ext> exts = default_ch_exts();
    bool omit_extensions = false;
    Bytes trailing{};
};

Bytes client_hello(const ChOpts& o) {
    Bytes b = from_hex("0303");
    b.insert(b.end(), 32, 0xaa);
    append(b, u8vec(o.session_id));
    append(b, u16vec(o.suites));
    append(b, u8vec(o.compression));
    if (!o.omit_extensions) append(b, block(o.exts));
    append(b, o.trailing);
    return b;
}

Bytes server_hello(std::uint8_t compression, const std::vector<Ext>& exts, Bytes sid = {}) {
    Bytes b = from_hex("0303");
    b.insert(b.end(), 32, 0xbb);
    append(b, u8vec(sid));
    append(b, from_hex("1301"));
    b.push_back(compression);
    append(b, block(exts));
    return b;
}

Bytes psk_body(const std::vector<Bytes>& ids, const std::vector<Bytes>& binders) {
    Bytes idl;
    for (const Bytes& id : ids) {
        append(idl, u16vec(id));
        append(idl, from_hex("01020304"));
    }
    Bytes bl;
    for (const Bytes& b : binders)
        append(bl, u8vec(b));
    Bytes out = u16vec(idl);
    append(out, u16vec(bl));
    return out;
}

Alert parse_alert(HandshakeType type, const Bytes& body) {
    std::vector<std::uint8_t> out(70000);
    auto r = test::reserialize(type, body, out);
    if (r) return Alert::close_notify;  // "accepted"
    return r.error().alert;
}

// --- RFC 8448 corpus ---------------------------------------------------------

struct Sample {
    HandshakeType type;
    Bytes body;
};

const std::vector<Sample>& corpus() {
    static const std::vector<Sample> all = [] {
        std::vector<Sample> out;
        for (const char* name :
             {"simple_1rtt", "resumed_0rtt", "hrr", "client_auth", "compat_mode"}) {
            const auto t = l45::test::load_json(std::string("vectors/rfc8448/") + name + ".json");
            for (const auto& step : t["steps"]) {
                if (step["what"] != "send handshake record") continue;
                HandshakeReader r;
                const Bytes p = from_hex(step["values"]["payload"].get<std::string>());
                if (!r.feed(p)) std::abort();
                for (;;) {
                    auto m = r.next();
                    if (!m) std::abort();
                    if (!m->has_value()) break;
                    out.push_back({(*m)->type, Bytes((*m)->body.begin(), (*m)->body.end())});
                }
            }
        }
        return out;
    }();
    return all;
}

TEST(Negative, CorpusIsComplete) {
    EXPECT_EQ(corpus().size(), 40u);
}

TEST(Negative, TruncatedAtEveryOffsetIsDecodeError) {
    std::size_t checked = 0;
    for (const Sample& s : corpus()) {
        SCOPED_TRACE(static_cast<int>(s.type));
        ASSERT_EQ(parse_alert(s.type, s.body), Alert::close_notify);
        for (std::size_t n = 0; n < s.body.size(); ++n) {
            const Bytes prefix(s.body.begin(), s.body.begin() + static_cast<std::ptrdiff_t>(n));
            const Alert a = parse_alert(s.type, prefix);
            // A ClientHello cut right after legacy_compression_methods is a
            // well-formed extension-less (pre-TLS-1.3) hello.
            if (s.type == HandshakeType::client_hello && a == Alert::protocol_version) {
                auto full = ClientHello::parse(s.body);
                ASSERT_TRUE(full);
                EXPECT_EQ(n, s.body.size() - full->extensions.raw().size() - 2) << n;
                continue;
            }
            ASSERT_EQ(a, Alert::decode_error) << "prefix " << n << " of " << s.body.size();
            ++checked;
        }
    }
    EXPECT_GT(checked, 5000u);
}

TEST(Negative, TrailingByteIsDecodeError) {
    for (const Sample& s : corpus()) {
        SCOPED_TRACE(static_cast<int>(s.type));
        for (std::uint8_t extra : {0x00, 0x01, 0xff}) {
            Bytes b = s.body;
            b.push_back(extra);
            EXPECT_EQ(parse_alert(s.type, b), Alert::decode_error);
        }
    }
}

// --- table-driven message cases ----------------------------------------------

struct Case {
    std::string name;
    HandshakeType type;
    Bytes body;
    Alert expected;  // close_notify = accepted
};

std::vector<Case> message_cases() {
    using HT = HandshakeType;
    const Alert ok = Alert::close_notify;
    std::vector<Case> c;
    auto ch = [&](const std::string& name, const std::function<void(ChOpts&)>& f, Alert a) {
        ChOpts o;
        f(o);
        c.push_back({"CH " + name, HT::client_hello, client_hello(o), a});
    };
    ch(
        "baseline", [](ChOpts&) {}, ok);
    ch(
        "session id 32", [](ChOpts& o) { o.session_id.assign(32, 1); }, ok);
    ch(
        "session id 33", [](ChOpts& o) { o.session_id.assign(33, 1); }, Alert::decode_error);
    ch(
        "no cipher suites", [](ChOpts& o) { o.suites.clear(); }, Alert::decode_error);
    ch(
        "odd cipher suites", [](ChOpts& o) { o.suites = from_hex("130113"); }, Alert::decode_error);
    ch(
        "no compression", [](ChOpts& o) { o.compression.clear(); }, Alert::decode_error);
    ch(
        "compression 1", [](ChOpts& o) { o.compression = {1}; }, Alert::illegal_parameter);
    ch(
        "compression 0,1",
        [](ChOpts& o) {
            o.compression = {0, 1};
        },
        Alert::illegal_parameter);
    ch(
        "compression 1,0",
        [](ChOpts& o) {
            o.compression = {1, 0};
        },
        Alert::illegal_parameter);
    ch(
        "no extensions", [](ChOpts& o) { o.omit_extensions = true; }, Alert::protocol_version);
    ch(
        "empty extensions", [](ChOpts& o) { o.exts.clear(); }, Alert::decode_error);
    ch(
        "one short extension (< 8 bytes)",
        [](ChOpts& o) {
            o.exts = {{0x1234, {}}};
        },
        Alert::decode_error);
    ch(
        "trailing after extensions", [](ChOpts& o) { o.trailing = {0}; }, Alert::decode_error);
    ch(
        "duplicated supported_groups",
        [](ChOpts& o) {
            o.exts.push_back({T(ExtensionType::supported_groups), from_hex("00020017")});
        },
        Alert::illegal_parameter);
    ch(
        "duplicated unknown",
        [](ChOpts& o) {
            o.exts.push_back({0x7777, {}});
            o.exts.push_back({0x7777, {1}});
        },
        Alert::illegal_parameter);
    const Bytes binder(32, 0xcc);
    ch(
        "pre_shared_key last",
        [&](ChOpts& o) {
            o.exts.push_back({T(ExtensionType::pre_shared_key), psk_body({{1}}, {binder})});
        },
        ok);
    ch(
        "pre_shared_key not last",
        [&](ChOpts& o) {
            o.exts.insert(o.exts.begin(),
                          {T(ExtensionType::pre_shared_key), psk_body({{1}}, {binder})});
        },
        Alert::illegal_parameter);
    ch(
        "extension length overrun",
        [](ChOpts& o) {
            o.exts.push_back({0x1234, {}});
        },
        ok);  // sanity for the next one
    {
        Bytes b = client_hello(ChOpts{});
        b[b.size() - 5] ^= 0x01;  // the last extension's length (sig algs: 00 04 -> 01 04)
        c.push_back({"CH extension length overrun", HT::client_hello, b, Alert::decode_error});
    }
    {
        std::vector<Ext> many;
        for (std::uint16_t i = 0; i < 65; ++i)
            many.push_back({static_cast<std::uint16_t>(0x1000 + i), {}});
        ChOpts o;
        o.exts = many;
        c.push_back({"CH 65 extensions", HT::client_hello, client_hello(o), Alert::decode_error});
        many.pop_back();
        o.exts = many;
        c.push_back({"CH 64 extensions", HT::client_hello, client_hello(o), ok});
    }

    const std::vector<Ext> sh_exts = {{T(ExtensionType::supported_versions), from_hex("0304")}};
    c.push_back({"SH baseline", HT::server_hello, server_hello(0, sh_exts), ok});
    c.push_back(
        {"SH compression 1", HT::server_hello, server_hello(1, sh_exts), Alert::illegal_parameter});
    c.push_back({"SH session id 33", HT::server_hello, server_hello(0, sh_exts, Bytes(33, 1)),
                 Alert::decode_error});
    // An empty block is well-formed (a TLS 1.2 ServerHello may have one); the
    // handshake answers it with protocol_version or, after a downgrade
    // sentinel, illegal_parameter (tests/tls_handshake/test_negative.cc).
    c.push_back({"SH no extensions", HT::server_hello, server_hello(0, {}), ok});
    c.push_back({"SH duplicated supported_versions", HT::server_hello,
                 server_hello(0, {sh_exts[0], sh_exts[0]}), Alert::illegal_parameter});
    {
        Bytes b = server_hello(0, sh_exts);
        b.resize(b.size() - 8);  // drop the extensions: SH without the block
        c.push_back({"SH missing extension block", HT::server_hello, b, Alert::decode_error});
    }

    c.push_back({"EE empty", HT::encrypted_extensions, from_hex("0000"), ok});
    c.push_back({"EE no block", HT::encrypted_extensions, {}, Alert::decode_error});
    c.push_back({"EE duplicated", HT::encrypted_extensions, block({{0, {}}, {0, {}}}),
                 Alert::illegal_parameter});

    const Ext sigalgs{T(ExtensionType::signature_algorithms), from_hex("00020804")};
    {
        Bytes cr = u8vec({});
        append(cr, block({sigalgs}));
        c.push_back({"CR baseline", HT::certificate_request, cr, ok});
        Bytes no_sig = u8vec({1, 2});
        append(no_sig, block({{T(ExtensionType::certificate_authorities), from_hex("0000")}}));
        c.push_back({"CR no signature_algorithms", HT::certificate_request, no_sig,
                     Alert::missing_extension});
        Bytes empty = u8vec({});
        append(empty, from_hex("0000"));
        c.push_back({"CR empty extensions", HT::certificate_request, empty, Alert::decode_error});
    }

    {
        auto entry = [](const Bytes& cert, const std::vector<Ext>& exts) {
            Bytes e = u24vec(cert);
            append(e, block(exts));
            return e;
        };
        Bytes ok_list = entry({0x30, 0x00}, {});
        Bytes ct = u8vec({});
        append(ct, u24vec(ok_list));
        c.push_back({"CT one entry", HT::certificate, ct, ok});
        Bytes empty_list = u8vec({});
        append(empty_list, u24vec({}));
        c.push_back({"CT empty list", HT::certificate, empty_list, ok});
        Bytes empty_cert = u8vec({});
        append(empty_cert, u24vec(entry({}, {})));
        c.push_back({"CT empty cert_data", HT::certificate, empty_cert, Alert::decode_error});
        Bytes dup = u8vec({});
        append(dup, u24vec(entry({0x30}, {{5, {}}, {5, {}}})));
        c.push_back(
            {"CT duplicated entry extension", HT::certificate, dup, Alert::illegal_parameter});
        Bytes over = u8vec({});
        Bytes l = entry({0x30}, {});
        l[2] = 9;  // cert_data length past the list
        append(over, u24vec(l));
        c.push_back({"CT cert_data overrun", HT::certificate, over, Alert::decode_error});
    }

    c.push_back({"CV empty signature", HT::certificate_verify, from_hex("08040000"), ok});
    c.push_back({"CV short", HT::certificate_verify, from_hex("0804"), Alert::decode_error});
    c.push_back(
        {"CV overrun", HT::certificate_verify, from_hex("0804000201"), Alert::decode_error});

    c.push_back({"FIN 31", HT::finished, Bytes(31, 0), Alert::decode_error});
    c.push_back({"FIN 33", HT::finished, Bytes(33, 0), Alert::decode_error});
    c.push_back({"FIN 0", HT::finished, {}, Alert::decode_error});

    c.push_back({"EOED 1 byte", HT::end_of_early_data, {0}, Alert::decode_error});
    c.push_back({"EOED empty", HT::end_of_early_data, {}, ok});

    c.push_back({"KU 0", HT::key_update, {0}, ok});
    c.push_back({"KU 1", HT::key_update, {1}, ok});
    c.push_back({"KU 2", HT::key_update, {2}, Alert::illegal_parameter});
    c.push_back({"KU 255", HT::key_update, {255}, Alert::illegal_parameter});
    c.push_back({"KU empty", HT::key_update, {}, Alert::decode_error});
    c.push_back({"KU 2 bytes", HT::key_update, {0, 0}, Alert::decode_error});

    auto nst = [](const Bytes& ticket, const std::vector<Ext>& exts) {
        Bytes b = from_hex("0000001e01020304");
        append(b, u8vec({}));
        append(b, u16vec(ticket));
        append(b, block(exts));
        return b;
    };
    const Ext ed{T(ExtensionType::early_data), from_hex("00000400")};
    c.push_back({"NST baseline", HT::new_session_ticket, nst({1}, {ed}), ok});
    c.push_back({"NST empty ticket", HT::new_session_ticket, nst({}, {}), Alert::decode_error});
    c.push_back({"NST early_data 3 bytes", HT::new_session_ticket,
                 nst({1}, {{T(ExtensionType::early_data), from_hex("000004")}}),
                 Alert::decode_error});
    c.push_back({"NST duplicated early_data", HT::new_session_ticket, nst({1}, {ed, ed}),
                 Alert::illegal_parameter});
    return c;
}

TEST(Negative, MessageTable) {
    for (const Case& k : message_cases()) {
        EXPECT_EQ(static_cast<int>(parse_alert(k.type, k.body)), static_cast<int>(k.expected))
            << k.name;
    }
}

// --- extension bodies ----------------------------------------------------------

struct ExtCase {
    std::string name;
    ExtensionContext ctx;
    std::uint16_t type;
    Bytes body;
    Alert expected;  // close_notify = accepted
};

Bytes sni(const std::string& host) {
    Bytes entry{0};
    append(entry, u16vec(Bytes(host.begin(), host.end())));
    return u16vec(entry);
}

std::vector<ExtCase> extension_cases() {
    using C = ExtensionContext;
    const Alert ok = Alert::close_notify;
    const Alert de = Alert::decode_error;
    const Alert ip = Alert::illegal_parameter;
    const Alert un = Alert::unrecognized_name;
    const std::uint16_t SNI = T(ExtensionType::server_name);
    std::vector<ExtCase> c = {
        {"sni ok", C::client_hello, SNI, sni("example.com"), ok},
        {"sni single label", C::client_hello, SNI, sni("server"), ok},
        {"sni underscore and hyphen", C::client_hello, SNI, sni("a-b_c.example"), ok},
        {"sni punycode", C::client_hello, SNI, sni("xn--bcher-kva.example"), ok},
        {"sni 63-byte label", C::client_hello, SNI, sni(std::string(63, 'a') + ".com"), ok},
        {"sni 64-byte label", C::client_hello, SNI, sni(std::string(64, 'a') + ".com"), un},
        {"sni 255 bytes", C::client_hello, SNI,
         sni(std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
             std::string(63, 'd')),
         ok},
        {"sni 256 bytes", C::client_hello, SNI,
         sni(std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
             std::string(64, 'd')),
         un},
        {"sni trailing dot", C::client_hello, SNI, sni("example.com."), un},
        {"sni leading dot", C::client_hello, SNI, sni(".example.com"), un},
        {"sni empty label", C::client_hello, SNI, sni("example..com"), un},
        {"sni NUL", C::client_hello, SNI, sni(std::string("exa\0mple.com", 12)), un},
        {"sni space", C::client_hello, SNI, sni("exa mple.com"), un},
        {"sni IPv4 literal", C::client_hello, SNI, sni("192.0.2.1"), un},
        {"sni IPv6 literal", C::client_hello, SNI, sni("::1"), un},
        {"sni empty name", C::client_hello, SNI, sni(""), de},
        {"sni empty list", C::client_hello, SNI, from_hex("0000"), de},
        {"sni empty body", C::client_hello, SNI, {}, de},
        {"sni two host_names", C::client_hello, SNI,
         from_hex("000a"
                  "000001"
                  "61"
                  "000002"
                  "6262"),
         de},
        {"sni name type 1", C::client_hello, SNI,
         from_hex("0004"
                  "010001"
                  "61"),
         de},
        {"sni trailing", C::client_hello, SNI,
         from_hex("0004"
                  "000001"
                  "6100"),
         de},
        {"sni EE empty", C::encrypted_extensions, SNI, {}, ok},
        {"sni EE non-empty", C::encrypted_extensions, SNI, {0}, de},

        {"groups ok", C::client_hello, T(ExtensionType::supported_groups), from_hex("0004001d0017"),
         ok},
        {"groups empty", C::client_hello, T(ExtensionType::supported_groups), from_hex("0000"), de},
        {"groups odd", C::client_hello, T(ExtensionType::supported_groups), from_hex("0003001d00"),
         de},
        {"groups overrun", C::client_hello, T(ExtensionType::supported_groups),
         from_hex("0004001d"), de},
        {"groups trailing", C::client_hello, T(ExtensionType::supported_groups),
         from_hex("0002001d00"), de},
        {"sigalgs empty", C::client_hello, T(ExtensionType::signature_algorithms), from_hex("0000"),
         de},
        {"sigalgs_cert ok", C::certificate_request, T(ExtensionType::signature_algorithms_cert),
         from_hex("00020403"), ok},

        {"versions ok", C::client_hello, T(ExtensionType::supported_versions),
         from_hex("0403040303"), ok},
        {"versions empty", C::client_hello, T(ExtensionType::supported_versions), from_hex("00"),
         de},
        {"versions odd", C::client_hello, T(ExtensionType::supported_versions),
         from_hex("03030403"), de},
        {"versions SH ok", C::server_hello, T(ExtensionType::supported_versions), from_hex("0304"),
         ok},
        {"versions SH list form", C::server_hello, T(ExtensionType::supported_versions),
         from_hex("020304"), de},
        {"versions SH 1 byte", C::server_hello, T(ExtensionType::supported_versions),
         from_hex("03"), de},

        {"key_share CH empty list", C::client_hello, T(ExtensionType::key_share), from_hex("0000"),
         ok},
        {"key_share CH two groups", C::client_hello, T(ExtensionType::key_share),
         from_hex("000a"
                  "001d000101"
                  "0017000102"),
         ok},
        {"key_share CH duplicated group", C::client_hello, T(ExtensionType::key_share),
         from_hex("000a"
                  "001d000101"
                  "001d000102"),
         ip},
        {"key_share CH empty key", C::client_hello, T(ExtensionType::key_share),
         from_hex("0004001d0000"), de},
        {"key_share CH partial entry", C::client_hello, T(ExtensionType::key_share),
         from_hex("0007"
                  "001d000101"
                  "0017"),
         de},
        {"key_share CH no list", C::client_hello, T(ExtensionType::key_share), {}, de},
        {"key_share SH ok", C::server_hello, T(ExtensionType::key_share), from_hex("001d000101"),
         ok},
        {"key_share SH empty key", C::server_hello, T(ExtensionType::key_share),
         from_hex("001d0000"), de},
        {"key_share SH trailing", C::server_hello, T(ExtensionType::key_share),
         from_hex("001d00010100"), de},
        {"key_share HRR ok", C::hello_retry_request, T(ExtensionType::key_share), from_hex("0017"),
         ok},
        {"key_share HRR 3 bytes", C::hello_retry_request, T(ExtensionType::key_share),
         from_hex("001700"), de},

        {"cookie ok", C::hello_retry_request, T(ExtensionType::cookie), from_hex("0001ff"), ok},
        {"cookie empty", C::hello_retry_request, T(ExtensionType::cookie), from_hex("0000"), de},
        {"cookie overrun", C::client_hello, T(ExtensionType::cookie), from_hex("0002ff"), de},

        {"alpn ok", C::client_hello, T(ExtensionType::application_layer_protocol_negotiation),
         from_hex("000c"
                  "02"
                  "6832"
                  "08"
                  "687474702f312e31"),
         ok},
        {"alpn empty list", C::client_hello,
         T(ExtensionType::application_layer_protocol_negotiation), from_hex("0000"), de},
        {"alpn empty body",
         C::client_hello,
         T(ExtensionType::application_layer_protocol_negotiation),
         {},
         de},
        {"alpn empty name", C::client_hello,
         T(ExtensionType::application_layer_protocol_negotiation),
         from_hex("0004"
                  "02"
                  "6832"
                  "00"),
         de},
        {"alpn name overrun", C::client_hello,
         T(ExtensionType::application_layer_protocol_negotiation),
         from_hex("0003"
                  "03"
                  "6832"),
         de},
        {"alpn EE one", C::encrypted_extensions,
         T(ExtensionType::application_layer_protocol_negotiation),
         from_hex("0003"
                  "02"
                  "6832"),
         ok},
        {"alpn EE two", C::encrypted_extensions,
         T(ExtensionType::application_layer_protocol_negotiation),
         from_hex("0006"
                  "02"
                  "6832"
                  "02"
                  "6833"),
         de},
        {"alpn EE empty", C::encrypted_extensions,
         T(ExtensionType::application_layer_protocol_negotiation), from_hex("0000"), de},

        {"rsl 64", C::client_hello, T(ExtensionType::record_size_limit), from_hex("0040"), ok},
        {"rsl 63", C::client_hello, T(ExtensionType::record_size_limit), from_hex("003f"), ip},
        {"rsl 0", C::client_hello, T(ExtensionType::record_size_limit), from_hex("0000"), ip},
        {"rsl 2^14+1", C::encrypted_extensions, T(ExtensionType::record_size_limit),
         from_hex("4001"), ok},
        {"rsl 2^14+2", C::encrypted_extensions, T(ExtensionType::record_size_limit),
         from_hex("4002"), ip},
        {"rsl 0xffff", C::encrypted_extensions, T(ExtensionType::record_size_limit),
         from_hex("ffff"), ip},
        {"rsl 3 bytes", C::client_hello, T(ExtensionType::record_size_limit), from_hex("004000"),
         de},
        {"rsl 1 byte", C::client_hello, T(ExtensionType::record_size_limit), from_hex("40"), de},

        {"psk modes ok", C::client_hello, T(ExtensionType::psk_key_exchange_modes),
         from_hex("020001"), ok},
        {"psk modes empty", C::client_hello, T(ExtensionType::psk_key_exchange_modes),
         from_hex("00"), de},
        {"psk modes overrun", C::client_hello, T(ExtensionType::psk_key_exchange_modes),
         from_hex("0201"), de},

        {"psk 1/1", C::client_hello, T(ExtensionType::pre_shared_key),
         psk_body({{1}}, {Bytes(32, 2)}), ok},
        {"psk 2/2", C::client_hello, T(ExtensionType::pre_shared_key),
         psk_body({{1}, {2, 3}}, {Bytes(32, 2), Bytes(48, 3)}), ok},
        {"psk 2 ids 1 binder", C::client_hello, T(ExtensionType::pre_shared_key),
         psk_body({{1}, {2}}, {Bytes(32, 2)}), ip},
        {"psk 1 id 2 binders", C::client_hello, T(ExtensionType::pre_shared_key),
         psk_body({{1}}, {Bytes(32, 2), Bytes(32, 2)}), ip},
        {"psk binder 31", C::client_hello, T(ExtensionType::pre_shared_key),
         psk_body({{1}}, {Bytes(31, 2)}), de},
        {"psk empty identity", C::client_hello, T(ExtensionType::pre_shared_key),
         psk_body({{}}, {Bytes(32, 2)}), de},
        {"psk no identities", C::client_hello, T(ExtensionType::pre_shared_key),
         psk_body({}, {Bytes(32, 2)}), de},
        {"psk no binders", C::client_hello, T(ExtensionType::pre_shared_key), psk_body({{1}}, {}),
         de},
        {"psk SH ok", C::server_hello, T(ExtensionType::pre_shared_key), from_hex("0001"), ok},
        {"psk SH 3 bytes", C::server_hello, T(ExtensionType::pre_shared_key), from_hex("000100"),
         de},

        {"early_data CH empty", C::client_hello, T(ExtensionType::early_data), {}, ok},
        {"early_data CH non-empty", C::client_hello, T(ExtensionType::early_data), {0}, de},
        {"early_data NST ok", C::new_session_ticket, T(ExtensionType::early_data),
         from_hex("ffffffff"), ok},
        {"early_data NST short", C::new_session_ticket, T(ExtensionType::early_data),
         from_hex("ffff"), de},

        {"reneg ok", C::client_hello, T(ExtensionType::renegotiation_info), from_hex("00"), ok},
        {"reneg renegotiating", C::client_hello, T(ExtensionType::renegotiation_info),
         from_hex("0100"), Alert::handshake_failure},
        {"reneg empty body", C::client_hello, T(ExtensionType::renegotiation_info), {}, de},
        {"reneg trailing", C::client_hello, T(ExtensionType::renegotiation_info), from_hex("0000"),
         de},
    };
    return c;
}

TEST(Negative, ExtensionTable) {
    for (const ExtCase& k : extension_cases()) {
        auto r = test::extension_roundtrip(k.ctx, Extension{k.type, k.body});
        const Alert got = r ? Alert::close_notify : r.error().alert;
        EXPECT_EQ(static_cast<int>(got), static_cast<int>(k.expected)) << k.name;
        if (r) {
            EXPECT_TRUE(*r) << k.name << ": accepted but did not round-trip";
        }
    }
}

TEST(Negative, EmptyAlpnListRejected) {
    auto r = AlpnExt::parse(from_hex("0000"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().alert, Alert::decode_error);
    // Parsed values are views: keep the bytes alive.
    const Bytes body = from_hex(
        "000c"
        "02"
        "6832"
        "08"
        "687474702f312e31");
    auto ok = AlpnExt::parse(body);
    ASSERT_TRUE(ok);
    std::vector<std::string> names;
    for (ByteSpan n : ok->protocols)
        names.emplace_back(n.begin(), n.end());
    EXPECT_EQ(names, (std::vector<std::string>{"h2", "http/1.1"}));
}

TEST(Negative, SniValidationHelper) {
    EXPECT_TRUE(is_valid_sni_host_name("localhost"));
    EXPECT_TRUE(is_valid_sni_host_name("a.b.c"));
    EXPECT_TRUE(is_valid_sni_host_name("1a.example"));
    EXPECT_TRUE(is_valid_sni_host_name("host.123a"));
    EXPECT_FALSE(is_valid_sni_host_name("10.0.0.1"));
    EXPECT_FALSE(is_valid_sni_host_name(""));
    EXPECT_FALSE(is_valid_sni_host_name("."));
    EXPECT_FALSE(is_valid_sni_host_name("a."));
}

// --- RFC 8446 §4.2 table -----------------------------------------------------------

TEST(Negative, AllowedExtensionTable) {
    using C = ExtensionContext;
    using P = ExtensionPermission;
    struct Row {
        C ctx;
        ExtensionType type;
        P expected;
    };
    const Row rows[] = {
        {C::client_hello, ExtensionType::pre_shared_key, P::allowed},
        {C::server_hello, ExtensionType::pre_shared_key, P::allowed},
        {C::hello_retry_request, ExtensionType::pre_shared_key, P::not_allowed},
        {C::encrypted_extensions, ExtensionType::key_share, P::not_allowed},
        {C::hello_retry_request, ExtensionType::cookie, P::allowed},
        {C::server_hello, ExtensionType::cookie, P::not_allowed},
        {C::server_hello, ExtensionType::padding, P::not_allowed},
        {C::encrypted_extensions, ExtensionType::server_name, P::allowed},
        {C::certificate, ExtensionType::server_name, P::not_allowed},
        {C::certificate, ExtensionType::status_request, P::allowed},
        {C::certificate, ExtensionType::signed_certificate_timestamp, P::allowed},
        {C::certificate_request, ExtensionType::oid_filters, P::allowed},
        {C::client_hello, ExtensionType::oid_filters, P::not_allowed},
        {C::new_session_ticket, ExtensionType::early_data, P::allowed},
        {C::encrypted_extensions, ExtensionType::early_data, P::allowed},
        {C::server_hello, ExtensionType::early_data, P::not_allowed},
        {C::encrypted_extensions, ExtensionType::record_size_limit, P::allowed},
        {C::server_hello, ExtensionType::record_size_limit, P::not_allowed},
        {C::encrypted_extensions, ExtensionType::supported_versions, P::not_allowed},
        {C::hello_retry_request, ExtensionType::supported_versions, P::allowed},
        {C::client_hello, ExtensionType::post_handshake_auth, P::allowed},
        {C::certificate_request, ExtensionType::signature_algorithms_cert, P::allowed},
        {C::encrypted_extensions, ExtensionType::signature_algorithms, P::not_allowed},
        {C::client_hello, ExtensionType::renegotiation_info, P::allowed},
        {C::encrypted_extensions, ExtensionType::renegotiation_info, P::not_allowed},
        {C::encrypted_extensions, ExtensionType::application_layer_protocol_negotiation,
         P::allowed},
    };
    for (const Row& r : rows)
        EXPECT_EQ(extension_permission(r.ctx, T(r.type)), r.expected)
            << static_cast<int>(r.ctx) << " " << T(r.type);
    EXPECT_EQ(extension_permission(C::client_hello, 0x7a7a), P::unrecognised);  // GREASE

    auto check = [](C ctx, const std::vector<Ext>& exts) -> Alert {
        const Bytes b = block(exts);
        auto blk = ExtensionBlock::parse(ByteSpan(b).subspan(2));
        EXPECT_TRUE(blk);
        auto r = check_extensions(ctx, *blk);
        return r ? Alert::close_notify : r.error().alert;
    };
    EXPECT_EQ(check(C::client_hello, {{0x7a7a, {}}, {T(ExtensionType::padding), {0}}}),
              Alert::close_notify);
    EXPECT_EQ(check(C::certificate_request, {{0x7a7a, {}}}), Alert::close_notify);
    EXPECT_EQ(check(C::new_session_ticket, {{0x7a7a, {}}}), Alert::close_notify);
    EXPECT_EQ(check(C::encrypted_extensions, {{0x7a7a, {}}}), Alert::unsupported_extension);
    EXPECT_EQ(check(C::server_hello, {{0x7a7a, {}}}), Alert::unsupported_extension);
    EXPECT_EQ(check(C::hello_retry_request, {{0x7a7a, {}}}), Alert::unsupported_extension);
    EXPECT_EQ(check(C::certificate, {{0x7a7a, {}}}), Alert::unsupported_extension);
    EXPECT_EQ(check(C::encrypted_extensions, {{T(ExtensionType::key_share), {}}}),
              Alert::illegal_parameter);
    EXPECT_EQ(check(C::server_hello, {{T(ExtensionType::supported_versions), {}},
                                      {T(ExtensionType::server_name), {}}}),
              Alert::illegal_parameter);
}

// --- random and mutated inputs -------------------------------------------------------

TEST(Negative, HundredThousandRandomAndMutatedInputsCrashNothing) {
    std::mt19937_64 rng(0x8446);
    const auto& seeds = corpus();
    const HandshakeType types[] = {
        HandshakeType::client_hello,
        HandshakeType::server_hello,
        HandshakeType::encrypted_extensions,
        HandshakeType::certificate,
        HandshakeType::certificate_request,
        HandshakeType::certificate_verify,
        HandshakeType::finished,
        HandshakeType::end_of_early_data,
        HandshakeType::new_session_ticket,
        HandshakeType::key_update,
    };
    Bytes out(70000);
    std::size_t accepted = 0;
    for (int i = 0; i < 100000; ++i) {
        Bytes in;
        HandshakeType type;
        if (i % 4 == 0) {
            // Pure random bytes for a random parser.
            type = types[rng() % std::size(types)];
            in.resize(rng() % 300);
            for (auto& b : in)
                b = static_cast<std::uint8_t>(rng());
        } else {
            const Sample& s = seeds[rng() % seeds.size()];
            type = s.type;
            in = s.body;
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits && !in.empty(); ++e) {
                const std::size_t pos = rng() % in.size();
                switch (rng() % 5) {
                    case 0:
                        in[pos] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
                        break;
                    case 1:
                        in[pos] = static_cast<std::uint8_t>(rng());
                        break;
                    case 2:
                        in.resize(pos);
                        break;
                    case 3:
                        in.insert(in.begin() + static_cast<std::ptrdiff_t>(pos),
                                  static_cast<std::uint8_t>(rng()));
                        break;
                    case 4:
                        in.erase(in.begin() + static_cast<std::ptrdiff_t>(pos));
                        break;
                }
            }
        }
        auto r = test::reserialize(type, in, out);
        if (r) {
            // Accepted: re-serialises to exactly the input, extensions too.
            ASSERT_NE(*r, 0u) << "iteration " << i;
            ASSERT_EQ(*r, 4 + in.size()) << "iteration " << i;
            ASSERT_EQ(to_hex(ByteSpan(out).subspan(4, in.size())), to_hex(in)) << "iteration " << i;
            ++accepted;
        }
        // The deframer over the same bytes, fed in random chunks.
        HandshakeReader reader(
            HandshakeReaderLimits{.max_message_len = 4096, .max_small_message_len = 512});
        std::size_t pos = 0;
        bool dead = false;
        while (pos < in.size() && !dead) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 64, in.size() - pos);
            if (!reader.feed(ByteSpan(in).subspan(pos, n))) break;
            pos += n;
            for (;;) {
                auto m = reader.next();
                if (!m) {
                    dead = true;
                    break;
                }
                if (!m->has_value()) break;
                ASSERT_EQ((*m)->full.size(), 4 + (*m)->body.size());
            }
        }
    }
    // The mutations leave a fair share of inputs valid (bit flips inside
    // opaque data), so the round-trip assertion above is exercised.
    EXPECT_GT(accepted, 10000u);
}

}  // namespace
}  // namespace l45::tls::msg
