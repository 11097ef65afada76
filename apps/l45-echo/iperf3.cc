#include "apps/l45-echo/iperf3.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <optional>

namespace l45::apps::iperf3 {
namespace {

using nlohmann::json;

// Parses without exceptions: a malformed object is a discarded value.
std::optional<json> parse_object(std::string_view text) {
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
}

// A non-negative integer field, or `fallback` when absent; false when present
// but not a number in range (iperf reads these with cJSON's valueint).
bool get_uint(const json& j, const char* key, std::uint64_t max, std::uint64_t& out) {
    const auto it = j.find(key);
    if (it == j.end()) return true;
    if (!it->is_number()) return false;
    const double v = it->get<double>();
    if (!(v >= 0) || v > static_cast<double>(max)) return false;
    out = static_cast<std::uint64_t>(v);
    return true;
}

}  // namespace

Cookie make_cookie(Random& random) {
    // iperf_util.c make_cookie: 36 characters from a 32-letter alphabet.
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    Cookie c{};
    std::array<std::uint8_t, kCookieLen - 1> r{};
    random.fill(r);
    for (std::size_t i = 0; i < r.size(); ++i)
        c[i] = static_cast<std::uint8_t>(kAlphabet[r[i] % 32]);
    c[kCookieLen - 1] = 0;
    return c;
}

Result<TestParams, std::string> parse_params(std::string_view text) {
    const auto j = parse_object(text);
    if (!j) return unexpected(std::string("parameters are not a JSON object"));
    TestParams p;
    // get_parameters: these keys count by presence ("reverse": true is the
    // only form a client sends, but presence is what iperf tests).
    p.reverse = j->contains("reverse");
    p.udp = j->contains("udp") || j->contains("sctp");
    p.bidirectional = j->contains("bidirectional");
    std::uint64_t duration = 0, parallel = 1, len = p.block_len, omit = 0;
    if (!get_uint(*j, "num", std::uint64_t{1} << 50, p.bytes) ||
        !get_uint(*j, "time", 86400, duration) || !get_uint(*j, "parallel", 128, parallel) ||
        !get_uint(*j, "len", 1 << 24, len) || !get_uint(*j, "omit", 600, omit))
        return unexpected(std::string("parameter out of range"));
    p.duration_s = static_cast<std::uint32_t>(duration);
    p.parallel = static_cast<std::uint32_t>(parallel);
    p.block_len = static_cast<std::uint32_t>(len);
    p.omit_s = static_cast<std::uint32_t>(omit);
    if (p.udp) return unexpected(std::string("only TCP is implemented"));
    if (p.bidirectional) return unexpected(std::string("--bidir is not implemented"));
    if (p.parallel != 1) return unexpected(std::string("only one stream (-P 1) is implemented"));
    if (p.bytes == 0 && p.duration_s == 0)
        return unexpected(std::string("neither bytes nor time given"));
    return p;
}

std::string params_json(const TestParams& p) {
    // send_parameters' keys for a TCP test; "reverse" only when set, as the
    // server treats presence as true.
    json j = {{"tcp", true},        {"omit", p.omit_s},     {"time", p.duration_s},
              {"num", p.bytes},     {"blockcount", 0},      {"parallel", p.parallel},
              {"len", p.block_len}, {"pacing_timer", 1000}, {"client_version", "3.12"}};
    if (p.reverse) j["reverse"] = true;
    return j.dump();
}

std::string results_json(const StreamResult& r) {
    // get_results requires the three cpu_util fields, sender_has_retransmits
    // and per stream id, bytes, retransmits, jitter, errors, packets.
    json stream = {{"id", 1},         {"bytes", r.bytes},     {"retransmits", r.sender ? 0 : -1},
                   {"jitter", 0},     {"errors", 0},          {"packets", 0},
                   {"start_time", 0}, {"end_time", r.seconds}};
    json j = {{"cpu_util_total", 0},
              {"cpu_util_user", 0},
              {"cpu_util_system", 0},
              {"sender_has_retransmits", r.sender ? 0 : -1},
              {"streams", json::array({stream})}};
    return j.dump();
}

Result<StreamResult, std::string> parse_results(std::string_view text) {
    const auto j = parse_object(text);
    if (!j) return unexpected(std::string("results are not a JSON object"));
    for (const char* key :
         {"cpu_util_total", "cpu_util_user", "cpu_util_system", "sender_has_retransmits"})
        if (!j->contains(key)) return unexpected(std::string("results lack ") + key);
    const auto streams = j->find("streams");
    if (streams == j->end() || !streams->is_array())
        return unexpected(std::string("results lack streams"));
    for (const json& s : *streams) {
        if (!s.is_object()) return unexpected(std::string("a stream is not an object"));
        std::uint64_t id = 0;
        if (!s.contains("id") || !get_uint(s, "id", 1 << 20, id))
            return unexpected(std::string("a stream lacks its id"));
        if (id != 1) continue;
        StreamResult r;
        if (!s.contains("bytes") || !get_uint(s, "bytes", std::uint64_t{1} << 62, r.bytes))
            return unexpected(std::string("stream 1 lacks bytes"));
        const auto start = s.find("start_time");
        const auto end = s.find("end_time");
        if (start != s.end() && end != s.end() && start->is_number() && end->is_number())
            r.seconds = end->get<double>() - start->get<double>();
        return r;
    }
    return unexpected(std::string("results have no stream 1"));
}

Result<std::size_t, std::string> JsonFrameReader::feed(ByteSpan in) {
    std::size_t taken = 0;
    while (have_len_ < 4 && taken < in.size()) {
        len_bytes_[have_len_++] = in[taken++];
        if (have_len_ < 4) continue;
        len_ = load_be32(len_bytes_.data());
        if (len_ == 0 || len_ > kMaxJsonLen)
            return unexpected("JSON length " + std::to_string(len_) + " outside 1.." +
                              std::to_string(kMaxJsonLen));
        body_.reserve(len_);
    }
    if (have_len_ < 4) return taken;
    const std::size_t n = std::min<std::size_t>(in.size() - taken, len_ - body_.size());
    body_.append(reinterpret_cast<const char*>(in.data()) + taken, n);
    return taken + n;
}

void JsonFrameReader::reset() {
    have_len_ = 0;
    len_ = 0;
    body_.clear();
}

namespace {

struct ResultsRead {
    std::size_t taken = 0;
    std::optional<StreamResult> results;  // set once the whole frame was parsed
};

// The peer's results frame (both sides read one after the test): feeds
// `in`, and once the frame is whole parses it and readies `frame` for the
// next. A bad length or bad JSON is an error.
Result<ResultsRead, std::string> read_results(JsonFrameReader& frame, ByteSpan in) {
    auto taken = frame.feed(in);
    if (!taken) return unexpected(taken.error());
    if (!frame.complete()) return ResultsRead{*taken, std::nullopt};
    auto results = parse_results(frame.json());
    frame.reset();
    if (!results) return unexpected(results.error());
    return ResultsRead{*taken, *results};
}

}  // namespace

void OutQueue::push_be32(std::uint32_t v) {
    std::array<std::uint8_t, 4> b{};
    store_be32(b.data(), v);
    push(b);
}

void OutQueue::push_json(std::string_view text) {
    push_be32(static_cast<std::uint32_t>(text.size()));
    bytes_.append(text);
}

void OutQueue::sent(std::size_t n) {
    off_ += std::min(n, bytes_.size() - off_);
    if (off_ == bytes_.size()) {
        bytes_.clear();
        off_ = 0;
    }
}

// --- server ---

void ServerControl::fail(std::string why) {
    error_ = std::move(why);
    phase_ = Phase::kFailed;
}

std::size_t ServerControl::on_input(ByteSpan in) {
    std::size_t taken = 0;
    while (taken < in.size()) {
        const ByteSpan rest = in.subspan(taken);
        switch (phase_) {
            case Phase::kCookie: {
                const std::size_t n = std::min(rest.size(), kCookieLen - cookie_len_);
                std::memcpy(cookie_.data() + cookie_len_, rest.data(), n);
                cookie_len_ += n;
                taken += n;
                if (cookie_len_ == kCookieLen) {
                    out_.push(Msg::kParamExchange);
                    phase_ = Phase::kParams;
                }
                break;
            }
            case Phase::kParams: {
                auto r = frame_.feed(rest);
                if (!r) {
                    fail(r.error());
                    return in.size();
                }
                taken += *r;
                if (!frame_.complete()) break;
                auto p = parse_params(frame_.json());
                frame_.reset();
                if (!p) {
                    // SERVER_ERROR and the reason as iperf's i_errno: the
                    // client prints "not implemented" and exits non-zero.
                    out_.push(Msg::kServerError);
                    out_.push_be32(static_cast<std::uint32_t>(kErrUnimplemented));
                    out_.push_be32(0);
                    fail(p.error());
                    return in.size();
                }
                params_ = *p;
                out_.push(Msg::kCreateStreams);
                phase_ = Phase::kWaitStream;
                break;
            }
            case Phase::kWaitStream:
            case Phase::kRunning: {
                const auto m = static_cast<Msg>(static_cast<std::int8_t>(rest[0]));
                taken += 1;
                if (m == Msg::kTestEnd && phase_ == Phase::kRunning) {
                    phase_ = Phase::kEndRequested;
                } else if (m == Msg::kClientTerminate) {
                    fail("client terminated the test");
                    return in.size();
                } else {
                    fail("unexpected state byte " + std::to_string(static_cast<int>(m)));
                    return in.size();
                }
                break;
            }
            case Phase::kEndRequested:
                return taken;  // nothing is due until end_test()
            case Phase::kResults: {
                auto r = read_results(frame_, rest);
                if (!r) {
                    fail(r.error());
                    return in.size();
                }
                taken += r->taken;
                if (!r->results) break;
                peer_ = *r->results;
                out_.push_json(results_json(ours_));
                out_.push(Msg::kDisplayResults);
                phase_ = Phase::kWaitDone;
                break;
            }
            case Phase::kWaitDone: {
                const auto m = static_cast<Msg>(static_cast<std::int8_t>(rest[0]));
                taken += 1;
                if (m != Msg::kIperfDone) {
                    fail("expected IPERF_DONE, got " + std::to_string(static_cast<int>(m)));
                    return in.size();
                }
                phase_ = Phase::kDone;
                break;
            }
            case Phase::kDone:
            case Phase::kFailed:
                return in.size();
        }
    }
    return taken;
}

bool ServerControl::is_own_cookie(ByteSpan cookie) const {
    return phase_ == Phase::kWaitStream && cookie.size() == kCookieLen &&
           std::equal(cookie.begin(), cookie.end(), cookie_.begin());
}

void ServerControl::stream_connected() {
    if (phase_ != Phase::kWaitStream) return;
    out_.push(Msg::kTestStart);
    out_.push(Msg::kTestRunning);
    phase_ = Phase::kRunning;
}

void ServerControl::end_test(const StreamResult& ours) {
    if (phase_ != Phase::kEndRequested) return;
    ours_ = ours;
    out_.push(Msg::kExchangeResults);
    phase_ = Phase::kResults;
}

// --- client ---

ClientControl::ClientControl(const Cookie& cookie, const TestParams& params)
    : cookie_(cookie), params_(params) {
    out_.push(cookie_);
}

void ClientControl::fail(std::string why) {
    error_ = std::move(why);
    phase_ = Phase::kFailed;
}

std::size_t ClientControl::on_input(ByteSpan in) {
    std::size_t taken = 0;
    while (taken < in.size()) {
        const ByteSpan rest = in.subspan(taken);
        if (in_server_error_) {
            const std::size_t n = std::min(rest.size(), server_error_.size() - server_error_len_);
            std::memcpy(server_error_.data() + server_error_len_, rest.data(), n);
            server_error_len_ += n;
            taken += n;
            if (server_error_len_ == server_error_.size()) {
                fail("server error " + std::to_string(load_be32(server_error_.data())) +
                     " (errno " + std::to_string(load_be32(server_error_.data() + 4)) + ")");
                return in.size();
            }
            continue;
        }
        if (phase_ == Phase::kReadResults) {
            auto r = read_results(frame_, rest);
            if (!r) {
                fail(r.error());
                return in.size();
            }
            taken += r->taken;
            if (!r->results) continue;
            peer_ = *r->results;
            phase_ = Phase::kWaitDisplay;
            continue;
        }
        if (phase_ == Phase::kDone || phase_ == Phase::kFailed) return in.size();
        const auto m = static_cast<Msg>(static_cast<std::int8_t>(rest[0]));
        taken += 1;
        // iperf_handle_message_client: one state byte at a time.
        switch (m) {
            case Msg::kParamExchange:
                if (phase_ != Phase::kWaitParamExchange) break;
                out_.push_json(params_json(params_));
                phase_ = Phase::kWaitCreate;
                continue;
            case Msg::kCreateStreams:
                if (phase_ != Phase::kWaitCreate) break;
                phase_ = Phase::kWaitStart;
                continue;
            case Msg::kTestStart:
                if (phase_ != Phase::kWaitStart) break;
                continue;
            case Msg::kTestRunning:
                if (phase_ != Phase::kWaitStart) break;
                phase_ = Phase::kRunning;
                continue;
            case Msg::kExchangeResults:
                if (phase_ != Phase::kEndSent) break;
                out_.push_json(results_json(ours_));
                phase_ = Phase::kReadResults;
                continue;
            case Msg::kDisplayResults:
                if (phase_ != Phase::kWaitDisplay) break;
                out_.push(Msg::kIperfDone);
                phase_ = Phase::kDone;
                continue;
            case Msg::kServerError:
                in_server_error_ = true;
                continue;
            case Msg::kAccessDenied:
                fail("server denied access (busy with another test?)");
                return in.size();
            case Msg::kServerTerminate:
                fail("server terminated the test");
                return in.size();
            default:
                break;
        }
        fail("unexpected state byte " + std::to_string(static_cast<int>(m)));
        return in.size();
    }
    return taken;
}

void ClientControl::end_test(const StreamResult& ours) {
    if (phase_ != Phase::kRunning) return;
    ours_ = ours;
    out_.push(Msg::kTestEnd);
    phase_ = Phase::kEndSent;
}

}  // namespace l45::apps::iperf3
