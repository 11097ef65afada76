// A minimal HTTP/1.1 message head parser and writer, bounds-checked and
// without I/O: bytes in, a parsed head out; a Writer in, a serialised head
// out. l45-echo's HTTP server and GET client use it; l45-offload's port-80
// redirect and backend forwarding are meant to reuse it.
//
// Read first: RFC 9112 §2 (message format: start line, CRLF, a bare LF MAY
// be accepted), §3 (request line), §4 (status line), §5 (field syntax, no
// obs-fold, no whitespace before the colon), §6.1-6.3 (Transfer-Encoding,
// Content-Length, how a body's length is determined), §9.3 (persistence:
// HTTP/1.1 keeps the connection unless "close", 1.0 closes unless
// "keep-alive"); RFC 9110 §5.6.2 (token characters).
//
// Deliberately not supported (answered with an error, never guessed):
// chunked or any other transfer coding, obs-fold, header blocks larger than
// kMaxHeadLen, more than kMaxHeaders fields, request targets other than
// origin-form (RFC 9112 §3.2.1) or absolute http:// URLs for the client.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/result.h"

namespace l45::apps::http {

// Bounds: a request or response head larger than this is refused (a server
// answers 431/400), so a peer cannot make us buffer without limit.
inline constexpr std::size_t kMaxHeadLen = 8192;
inline constexpr std::size_t kMaxHeaders = 32;

enum class ParseError : std::uint8_t {
    kHeadTooLarge,         // no blank line within kMaxHeadLen bytes
    kBadStartLine,         // request line (§3) or status line (§4)
    kBadVersion,           // only HTTP/1.0 and HTTP/1.1
    kBadHeader,            // §5: name is not a token, no colon, obs-fold, control bytes
    kTooManyHeaders,       // more than kMaxHeaders fields
    kBadContentLength,     // §6.3 step 5: not digits, too large, or conflicting
    kUnsupportedEncoding,  // any Transfer-Encoding (chunked is not implemented)
};
[[nodiscard]] const char* to_string(ParseError e);

struct Header {
    std::string_view name;
    std::string_view value;  // optional whitespace (OWS) around it removed
};

// Fields common to requests and responses. Views point into the parser's
// buffer: valid until the parser is fed again or reset.
struct Head {
    int version_minor = 1;  // HTTP/1.<minor>
    std::optional<std::uint64_t> content_length;
    bool keep_alive = true;  // RFC 9112 §9.3, from the version and Connection
    std::span<const Header> headers;

    // Case-insensitive lookup of the first field named `name` (empty if none).
    [[nodiscard]] std::string_view header(std::string_view name) const;
};

struct Request : Head {
    std::string_view method;
    std::string_view target;  // origin-form: starts with '/'
};

struct Response : Head {
    int status = 0;
    std::string_view reason;
};

// Collects one head (up to and including the blank line) in a fixed buffer.
// feed() takes bytes only up to the end of the head, so the body or a
// pipelined next request stays with the caller.
class HeadAccumulator {
  public:
    // Returns how many bytes of `in` were taken; complete() once the blank
    // line arrived. kHeadTooLarge when kMaxHeadLen bytes hold no blank line.
    [[nodiscard]] Result<std::size_t, ParseError> feed(ByteSpan in);
    [[nodiscard]] bool complete() const { return complete_; }
    [[nodiscard]] bool empty() const { return len_ == 0; }
    // The head without its final empty line; valid once complete().
    [[nodiscard]] std::string_view text() const { return {buf_.data(), len_}; }
    void reset() {
        len_ = 0;
        complete_ = false;
    }

  private:
    std::array<char, kMaxHeadLen> buf_{};
    std::size_t len_ = 0;
    bool complete_ = false;
};

class RequestParser {
  public:
    // As HeadAccumulator::feed, and parses the head once it is complete.
    [[nodiscard]] Result<std::size_t, ParseError> feed(ByteSpan in);
    [[nodiscard]] bool complete() const { return acc_.complete(); }
    [[nodiscard]] bool empty() const { return acc_.empty(); }  // no byte of a head yet
    [[nodiscard]] const Request& request() const { return request_; }
    void reset() { acc_.reset(); }

  private:
    HeadAccumulator acc_;
    std::array<Header, kMaxHeaders> headers_{};
    Request request_;
};

class ResponseParser {
  public:
    [[nodiscard]] Result<std::size_t, ParseError> feed(ByteSpan in);
    [[nodiscard]] bool complete() const { return acc_.complete(); }
    [[nodiscard]] const Response& response() const { return response_; }
    void reset() { acc_.reset(); }

  private:
    HeadAccumulator acc_;
    std::array<Header, kMaxHeaders> headers_{};
    Response response_;
};

// Parses a complete head (as HeadAccumulator::text() holds it). Exposed for
// tests and for callers that already hold a whole head.
[[nodiscard]] Result<void, ParseError> parse_request(std::string_view head,
                                                     std::span<Header> header_storage,
                                                     Request& out);
[[nodiscard]] Result<void, ParseError> parse_response(std::string_view head,
                                                      std::span<Header> header_storage,
                                                      Response& out);

// --- writers: a head into a caller-supplied buffer (check w.ok()) ---
struct ResponseHead {
    int status = 200;
    std::string_view reason = "OK";
    std::optional<std::uint64_t> content_length;
    bool keep_alive = true;
    std::string_view content_type;  // omitted when empty
    std::string_view location;      // omitted when empty (3xx redirects)
};
void write_response_head(Writer& w, const ResponseHead& head);
void write_get_request(Writer& w, std::string_view host, std::string_view target, bool keep_alive);

// The standard reason phrase of the few status codes l45 sends.
[[nodiscard]] std::string_view reason_phrase(int status);

// "http://HOST[:PORT]/path" -> its parts (RFC 9110 §4.2.1); port 80 by default.
struct HttpUrl {
    std::string_view host;
    std::uint16_t port = 80;
    std::string_view target;  // "/" when the URL has no path
};
[[nodiscard]] std::optional<HttpUrl> parse_http_url(std::string_view url);

}  // namespace l45::apps::http
