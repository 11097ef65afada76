#include "apps/l45-echo/tcp_services.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>

namespace l45::apps {
namespace {

using namespace std::chrono_literals;

// After TEST_END a receiving iperf3 server waits this long for the last data
// bytes (the client sends TEST_END once its writes returned, not once they
// arrived) before it reports what it has.
constexpr Duration kIperfSettleGrace = 2s;
// A sending client waits at most this long after its last byte was
// acknowledged for iperf3 -s to read it (see iperf_client_check).
constexpr Duration kIperfReadGrace = 200ms;

double seconds(Duration d) {
    return std::chrono::duration<double>(d).count();
}

// The HTTP GET client's body: hashed, and written to --out when given.
class HashAndFileSink final : public BodySink {
  public:
    HashAndFileSink(Sha256& hash, std::FILE* file, std::uint64_t& count)
        : hash_(hash), file_(file), count_(count) {}
    void body(ByteSpan data) override {
        hash_.update(data);
        count_ += data.size();
        if (file_ != nullptr && !data.empty()) {
            if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) write_failed = true;
        }
    }
    bool write_failed = false;

  private:
    Sha256& hash_;
    std::FILE* file_;
    std::uint64_t& count_;
};

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
}
Sha256::~Sha256() {
    EVP_MD_CTX_free(ctx_);
}
void Sha256::update(ByteSpan data) {
    if (!data.empty()) EVP_DigestUpdate(ctx_, data.data(), data.size());
}
std::string Sha256::hex_digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md.data(), &len);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 0xf];
    }
    return out;
}

TcpServices::TcpServices(std::uint32_t max_connections, const ServerConfig& config, Random& random)
    : config_(config),
      random_(random),
      roles_(max_connections, Role::kNone),
      http_slot_(max_connections, 0),
      cookies_(max_connections),
      cookie_len_(max_connections, 0) {
    if (config_.http_port != 0) {
        for (std::uint32_t i = 0; i < config_.http_sessions; ++i) {
            http_pool_.push_back(std::make_unique<HttpServerSession>(config_.seed));
            http_free_.push_back(config_.http_sessions - 1 - i);
        }
    }
}

TcpServices::~TcpServices() {
    if (out_file_ != nullptr) std::fclose(out_file_);
}

Result<void, std::string> TcpServices::listen() {
    std::vector<std::uint16_t> ports = {kEchoPort, kDiscardPort};
    if (config_.iperf3) ports.push_back(config_.iperf3_port);
    if (config_.http_port != 0) ports.push_back(config_.http_port);
    for (std::uint16_t port : ports) {
        if (auto r = stack_->listen(port, 128); !r)
            return unexpected("listen " + std::to_string(port) + ": " + tcp::to_string(r.error()));
    }
    return {};
}

Result<void, std::string> TcpServices::start_client(Instant now, const ClientPlan& plan) {
    plan_ = plan;
    Role r = Role::kPatternClient;
    switch (plan.kind) {
        case ClientPlan::Kind::kPattern:
            pattern_.start(plan.seed, plan.send_len);
            break;
        case ClientPlan::Kind::kHttpGet:
            http_get_ = std::make_unique<HttpGetClient>(plan.http_host, plan.http_target);
            if (!plan.out_path.empty()) {
                out_file_ = std::fopen(plan.out_path.c_str(), "wb");
                if (out_file_ == nullptr) return unexpected("cannot write " + plan.out_path);
            }
            r = Role::kHttpGet;
            break;
        case ClientPlan::Kind::kIperf3: {
            iperf3::TestParams params;
            params.bytes = plan.send_len;
            params.reverse = plan.reverse;
            iperf_client_.control.emplace(iperf3::make_cookie(random_), params);
            r = Role::kIperfClientControl;
            break;
        }
    }
    auto id = stack_->connect(now, plan.dst, plan.port);
    if (!id) return unexpected(std::string("connect: ") + tcp::to_string(id.error()));
    client_id_ = *id;
    role(client_id_) = r;
    ++counters_.opened;  // an active open is the application's from connect() on
    if (r == Role::kIperfClientControl) {
        iperf_client_.control_id = *id;
        iperf_client_.control_open = true;
    }
    started_ = now;
    return {};
}

void TcpServices::tick(Instant now) {
    now_ = now;
    iperf_server_settle(now);
    iperf_client_check(now);
}

void TcpServices::on_accept(tcp::ConnId id, std::uint16_t listen_port) {
    ++counters_.opened;
    if (listen_port == kEchoPort) {
        role(id) = Role::kEcho;
    } else if (listen_port == kDiscardPort) {
        role(id) = Role::kDiscard;
    } else if (config_.iperf3 && listen_port == config_.iperf3_port) {
        role(id) = Role::kIperfNew;
        cookie_len_[id.index] = 0;
    } else if (config_.http_port != 0 && listen_port == config_.http_port) {
        if (http_free_.empty()) {
            // Every session is busy: refuse rather than allocate.
            ++counters_.http_refused;
            stack_->abort(id);
            return;
        }
        const std::uint32_t slot = http_free_.back();
        http_free_.pop_back();
        http_slot_[id.index] = slot;
        http_pool_[slot]->reset();
        role(id) = Role::kHttp;
    }
}

void TcpServices::on_connected(tcp::ConnId id) {
    switch (role(id)) {
        case Role::kPatternClient:
            report_.connected = true;
            return pattern_send(id);
        case Role::kHttpGet:
            report_.connected = true;
            return http_get_io(id);
        case Role::kIperfClientControl:
            report_.connected = true;
            return iperf_client_control_io(id);
        case Role::kIperfClientData: {
            // The data stream opens with the test's cookie (iperf_tcp_connect).
            const auto& cookie = iperf_client_.control->cookie();
            if (stack_->send(id, cookie) != cookie.size()) {
                finish_client(false, "iperf3: cookie did not fit the send buffer");
                stack_->abort(id);
            }
            return;
        }
        default:
            return;
    }
}

void TcpServices::on_readable(tcp::ConnId id) {
    switch (role(id)) {
        case Role::kEcho:
            return serve_echo(id);
        case Role::kDiscard:
            return serve_discard(id);
        case Role::kPatternClient:
            return pattern_receive(id);
        case Role::kHttp:
            return serve_http(id);
        case Role::kHttpGet:
            return http_get_io(id);
        case Role::kIperfNew:
            return read_iperf_cookie(id);
        case Role::kIperfControl:
            return serve_iperf_control(id);
        case Role::kIperfData:
            return serve_iperf_data(id);
        case Role::kIperfClientControl:
            return iperf_client_control_io(id);
        case Role::kIperfClientData:
            return iperf_client_data_io(id);
        case Role::kNone:
            return;
    }
}

void TcpServices::on_writable(tcp::ConnId id) {
    switch (role(id)) {
        case Role::kEcho:
            return serve_echo(id);  // the backlog of received bytes
        case Role::kPatternClient:
            return pattern_send(id);
        case Role::kHttp:
            return serve_http(id);
        case Role::kHttpGet:
            return http_get_io(id);
        case Role::kIperfControl:
            return serve_iperf_control(id);
        case Role::kIperfData:
            return serve_iperf_data(id);
        case Role::kIperfClientControl:
            return iperf_client_control_io(id);
        case Role::kIperfClientData:
            return iperf_client_data_io(id);
        case Role::kDiscard:
        case Role::kIperfNew:
        case Role::kNone:
            return;
    }
}

void TcpServices::on_closed(tcp::ConnId id, tcp::CloseReason reason) {
    ++counters_.closed;
    const Role r = role(id);
    role(id) = Role::kNone;
    switch (r) {
        case Role::kPatternClient:
            if (id == client_id_) {
                report_.reason = reason;
                report_.elapsed = now_ - started_;
                finish_client(reason == tcp::CloseReason::kNormal &&
                              report_.sent == plan_.send_len);
            }
            return;
        case Role::kHttp:
            http_free_.push_back(http_slot_[id.index]);
            return;
        case Role::kHttpGet: {
            report_.reason = reason;
            report_.elapsed = now_ - started_;
            report_.http_status = http_get_->status();
            std::string why;
            if (!http_get_->done()) why = "connection closed before the whole response";
            if (http_get_->status() != 200)
                why = "HTTP status " + std::to_string(http_get_->status());
            return finish_client(why.empty() && report_.error.empty(), why);
        }
        case Role::kIperfControl:
            if (iperf_.control && id == iperf_.control_id) {
                if (iperf_.control->phase() == iperf3::ServerControl::Phase::kDone) {
                    ++counters_.iperf3_tests;
                    counters_.iperf3_bytes += iperf_.data_bytes;
                } else {
                    ++counters_.iperf3_failed;
                }
                iperf_server_reset();
            }
            return;
        case Role::kIperfData:
            if (iperf_.control && id == iperf_.data_id) iperf_.data_closed = true;
            return;
        case Role::kIperfClientControl:
        case Role::kIperfClientData: {
            bool& open = r == Role::kIperfClientControl ? iperf_client_.control_open
                                                        : iperf_client_.data_open;
            open = false;
            const auto& c = *iperf_client_.control;
            using Phase = iperf3::ClientControl::Phase;
            // iperf3 -s stops reading its data socket at TEST_END and closes
            // it: bytes it had not read yet (acknowledged by its TCP) make
            // its kernel answer with a reset. That is how iperf3 ends a test,
            // not a failure, once TEST_END is out.
            const bool expected_reset = r == Role::kIperfClientData && !plan_.reverse &&
                                        c.phase() != Phase::kWaitStart &&
                                        c.phase() != Phase::kRunning;
            if (reason != tcp::CloseReason::kNormal && !expected_reset && report_.error.empty())
                report_.error =
                    std::string("iperf3: a connection ended: ") + tcp::to_string(reason);
            if (iperf_client_.control_open || iperf_client_.data_open) return;
            report_.peer_bytes = c.peer_result().bytes;
            const std::uint64_t ours = plan_.reverse ? report_.received : report_.sent;
            std::string why = c.phase() == Phase::kDone
                                  ? std::string()
                                  : "iperf3: test did not complete: " + c.error();
            // For the same reason a receiving iperf3 -s may count up to one
            // read (its block length) less than was sent and acknowledged.
            const std::uint64_t slack = plan_.reverse ? 0 : iperf3::TestParams{}.block_len;
            if (why.empty() &&
                (ours < plan_.send_len || report_.peer_bytes + slack < plan_.send_len))
                why = "iperf3: short transfer";
            return finish_client(why.empty() && report_.error.empty(), why);
        }
        default:
            return;
    }
}

void TcpServices::finish_client(bool ok, std::string error) {
    if (report_.done) return;
    report_.done = true;
    report_.ok = ok;
    if (report_.error.empty()) report_.error = std::move(error);
    report_.sent_sha256 = sent_hash_.hex_digest();
    report_.received_sha256 = received_hash_.hex_digest();
    if (out_file_ != nullptr) {
        if (std::fclose(out_file_) != 0) {
            report_.ok = false;
            report_.error = "writing " + plan_.out_path + " failed";
        }
        out_file_ = nullptr;
    }
}

template <class Source>
bool TcpServices::flush(tcp::ConnId id, Source& source) {
    for (ByteSpan out = source.pending_output(); !out.empty(); out = source.pending_output()) {
        const std::uint32_t n = stack_->send(id, out);
        source.output_sent(n);
        if (n < out.size()) return false;  // on_writable resumes
    }
    return true;
}

bool TcpServices::send_pattern(tcp::ConnId id, PatternSource& pattern, Sha256* hash,
                               std::uint64_t& sent) {
    for (ByteSpan piece = pattern.pending(); !piece.empty(); piece = pattern.pending()) {
        const std::uint32_t n = stack_->send(id, piece);
        if (hash != nullptr) hash->update(piece.first(n));
        sent += n;
        pattern.advance(n);
        if (n < piece.size()) return false;  // send buffer full: on_writable resumes
    }
    return true;
}

// RFC 862: whatever arrives goes back. Received bytes stay in the receive
// queue until the send buffer takes them, so a slow reader slows the writer
// through the advertised window rather than through a buffer of ours.
void TcpServices::serve_echo(tcp::ConnId id) {
    for (;;) {
        const ByteSpan data = stack_->peek(id);
        if (data.empty()) break;
        const std::uint32_t n = stack_->send(id, data);
        stack_->consume(id, n);
        counters_.echoed += n;
        if (n < data.size()) return;  // on_writable resumes
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished()) stack_->close(id);
}

// RFC 863: read and throw away.
void TcpServices::serve_discard(tcp::ConnId id) {
    for (ByteSpan data = stack_->peek(id); !data.empty(); data = stack_->peek(id)) {
        counters_.discarded += data.size();
        stack_->consume(id, static_cast<std::uint32_t>(data.size()));
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished()) stack_->close(id);
}

// --- HTTP server ---

void TcpServices::serve_http(tcp::ConnId id) {
    HttpServerSession& s = *http_pool_[http_slot_[id.index]];
    const std::uint64_t requests = s.requests();
    const std::uint64_t bad = s.bad_requests();
    const std::uint64_t body = s.body_bytes_sent();
    for (;;) {
        bool progress = false;
        const ByteSpan in = stack_->peek(id);
        if (!in.empty()) {
            const std::size_t n = s.on_input(in);
            stack_->consume(id, static_cast<std::uint32_t>(n));
            progress = n > 0;
        }
        if (!flush(id, s)) break;
        if (s.should_close()) {
            // RFC 9112 §9.6: half-close after the last response and read on
            // until the client closes; closing at once would answer the
            // client's unread bytes with a reset that can destroy the
            // response before the client reads it.
            if (!s.shut_down()) {
                s.set_shut_down();
                stack_->shutdown(id);
            }
            for (ByteSpan rest = stack_->peek(id); !rest.empty(); rest = stack_->peek(id))
                stack_->consume(id, static_cast<std::uint32_t>(s.on_input(rest)));
            const tcp::Connection* c = stack_->find(id);
            if (c != nullptr && c->recv_finished()) stack_->close(id);
            break;
        }
        if (!progress) {
            // The peer is done sending and nothing more is owed to it.
            const tcp::Connection* c = stack_->find(id);
            if (c != nullptr && c->recv_finished() && !s.responding()) stack_->close(id);
            break;
        }
    }
    counters_.http_requests += s.requests() - requests;
    counters_.http_bad_requests += s.bad_requests() - bad;
    counters_.http_body_bytes += s.body_bytes_sent() - body;
}

// --- iperf3 server ---

void TcpServices::read_iperf_cookie(tcp::ConnId id) {
    iperf3::Cookie& cookie = cookies_[id.index];
    std::uint8_t& len = cookie_len_[id.index];
    while (len < cookie.size()) {
        const ByteSpan in = stack_->peek(id);
        if (in.empty()) break;
        const std::size_t n = std::min<std::size_t>(in.size(), cookie.size() - len);
        std::copy_n(in.begin(), n, cookie.begin() + len);
        len = static_cast<std::uint8_t>(len + n);
        stack_->consume(id, static_cast<std::uint32_t>(n));
    }
    if (len < cookie.size()) {
        const tcp::Connection* c = stack_->find(id);
        if (c != nullptr && c->recv_finished()) stack_->close(id);
        return;
    }
    if (iperf_.control && iperf_.control->is_own_cookie(cookie) && !iperf_.data_id.valid()) {
        // The running test's data stream (iperf_tcp_accept compares cookies).
        role(id) = Role::kIperfData;
        iperf_.data_id = id;
        iperf_.data_bytes = 0;
        iperf_.running_since = now_;
        const auto& params = iperf_.control->params();
        if (params.reverse)
            iperf_.pattern.start(config_.seed, params.bytes != 0
                                                   ? params.bytes
                                                   : std::numeric_limits<std::uint64_t>::max());
        iperf_.control->stream_connected();
        serve_iperf_control(iperf_.control_id);
        serve_iperf_data(id);
        return;
    }
    if (!iperf_.control) {
        iperf_.control.emplace();
        iperf_.control_id = id;
        role(id) = Role::kIperfControl;
        const std::size_t taken = iperf_.control->on_input(cookie);
        (void)taken;  // the whole cookie: the session is in its first phase
        serve_iperf_control(id);
        return;
    }
    // Busy with another test, or a stray cookie: iperf3 -s answers the same.
    ++counters_.iperf3_denied;
    const std::array<std::uint8_t, 1> denied = {
        static_cast<std::uint8_t>(iperf3::Msg::kAccessDenied)};
    (void)stack_->send(id, denied);
    stack_->close(id);
}

void TcpServices::serve_iperf_control(tcp::ConnId id) {
    if (!iperf_.control || id != iperf_.control_id) return;
    iperf3::ServerControl& c = *iperf_.control;
    using Phase = iperf3::ServerControl::Phase;
    for (ByteSpan in = stack_->peek(id); !in.empty(); in = stack_->peek(id)) {
        const Phase before = c.phase();
        const std::size_t n = c.on_input(in);
        stack_->consume(id, static_cast<std::uint32_t>(n));
        if (c.phase() == Phase::kEndRequested && before != Phase::kEndRequested)
            iperf_.end_requested_at = now_;
        if (n == 0) break;
    }
    flush(id, c);
    iperf_server_settle(now_);
    flush(id, c);
    const tcp::Connection* conn = stack_->find(id);
    const bool peer_done = conn != nullptr && conn->recv_finished();
    if (c.phase() == Phase::kDone || c.phase() == Phase::kFailed || peer_done) {
        // Over (or abandoned): close once what is queued has gone out.
        if (c.pending_output().empty()) stack_->close(id);
        if (iperf_.data_id.valid() && !iperf_.data_closed) stack_->close(iperf_.data_id);
    }
}

void TcpServices::serve_iperf_data(tcp::ConnId id) {
    if (!iperf_.control || id != iperf_.data_id) {
        // A stream of a finished test: drain it, close when the peer does.
        for (ByteSpan in = stack_->peek(id); !in.empty(); in = stack_->peek(id))
            stack_->consume(id, static_cast<std::uint32_t>(in.size()));
        const tcp::Connection* c = stack_->find(id);
        if (c != nullptr && c->recv_finished()) stack_->close(id);
        return;
    }
    const bool sending = iperf_.control->params().reverse &&
                         iperf_.control->phase() == iperf3::ServerControl::Phase::kRunning;
    if (sending) (void)send_pattern(id, iperf_.pattern, nullptr, iperf_.data_bytes);
    for (ByteSpan in = stack_->peek(id); !in.empty(); in = stack_->peek(id)) {
        if (!iperf_.control->params().reverse) iperf_.data_bytes += in.size();
        stack_->consume(id, static_cast<std::uint32_t>(in.size()));
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished()) {
        iperf_.data_closed = true;
        stack_->close(id);
    }
    iperf_server_settle(now_);
}

void TcpServices::iperf_server_settle(Instant now) {
    if (!iperf_.control || iperf_.control->phase() != iperf3::ServerControl::Phase::kEndRequested)
        return;
    const auto& params = iperf_.control->params();
    const bool all_in = params.reverse ||
                        (params.bytes != 0 && iperf_.data_bytes >= params.bytes) ||
                        iperf_.data_closed || now - iperf_.end_requested_at >= kIperfSettleGrace;
    if (!all_in) return;
    iperf3::StreamResult ours;
    ours.bytes = iperf_.data_bytes;
    ours.sender = params.reverse;
    ours.seconds = seconds(iperf_.end_requested_at - iperf_.running_since);
    iperf_.pattern.start(config_.seed, 0);  // a timed reverse test stops sending
    iperf_.control->end_test(ours);
    // A sender is done: FIN after the queued bytes (iperf closes its stream
    // sockets at TEST_END). A receiver keeps reading until the client closes
    // (after DISPLAY_RESULTS): closing now would answer bytes still in
    // flight with resets.
    if (params.reverse && iperf_.data_id.valid() && !iperf_.data_closed)
        stack_->close(iperf_.data_id);
    flush(iperf_.control_id, *iperf_.control);
}

void TcpServices::iperf_server_reset() {
    iperf_.control.reset();
    iperf_.control_id = {};
    iperf_.data_id = {};
    iperf_.data_bytes = 0;
    iperf_.data_closed = false;
}

// --- the pattern client ---

void TcpServices::pattern_send(tcp::ConnId id) {
    if (!send_pattern(id, pattern_, &sent_hash_, report_.sent)) return;
    const tcp::Connection* c = stack_->find(id);
    const bool peer_done = c != nullptr && c->recv_finished();
    if (!fin_sent_ && (!plan_.fin_after_peer || peer_done)) {
        fin_sent_ = true;
        stack_->shutdown(id);  // half-close: the peer still sends its part
    }
}

void TcpServices::pattern_receive(tcp::ConnId id) {
    for (ByteSpan data = stack_->peek(id); !data.empty(); data = stack_->peek(id)) {
        received_hash_.update(data);
        report_.received += data.size();
        stack_->consume(id, static_cast<std::uint32_t>(data.size()));
    }
    const tcp::Connection* c = stack_->find(id);
    if (c == nullptr || !c->recv_finished()) return;
    if (!fin_sent_) pattern_send(id);  // --fin-after-peer: our FIN may be due now
    if (fin_sent_) stack_->close(id);
}

// --- the HTTP GET client ---

void TcpServices::http_get_io(tcp::ConnId id) {
    if (!flush(id, *http_get_)) return;
    HashAndFileSink sink(received_hash_, out_file_, report_.received);
    for (ByteSpan in = stack_->peek(id); !in.empty(); in = stack_->peek(id)) {
        auto r = http_get_->on_input(in, sink);
        if (!r) {
            report_.error = r.error();
            stack_->abort(id);
            return;
        }
        stack_->consume(id, static_cast<std::uint32_t>(*r));
    }
    if (sink.write_failed) {
        report_.error = "writing " + plan_.out_path + " failed";
        stack_->abort(id);
        return;
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished() && !http_get_->done()) {
        if (auto r = http_get_->on_peer_closed(); !r) report_.error = r.error();
    }
    if ((http_get_->done() || !report_.error.empty()) && !fin_sent_) {
        fin_sent_ = true;
        stack_->close(id);
    }
}

// --- the iperf3 client ---

void TcpServices::iperf_client_control_io(tcp::ConnId id) {
    auto& run = iperf_client_;
    iperf3::ClientControl& c = *run.control;
    using Phase = iperf3::ClientControl::Phase;
    for (ByteSpan in = stack_->peek(id); !in.empty(); in = stack_->peek(id)) {
        const std::size_t n = c.on_input(in);
        stack_->consume(id, static_cast<std::uint32_t>(n));
        if (n == 0) break;
    }
    flush(id, c);
    if (c.phase() == Phase::kWaitStart && !run.data_id.valid()) {
        auto data = stack_->connect(now_, plan_.dst, plan_.port);
        if (!data) {
            report_.error = std::string("iperf3: data connect: ") + tcp::to_string(data.error());
            stack_->abort(id);
            return;
        }
        run.data_id = *data;
        run.data_open = true;
        ++counters_.opened;
        role(*data) = Role::kIperfClientData;
    }
    if (c.phase() == Phase::kRunning && run.running_since == Instant{}) {
        run.running_since = now_;
        if (!plan_.reverse) pattern_.start(plan_.seed, plan_.send_len);
        iperf_client_data_io(run.data_id);
    }
    const tcp::Connection* conn = stack_->find(id);
    const bool peer_done = conn != nullptr && conn->recv_finished();
    if (c.phase() == Phase::kFailed) report_.error = "iperf3: " + c.error();
    if ((c.phase() == Phase::kDone || c.phase() == Phase::kFailed || peer_done) &&
        c.pending_output().empty() && !fin_sent_) {
        fin_sent_ = true;
        stack_->close(id);
        if (run.data_open) stack_->close(run.data_id);
    }
}

void TcpServices::iperf_client_data_io(tcp::ConnId id) {
    auto& run = iperf_client_;
    if (!run.data_open || id != run.data_id) return;
    const bool running = run.control->phase() == iperf3::ClientControl::Phase::kRunning;
    if (running && !plan_.reverse) (void)send_pattern(id, pattern_, &sent_hash_, report_.sent);
    for (ByteSpan in = stack_->peek(id); !in.empty(); in = stack_->peek(id)) {
        received_hash_.update(in);
        report_.received += in.size();
        stack_->consume(id, static_cast<std::uint32_t>(in.size()));
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished()) stack_->close(id);
    iperf_client_check(now_);
}

void TcpServices::iperf_client_check(Instant now) {
    auto& run = iperf_client_;
    if (!run.control || run.control->phase() != iperf3::ClientControl::Phase::kRunning) return;
    iperf3::StreamResult ours;
    if (plan_.reverse) {
        if (report_.received < plan_.send_len) return;
        ours.bytes = report_.received;
    } else {
        // Every byte sent and acknowledged: the server closes its stream at
        // TEST_END, so bytes still in flight would meet a reset.
        const tcp::Connection* c = stack_->find(run.data_id);
        if (pattern_.remaining() != 0 || c == nullptr || c->flight_len() != 0 ||
            c->unsent_len() != 0)
            return;
        // Acknowledged is not read: iperf3 -s counts only what it read
        // before TEST_END. Its window reopening says it has read the rest;
        // Linux may not announce a small reopening, hence the grace.
        if (run.all_acked_at == Instant::max()) run.all_acked_at = now;
        const std::uint32_t reopened = c->max_snd_wnd() - c->max_snd_wnd() / 8;
        if (c->snd_wnd() < reopened && now - run.all_acked_at < kIperfReadGrace) return;
        ours.bytes = report_.sent;
        ours.sender = true;
    }
    report_.elapsed = now - run.running_since;
    ours.seconds = seconds(report_.elapsed);
    run.control->end_test(ours);
    flush(run.control_id, *run.control);
}

}  // namespace l45::apps
