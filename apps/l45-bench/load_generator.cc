#include "apps/l45-bench/load_generator.h"

#include <algorithm>
#include <optional>

#include "apps/l45-bench/client_session.h"
#include "apps/l45-bench/pattern.h"
#include "tls/handshake/config.h"
#include "tls/pki/certificate.h"

namespace l45::loadgen {

namespace {

// After the duration (or stop()), how long open connections get to finish
// their request and close before they are reset.
constexpr Duration kStopGrace = 2s;
// How often sessions are checked against idle_timeout.
constexpr Duration kExpiryScan = 100ms;
constexpr std::size_t kScratchLen = 16 * 1024;  // one TLS record's plaintext

}  // namespace

const char* to_string(Mode mode) {
    switch (mode) {
        case Mode::handshake:
            return "handshake";
        case Mode::bulk:
            return "bulk";
        case Mode::rr:
            return "rr";
    }
    return "?";
}

const char* to_string(Payload payload) {
    switch (payload) {
        case Payload::echo:
            return "echo";
        case Payload::http:
            return "http";
    }
    return "?";
}

struct LoadGenerator::Tls {
    std::optional<tls::pki::CertificateVerifier> verifier;
    tls::Config config;
};

Result<std::unique_ptr<LoadGenerator>, std::string> LoadGenerator::create(
    const LoadOptions& options, std::uint32_t max_tcp_connections) {
    if (options.engine == nullptr || options.random == nullptr)
        return unexpected(std::string("load generator: an engine and a random source are needed"));
    if (options.ca_file.empty() && options.ca_pem.empty() && !options.insecure)
        return unexpected(
            std::string("load generator: no CA file to verify the server with (or --insecure)"));
    if (options.concurrency == 0 || max_tcp_connections == 0)
        return unexpected(std::string("load generator: concurrency must be at least 1"));
    if (options.payload == Payload::echo && options.request_len == 0 &&
        (options.mode == Mode::rr || options.handshake_request))
        return unexpected(std::string("load generator: an echo request needs --size >= 1"));
    if (options.payload == Payload::http &&
        (options.http_path.empty() || options.http_path.front() != '/'))
        return unexpected(std::string("load generator: the HTTP path must start with '/'"));

    if (options.download && (options.mode != Mode::bulk || options.payload != Payload::echo))
        return unexpected(std::string("load generator: a download is a bulk echo-payload run"));
    if (options.download) (void)download_window();  // built now, not on the data path

    std::unique_ptr<LoadGenerator> g(new LoadGenerator());
    g->options_ = options;
    g->tls_ = std::make_unique<Tls>();
    tls::Config& config = g->tls_->config;
    config.role = tls::Role::client;
    config.server_name = options.sni;
    config.random = options.random;
    if (options.insecure) {
        config.insecure_skip_verify_DANGEROUS = true;
    } else {
        auto verifier = !options.ca_pem.empty()
                            ? tls::pki::CertificateVerifier::from_ca_pem(options.ca_pem)
                            : tls::pki::CertificateVerifier::from_ca_file(options.ca_file);
        if (!verifier)
            return unexpected(options.ca_pem.empty()
                                  ? "load generator: cannot load the CA file '" + options.ca_file +
                                        "'"
                                  : std::string("load generator: cannot load the CA PEM"));
        g->tls_->verifier.emplace(std::move(*verifier));
        config.verifier = &*g->tls_->verifier;
    }
    if (options.payload == Payload::http) config.alpn = {"http/1.1"};

    const std::uint32_t num_sessions = std::min(options.concurrency, max_tcp_connections);
    g->sessions_.reserve(num_sessions);
    g->idle_.reserve(num_sessions);
    for (std::uint32_t i = 0; i < num_sessions; ++i) {
        auto s = ClientSession::create(config, *options.engine);
        if (!s) return unexpected(std::string("load generator: cannot create a TLS client"));
        g->sessions_.push_back(std::move(*s));
    }
    // The first connection takes the session on top of the stack.
    for (auto it = g->sessions_.rbegin(); it != g->sessions_.rend(); ++it)
        g->idle_.push_back(it->get());
    g->by_slot_.assign(max_tcp_connections, nullptr);
    g->scratch_.resize(kScratchLen);
    g->http_request_ = "GET " + options.http_path + " HTTP/1.1\r\nHost: " + options.sni +
                       "\r\nUser-Agent: l45-bench\r\nAccept: */*\r\n\r\n";
    switch (options.mode) {
        case Mode::handshake:
        case Mode::rr:
            g->budget_.total = options.total;
            break;
        case Mode::bulk:
            // One stream per connection; over http, GETs until the end.
            g->budget_.total = options.payload == Payload::echo ? num_sessions : 0;
            break;
    }
    g->seed_base_ = options.random->next_u64();
    return g;
}

LoadGenerator::~LoadGenerator() = default;

SessionEnv LoadGenerator::env() {
    return SessionEnv{
        *stack_,
        stats_,
        options_,
        budget_,
        std::span<std::uint8_t>(scratch_),
        ByteSpan(reinterpret_cast<const std::uint8_t*>(http_request_.data()), http_request_.size()),
        now_};
}

Result<void, std::string> LoadGenerator::start(tcp::TcpStack& stack, Instant now) {
    if (stack_ != nullptr) return unexpected(std::string("load generator: already started"));
    if (stack.config().max_connections > by_slot_.size())
        return unexpected(
            std::string("load generator: the stack has more connections than create() was told"));
    stack_ = &stack;
    now_ = now;
    started_ = finished_ = now;
    deadline_ = options_.duration.count() > 0 ? now + options_.duration : Instant::max();
    next_expiry_scan_ = now + kExpiryScan;
    open_more(now);
    return {};
}

bool LoadGenerator::wants_more() const {
    return budget_.available();
}

void LoadGenerator::open_more(Instant now) {
    while (!idle_.empty() && wants_more()) {
        // rr: no more connections than requests left to make.
        if (options_.mode == Mode::rr && budget_.total != 0 &&
            num_open_ >= budget_.total - budget_.started)
            break;
        auto id = stack_->connect(now, options_.server, options_.port);
        if (!id) break;  // no port or slot now: the next poll tries again
        if (options_.mode == Mode::handshake ||
            (options_.mode == Mode::bulk && options_.payload == Payload::echo)) {
            // The connection is the unit of work: budgeted when opened.
            (void)budget_.take();
        }
        ClientSession* s = idle_.back();
        idle_.pop_back();
        s->start(*id, seed_base_ + num_opened_, now);
        by_slot_[id->index] = s;
        ++num_opened_;
        ++num_open_;
    }
}

ClientSession* LoadGenerator::session_of(tcp::ConnId id) {
    if (id.index >= by_slot_.size()) return nullptr;
    ClientSession* s = by_slot_[id.index];
    return s != nullptr && s->id() == id ? s : nullptr;
}

void LoadGenerator::poll(Instant now) {
    if (stack_ == nullptr) return;
    now_ = now;
    if (!budget_.stopping && now >= deadline_) stop(now);
    if (now >= hard_deadline_) {
        // The grace is over: whatever is still open is reset.
        SessionEnv e = env();
        for (auto& s : sessions_)
            if (s->phase() != ClientSession::Phase::idle) s->expire(e);
        hard_deadline_ = Instant::max();
    }
    if (now >= next_expiry_scan_) {
        expire_idle(now);
        next_expiry_scan_ = now + kExpiryScan;
    }
    open_more(now);
}

void LoadGenerator::expire_idle(Instant now) {
    SessionEnv e = env();
    for (auto& s : sessions_) {
        if (s->phase() == ClientSession::Phase::idle) {
            // A session whose TLS reset failed gets another chance.
            if (s->reset_pending() && s->release()) idle_.push_back(s.get());
            continue;
        }
        if (now - s->last_progress() > options_.idle_timeout) s->expire(e);
    }
}

void LoadGenerator::stop(Instant now) {
    if (stack_ == nullptr || budget_.stopping) return;
    now_ = now;
    budget_.stopping = true;
    hard_deadline_ = now + kStopGrace;
    SessionEnv e = env();
    for (auto& s : sessions_)
        s->stop(e);
    if (num_open_ == 0) finished_ = now;
}

bool LoadGenerator::done() const {
    return stack_ != nullptr && num_open_ == 0 && !wants_more();
}

void LoadGenerator::on_connected(tcp::ConnId id) {
    ClientSession* s = session_of(id);
    if (s == nullptr) return;
    SessionEnv e = env();
    s->on_connected(e);
    if (budget_.stopping) s->stop(e);
}

void LoadGenerator::on_readable(tcp::ConnId id) {
    if (ClientSession* s = session_of(id)) {
        SessionEnv e = env();
        s->pump(e);
    }
}

void LoadGenerator::on_writable(tcp::ConnId id) {
    if (ClientSession* s = session_of(id)) {
        SessionEnv e = env();
        s->pump(e);
    }
}

void LoadGenerator::on_closed(tcp::ConnId id, tcp::CloseReason reason) {
    ClientSession* s = session_of(id);
    if (s == nullptr) return;
    SessionEnv e = env();
    s->on_closed(e, reason);
    by_slot_[id.index] = nullptr;
    release(*s);
}

void LoadGenerator::release(ClientSession& session) {
    --num_open_;
    if (session.release()) idle_.push_back(&session);
    if (num_open_ == 0) finished_ = now_;
}

}  // namespace l45::loadgen
