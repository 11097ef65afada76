#include "apps/bench/ring_pair.h"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

#include "apps/common/service.h"
#include "apps/common/wire_host.h"
#include "apps/l45-offload/proxy.h"
#include "stack/base/random.h"
#include "tls/pki/certificate.h"
#include "tls/record/aead.h"

namespace l45::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::uint8_t kHostA = 1;
constexpr std::uint8_t kHostB = 2;
constexpr std::uint16_t kHttpsPort = 443;
constexpr unsigned kIdlePollsBeforeSleep = 64;

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Spins while there is work; after kIdlePollsBeforeSleep empty polls,
// sleeps `sleep_ns` (if any) so a time-shared CPU goes to someone else.
class IdleBackoff {
  public:
    explicit IdleBackoff(double sleep_us) : sleep_ns_(static_cast<long>(sleep_us * 1000)) {}
    void after(std::size_t moved) {
        if (moved != 0) {
            polls_ = 0;
        } else if (sleep_ns_ > 0 && ++polls_ >= kIdlePollsBeforeSleep) {
            polls_ = 0;
            const timespec ts{0, sleep_ns_};
            nanosleep(&ts, nullptr);
        }
    }

  private:
    long sleep_ns_;
    unsigned polls_ = 0;
};

// DPDK's busy/idle split of a poll loop: TSC time per iteration, counted
// busy when the iteration received a frame or had work.
class BusyMeter {
  public:
    void start() { last_ = rte_rdtsc(); }
    void after(bool busy) {
        const std::uint64_t now = rte_rdtsc();
        total_ += now - last_;
        if (busy) busy_ += now - last_;
        last_ = now;
    }
    [[nodiscard]] double share() const {
        return total_ == 0 ? 0 : static_cast<double>(busy_) / static_cast<double>(total_);
    }

  private:
    std::uint64_t last_ = 0, busy_ = 0, total_ = 0;
};

// Everything one run owns. Host B's members are touched only by B's lcore
// between launch and wait (see the notes in ring_pair.h).
struct Run {
    RingPairOptions opt;
    std::unique_ptr<drivers::RingWire> wire;

    // --- host B: the proxy ---
    tls::pki::CredentialSelector credentials;
    std::unique_ptr<SeededRandom> proxy_random;
    std::unique_ptr<offload::Proxy> proxy;
    apps::WireHost b;
    double b_cpu_s = 0;
    double b_busy = 0;

    // --- host A: load generator + echo backend ---
    std::unique_ptr<tls::CryptoEngine> engine;
    std::unique_ptr<SeededRandom> load_random;
    std::unique_ptr<loadgen::LoadGenerator> load;
    std::unique_ptr<loadgen::EchoService> echo;
    std::unique_ptr<loadgen::SourceService> source;  // instead of echo for load.download
    std::unique_ptr<loadgen::TcpDemux> demux;
    apps::WireHost a;

    // --- the only state the lcores share (besides the wire's rings) ---
    alignas(64) std::atomic<bool> stop_b{false};
    alignas(64) std::atomic<bool> b_idle{true};  // B: no session, no connection

    ~Run() {
        // Stacks first (they free the mbufs they hold), then their handlers,
        // then the wire (ports, rings).
        for (apps::WireHost* h : {&a, &b}) {
            h->detach();
            h->stack.reset();
            h->adapter.reset();
            h->ifc.reset();
        }
        demux.reset();
        load.reset();
        echo.reset();
        source.reset();
        proxy.reset();
        wire.reset();
    }

    std::size_t step_a(Instant now, IdleBackoff& backoff) {
        load->poll(now);
        const std::size_t moved = apps::service_once(wire->a(), 0, *a.ifc, now, a.stack.get());
        wire->pump_a_to_b(now);
        backoff.after(moved);
        return moved;
    }
    std::size_t step_b(Instant now, IdleBackoff& backoff) {
        proxy->poll(now);
        const std::size_t moved = apps::service_once(wire->b(), 0, *b.ifc, now, b.stack.get());
        wire->pump_b_to_a(now);
        const bool idle = proxy->sessions_in_use() == 0 && b.stack->num_connections() == 0;
        if (idle != b_idle.load(std::memory_order_relaxed))
            b_idle.store(idle, std::memory_order_release);
        backoff.after(moved);
        return moved;
    }
};

int b_main(void* arg) {
    auto& run = *static_cast<Run*>(arg);
    const double cpu0 = thread_cpu_seconds();
    IdleBackoff backoff(run.opt.idle_sleep_us);
    BusyMeter busy;
    busy.start();
    while (!run.stop_b.load(std::memory_order_acquire))
        busy.after(run.step_b(MonotonicClock::now(), backoff) != 0);
    run.b_cpu_s = thread_cpu_seconds() - cpu0;
    run.b_busy = busy.share();
    return 0;
}

Result<void, std::string> build(Run& run) {
    const RingPairOptions& opt = run.opt;
    drivers::WireConfig wc;
    wc.ring_size = opt.ring_size;
    wc.seed = opt.seed;
    wc.a_to_b.drop_rate = opt.loss;
    wc.b_to_a.drop_rate = opt.loss;
    wc.port.num_mbufs = opt.num_mbufs;
    auto wire = drivers::RingWire::create(wc);
    if (!wire) return unexpected("wire: " + wire.error());
    run.wire = std::move(*wire);

    // The certificate for load.sni, from a CA made for this run.
    tls::pki::SelfSignedOptions so;
    so.names = {opt.load.sni};
    auto pki = tls::pki::generate_self_signed(so);
    if (!pki) return unexpected(std::string("generate_self_signed failed"));
    auto cred = tls::pki::Credential::from_pem(pki->chain_pem, pki->key_pem);
    if (!cred) return unexpected(std::string("Credential::from_pem failed"));
    run.credentials.add(std::move(*cred));

    // Host B: the proxy, with A's echo service as its only backend.
    run.proxy_random = std::make_unique<SeededRandom>(opt.seed * 7919 + 2);
    offload::ProxyOptions po;
    po.https_port = kHttpsPort;
    po.http_port = 0;
    po.credentials = &run.credentials;
    po.random = run.proxy_random.get();
    po.max_sessions = opt.max_sessions;
    po.listen_backlog = std::max<std::uint32_t>(po.listen_backlog, opt.load.concurrency);
    po.backends.push_back({apps::wire_host_addr(kHostA), opt.echo_port});
    auto proxy = offload::Proxy::create(po, opt.max_connections);
    if (!proxy) return unexpected("proxy: " + proxy.error());
    run.proxy = std::move(*proxy);
    run.b = apps::make_wire_host(run.wire->b(),
                                 {.n = kHostB,
                                  .max_connections = opt.max_connections,
                                  .msl = opt.msl,
                                  .arp_max_held = opt.max_sessions,
                                  .seed = opt.seed * 7919 + kHostB},
                                 *run.proxy);

    // Host A: the load generator (the demux's default handler) and the echo
    // backend (connections accepted on echo_port).
    auto engine = tls::CryptoEngine::create();
    if (!engine) return unexpected(std::string("crypto engine unavailable"));
    run.engine = std::move(*engine);
    run.load_random = std::make_unique<SeededRandom>(opt.seed * 7919 + 1);
    loadgen::LoadOptions lo = opt.load;
    lo.server = apps::wire_host_addr(kHostB);
    lo.port = kHttpsPort;
    lo.insecure = opt.insecure;
    lo.engine = run.engine.get();
    lo.random = run.load_random.get();
    if (!opt.insecure) lo.ca_pem = pki->ca_cert_pem;
    auto load = loadgen::LoadGenerator::create(lo, opt.max_connections);
    if (!load) return unexpected("load generator: " + load.error());
    run.load = std::move(*load);
    run.demux = std::make_unique<loadgen::TcpDemux>(opt.max_connections, *run.load);
    if (opt.load.download) {
        run.source = std::make_unique<loadgen::SourceService>(opt.max_connections);
        run.demux->route_port(opt.echo_port, *run.source);
    } else {
        run.echo = std::make_unique<loadgen::EchoService>(opt.max_connections);
        run.demux->route_port(opt.echo_port, *run.echo);
    }
    run.a = apps::make_wire_host(run.wire->a(),
                                 {.n = kHostA,
                                  .max_connections = opt.max_connections,
                                  .msl = opt.msl,
                                  .arp_max_held = opt.load.concurrency,
                                  .seed = opt.seed * 7919 + kHostA},
                                 *run.demux);

    const Instant now = MonotonicClock::now();
    run.a.ifc->start(now);
    run.b.ifc->start(now);
    auto l = run.source ? run.source->listen(*run.a.stack, opt.echo_port, opt.max_connections)
                        : run.echo->listen(*run.a.stack, opt.echo_port, opt.max_connections);
    if (!l) return unexpected(std::string("backend listen: ") + tcp::to_string(l.error()));
    if (auto s = run.proxy->start(*run.b.stack, now); !s)
        return unexpected("proxy start: " + s.error());
    return {};
}

void collect(Run& run, RingPairResult& r) {
    r.load = run.load->stats();
    r.seconds =
        std::chrono::duration<double>(run.load->finished_at() - run.load->started_at()).count();
    if (run.echo) {
        r.echo_accepted = run.echo->accepted();
        r.echo_bytes = run.echo->bytes_echoed();
    } else {
        r.echo_accepted = run.source->accepted();
        r.source_bytes = run.source->bytes_sent();
    }
    r.proxy = run.proxy->counters();
    r.proxy_sessions_in_use = run.proxy->sessions_in_use();
    r.proxy_drained = run.proxy->drained();
    r.a_connections = run.a.stack->num_connections();
    r.b_connections = run.b.stack->num_connections();
    r.tcp_a = run.a.stack->counters();
    r.tcp_b = run.b.stack->counters();
    r.wire = run.wire->counters();
    r.a_to_b = run.wire->a_to_b()->counters();
    r.b_to_a = run.wire->b_to_a()->counters();
    r.port_a = run.wire->a().counters();
    r.port_b = run.wire->b().counters();
    r.cpu_b_s = run.b_cpu_s;
    r.busy_b = run.b_busy;
}

}  // namespace

Result<RingPairResult, std::string> run_ring_pair(const RingPairOptions& options) {
    if (options.lcores != 1 && options.lcores != 2)
        return unexpected("lcores must be 1 or 2, not " + std::to_string(options.lcores));
    if (options.max_sessions < options.load.concurrency)
        return unexpected(std::string("max_sessions below the load's concurrency"));
    const unsigned self = rte_lcore_id();
    if (self == LCORE_ID_ANY) return unexpected(std::string("not called on an EAL lcore"));
    const unsigned worker = rte_get_next_lcore(self, 1, 0);
    const bool two =
        options.lcores == 2 && worker < RTE_MAX_LCORE && rte_eal_get_lcore_state(worker) == WAIT;

    const Instant t_setup = MonotonicClock::now();
    auto run = std::make_unique<Run>();
    run->opt = options;
    if (auto b = build(*run); !b) return unexpected(b.error());

    RingPairResult r;
    r.setup_s = std::chrono::duration<double>(MonotonicClock::now() - t_setup).count();
    r.lcores = two ? 2 : 1;
    const double cpu0 = thread_cpu_seconds();
    const Instant t0 = MonotonicClock::now();
    if (auto s = run->load->start(*run->a.stack, t0); !s)
        return unexpected("load generator start: " + s.error());
    if (two && rte_eal_remote_launch(b_main, run.get(), worker) != 0)
        return unexpected(std::string("rte_eal_remote_launch failed"));

    // The load generator bounds its own run by load.duration; past that and
    // the drain, something is stuck.
    const Instant hard_end = t0 + options.load.duration + options.drain_timeout + 5s;
    IdleBackoff a_backoff(options.idle_sleep_us), b_backoff(options.idle_sleep_us);
    std::optional<Instant> load_done;
    Instant next_progress = t0 + options.progress_interval;
    BusyMeter a_busy;
    a_busy.start();
    for (;;) {
        const Instant now = MonotonicClock::now();
        std::size_t moved = run->step_a(now, a_backoff);
        if (!two) moved += run->step_b(now, b_backoff);
        a_busy.after(moved != 0);
        if (options.on_progress && options.progress_interval > Duration::zero() &&
            now >= next_progress) {
            options.on_progress(run->load->stats(), now - t0);
            next_progress = now + options.progress_interval;
        }
        if (!load_done && run->load->done()) load_done = now;
        if (load_done) {
            if (run->a.stack->num_connections() == 0 && run->b_idle.load(std::memory_order_acquire))
                break;
            if (now - *load_done > options.drain_timeout) {
                r.error = "connections still open " +
                          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             options.drain_timeout)
                                             .count()) +
                          " s after the load generator finished";
                break;
            }
        } else if (now > hard_end) {
            r.error = "the load generator did not finish within its duration";
            break;
        }
    }
    r.cpu_a_s = thread_cpu_seconds() - cpu0;
    run->stop_b.store(true, std::memory_order_release);
    if (two) rte_eal_wait_lcore(worker);
    collect(*run, r);
    r.busy_a = a_busy.share();
    if (!two) {
        r.cpu_b_s = 0;  // all of it in cpu_a_s
        r.busy_b = 0;
    }
    r.busy_cpu_a_s = r.cpu_a_s * r.busy_a;
    r.busy_cpu_b_s = r.cpu_b_s * r.busy_b;
    return r;
}

}  // namespace l45::bench
