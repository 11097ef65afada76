// apps/l45-echo/http_sessions: the HTTP server and GET client sessions,
// driven in memory (no stack): requests in, responses out.
#include "apps/l45-echo/http_sessions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "stack/base/random.h"

namespace l45::apps {
namespace {

ByteSpan bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// What a peer reading `limit` bytes at a time would receive.
std::string drain(HttpServerSession& s, std::size_t limit = 1 << 30) {
    std::string out;
    for (ByteSpan b = s.pending_output(); !b.empty(); b = s.pending_output()) {
        const std::size_t n = std::min(limit, b.size());
        out.append(reinterpret_cast<const char*>(b.data()), n);
        s.output_sent(n);
    }
    return out;
}

std::string pattern(std::uint64_t seed, std::size_t len) {
    std::string out(len, '\0');
    SeededRandom r(seed);
    r.fill({reinterpret_cast<std::uint8_t*>(out.data()), out.size()});
    return out;
}

// Splits "head\r\n\r\nbody" and checks the head's start.
std::string body_of(const std::string& response, std::string_view status_line) {
    EXPECT_EQ(response.substr(0, status_line.size()), status_line) << response.substr(0, 80);
    const auto end = response.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : response.substr(end + 4);
}

TEST(HttpServerSession, ServesThePatternInSmallSends) {
    HttpServerSession s(7, 64);  // tiny chunks: many refills
    s.reset();
    const std::string req = "GET /bytes/1000 HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(s.on_input(bytes(req)), req.size());
    EXPECT_TRUE(s.responding());
    const std::string out = drain(s, 7);
    EXPECT_NE(out.find("Content-Length: 1000\r\n"), std::string::npos);
    EXPECT_EQ(body_of(out, "HTTP/1.1 200 OK\r\n"), pattern(7, 1000));
    EXPECT_FALSE(s.should_close());
    EXPECT_TRUE(s.idle());
    EXPECT_EQ(s.requests(), 1u);
    EXPECT_EQ(s.body_bytes_sent(), 1000u);
}

TEST(HttpServerSession, PipelinedRequestsWaitForTheResponse) {
    HttpServerSession s(1);
    s.reset();
    const std::string two = "GET / HTTP/1.1\r\n\r\nGET /bytes/3 HTTP/1.1\r\n\r\n";
    const std::size_t first = s.on_input(bytes(two));
    EXPECT_EQ(first, two.find("GET /bytes"));
    // While responding nothing more is taken: it stays in TCP's queue.
    EXPECT_EQ(s.on_input(bytes(two).subspan(first)), 0u);
    const std::string page = drain(s);
    EXPECT_NE(page.find("text/html"), std::string::npos);
    EXPECT_EQ(s.on_input(bytes(two).subspan(first)), two.size() - first);
    EXPECT_EQ(body_of(drain(s), "HTTP/1.1 200 OK"), pattern(1, 3));
    EXPECT_EQ(s.requests(), 2u);
}

TEST(HttpServerSession, HeadHasNoBodyAndUnknownPathsAre404) {
    HttpServerSession s(1);
    s.reset();
    ASSERT_GT(s.on_input(bytes("HEAD /bytes/50 HTTP/1.1\r\n\r\n")), 0u);
    const std::string head = drain(s);
    EXPECT_NE(head.find("Content-Length: 50\r\n"), std::string::npos);
    EXPECT_EQ(body_of(head, "HTTP/1.1 200 OK"), "");
    for (const char* path :
         {"/nope", "/bytes/", "/bytes/-1", "/bytes/12x", "/bytes/9999999999999"}) {
        ASSERT_GT(s.on_input(bytes(std::string("GET ") + path + " HTTP/1.1\r\n\r\n")), 0u);
        EXPECT_EQ(body_of(drain(s), "HTTP/1.1 404 Not Found"), "") << path;
        EXPECT_FALSE(s.should_close()) << path;  // a 404 keeps the connection
    }
}

TEST(HttpServerSession, RequestBodyIsSkipped) {
    HttpServerSession s(1);
    s.reset();
    const std::string text =
        "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /bytes/1 HTTP/1.1\r\n\r\n";
    const std::size_t n = s.on_input(bytes(text));
    EXPECT_EQ(n, text.find("GET /bytes"));  // head and body taken
    drain(s);
    EXPECT_EQ(s.on_input(bytes(text).subspan(n)), text.size() - n);
    EXPECT_EQ(body_of(drain(s), "HTTP/1.1 200 OK"), pattern(1, 1));
}

TEST(HttpServerSession, MalformedGets400AndCloses) {
    HttpServerSession s(1);
    s.reset();
    const std::string bad = "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n";
    EXPECT_EQ(s.on_input(bytes(bad)), bad.size());
    const std::string out = drain(s);
    EXPECT_NE(out.find("Connection: close"), std::string::npos);
    EXPECT_EQ(body_of(out, "HTTP/1.1 400 Bad Request\r\n"), "");
    EXPECT_TRUE(s.should_close());
    EXPECT_EQ(s.bad_requests(), 1u);
    // Whatever follows is swallowed, never answered.
    EXPECT_EQ(s.on_input(bytes("GET / HTTP/1.1\r\n\r\n")), 18u);
    EXPECT_EQ(drain(s), "");
}

TEST(HttpServerSession, OversizedHeadGets431) {
    HttpServerSession s(1);
    s.reset();
    const std::string big(http::kMaxHeadLen + 100, 'a');
    EXPECT_EQ(s.on_input(bytes(big)), big.size());
    EXPECT_EQ(body_of(drain(s), "HTTP/1.1 431 "), "");
    EXPECT_TRUE(s.should_close());
}

TEST(HttpServerSession, Http10ClosesAfterTheResponse) {
    HttpServerSession s(1);
    s.reset();
    ASSERT_GT(s.on_input(bytes("GET /bytes/2 HTTP/1.0\r\n\r\n")), 0u);
    EXPECT_FALSE(s.should_close());  // not before the response is out
    const std::string out = drain(s);
    EXPECT_NE(out.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(s.should_close());
}

TEST(HttpServerSession, MethodsOtherThanGetAndHeadGet405) {
    HttpServerSession s(1);
    s.reset();
    ASSERT_GT(s.on_input(bytes("DELETE / HTTP/1.1\r\n\r\n")), 0u);
    EXPECT_EQ(body_of(drain(s), "HTTP/1.1 405 "), "");
}

class StringSink final : public BodySink {
  public:
    void body(ByteSpan data) override {
        text.append(reinterpret_cast<const char*>(data.data()), data.size());
    }
    std::string text;
};

TEST(HttpGetClient, SendsOneRequestAndReadsAContentLengthBody) {
    HttpGetClient c("198.18.0.1:8000", "/file.bin");
    const ByteSpan req = c.pending_output();
    const std::string text(reinterpret_cast<const char*>(req.data()), req.size());
    EXPECT_EQ(text.substr(0, 30), "GET /file.bin HTTP/1.1\r\nHost: ");
    EXPECT_NE(text.find("Connection: close\r\n\r\n"), std::string::npos);
    c.output_sent(req.size());
    EXPECT_TRUE(c.pending_output().empty());

    StringSink sink;
    const std::string resp = "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n0123456789EXTRA";
    for (std::size_t i = 0; i < resp.size(); i += 3) {
        auto r =
            c.on_input(bytes(resp).subspan(i, std::min<std::size_t>(3, resp.size() - i)), sink);
        ASSERT_TRUE(r);
    }
    EXPECT_TRUE(c.done());
    EXPECT_EQ(c.status(), 200);
    EXPECT_EQ(sink.text, "0123456789");  // bytes after the body are not body
    EXPECT_TRUE(c.on_peer_closed());
}

TEST(HttpGetClient, CloseDelimitedAndShortBodies) {
    StringSink sink;
    HttpGetClient open("h", "/");
    ASSERT_TRUE(open.on_input(bytes("HTTP/1.0 200 OK\r\n\r\nabc"), sink));
    EXPECT_FALSE(open.done());
    EXPECT_TRUE(open.on_peer_closed());  // RFC 9112 §6.3 step 8
    EXPECT_TRUE(open.done());
    EXPECT_EQ(open.body_received(), 3u);

    HttpGetClient shortc("h", "/");
    ASSERT_TRUE(shortc.on_input(bytes("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"), sink));
    auto r = shortc.on_peer_closed();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("3 of 9"), std::string::npos);

    HttpGetClient none("h", "/");
    EXPECT_FALSE(none.on_peer_closed());
}

TEST(HttpGetClient, MalformedOrChunkedResponsesAreErrors) {
    StringSink sink;
    for (const char* bad :
         {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/9 200 OK\r\n\r\n",
          "HTTP/1.1 100 Continue\r\n\r\n", "garbage\r\n\r\n"}) {
        HttpGetClient c("h", "/");
        EXPECT_FALSE(c.on_input(bytes(bad), sink)) << bad;
    }
}

}  // namespace
}  // namespace l45::apps
