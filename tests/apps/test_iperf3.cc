// apps/l45-echo/iperf3: the control protocol's sessions, pumped against each
// other in memory, and fed malformed input.
#include "apps/l45-echo/iperf3.h"

#include <gtest/gtest.h>

#include <string>

namespace l45::apps::iperf3 {
namespace {

ByteSpan bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string take_output(auto& session) {
    const ByteSpan out = session.pending_output();
    std::string s(reinterpret_cast<const char*>(out.data()), out.size());
    session.output_sent(out.size());
    return s;
}

std::string frame(std::string_view json) {
    std::string out(4, '\0');
    store_be32(reinterpret_cast<std::uint8_t*>(out.data()),
               static_cast<std::uint32_t>(json.size()));
    return out + std::string(json);
}

std::string one(Msg m) {
    return std::string(1, static_cast<char>(m));
}

TEST(Iperf3, CookieIsThirtySixAlphabetCharactersAndANul) {
    SeededRandom a(1), b(2);
    const Cookie ca = make_cookie(a);
    const Cookie cb = make_cookie(b);
    EXPECT_NE(ca, cb);
    for (std::size_t i = 0; i + 1 < kCookieLen; ++i)
        EXPECT_NE(
            std::string_view("abcdefghijklmnopqrstuvwxyz234567").find(static_cast<char>(ca[i])),
            std::string_view::npos);
    EXPECT_EQ(ca[kCookieLen - 1], 0);
}

TEST(Iperf3, ParametersRoundTripAndReadIperfsOwn) {
    TestParams p;
    p.bytes = 268435456;
    p.reverse = true;
    auto back = parse_params(params_json(p));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->bytes, p.bytes);
    EXPECT_TRUE(back->reverse);
    // What iperf 3.12's send_parameters writes for `-n 256M` (no -R).
    auto real =
        parse_params(R"({"tcp":true,"omit":0,"time":0,"num":268435456,"blockcount":0,"parallel":1,)"
                     R"("len":131072,"pacing_timer":1000,"client_version":"3.12"})");
    ASSERT_TRUE(real) << real.error();
    EXPECT_FALSE(real->reverse);
    EXPECT_EQ(real->bytes, 268435456u);
    EXPECT_EQ(real->block_len, 131072u);
}

TEST(Iperf3, UnsupportedOrMalformedParametersAreRefused) {
    for (const char* bad :
         {R"({"udp":true,"time":10})", R"({"tcp":true,"time":10,"parallel":2})",
          R"({"tcp":true,"time":10,"bidirectional":true})", R"({"tcp":true})",
          R"({"tcp":true,"num":-5})", R"({"tcp":true,"num":"many"})",
          R"({"tcp":true,"time":1e300})", R"([1,2,3])", R"({"tcp":tru)", "", "\xff\xfe"})
        EXPECT_FALSE(parse_params(bad)) << bad;
}

TEST(Iperf3, ResultsRoundTripAndRequireIperfsFields) {
    StreamResult r;
    r.bytes = 12345;
    r.seconds = 1.5;
    r.sender = true;
    auto back = parse_results(results_json(r));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back->bytes, 12345u);
    EXPECT_DOUBLE_EQ(back->seconds, 1.5);
    for (
        const char* bad :
        {R"({"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[]})",
         R"({"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0})",
         R"({"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[{"id":3,"bytes":1}]})",
         R"({"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[{"id":1}]})",
         R"({"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[7]})"})
        EXPECT_FALSE(parse_results(bad)) << bad;
}

TEST(Iperf3, JsonFramesAreBoundedAndMayArriveInPieces) {
    JsonFrameReader r;
    const std::string f = frame(R"({"a":1})");
    for (char c : f) {
        ASSERT_FALSE(r.complete());
        auto n = r.feed(bytes(std::string_view(&c, 1)));
        ASSERT_TRUE(n);
        EXPECT_EQ(*n, 1u);
    }
    EXPECT_TRUE(r.complete());
    EXPECT_EQ(r.json(), R"({"a":1})");
    // Bytes after the frame are not taken.
    r.reset();
    auto n = r.feed(bytes(f + "XYZ"));
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, f.size());

    for (std::uint32_t len : {0u, kMaxJsonLen + 1, 0xffffffffu}) {
        JsonFrameReader bad;
        std::string hdr(4, '\0');
        store_be32(reinterpret_cast<std::uint8_t*>(hdr.data()), len);
        EXPECT_FALSE(bad.feed(bytes(hdr))) << len;
    }
}

// Pumps bytes between the two sessions until neither has anything to say.
void pump(ClientControl& c, ServerControl& s) {
    for (int i = 0; i < 100; ++i) {
        const std::string to_server = take_output(c);
        const std::string to_client = take_output(s);
        if (to_server.empty() && to_client.empty()) return;
        EXPECT_EQ(s.on_input(bytes(to_server)), to_server.size());
        EXPECT_EQ(c.on_input(bytes(to_client)), to_client.size());
    }
}

class Iperf3Test : public testing::TestWithParam<bool> {};

TEST_P(Iperf3Test, ClientAndServerRunATestToTheEnd) {
    const bool reverse = GetParam();
    SeededRandom rng(9);
    TestParams p;
    p.bytes = 1 << 20;
    p.reverse = reverse;
    ClientControl c(make_cookie(rng), p);
    ServerControl s;
    pump(c, s);
    ASSERT_EQ(s.phase(), ServerControl::Phase::kWaitStream) << s.error();
    ASSERT_EQ(c.phase(), ClientControl::Phase::kWaitStart) << c.error();
    EXPECT_EQ(s.params().bytes, p.bytes);
    EXPECT_EQ(s.params().reverse, reverse);
    // The data stream opens with the same cookie; a different one is not it.
    Cookie other = c.cookie();
    other[0] ^= 1;
    EXPECT_FALSE(s.is_own_cookie(other));
    EXPECT_TRUE(s.is_own_cookie(c.cookie()));
    s.stream_connected();
    pump(c, s);
    ASSERT_EQ(c.phase(), ClientControl::Phase::kRunning);
    ASSERT_EQ(s.phase(), ServerControl::Phase::kRunning);
    EXPECT_FALSE(s.is_own_cookie(c.cookie()));  // one stream only

    c.end_test({p.bytes, 0.5, !reverse});
    pump(c, s);
    ASSERT_EQ(s.phase(), ServerControl::Phase::kEndRequested);
    s.end_test({p.bytes - 10, 0.6, reverse});
    pump(c, s);
    EXPECT_EQ(c.phase(), ClientControl::Phase::kDone) << c.error();
    EXPECT_EQ(s.phase(), ServerControl::Phase::kDone) << s.error();
    EXPECT_EQ(c.peer_result().bytes, p.bytes - 10);
    EXPECT_EQ(s.peer_result().bytes, p.bytes);
}

INSTANTIATE_TEST_SUITE_P(NormalAndReverse, Iperf3Test, testing::Bool());

TEST(Iperf3Server, UnsupportedParametersGetServerError) {
    ServerControl s;
    const std::string cookie(kCookieLen, 'a');
    s.on_input(bytes(cookie));
    EXPECT_EQ(take_output(s), one(Msg::kParamExchange));
    const std::string params = frame(R"({"tcp":true,"time":10,"parallel":4})");
    EXPECT_EQ(s.on_input(bytes(params)), params.size());
    EXPECT_EQ(s.phase(), ServerControl::Phase::kFailed);
    // SERVER_ERROR, i_errno IEUNIMP, errno 0: the client prints why and exits.
    EXPECT_EQ(take_output(s), one(Msg::kServerError) + std::string("\0\0\0\x0d\0\0\0\0", 8));
}

TEST(Iperf3Server, MalformedControlInputFailsCleanly) {
    const std::string cookie(kCookieLen, 'a');
    const std::string inputs[] = {
        std::string("\xff\xff\xff\xff", 4),         // absurd JSON length
        std::string("\0\0\0\0", 4),                 // empty JSON
        frame("{not json"),                         // bad JSON
        frame(R"({"tcp":true,"num":1})") + "\x63",  // unknown state byte later
        frame(R"({"tcp":true,"num":1})") + one(Msg::kClientTerminate),
    };
    for (const std::string& in : inputs) {
        ServerControl s;
        s.on_input(bytes(cookie));
        EXPECT_EQ(s.on_input(bytes(in)), in.size());
        EXPECT_EQ(s.phase(), ServerControl::Phase::kFailed) << in.size();
        EXPECT_FALSE(s.error().empty());
        // A failed session swallows whatever else comes.
        EXPECT_EQ(s.on_input(bytes("more")), 4u);
    }
}

TEST(Iperf3Server, TestEndBeforeTheStreamIsAnError) {
    ServerControl s;
    s.on_input(bytes(std::string(kCookieLen, 'a')));
    s.on_input(bytes(frame(R"({"tcp":true,"num":1})")));
    ASSERT_EQ(s.phase(), ServerControl::Phase::kWaitStream);
    s.on_input(bytes(one(Msg::kTestEnd)));
    EXPECT_EQ(s.phase(), ServerControl::Phase::kFailed);
}

TEST(Iperf3Client, ServerRefusalsEndTheClient) {
    SeededRandom rng(3);
    TestParams p;
    p.bytes = 1;
    {
        ClientControl c(make_cookie(rng), p);
        const std::string err = one(Msg::kServerError) + std::string("\0\0\0\x0d\0\0\0\x05", 8);
        // In pieces: the 8 bytes after SERVER_ERROR may be split.
        EXPECT_EQ(c.on_input(bytes(err.substr(0, 3))), 3u);
        EXPECT_NE(c.phase(), ClientControl::Phase::kFailed);
        EXPECT_EQ(c.on_input(bytes(err.substr(3))), err.size() - 3);
        EXPECT_EQ(c.phase(), ClientControl::Phase::kFailed);
        EXPECT_NE(c.error().find("13"), std::string::npos);
    }
    for (const std::string& in : {one(Msg::kAccessDenied), one(Msg::kServerTerminate),
                                  std::string("\x2a"), one(Msg::kTestRunning)}) {
        ClientControl c(make_cookie(rng), p);
        c.on_input(bytes(in));
        EXPECT_EQ(c.phase(), ClientControl::Phase::kFailed) << static_cast<int>(in[0]);
    }
}

TEST(Iperf3Client, MalformedServerResultsFail) {
    SeededRandom rng(4);
    TestParams p;
    p.bytes = 1;
    ClientControl c(make_cookie(rng), p);
    take_output(c);
    c.on_input(bytes(one(Msg::kParamExchange) + one(Msg::kCreateStreams) + one(Msg::kTestStart) +
                     one(Msg::kTestRunning)));
    ASSERT_EQ(c.phase(), ClientControl::Phase::kRunning);
    c.end_test({1, 0.1, true});
    c.on_input(bytes(one(Msg::kExchangeResults) + frame(R"({"streams":[]})")));
    EXPECT_EQ(c.phase(), ClientControl::Phase::kFailed);
}

}  // namespace
}  // namespace l45::apps::iperf3
