// The port-80 answer: 301 to https://<host><target> for a well-formed
// request head, 400 for anything malformed or over the bound (RFC 9112).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apps/l45-offload/http_redirect.h"

namespace l45::offload {
namespace {

constexpr std::size_t kMax = 1024;

struct Answer {
    HttpVerdict verdict;
    std::string response;
};

Answer answer(const std::string& request, std::uint16_t https_port = 443, std::size_t max = kMax) {
    std::vector<std::uint8_t> out(max_redirect_response_len(max));
    const auto a =
        answer_http(ByteSpan(reinterpret_cast<const std::uint8_t*>(request.data()), request.size()),
                    max, https_port, out);
    return {a.verdict, std::string(reinterpret_cast<const char*>(out.data()), a.response_len)};
}

std::string location(const Answer& a) {
    const auto at = a.response.find("\r\nLocation: ");
    if (at == std::string::npos) return "";
    const auto start = at + 12;
    return a.response.substr(start, a.response.find("\r\n", start) - start);
}

TEST(HttpRedirect, MovedPermanentlyToHttpsWithPathAndQuery) {
    const auto a = answer("GET /a/b?c=d&e HTTP/1.1\r\nHost: example.test\r\nUser-Agent: x\r\n\r\n");
    ASSERT_EQ(a.verdict, HttpVerdict::redirect);
    EXPECT_EQ(a.response,
              "HTTP/1.1 301 Moved Permanently\r\n"
              "Location: https://example.test/a/b?c=d&e\r\n"
              "Content-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(HttpRedirect, PortOfHostIsDroppedAndHttpsPortAdded) {
    EXPECT_EQ(location(answer("GET / HTTP/1.1\r\nHost: example.test:8080\r\n\r\n")),
              "https://example.test/");
    EXPECT_EQ(location(answer("GET /x HTTP/1.1\r\nHost: example.test\r\n\r\n", 8443)),
              "https://example.test:8443/x");
    EXPECT_EQ(location(answer("GET /x HTTP/1.0\r\nhOsT:   [2001:db8::1]:80  \r\n\r\n")),
              "https://[2001:db8::1]/x");
    EXPECT_EQ(location(answer("HEAD /y HTTP/1.1\r\nHost: 198.18.0.2\r\n\r\n")),
              "https://198.18.0.2/y");
}

TEST(HttpRedirect, AbsoluteFormAuthorityWinsOverHost) {
    EXPECT_EQ(location(answer("GET http://real.test/p HTTP/1.1\r\nHost: other.test\r\n\r\n")),
              "https://real.test/p");
    EXPECT_EQ(location(answer("GET http://real.test HTTP/1.1\r\nHost: other.test\r\n\r\n")),
              "https://real.test/");
}

TEST(HttpRedirect, NeedsMoreUntilTheEndOfTheHead) {
    EXPECT_EQ(answer("GET / HTTP/1.1\r\nHost: a.test\r\n").verdict, HttpVerdict::need_more);
    EXPECT_EQ(answer("").verdict, HttpVerdict::need_more);
    EXPECT_EQ(answer("GET / HT").verdict, HttpVerdict::need_more);
}

TEST(HttpRedirect, MalformedIs400) {
    const char* bad[] = {
        "GET / HTTP/1.1\r\n\r\n",                                  // no Host
        "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",  // two Hosts
        "GET / HTTP/1.1\r\nHost: \r\n\r\n",                        // empty Host
        "GET / HTTP/1.1\r\nHost: a.test:80x\r\n\r\n",              // bad port
        "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",                     // '/' in host
        "GET / HTTP/1.1\r\nHost: a.test\r\n x: folded\r\n\r\n",    // obs-fold
        "GET / HTTP/1.1\r\nHost : a.test\r\n\r\n",                 // space before colon
        "GET / HTTP/2.0\r\nHost: a.test\r\n\r\n",                  // version
        "GET  / HTTP/1.1\r\nHost: a.test\r\n\r\n",                 // empty target
        "GET * HTTP/1.1\r\nHost: a.test\r\n\r\n",                  // asterisk-form
        "GET a.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n",         // authority-form
        "G(T / HTTP/1.1\r\nHost: a.test\r\n\r\n",                  // method not a token
        "GET /\x01 HTTP/1.1\r\nHost: a.test\r\n\r\n",              // control in target
        "GET / HTTP/1.1\r\nHost: a.test\r\nX: a\nb\r\n\r\n",       // bare LF in a value
        "GET / HTTP/1.1\r\nHost: [zz::1]\r\n\r\n",                 // bad IPv6 literal
    };
    for (const char* req : bad) {
        const auto a = answer(req);
        EXPECT_EQ(a.verdict, HttpVerdict::bad_request) << req;
        EXPECT_EQ(a.response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << req;
    }
}

TEST(HttpRedirect, OnlyTheFirstHeadIsAnswered) {
    // Connection: close; what follows the first head is never parsed.
    const auto a =
        answer("GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n");
    EXPECT_EQ(location(a), "https://a.test/1");
}

TEST(HttpRedirect, OverlongHeadIs400AndNeverReadPastTheBound) {
    std::string req = "GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: a.test\r\n\r\n";
    EXPECT_EQ(answer(req).verdict, HttpVerdict::bad_request);
    // Exactly at the bound without an end: 400, not need_more.
    EXPECT_EQ(answer(std::string(kMax, 'G')).verdict, HttpVerdict::bad_request);
    // A head that fits is fine even with a long target.
    std::string ok = "GET /" + std::string(900, 'b') + " HTTP/1.1\r\nHost: a.test\r\n\r\n";
    ASSERT_LE(ok.size(), kMax);
    EXPECT_EQ(location(answer(ok)), "https://a.test/" + std::string(900, 'b'));
}

TEST(HttpRedirect, NoHeaderInjectionThroughTheTarget) {
    // CR/LF cannot reach the target (lines split there) and other controls
    // are refused, so the Location line is always one line.
    const auto a = answer("GET /x%0d%0aSet-Cookie:%20a HTTP/1.1\r\nHost: a.test\r\n\r\n");
    ASSERT_EQ(a.verdict, HttpVerdict::redirect);
    EXPECT_EQ(location(a), "https://a.test/x%0d%0aSet-Cookie:%20a");
    EXPECT_EQ(a.response.find("\r\nSet-Cookie"), std::string::npos);
}

}  // namespace
}  // namespace l45::offload
