// l45 over the direct RingWire: two TcpStacks, one per lcore, joined by two
// single-producer/single-consumer rings (A's tx ring is B's rx ring). A runs
// on the main lcore (and keeps the time), B on the next worker lcore. With a
// single lcore both sides take turns on it (a fallback, said in the output).
//
// The loops are the apps' loop (apps::service_once) plus the handler's own
// work. Nothing on the data path allocates: connection state lives in arrays
// sized at start-up and indexed by ConnId::index, and the only cross-core
// traffic besides the rings is a few relaxed counters B publishes for A.
#include <rte_launch.h>
#include <rte_lcore.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "apps/bench/tcp_bench.h"
#include "apps/common/service.h"
#include "drivers/wire.h"
#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/stack.h"

namespace l45::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::uint16_t kBenchPort = 5001;
constexpr Duration kConnectTimeout = 5s;
constexpr Duration kDrainTimeout = 10s;

// What B publishes for A (one writer, B; one reader, A).
struct alignas(64) BPublished {
    std::atomic<std::uint64_t> received{0};  // payload bytes
    std::atomic<std::uint64_t> accepted{0};  // connections
    std::atomic<std::uint64_t> open{0};      // accepted and not yet closed
    std::atomic<std::uint64_t> served{0};    // crr: closed normally after answering
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> check_failures{0};
    void put(std::atomic<std::uint64_t>& a, std::uint64_t v) {
        a.store(v, std::memory_order_relaxed);
    }
};

// Handlers see the stack through this base; service() runs once per loop.
class BenchApp : public tcp::TcpHandler {
  public:
    void attach(tcp::TcpStack& stack) { stack_ = &stack; }
    virtual void service(Instant now) = 0;

  protected:
    // Zero copy: checks the received segments in place against the stream
    // pattern at `offset` (with opt.check), counts them and releases them.
    template <class Offset>
    void drain_checked(tcp::ConnId id, const TcpBenchOptions& opt, const StreamPattern& pattern,
                       Offset& offset, std::uint64_t& received, std::uint64_t& check_failures) {
        for (ByteSpan d = stack_->peek(id); !d.empty(); d = stack_->peek(id)) {
            if (opt.check && !pattern.matches(offset, d)) ++check_failures;
            offset += static_cast<Offset>(d.size());
            received += d.size();
            stack_->consume(id, static_cast<std::uint32_t>(d.size()));
        }
    }

    tcp::TcpStack* stack_ = nullptr;
};

// --- bulk ---

class BulkSender final : public BenchApp {
  public:
    struct Flow {
        tcp::ConnId id{};
        std::uint64_t sent = 0;
        bool connected = false;
        bool close_called = false;
        bool closed = false;
        tcp::CloseReason reason = tcp::CloseReason::kNormal;
    };
    BulkSender(const TcpBenchOptions& o, const StreamPattern& p) : opt_(o), pattern_(p) {
        flows_.reserve(o.conns);
    }

    [[nodiscard]] bool start(Instant now, net::Ipv4Addr dst, std::string& error) {
        for (std::uint32_t i = 0; i < opt_.conns; ++i) {
            auto id = stack_->connect(now, dst, kBenchPort);
            if (!id) {
                error = std::string("connect: ") + tcp::to_string(id.error());
                return false;
            }
            flows_.push_back(Flow{.id = *id});
        }
        return true;
    }
    void stop() {
        stopping_ = true;
        for (Flow& f : flows_) {
            if (f.close_called || f.closed) continue;
            f.close_called = true;
            stack_->close(f.id);  // FIN after what is queued
        }
    }
    [[nodiscard]] bool all_connected() const {
        return std::all_of(flows_.begin(), flows_.end(), [](const Flow& f) { return f.connected; });
    }
    // Every connection has sent its FIN and had the peer's: TIME-WAIT or gone.
    [[nodiscard]] bool all_done() const {
        for (const Flow& f : flows_) {
            if (f.closed) continue;
            const tcp::Connection* c = stack_->find(f.id);
            if (c != nullptr && c->state() != tcp::State::kTimeWait) return false;
        }
        return true;
    }
    [[nodiscard]] std::uint64_t sent() const { return sent_; }
    [[nodiscard]] std::uint64_t failed() const {
        return static_cast<std::uint64_t>(std::count_if(
            flows_.begin(), flows_.end(),
            [](const Flow& f) { return f.closed && f.reason != tcp::CloseReason::kNormal; }));
    }
    [[nodiscard]] std::uint64_t unexpected() const { return unexpected_; }
    [[nodiscard]] const std::vector<Flow>& flows() const { return flows_; }

    void on_connected(tcp::ConnId id) override {
        if (Flow* f = find(id)) {
            f->connected = true;
            pump(*f);
        }
    }
    void on_writable(tcp::ConnId id) override {
        if (Flow* f = find(id)) pump(*f);
    }
    void on_readable(tcp::ConnId id) override {
        // B never sends: anything here is counted as an error.
        for (ByteSpan d = stack_->peek(id); !d.empty(); d = stack_->peek(id)) {
            unexpected_ += d.size();
            stack_->consume(id, static_cast<std::uint32_t>(d.size()));
        }
    }
    void on_closed(tcp::ConnId id, tcp::CloseReason r) override {
        if (Flow* f = find(id)) {
            f->closed = true;
            f->reason = r;
        }
    }
    void service(Instant) override {}

  private:
    Flow* find(tcp::ConnId id) {
        for (Flow& f : flows_)
            if (f.id == id) return &f;
        return nullptr;
    }
    void pump(Flow& f) {
        if (stopping_ || !f.connected || f.closed) return;
        for (;;) {
            const ByteSpan chunk = pattern_.at(f.sent, opt_.write_len);
            const std::uint32_t n = stack_->send(f.id, chunk);
            f.sent += n;
            sent_ += n;
            if (n < chunk.size()) return;  // buffer full: on_writable resumes
        }
    }

    const TcpBenchOptions& opt_;
    const StreamPattern& pattern_;
    std::vector<Flow> flows_;
    std::uint64_t sent_ = 0;
    std::uint64_t unexpected_ = 0;
    bool stopping_ = false;
};

class BulkReceiver final : public BenchApp {
  public:
    struct Flow {
        tcp::ConnId id{};
        std::uint64_t received = 0;
        bool closed = false;
    };
    BulkReceiver(const TcpBenchOptions& o, const StreamPattern& p, BPublished& pub)
        : opt_(o), pattern_(p), pub_(pub) {
        flows_.reserve(o.conns);
    }

    void on_accept(tcp::ConnId id, std::uint16_t) override {
        if (flows_.size() == flows_.capacity()) {  // more than A opens: not ours
            stack_->abort(id);
            return;
        }
        flows_.push_back(Flow{.id = id});
        ++accepted_;
        ++open_;
        on_readable(id);
    }
    void on_readable(tcp::ConnId id) override {
        Flow* f = find(id);
        if (f == nullptr) return;
        drain_checked(id, opt_, pattern_, f->received, received_, check_failures_);
        const tcp::Connection* c = stack_->find(id);
        if (c != nullptr && c->recv_finished()) stack_->close(id);
    }
    void on_closed(tcp::ConnId id, tcp::CloseReason r) override {
        Flow* f = find(id);
        if (f == nullptr || f->closed) return;
        f->closed = true;
        --open_;
        if (r != tcp::CloseReason::kNormal) ++failed_;
    }
    void service(Instant) override {
        pub_.put(pub_.received, received_);
        pub_.put(pub_.accepted, accepted_);
        pub_.put(pub_.open, open_);
        pub_.put(pub_.failed, failed_);
        pub_.put(pub_.check_failures, check_failures_);
    }

  private:
    Flow* find(tcp::ConnId id) {
        for (Flow& f : flows_)
            if (f.id == id) return &f;
        return nullptr;
    }

    const TcpBenchOptions& opt_;
    const StreamPattern& pattern_;
    BPublished& pub_;
    std::vector<Flow> flows_;
    std::uint64_t received_ = 0, accepted_ = 0, open_ = 0, failed_ = 0, check_failures_ = 0;
};

// --- crr ---

// Per-connection state by ConnId::index; the generation tells a slot's new
// connection from the one the entry was made for.
struct CrrState {
    std::uint32_t generation = 0;
    bool active = false;
    bool close_called = false;
    bool answered = false;
    std::uint32_t got = 0;  // request (server) or response (client) bytes
};

class CrrClient final : public BenchApp {
  public:
    CrrClient(const TcpBenchOptions& o, const StreamPattern& p, std::uint32_t max_connections,
              net::Ipv4Addr dst)
        : opt_(o), pattern_(p), dst_(dst), state_(max_connections) {}

    void stop() { stopping_ = true; }
    [[nodiscard]] std::uint32_t in_flight() const { return in_flight_; }
    [[nodiscard]] std::uint64_t completed() const { return completed_; }
    [[nodiscard]] std::uint64_t failed() const { return failed_; }
    [[nodiscard]] std::uint64_t sent() const { return sent_; }
    [[nodiscard]] std::uint64_t received() const { return received_; }
    [[nodiscard]] std::uint64_t check_failures() const { return check_failures_; }
    [[nodiscard]] std::uint64_t connect_errors() const { return connect_errors_; }
    [[nodiscard]] const char* last_connect_error() const { return last_error_; }

    // New connections are opened here, outside the stack's callbacks: a
    // connect may reclaim a TIME-WAIT slot, which must not be the one whose
    // callback is running.
    void service(Instant now) override {
        while (!stopping_ && in_flight_ < opt_.concurrency) {
            auto id = stack_->connect(now, dst_, kBenchPort);
            if (!id) {
                ++connect_errors_;
                last_error_ = tcp::to_string(id.error());
                return;
            }
            state_[id->index] = CrrState{.generation = id->generation, .active = true};
            ++in_flight_;
        }
    }
    void on_connected(tcp::ConnId id) override {
        CrrState* s = get(id);
        if (s == nullptr) return;
        const std::uint32_t n = stack_->send(id, pattern_.at(0, opt_.request_len));
        sent_ += n;
        if (n != opt_.request_len) fail(id, *s);  // a fresh connection takes 64 bytes
    }
    void on_readable(tcp::ConnId id) override {
        CrrState* s = get(id);
        if (s == nullptr) return;
        drain_checked(id, opt_, pattern_, s->got, received_, check_failures_);
        if (s->got >= opt_.response_len && !s->close_called) {
            // The client closes first, so the client holds TIME-WAIT.
            s->close_called = true;
            stack_->close(id);
        }
        const tcp::Connection* c = stack_->find(id);
        if (s->close_called && c != nullptr && c->state() == tcp::State::kTimeWait) complete(*s);
    }
    void on_closed(tcp::ConnId id, tcp::CloseReason r) override {
        CrrState* s = get(id);
        if (s == nullptr) return;
        if (r == tcp::CloseReason::kNormal && s->close_called && s->got == opt_.response_len)
            complete(*s);
        else
            fail(id, *s);
    }

  private:
    CrrState* get(tcp::ConnId id) {
        if (id.index >= state_.size()) return nullptr;
        CrrState& s = state_[id.index];
        return s.active && s.generation == id.generation ? &s : nullptr;
    }
    void complete(CrrState& s) {
        s.active = false;
        --in_flight_;
        if (s.got == opt_.response_len)
            ++completed_;
        else
            ++failed_;
    }
    void fail(tcp::ConnId id, CrrState& s) {
        s.active = false;
        --in_flight_;
        ++failed_;
        stack_->abort(id);
    }

    const TcpBenchOptions& opt_;
    const StreamPattern& pattern_;
    net::Ipv4Addr dst_;
    std::vector<CrrState> state_;
    std::uint32_t in_flight_ = 0;
    std::uint64_t completed_ = 0, failed_ = 0, sent_ = 0, received_ = 0, check_failures_ = 0;
    std::uint64_t connect_errors_ = 0;
    const char* last_error_ = "";
    bool stopping_ = false;
};

class CrrServer final : public BenchApp {
  public:
    CrrServer(const TcpBenchOptions& o, const StreamPattern& p, std::uint32_t max_connections,
              BPublished& pub)
        : opt_(o), pattern_(p), pub_(pub), state_(max_connections) {}

    void on_accept(tcp::ConnId id, std::uint16_t) override {
        state_[id.index] = CrrState{.generation = id.generation, .active = true};
        ++accepted_;
        ++open_;
        on_readable(id);
    }
    void on_readable(tcp::ConnId id) override {
        CrrState* s = get(id);
        if (s == nullptr) return;
        drain_checked(id, opt_, pattern_, s->got, received_, check_failures_);
        if (s->got >= opt_.request_len && !s->answered) {
            s->answered = true;
            if (stack_->send(id, pattern_.at(0, opt_.response_len)) != opt_.response_len) {
                ++failed_;
                s->active = false;
                --open_;
                stack_->abort(id);
                return;
            }
        }
        // The client's FIN: close our side too (LAST-ACK, then CLOSED).
        const tcp::Connection* c = stack_->find(id);
        if (c != nullptr && c->recv_finished() && !s->close_called) {
            s->close_called = true;
            stack_->close(id);
        }
    }
    void on_closed(tcp::ConnId id, tcp::CloseReason r) override {
        CrrState* s = get(id);
        if (s == nullptr) return;
        s->active = false;
        --open_;
        if (r == tcp::CloseReason::kNormal && s->answered && s->got == opt_.request_len)
            ++served_;
        else
            ++failed_;
    }
    void service(Instant) override {
        pub_.put(pub_.received, received_);
        pub_.put(pub_.accepted, accepted_);
        pub_.put(pub_.open, open_);
        pub_.put(pub_.served, served_);
        pub_.put(pub_.failed, failed_);
        pub_.put(pub_.check_failures, check_failures_);
    }

  private:
    CrrState* get(tcp::ConnId id) {
        if (id.index >= state_.size()) return nullptr;
        CrrState& s = state_[id.index];
        return s.active && s.generation == id.generation ? &s : nullptr;
    }

    const TcpBenchOptions& opt_;
    const StreamPattern& pattern_;
    BPublished& pub_;
    std::vector<CrrState> state_;
    std::uint64_t accepted_ = 0, open_ = 0, served_ = 0, failed_ = 0, received_ = 0;
    std::uint64_t check_failures_ = 0;
};

// --- the two hosts ---

struct Host {
    drivers::Port* port = nullptr;
    std::unique_ptr<net::Interface> ifc;
    std::unique_ptr<tcp::InterfaceAdapter> adapter;
    std::unique_ptr<SeededRandom> random;
    std::unique_ptr<BenchApp> app;
    std::unique_ptr<tcp::TcpStack> stack;

    void step(Instant now) {
        const std::size_t moved = apps::service_once(*port, 0, *ifc, now, stack.get());
        app->service(now);
        if (moved != 0) {
            idle_polls = 0;
        } else if (idle_sleep_ns > 0 && ++idle_polls >= kIdlePollsBeforeSleep) {
            idle_polls = 0;
            const timespec ts{0, idle_sleep_ns};
            nanosleep(&ts, nullptr);
        }
    }
    static constexpr unsigned kIdlePollsBeforeSleep = 64;
    long idle_sleep_ns = 0;
    unsigned idle_polls = 0;
    ~Host() {
        if (adapter) adapter->detach();
        stack.reset();  // frees its queued mbufs before the wire goes
    }
};

void make_host(Host& h, drivers::Port& port, std::uint8_t n, const tcp::TcpStackConfig& base,
               const TcpBenchOptions& opt) {
    h.idle_sleep_ns = static_cast<long>(opt.idle_sleep_us * 1000);
    h.port = &port;
    net::InterfaceConfig c;
    c.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, n}};
    c.ip = net::Ipv4Addr::from_octets(198, 18, 0, n);
    c.prefix_len = 24;
    // The first SYNs of a crr run all wait for one ARP reply: hold them all.
    c.arp.max_held_packets =
        std::max<std::size_t>({c.arp.max_held_packets, opt.concurrency, opt.conns});
    h.ifc = std::make_unique<net::Interface>(c, port.mempool(), port.tx_offloads());
    h.adapter = std::make_unique<tcp::InterfaceAdapter>(*h.ifc);
    h.random = std::make_unique<SeededRandom>(n);
    tcp::TcpStackConfig tc = base;
    tc.local_addr = c.ip;
    h.stack = std::make_unique<tcp::TcpStack>(tc, *h.adapter, port.mempool(), *h.random, *h.app);
    h.adapter->attach(*h.stack);
    h.app->attach(*h.stack);
}

struct Run {
    Host a, b;
    BPublished pub;
    std::atomic<bool> stop_b{false};
    ThreadClock a_clock, b_clock;
};

int b_loop(void* arg) {
    auto* run = static_cast<Run*>(arg);
    run->b_clock.publish_self();
    while (!run->stop_b.load(std::memory_order_acquire))
        run->b.step(MonotonicClock::now());
    return 0;
}

void note_counters(TcpFigure& fig, const char* side, const Host& h) {
    const tcp::TcpCounters& c = h.stack->counters();
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "%s: segments out %llu in %llu, retransmits %llu (rto %llu), table_full %llu, "
                  "mbuf_alloc_failed %llu, port tx_dropped %llu",
                  side, static_cast<unsigned long long>(c.segments_out),
                  static_cast<unsigned long long>(c.segments_in),
                  static_cast<unsigned long long>(c.retransmits),
                  static_cast<unsigned long long>(c.rto_timeouts),
                  static_cast<unsigned long long>(c.table_full),
                  static_cast<unsigned long long>(c.mbuf_alloc_failed),
                  static_cast<unsigned long long>(h.port->tx_drops()));
    fig.notes.emplace_back(buf);
}

}  // namespace

TcpFigure run_l45(TcpMode mode, const TcpBenchOptions& opt) {
    TcpFigure fig;
    const unsigned worker = rte_get_next_lcore(rte_lcore_id(), 1, 0);
    const bool two_lcores = worker < RTE_MAX_LCORE;

    drivers::WireConfig wc;
    wc.direct = true;
    wc.ring_size = 4096;
    wc.port.num_mbufs = 32767;
    auto wire = drivers::RingWire::create(wc);
    if (!wire) {
        fig.error = "wire: " + wire.error();
        return fig;
    }
    const StreamPattern pattern(std::max({opt.write_len, opt.request_len, opt.response_len}));
    tcp::TcpStackConfig base;  // defaults: 256 KiB buffers, 1024 connections, CUBIC
    auto run = std::make_unique<Run>();
    const net::Ipv4Addr b_addr = net::Ipv4Addr::from_octets(198, 18, 0, 2);
    BulkSender* sender = nullptr;
    CrrClient* client = nullptr;
    if (mode == TcpMode::bulk) {
        auto s = std::make_unique<BulkSender>(opt, pattern);
        sender = s.get();
        run->a.app = std::move(s);
        run->b.app = std::make_unique<BulkReceiver>(opt, pattern, run->pub);
    } else {
        auto c = std::make_unique<CrrClient>(opt, pattern, base.max_connections, b_addr);
        client = c.get();
        run->a.app = std::move(c);
        run->b.app = std::make_unique<CrrServer>(opt, pattern, base.max_connections, run->pub);
    }
    make_host(run->a, (*wire)->a(), 1, base, opt);
    make_host(run->b, (*wire)->b(), 2, base, opt);
    if (!run->b.stack->listen(kBenchPort, 1024)) {
        fig.error = "listen failed";
        return fig;
    }
    const Instant t_start = MonotonicClock::now();
    run->a.ifc->start(t_start);
    run->b.ifc->start(t_start);
    if (two_lcores && rte_eal_remote_launch(b_loop, run.get(), worker) != 0) {
        fig.error = "rte_eal_remote_launch failed";
        return fig;
    }
    auto load = [](const std::atomic<std::uint64_t>& v) {
        return v.load(std::memory_order_relaxed);
    };
    // The figure: bytes B received (bulk) or connections A completed (crr).
    auto units = [&]() -> std::uint64_t {
        return mode == TcpMode::bulk ? load(run->pub.received) : client->completed();
    };
    auto step = [&](Instant now) {
        run->a.step(now);
        if (!two_lcores) run->b.step(now);
    };

    run->a_clock.publish_self();
    std::string error;
    if (sender != nullptr && !sender->start(t_start, b_addr, error)) fig.error = error;
    // Phase 1 (bulk): every connection up.
    while (fig.error.empty() && sender != nullptr && !sender->all_connected()) {
        const Instant now = MonotonicClock::now();
        step(now);
        if (now - t_start > kConnectTimeout) fig.error = "connections not up after 5 s";
    }
    // Phase 2: warm-up, then the measured window.
    MeasureWindow<Instant> window(opt, MonotonicClock::now());
    while (fig.error.empty()) {
        const Instant now = MonotonicClock::now();
        step(now);
        const auto tick = window.tick(now, units(), run->a_clock.seconds(),
                                      two_lcores ? run->b_clock.seconds() : 0, fig);
        if (tick == MeasureWindow<Instant>::Tick::closed) break;
        if (tick == MeasureWindow<Instant>::Tick::stalled) {
            fig.error = "no progress for 3 s";
            if (client != nullptr && client->connect_errors() > 0)
                fig.error += std::string(" (connect: ") + client->last_connect_error() + ")";
        }
    }
    // Phase 3: stop, let every connection close normally, check the totals.
    if (sender != nullptr) sender->stop();
    if (client != nullptr) client->stop();
    const Instant t_stop = MonotonicClock::now();
    for (;;) {
        const Instant now = MonotonicClock::now();
        step(now);
        const bool a_done = sender != nullptr ? sender->all_done() : client->in_flight() == 0;
        const std::uint64_t b_expected =
            sender != nullptr ? sender->flows().size() : load(run->pub.accepted);
        if (a_done && load(run->pub.open) == 0 && load(run->pub.accepted) == b_expected) break;
        if (now - t_stop > kDrainTimeout) {
            if (fig.error.empty()) fig.error = "connections did not close within 10 s";
            break;
        }
    }
    // Every connection is closed on both sides (or the drain timed out): B may stop.
    run->stop_b.store(true, std::memory_order_release);
    if (two_lcores) rte_eal_wait_lcore(worker);

    fig.received = load(run->pub.received);
    fig.check_failures = load(run->pub.check_failures);
    if (sender != nullptr) {
        fig.sent = sender->sent();
        fig.failed = sender->failed() + load(run->pub.failed);
        if (sender->unexpected() > 0) fig.notes.emplace_back("A received bytes from B");
    } else {
        fig.sent = client->sent();
        fig.completed = client->completed();
        fig.served = load(run->pub.served);
        fig.failed = client->failed() + load(run->pub.failed);
        fig.check_failures += client->check_failures();
        if (client->connect_errors() > 0)
            fig.notes.emplace_back(std::string("connect errors: ") +
                                   std::to_string(client->connect_errors()) + " (" +
                                   client->last_connect_error() + ")");
    }
    if (!two_lcores) fig.notes.emplace_back("single lcore: A and B took turns on one core");
    note_counters(fig, "A", run->a);
    note_counters(fig, "B", run->b);
    fig.ok = fig.error.empty();
    run.reset();  // hosts (and their mbufs) before the wire
    return fig;
}

}  // namespace l45::bench
