// iperf3's control protocol (one TCP stream, normal and reverse) as sans-IO
// sessions: bytes of the control connection in, bytes to send out. The data
// stream itself is plain bytes; the glue (tcp_services.cc) counts and makes
// them and tells the session when a stream connected and when a test ended.
//
// There is no RFC; the protocol is what esnet/iperf implements (read, not
// copied: src/iperf_api.h for the state bytes, src/iperf_client_api.c,
// src/iperf_server_api.c, src/iperf_api.c send_parameters/get_parameters,
// send_results/get_results, JSON_read/JSON_write). One test, in order:
//
//   client -> server  control: 37-byte cookie (36 characters and a NUL)
//   server -> client  PARAM_EXCHANGE (9)
//   client -> server  4-byte big-endian length, JSON parameters
//   server -> client  CREATE_STREAMS (10)
//   client -> server  data connection to the same port, the same cookie on it
//   server -> client  TEST_START (1), TEST_RUNNING (2)
//   ...data: client to server, or server to client with "reverse"...
//   client -> server  TEST_END (4)         (the client decides: -n bytes moved)
//   server -> client  EXCHANGE_RESULTS (13)
//   client -> server  length + JSON results; server -> client the same
//   server -> client  DISPLAY_RESULTS (14)
//   client -> server  IPERF_DONE (16), then both close
// Errors: ACCESS_DENIED (-1) on a cookie that is not the running test's;
// SERVER_ERROR (-2) followed by two 32-bit values (iperf's i_errno, errno).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/random.h"
#include "stack/base/result.h"

namespace l45::apps::iperf3 {

inline constexpr std::uint16_t kDefaultPort = 5201;
inline constexpr std::size_t kCookieLen = 37;  // iperf.h COOKIE_SIZE
// iperf3 itself accepts any 32-bit length and allocates it; 64 KiB is far
// more than any parameter or single-stream result object needs.
inline constexpr std::uint32_t kMaxJsonLen = 64 * 1024;
inline constexpr std::int32_t kErrUnimplemented = 13;  // iperf_api.h IEUNIMP

// iperf_api.h's state bytes (signed char on the wire).
enum class Msg : std::int8_t {
    kTestStart = 1,
    kTestRunning = 2,
    kTestEnd = 4,
    kParamExchange = 9,
    kCreateStreams = 10,
    kServerTerminate = 11,
    kClientTerminate = 12,
    kExchangeResults = 13,
    kDisplayResults = 14,
    kIperfDone = 16,
    kAccessDenied = -1,
    kServerError = -2,
};

using Cookie = std::array<std::uint8_t, kCookieLen>;
// 36 characters of iperf's cookie alphabet, then a NUL.
[[nodiscard]] Cookie make_cookie(Random& random);

// What l45 reads from and writes into the parameter JSON. l45 runs one TCP
// stream, normal or reverse, ended by bytes (-n) or time (-t).
struct TestParams {
    bool reverse = false;
    std::uint64_t bytes = 0;               // "num": 0 when the test is timed
    std::uint32_t duration_s = 0;          // "time"
    std::uint32_t block_len = 128 * 1024;  // "len"
    std::uint32_t parallel = 1;
    bool udp = false;
    bool bidirectional = false;
    std::uint32_t omit_s = 0;
};
// Fails on anything but one TCP stream (l45 implements nothing else).
[[nodiscard]] Result<TestParams, std::string> parse_params(std::string_view json);
[[nodiscard]] std::string params_json(const TestParams& params);

// One side's figures for the only stream (id 1, as iperf numbers its first).
struct StreamResult {
    std::uint64_t bytes = 0;
    double seconds = 0;
    bool sender = false;
};
[[nodiscard]] std::string results_json(const StreamResult& result);
// The peer's figures for stream 1; fails on missing fields iperf requires.
[[nodiscard]] Result<StreamResult, std::string> parse_results(std::string_view json);

// Reads one length-prefixed JSON object incrementally into a bounded buffer.
class JsonFrameReader {
  public:
    // Returns the bytes taken; complete() once the whole object is in.
    [[nodiscard]] Result<std::size_t, std::string> feed(ByteSpan in);
    [[nodiscard]] bool complete() const { return have_len_ == 4 && body_.size() == len_; }
    [[nodiscard]] std::string_view json() const { return body_; }
    void reset();

  private:
    std::array<std::uint8_t, 4> len_bytes_{};
    std::size_t have_len_ = 0;
    std::uint32_t len_ = 0;
    std::string body_;
};

// Bytes queued for the control connection.
class OutQueue {
  public:
    void push(Msg m) { bytes_.push_back(static_cast<char>(m)); }
    void push(ByteSpan b) { bytes_.append(reinterpret_cast<const char*>(b.data()), b.size()); }
    void push_be32(std::uint32_t v);
    void push_json(std::string_view json);
    [[nodiscard]] ByteSpan pending() const {
        return {reinterpret_cast<const std::uint8_t*>(bytes_.data()) + off_, bytes_.size() - off_};
    }
    void sent(std::size_t n);

  private:
    std::string bytes_;
    std::size_t off_ = 0;
};

// The server's side of one control connection.
class ServerControl {
  public:
    enum class Phase : std::uint8_t {
        kCookie,        // reading the 37-byte cookie
        kParams,        // PARAM_EXCHANGE sent, reading the parameters
        kWaitStream,    // CREATE_STREAMS sent, waiting for the data connection
        kRunning,       // TEST_RUNNING sent
        kEndRequested,  // TEST_END received: the glue finishes the data side
        kResults,       // EXCHANGE_RESULTS sent, reading the client's results
        kWaitDone,      // results and DISPLAY_RESULTS sent, waiting for IPERF_DONE
        kDone,
        kFailed,
    };

    // Returns the bytes taken (all of them once the session is over).
    std::size_t on_input(ByteSpan in);
    // A new connection's first 37 bytes: is it this test's data stream?
    [[nodiscard]] bool is_own_cookie(ByteSpan cookie) const;
    // The data stream is there: the test starts.
    void stream_connected();
    // After TEST_END, once the data side is settled: exchange results.
    void end_test(const StreamResult& ours);

    [[nodiscard]] ByteSpan pending_output() const { return out_.pending(); }
    void output_sent(std::size_t n) { out_.sent(n); }
    [[nodiscard]] Phase phase() const { return phase_; }
    [[nodiscard]] const TestParams& params() const { return params_; }
    [[nodiscard]] const StreamResult& peer_result() const { return peer_; }
    [[nodiscard]] const std::string& error() const { return error_; }

  private:
    void fail(std::string why);

    Phase phase_ = Phase::kCookie;
    Cookie cookie_{};
    std::size_t cookie_len_ = 0;
    JsonFrameReader frame_;
    TestParams params_;
    StreamResult ours_;
    StreamResult peer_;
    OutQueue out_;
    std::string error_;
};

// The client's side of the control connection.
class ClientControl {
  public:
    enum class Phase : std::uint8_t {
        kWaitParamExchange,  // cookie sent
        kWaitCreate,         // parameters sent
        kWaitStart,          // CREATE_STREAMS seen: the glue opens the data stream
        kRunning,            // TEST_RUNNING seen
        kEndSent,            // TEST_END sent, waiting for EXCHANGE_RESULTS
        kReadResults,        // our results sent, reading the server's
        kWaitDisplay,        // waiting for DISPLAY_RESULTS
        kDone,               // IPERF_DONE sent
        kFailed,
    };

    ClientControl(const Cookie& cookie, const TestParams& params);

    std::size_t on_input(ByteSpan in);
    // The data side has moved what the parameters asked: send TEST_END.
    void end_test(const StreamResult& ours);

    [[nodiscard]] const Cookie& cookie() const { return cookie_; }
    [[nodiscard]] ByteSpan pending_output() const { return out_.pending(); }
    void output_sent(std::size_t n) { out_.sent(n); }
    [[nodiscard]] Phase phase() const { return phase_; }
    [[nodiscard]] const StreamResult& peer_result() const { return peer_; }
    [[nodiscard]] const std::string& error() const { return error_; }

  private:
    void fail(std::string why);

    Cookie cookie_;
    TestParams params_;
    Phase phase_ = Phase::kWaitParamExchange;
    JsonFrameReader frame_;
    StreamResult ours_;
    StreamResult peer_;
    OutQueue out_;
    std::string error_;
    // SERVER_ERROR carries 8 more bytes.
    std::array<std::uint8_t, 8> server_error_{};
    std::size_t server_error_len_ = 0;
    bool in_server_error_ = false;
};

}  // namespace l45::apps::iperf3
