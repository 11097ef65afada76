// l45-echo's HTTP/1.1 endpoints as sans-IO sessions over apps/common/http1:
// bytes the peer sent go in, bytes to send come out (peek/advance, like the
// TCP stack's own queues), so tests drive them without a stack or DPDK.
//
//   HttpServerSession  GET / (a small page) and GET /bytes/N (N bytes of the
//                      seeded pattern, pattern.h), keep-alive, HEAD, 400 on a
//                      malformed head, 431 on an oversized one.
//   HttpGetClient      one GET, the body handed to a sink (hash, file).
//
// Read first: RFC 9112 §6.3 (body length), §9.3 (persistence), §9.5 (a
// server that will close says so with "Connection: close"); RFC 9110 §9.3.1
// (GET), §9.3.2 (HEAD: the same head, no body).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "apps/common/http1.h"
#include "apps/l45-echo/pattern.h"
#include "stack/base/bytes.h"
#include "stack/base/result.h"

namespace l45::apps {

class HttpServerSession {
  public:
    // The largest N of /bytes/N (1 TiB: a bound, not a promise).
    static constexpr std::uint64_t kMaxPatternLen = std::uint64_t{1} << 40;

    explicit HttpServerSession(std::uint64_t seed, std::size_t chunk_len = 16 * 1024);

    // A new connection: forget everything about the previous one.
    void reset();
    // Bytes from the peer; returns how many were taken. While a response is
    // being sent nothing more is taken, so a pipelined request waits in the
    // TCP receive queue (and its window) rather than in a buffer of ours.
    std::size_t on_input(ByteSpan in);
    // The next bytes to send (empty: nothing now).
    [[nodiscard]] ByteSpan pending_output();
    void output_sent(std::size_t n);
    // The last response is out and the connection must not persist.
    [[nodiscard]] bool should_close() const { return phase_ == Phase::kClosing; }
    // Between requests: nothing half-read, nothing to send.
    [[nodiscard]] bool idle() const;
    // The glue half-closed after the last response (RFC 9112 §9.6).
    [[nodiscard]] bool shut_down() const { return shut_down_; }
    void set_shut_down() { shut_down_ = true; }
    // A response is (partly) owed to the peer.
    [[nodiscard]] bool responding() const { return phase_ == Phase::kRespond; }

    [[nodiscard]] std::uint64_t requests() const { return requests_; }
    [[nodiscard]] std::uint64_t bad_requests() const { return bad_requests_; }
    [[nodiscard]] std::uint64_t body_bytes_sent() const { return body_sent_; }

  private:
    enum class Phase : std::uint8_t { kReadHead, kRespond, kClosing };
    enum class Body : std::uint8_t { kNone, kPage, kPattern };

    void respond(const http::Request& request);
    void respond_error(int status);
    void start_response(const http::ResponseHead& head, Body body, std::uint64_t body_len);
    void finish_response();

    std::uint64_t seed_;
    Phase phase_ = Phase::kReadHead;
    http::RequestParser parser_;
    std::uint64_t skip_ = 0;  // request body bytes still to discard
    bool keep_alive_ = true;
    bool shut_down_ = false;
    std::array<std::uint8_t, 512> head_{};
    std::size_t head_len_ = 0;
    std::size_t head_off_ = 0;
    Body body_ = Body::kNone;
    std::size_t page_off_ = 0;
    PatternSource pattern_;
    std::uint64_t requests_ = 0;
    std::uint64_t bad_requests_ = 0;
    std::uint64_t body_sent_ = 0;
};

// Where HttpGetClient puts the body.
class BodySink {
  public:
    virtual ~BodySink() = default;
    virtual void body(ByteSpan data) = 0;
};

class HttpGetClient {
  public:
    HttpGetClient(std::string host, std::string target);

    [[nodiscard]] ByteSpan pending_output() const;
    void output_sent(std::size_t n) { request_off_ += n; }
    // Bytes of the response; returns how many were taken, or why the
    // response cannot be read (the caller aborts the connection).
    [[nodiscard]] Result<std::size_t, std::string> on_input(ByteSpan in, BodySink& sink);
    // The server closed its side: a body without Content-Length ends here
    // (RFC 9112 §6.3 step 8); one with Content-Length must be complete.
    [[nodiscard]] Result<void, std::string> on_peer_closed();

    [[nodiscard]] bool done() const { return done_; }
    [[nodiscard]] int status() const { return status_; }
    [[nodiscard]] std::uint64_t body_received() const { return body_received_; }

  private:
    std::string request_;
    std::size_t request_off_ = 0;
    http::ResponseParser parser_;
    bool head_done_ = false;
    bool done_ = false;
    int status_ = 0;
    std::optional<std::uint64_t> content_length_;
    std::uint64_t body_received_ = 0;
};

}  // namespace l45::apps
