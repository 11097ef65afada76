// apps/common/http1: the HTTP/1.1 head parser and writer (RFC 9112).
#include "apps/common/http1.h"

#include <gtest/gtest.h>

#include <string>

#include "stack/base/random.h"

namespace l45::apps::http {
namespace {

using namespace std::literals;

ByteSpan bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Feeds `text` whole; returns the parse error or the bytes taken.
Result<std::size_t, ParseError> feed_all(RequestParser& p, std::string_view text) {
    return p.feed(bytes(text));
}

TEST(Http1Request, ParsesRequestLineAndFields) {
    RequestParser p;
    auto r = feed_all(p, "GET /bytes/10 HTTP/1.1\r\nHost: a\r\nX-Thing:  two words \r\n\r\n");
    ASSERT_TRUE(r);
    ASSERT_TRUE(p.complete());
    const Request& q = p.request();
    EXPECT_EQ(q.method, "GET");
    EXPECT_EQ(q.target, "/bytes/10");
    EXPECT_EQ(q.version_minor, 1);
    EXPECT_TRUE(q.keep_alive);
    EXPECT_FALSE(q.content_length.has_value());
    ASSERT_EQ(q.headers.size(), 2u);
    EXPECT_EQ(q.header("host"), "a");
    EXPECT_EQ(q.header("X-THING"), "two words");  // OWS trimmed, inner space kept
    EXPECT_EQ(q.header("missing"), "");
}

TEST(Http1Request, TakesOnlyTheHeadAndLeavesThePipelinedRest) {
    RequestParser p;
    const std::string two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    auto r = feed_all(p, two);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, two.size() / 2);
    EXPECT_EQ(p.request().target, "/a");
    // Fed again before a reset, a complete parser takes nothing.
    auto again = p.feed(bytes(two).subspan(*r));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 0u);
    p.reset();
    r = p.feed(bytes(two).subspan(two.size() / 2));
    ASSERT_TRUE(r);
    EXPECT_EQ(p.request().target, "/b");
}

TEST(Http1Request, ByteAtATimeFindsTheSameHead) {
    const std::string text = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\nBODY";
    RequestParser p;
    std::size_t taken = 0;
    for (std::size_t i = 0; i < text.size() && !p.complete(); ++i) {
        auto r = p.feed(bytes(text).subspan(i, 1));
        ASSERT_TRUE(r);
        taken += *r;
    }
    ASSERT_TRUE(p.complete());
    EXPECT_EQ(taken, text.size() - 4);  // not "BODY"
    EXPECT_EQ(p.request().header("b"), "2");
}

TEST(Http1Request, AcceptsBareLineFeeds) {
    // RFC 9112 §2.2: a recipient MAY recognise a single LF as a line end.
    RequestParser p;
    ASSERT_TRUE(feed_all(p, "GET / HTTP/1.1\nHost: x\n\n"));
    ASSERT_TRUE(p.complete());
    EXPECT_EQ(p.request().header("host"), "x");
}

TEST(Http1Request, PersistenceFollowsVersionAndConnection) {
    struct Case {
        const char* text;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
    };
    for (const Case& c : cases) {
        RequestParser p;
        ASSERT_TRUE(feed_all(p, c.text)) << c.text;
        EXPECT_EQ(p.request().keep_alive, c.keep_alive) << c.text;
    }
}

TEST(Http1Request, RejectsMalformedHeads) {
    struct Case {
        std::string text;
        ParseError error;
    } cases[] = {
        {"GET  / HTTP/1.1\r\n\r\n", ParseError::kBadStartLine},
        {"GET /\r\n\r\n", ParseError::kBadStartLine},
        {"GET x HTTP/1.1\r\n\r\n", ParseError::kBadStartLine},
        {"G(T / HTTP/1.1\r\n\r\n", ParseError::kBadStartLine},
        {std::string("GET /\x01 HTTP/1.1\r\n\r\n"), ParseError::kBadStartLine},
        {"\r\n\r\n", ParseError::kBadStartLine},
        {"GET / HTTP/2.0\r\n\r\n", ParseError::kBadVersion},
        {"GET / http/1.1\r\n\r\n", ParseError::kBadVersion},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", ParseError::kBadHeader},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", ParseError::kBadHeader},
        {"GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", ParseError::kBadHeader},
        {std::string("GET / HTTP/1.1\r\nA: x\0y\r\n\r\n"sv), ParseError::kBadHeader},
        {"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", ParseError::kBadContentLength},
        {"GET / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", ParseError::kBadContentLength},
        {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
         ParseError::kBadContentLength},
        {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
         ParseError::kBadContentLength},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", ParseError::kUnsupportedEncoding},
    };
    for (const Case& c : cases) {
        RequestParser p;
        auto r = feed_all(p, c.text);
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error(), c.error) << c.text << " -> " << to_string(r.error());
    }
}

TEST(Http1Request, SameContentLengthTwiceIsOne) {
    RequestParser p;
    ASSERT_TRUE(feed_all(p, "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n"));
    EXPECT_EQ(p.request().content_length, 5u);
}

TEST(Http1Request, OversizedHeadIsRefusedNotBuffered) {
    RequestParser p;
    const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHeadLen, 'a');
    auto r = p.feed(bytes(big));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ParseError::kHeadTooLarge);
    // A head of exactly the limit (blank line included) still fits.
    std::string exact = "GET / HTTP/1.1\r\nX: ";
    exact += std::string(kMaxHeadLen - exact.size() - 4, 'b') + "\r\n\r\n";
    ASSERT_EQ(exact.size(), kMaxHeadLen);
    RequestParser q;
    ASSERT_TRUE(q.feed(bytes(exact)));
    EXPECT_TRUE(q.complete());
}

TEST(Http1Request, TooManyFieldsIsAnError) {
    std::string text = "GET / HTTP/1.1\r\n";
    for (std::size_t i = 0; i <= kMaxHeaders; ++i)
        text += "H" + std::to_string(i) + ": v\r\n";
    text += "\r\n";
    RequestParser p;
    auto r = feed_all(p, text);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), ParseError::kTooManyHeaders);
}

// Wherever the input is cut, the parser ends in the same place: a mutated
// request fed in random pieces parses (or fails) exactly as when fed whole.
TEST(Http1Request, ResultDoesNotDependOnHowInputIsSplit) {
    SeededRandom rng(42);
    const std::string base =
        "GET /bytes/123 HTTP/1.1\r\nHost: 198.18.0.2:8080\r\nContent-Length: 3\r\n"
        "Connection: keep-alive\r\n\r\nabc";
    for (int iter = 0; iter < 20000; ++iter) {
        std::string text = base;
        const int edits = static_cast<int>(rng.below(4));
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = rng.below(text.size());
            switch (rng.below(3)) {
                case 0:
                    text[at] = static_cast<char>(rng.below(256));
                    break;
                case 1:
                    text.erase(at, 1);
                    break;
                default:
                    text.insert(at, 1, "\r\n: /"[rng.below(5)]);
            }
        }
        RequestParser whole;
        auto w = feed_all(whole, text);
        RequestParser pieces;
        std::size_t off = 0;
        Result<std::size_t, ParseError> last = std::size_t{0};
        while (off < text.size() && !pieces.complete()) {
            const std::size_t len = 1 + rng.below(16);
            last = pieces.feed(bytes(text).subspan(off, std::min(len, text.size() - off)));
            if (!last) break;
            off += *last;
        }
        ASSERT_EQ(w.has_value(), last.has_value()) << text;
        if (!w) {
            EXPECT_EQ(w.error(), last.error()) << text;
            continue;
        }
        ASSERT_EQ(whole.complete(), pieces.complete()) << text;
        if (!whole.complete()) continue;
        EXPECT_EQ(*w, off) << text;
        EXPECT_EQ(whole.request().target, pieces.request().target);
        EXPECT_EQ(whole.request().content_length, pieces.request().content_length);
        EXPECT_EQ(whole.request().headers.size(), pieces.request().headers.size());
    }
}

TEST(Http1Response, ParsesStatusLines) {
    ResponseParser p;
    ASSERT_TRUE(p.feed(bytes("HTTP/1.0 200 OK\r\nContent-Length: 42\r\n\r\n")));
    EXPECT_EQ(p.response().status, 200);
    EXPECT_EQ(p.response().reason, "OK");
    EXPECT_EQ(p.response().content_length, 42u);
    EXPECT_FALSE(p.response().keep_alive);  // 1.0

    ResponseParser q;
    ASSERT_TRUE(q.feed(bytes("HTTP/1.1 204\r\n\r\n")));  // no reason, no SP
    EXPECT_EQ(q.response().status, 204);
    EXPECT_EQ(q.response().reason, "");

    for (const char* bad :
         {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n",
          "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "ICY 200 OK\r\n\r\n"}) {
        ResponseParser r;
        EXPECT_FALSE(r.feed(bytes(bad))) << bad;
    }
}

TEST(Http1Writer, ResponseHeadIsExact) {
    std::array<std::uint8_t, 256> buf{};
    Writer w(buf);
    ResponseHead h;
    h.status = 301;
    h.reason = reason_phrase(301);
    h.content_length = 0;
    h.keep_alive = false;
    h.location = "https://example.test/";
    write_response_head(w, h);
    ASSERT_TRUE(w.ok());
    const std::string out(reinterpret_cast<const char*>(buf.data()), w.written());
    EXPECT_EQ(out,
              "HTTP/1.1 301 Moved Permanently\r\nServer: l45\r\nContent-Length: 0\r\n"
              "Location: https://example.test/\r\nConnection: close\r\n\r\n");
    // What the writer makes, the parser reads back.
    ResponseParser p;
    ASSERT_TRUE(p.feed(buf));
    EXPECT_EQ(p.response().header("location"), "https://example.test/");
    EXPECT_FALSE(p.response().keep_alive);
}

TEST(Http1Writer, TooSmallBufferFailsTheWriter) {
    std::array<std::uint8_t, 20> buf{};
    Writer w(buf);
    write_get_request(w, "198.18.0.1:8000", "/file.bin", false);
    EXPECT_FALSE(w.ok());
}

TEST(Http1Url, SplitsHostPortAndTarget) {
    auto u = parse_http_url("http://198.18.0.1:8000/file.bin");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "198.18.0.1");
    EXPECT_EQ(u->port, 8000);
    EXPECT_EQ(u->target, "/file.bin");
    u = parse_http_url("HTTP://h");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->port, 80);
    EXPECT_EQ(u->target, "/");
    for (const char* bad : {"https://h/", "http://", "http://h:0/", "http://h:65536/",
                            "http://h:x/", "http://u@h/", "http://h/a b", "ftp://h/"})
        EXPECT_FALSE(parse_http_url(bad)) << bad;
}

}  // namespace
}  // namespace l45::apps::http
