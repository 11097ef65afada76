// The appliance's proxy engine over the net_ring wire, in one process:
//
//   host A (198.18.0.1): TLS clients (tls::Connection, verifying the
//       certificate against the generated CA for their SNI) and plaintext
//       echo backends on ports 8080/8081, all on one l45 TcpStack;
//   host B (198.18.0.2): the Proxy on its own TcpStack (443 TLS, 80 redirect),
//       forwarding to the backends on A.
//
// Time is a ManualClock stepped per round, so timeouts (backend marked
// down, linger) cost rounds, not wall time, and every run replays.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apps/common/service.h"
#include "apps/common/wire_host.h"
#include "apps/l45-offload/keylog.h"
#include "apps/l45-offload/lcores.h"
#include "apps/l45-offload/proxy.h"
#include "drivers/steering_classify.h"
#include "drivers/wire.h"
#include "stack/base/random.h"
#include "stack/net/interface.h"
#include "stack/tcp/interface_adapter.h"
#include "stack/tcp/stack.h"
#include "tests/support/eal_env.h"
#include "tls/handshake/connection.h"
#include "tls/pki/certificate.h"

namespace l45 {
namespace {

using namespace std::chrono_literals;
using offload::Proxy;
using offload::ProxyOptions;

constexpr std::uint16_t kBackendPort = 8080;
constexpr std::uint16_t kBackendPort2 = 8081;
constexpr std::uint16_t kResponderPort = 8082;
constexpr Duration kStep = 100us;
constexpr Duration kIdleStep = 1ms;
const net::Ipv4Addr kAddrA = net::Ipv4Addr::from_octets(198, 18, 0, 1);
const net::Ipv4Addr kAddrB = net::Ipv4Addr::from_octets(198, 18, 0, 2);

std::uint64_t env_bytes(const char* name, std::uint64_t dflt) {
    const char* s = std::getenv(name);
    return s == nullptr || *s == '\0' ? dflt : std::strtoull(s, nullptr, 10);
}

// The byte stream of `seed` at `offset`: one splitmix64 word per 8 bytes.
void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::uint8_t> out) {
    std::size_t i = 0;
    while (i < out.size()) {
        const std::uint64_t pos = offset + i;
        std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + pos / 8 + 0x632be59bd9b4e019ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        for (std::uint64_t k = pos % 8; k < 8 && i < out.size(); ++k, ++i)
            out[i] = static_cast<std::uint8_t>(z >> (8 * k));
    }
}

class Sha256 {
  public:
    Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    ~Sha256() { EVP_MD_CTX_free(ctx_); }
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(ByteSpan d) {
        if (!d.empty()) EVP_DigestUpdate(ctx_, d.data(), d.size());
    }
    std::string hex() {
        std::array<std::uint8_t, 32> out{};
        unsigned len = 0;
        EVP_DigestFinal_ex(ctx_, out.data(), &len);
        static const char* k = "0123456789abcdef";
        std::string s;
        for (auto b : out) {
            s += k[b >> 4];
            s += k[b & 15];
        }
        return s;
    }

  private:
    EVP_MD_CTX* ctx_;
};

// --- certificates: two names, each from its own CA ---
struct Site {
    std::string name;
    tls::pki::SelfSignedPki pki;
    std::vector<std::uint8_t> leaf_der;
};
struct Pki {
    std::vector<Site> sites;
    tls::pki::CredentialSelector creds;
};
Pki& pki() {
    static Pki* p = [] {
        auto* out = new Pki();
        for (const char* name : {"a.l45.test", "b.l45.test"}) {
            tls::pki::SelfSignedOptions o;
            o.names = {name};
            auto gen = tls::pki::generate_self_signed(o);
            EXPECT_TRUE(gen.has_value());
            auto cred = tls::pki::Credential::from_pem(gen->chain_pem, gen->key_pem);
            EXPECT_TRUE(cred.has_value());
            const ByteSpan der = cred->chain.der(0);
            out->sites.push_back(Site{name, *gen, {der.begin(), der.end()}});
            out->creds.add(std::move(*cred));
        }
        return out;
    }();
    return *p;
}

tls::CryptoEngine& client_engine() {
    static auto e = tls::CryptoEngine::create();
    return **e;
}

// --- host A's applications ---

// One TLS client: streams `to_send` pattern bytes, hashes what comes back,
// sends close_notify after its last byte (when close_after_send), and closes
// TCP once the server's close_notify arrived.
struct TlsClient {
    tcp::ConnId id{};
    std::size_t site = 0;
    std::unique_ptr<tls::pki::CertificateVerifier> verifier;
    std::unique_ptr<SeededRandom> rng;
    std::unique_ptr<tls::Connection> tls;
    std::uint64_t seed = 0;
    std::uint64_t to_send = 0;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    bool close_after_send = true;
    bool hold_reading = false;  // after our close_notify: a slow reader
    bool connected = false;
    bool close_sent = false;
    bool fin_sent = false;
    bool closed = false;
    tcp::CloseReason reason = tcp::CloseReason::kNormal;
    std::optional<tls::TlsError> error;
    std::string text;                        // the first 4 KiB received, for small responses
    std::vector<std::string> key_log;        // the client's own NSS key-log lines
    std::vector<std::uint8_t> first_flight;  // the first bytes sent: the ClientHello record
    // Fast-path cases: a KeyUpdate (asking for the proxy's) once this much
    // was written; the tag of the records in flight flipped once this much
    // was written.
    std::uint64_t key_update_at = UINT64_MAX;
    bool key_update_done = false;
    std::uint64_t corrupt_at = UINT64_MAX;
    bool corrupted = false;
    // The length field of every record received (handshake included).
    std::vector<std::uint16_t> record_lens;
    std::array<std::uint8_t, 5> rec_header{};
    std::size_t rec_header_len = 0;
    std::size_t rec_body_left = 0;
    void track_records(ByteSpan in) {
        while (!in.empty()) {
            if (rec_body_left > 0) {
                const std::size_t n = std::min(rec_body_left, in.size());
                rec_body_left -= n;
                in = in.subspan(n);
                continue;
            }
            rec_header[rec_header_len++] = in[0];
            in = in.subspan(1);
            if (rec_header_len == 5) {
                rec_header_len = 0;
                rec_body_left = load_be16(rec_header.data() + 3);
                record_lens.push_back(static_cast<std::uint16_t>(rec_body_left));
            }
        }
    }
    Sha256 sent_hash, received_hash;
    std::string sent_digest, received_digest;
};

// One plain HTTP client for port 80.
struct HttpClient {
    tcp::ConnId id{};
    std::string request;
    std::size_t sent = 0;
    std::string response;
    bool connected = false;
    bool closed = false;
    bool fin_sent = false;
};

class HostA final : public tcp::TcpHandler {
  public:
    tcp::TcpStack* stack = nullptr;
    std::vector<std::unique_ptr<TlsClient>> clients;
    std::vector<std::unique_ptr<HttpClient>> http;
    std::uint64_t backend_bytes = 0;
    std::uint64_t backend_accepted = 0;
    std::vector<tcp::ConnId> echo_ids;
    std::uint64_t respond_len = 0;  // the responder backend (kResponderPort)
    std::uint64_t respond_seed = 0;
    std::uint64_t progress = 0;
    std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(16 * 1024);

    TlsClient& add_client(Instant now, std::size_t site, std::uint64_t to_send, std::uint64_t seed,
                          std::optional<std::size_t> trust_site = {}) {
        auto c = std::make_unique<TlsClient>();
        c->site = site;
        c->seed = seed;
        c->to_send = to_send;
        auto v = tls::pki::CertificateVerifier::from_ca_pem(
            pki().sites[trust_site.value_or(site)].pki.ca_cert_pem);
        EXPECT_TRUE(v.has_value());
        c->verifier = std::make_unique<tls::pki::CertificateVerifier>(std::move(*v));
        c->rng = std::make_unique<SeededRandom>(seed * 31 + 7);
        tls::Config cfg;
        cfg.role = tls::Role::client;
        cfg.server_name = pki().sites[site].name;
        cfg.verifier = c->verifier.get();
        cfg.random = c->rng.get();
        cfg.key_log = [log = &c->key_log](std::string_view line) { log->emplace_back(line); };
        auto conn = tls::Connection::create(cfg, client_engine());
        EXPECT_TRUE(conn.has_value());
        c->tls = std::move(*conn);
        auto id = stack->connect(now, kAddrB, 443);
        EXPECT_TRUE(id.has_value());
        c->id = *id;
        roles[id->index] = {*id, Role::tls, clients.size()};
        clients.push_back(std::move(c));
        return *clients.back();
    }

    HttpClient& add_http(Instant now, std::string request, std::uint16_t port = 80) {
        auto h = std::make_unique<HttpClient>();
        h->request = std::move(request);
        auto id = stack->connect(now, kAddrB, port);
        EXPECT_TRUE(id.has_value());
        h->id = *id;
        roles[id->index] = {*id, Role::http, http.size()};
        http.push_back(std::move(h));
        return *http.back();
    }

    void on_accept(tcp::ConnId id, std::uint16_t port) override {
        ++backend_accepted;
        if (port == kResponderPort) {
            roles[id.index] = {id, Role::respond, 0};
            respond_sent[id.index] = 0;
            return;
        }
        roles[id.index] = {id, Role::echo, 0};
        echo_ids.push_back(id);
    }
    void on_connected(tcp::ConnId id) override {
        auto* r = role(id);
        if (r == nullptr) return;
        if (r->role == Role::tls) {
            clients[r->index]->connected = true;
            pump_tls(*clients[r->index]);
        } else if (r->role == Role::http) {
            http[r->index]->connected = true;
            pump_http(*http[r->index]);
        }
    }
    void on_readable(tcp::ConnId id) override { dispatch(id); }
    void on_writable(tcp::ConnId id) override { dispatch(id); }
    void on_closed(tcp::ConnId id, tcp::CloseReason reason) override {
        auto* r = role(id);
        if (r == nullptr) return;
        if (r->role == Role::tls) {
            TlsClient& c = *clients[r->index];
            pump_tls(c);  // whatever is still readable
            c.closed = true;
            c.reason = reason;
            c.sent_digest = c.sent_hash.hex();
            c.received_digest = c.received_hash.hex();
        } else if (r->role == Role::http) {
            pump_http(*http[r->index]);
            http[r->index]->closed = true;
        }
        roles.erase(id.index);
    }

    void service() {
        for (auto& c : clients)
            if (c->connected && !c->closed) pump_tls(*c);
    }

  private:
    enum class Role { tls, http, echo, respond };
    struct RoleEntry {
        tcp::ConnId id;
        Role role;
        std::size_t index;
    };
    std::map<std::uint32_t, RoleEntry> roles;

    RoleEntry* role(tcp::ConnId id) {
        auto it = roles.find(id.index);
        return it == roles.end() || !(it->second.id == id) ? nullptr : &it->second;
    }
    void dispatch(tcp::ConnId id) {
        auto* r = role(id);
        if (r == nullptr) return;
        switch (r->role) {
            case Role::tls:
                return pump_tls(*clients[r->index]);
            case Role::http:
                return pump_http(*http[r->index]);
            case Role::echo:
                return echo(id);
            case Role::respond:
                return respond(id);
        }
    }

    // An HTTP/1.0-style backend: reads the request until the client's FIN,
    // then sends respond_len pattern bytes and closes.
    void respond(tcp::ConnId id) {
        for (ByteSpan d = stack->peek(id); !d.empty(); d = stack->peek(id)) {
            backend_bytes += d.size();
            stack->consume(id, static_cast<std::uint32_t>(d.size()));
        }
        const tcp::Connection* c = stack->find(id);
        if (c == nullptr || !c->recv_finished()) return;
        std::uint64_t& sent = respond_sent[id.index];
        while (sent < respond_len) {
            const std::size_t want =
                static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), respond_len - sent));
            fill_pattern(respond_seed, sent, std::span(buf.data(), want));
            const std::uint32_t n = stack->send(id, ByteSpan(buf.data(), want));
            sent += n;
            progress += n;
            if (n < want) return;  // on_writable resumes
        }
        stack->close(id);
    }
    std::map<std::uint32_t, std::uint64_t> respond_sent;

    // The backend: RFC 862 echo, FIN after the client's FIN.
    void echo(tcp::ConnId id) {
        for (ByteSpan d = stack->peek(id); !d.empty(); d = stack->peek(id)) {
            const std::uint32_t n = stack->send(id, d);
            stack->consume(id, n);
            backend_bytes += n;
            progress += n;
            if (n < d.size()) return;
        }
        const tcp::Connection* c = stack->find(id);
        if (c != nullptr && c->recv_finished()) stack->close(id);
    }

    void pump_tls(TlsClient& c) {
        if (!c.connected || c.closed) return;
        for (int round = 0; round < 64; ++round) {
            bool moved = false;
            const bool reading = !(c.hold_reading && c.close_sent);
            for (ByteSpan in = stack->peek(c.id); reading && !in.empty(); in = stack->peek(c.id)) {
                if (c.error || c.tls->peer_closed()) {
                    stack->consume(c.id, static_cast<std::uint32_t>(in.size()));
                    continue;
                }
                auto r = c.tls->receive(in);
                if (!r) {
                    c.error = r.error();  // the rest is dropped above, so close() is a FIN
                    continue;
                }
                if (*r == 0) break;
                c.track_records(in.first(*r));
                stack->consume(c.id, static_cast<std::uint32_t>(*r));
                moved = true;
            }
            while (c.tls->readable() != 0) {
                const std::size_t n = c.tls->read(MutableByteSpan(buf));
                c.received_hash.update(ByteSpan(buf.data(), n));
                if (c.text.size() < 4096)
                    c.text.append(reinterpret_cast<const char*>(buf.data()),
                                  std::min<std::size_t>(n, 4096 - c.text.size()));
                c.received += n;
                progress += n;
                moved = true;
            }
            // §6.1: answer the server's close_notify with ours (what
            // browsers and curl do), and write nothing more.
            if (c.tls->peer_closed() && !c.error && !c.close_sent) {
                ASSERT_TRUE(c.tls->close().has_value());
                c.close_sent = true;
                moved = true;
            }
            if (c.tls->handshake_complete() && !c.error && !c.close_sent) {
                if (!c.key_update_done && c.sent >= c.key_update_at) {
                    ASSERT_TRUE(c.tls->key_update(true).has_value());
                    c.key_update_done = true;
                }
                while (c.sent < c.to_send && c.tls->pending_output().size() < 64 * 1024) {
                    std::size_t want = static_cast<std::size_t>(
                        std::min<std::uint64_t>(buf.size(), c.to_send - c.sent));
                    if (!c.key_update_done && c.sent < c.key_update_at)
                        want = static_cast<std::size_t>(
                            std::min<std::uint64_t>(want, c.key_update_at - c.sent));
                    if (!c.key_update_done && c.sent >= c.key_update_at) break;
                    fill_pattern(c.seed, c.sent, std::span(buf.data(), want));
                    auto w = c.tls->write(ByteSpan(buf.data(), want));
                    if (!w || *w == 0) break;
                    c.sent_hash.update(ByteSpan(buf.data(), *w));
                    c.sent += *w;
                    progress += *w;
                    moved = true;
                }
                if (c.sent == c.to_send && c.close_after_send) {
                    ASSERT_TRUE(c.tls->close().has_value());
                    c.close_sent = true;
                    moved = true;
                }
            }
            const ByteSpan out = c.tls->pending_output();
            if (c.first_flight.empty()) c.first_flight.assign(out.begin(), out.end());
            if (!out.empty() && !c.fin_sent && !c.corrupted && c.sent >= c.corrupt_at &&
                c.sent > 0) {
                // The output ends with a whole record: flip a bit of its tag.
                std::vector<std::uint8_t> bad(out.begin(), out.end());
                bad.back() ^= 0x01;
                const tcp::Connection* tc = stack->find(c.id);
                if (tc != nullptr && tc->send_space() >= bad.size()) {
                    ASSERT_EQ(stack->send(c.id, bad), bad.size());
                    c.tls->consume_output(bad.size());
                    c.corrupted = true;
                    moved = true;
                }
            } else if (!out.empty() && !c.fin_sent) {
                const std::uint32_t n = stack->send(c.id, out);
                c.tls->consume_output(n);
                if (n != 0) moved = true;
            }
            // Done when the server closed (or failed) and our output is out.
            if (!c.fin_sent && (c.tls->peer_closed() || c.error) &&
                c.tls->pending_output().empty()) {
                stack->close(c.id);
                c.fin_sent = true;
            }
            if (!moved) break;
        }
    }

    void pump_http(HttpClient& h) {
        if (!h.connected || h.closed) return;
        if (h.sent < h.request.size()) {
            h.sent += stack->send(
                h.id, ByteSpan(reinterpret_cast<const std::uint8_t*>(h.request.data() + h.sent),
                               h.request.size() - h.sent));
        }
        for (ByteSpan d = stack->peek(h.id); !d.empty(); d = stack->peek(h.id)) {
            h.response.append(reinterpret_cast<const char*>(d.data()), d.size());
            stack->consume(h.id, static_cast<std::uint32_t>(d.size()));
        }
        const tcp::Connection* c = stack->find(h.id);
        if (c != nullptr && c->recv_finished() && !h.fin_sent) {
            stack->close(h.id);
            h.fin_sent = true;
        }
    }
};

// --- the two hosts and the loop ---

using Host = apps::WireHost;

Host make_host(drivers::Port& port, std::uint8_t n, tcp::TcpHandler& handler,
               std::uint32_t max_connections) {
    // msl 1 s: a short TIME-WAIT in simulated time.
    return apps::make_wire_host(port, {.n = n, .max_connections = max_connections}, handler);
}

struct ProxySetup {
    drivers::FaultConfig fault{};
    std::uint32_t max_sessions = 64;
    std::vector<std::uint16_t> backend_ports = {kBackendPort};
    std::vector<std::uint16_t> listening = {kBackendPort};  // on host A
    tls::KeyLogSink key_log;
    std::uint32_t handshakes_per_poll = ProxyOptions{}.handshakes_per_poll;
};

class Bench {
  public:
    explicit Bench(const ProxySetup& setup) {
        drivers::WireConfig wc;
        wc.a_to_b = setup.fault;
        wc.b_to_a = setup.fault;
        wc.seed = 5;
        wc.ring_size = 4096;
        wc.port.num_mbufs = 32767;
        auto w = drivers::RingWire::create(wc);
        EXPECT_TRUE(w) << w.error();
        wire = std::move(*w);

        options.credentials = &pki().creds;
        options.random = &proxy_random;
        options.max_sessions = setup.max_sessions;
        // Both crypto modes run the whole suite (meson: offload_proxy_inline).
        options.batch_crypto = env_bytes("L45_OFFLOAD_BATCH", 1) != 0;
        options.max_http_connections = 16;
        options.key_log = setup.key_log;
        options.handshakes_per_poll = setup.handshakes_per_poll;
        for (auto p : setup.backend_ports)
            options.backends.push_back({kAddrA, p});
        auto p = Proxy::create(options, kMaxConnections);
        EXPECT_TRUE(p) << p.error();
        proxy = std::move(*p);

        a = make_host(wire->a(), 1, app, kMaxConnections);
        b = make_host(wire->b(), 2, *proxy, kMaxConnections);
        app.stack = a.stack.get();
        a.ifc->start(clock.now());
        b.ifc->start(clock.now());
        for (auto port : setup.listening)
            EXPECT_TRUE(a.stack->listen(port, 256));
        auto started = proxy->start(*b.stack, clock.now());
        EXPECT_TRUE(started) << started.error();
    }
    ~Bench() {
        a.adapter->detach();
        b.adapter->detach();
    }

    // One round: the proxy's deadlines, both stacks, the wire, the clients.
    bool step() {
        clock.advance(idle ? kIdleStep : kStep);
        const Instant now = clock.now();
        proxy->poll(now);
        std::size_t frames = apps::service_once(wire->a(), 0, *a.ifc, now, a.stack.get());
        wire->pump(now);
        frames += apps::service_once(wire->b(), 0, *b.ifc, now, b.stack.get());
        wire->pump(now);
        app.service();
        idle = frames == 0;
        return frames != 0;
    }
    // Runs until `done` or `limit` of simulated time without progress.
    bool run_until(const std::function<bool()>& done, Duration limit = 20s) {
        Instant last = clock.now();
        std::uint64_t last_progress = app.progress;
        const auto wall_start = std::chrono::steady_clock::now();
        while (!done()) {
            step();
            if (app.progress != last_progress) {
                last_progress = app.progress;
                last = clock.now();
            } else if (clock.now() - last > limit) {
                dump();
                return false;
            }
            if (std::chrono::steady_clock::now() - wall_start > 150s) return false;
        }
        return true;
    }
    // What a stalled run looked like, for the failure message.
    void dump() const {
        for (std::size_t i = 0; i < app.clients.size(); ++i) {
            const auto& c = *app.clients[i];
            const tcp::Connection* tc = a.stack->find(c.id);
            std::printf(
                "[offload] client %zu: sent %llu/%llu received %llu hs %d closed %d "
                "close_sent %d peer_closed %d tcp %s\n",
                i, static_cast<unsigned long long>(c.sent),
                static_cast<unsigned long long>(c.to_send),
                static_cast<unsigned long long>(c.received), c.tls->handshake_complete(), c.closed,
                c.close_sent, c.tls->peer_closed(), tc ? tcp::to_string(tc->state()) : "gone");
        }
        auto tcp_line = [](const char* what, const tcp::Connection* tc) {
            if (tc == nullptr) return;
            std::printf(
                "[offload]   %s %s snd_wnd %u rcv_wnd %u unsent %u flight %u rx %u rto %lld ms\n",
                what, tcp::to_string(tc->state()), tc->snd_wnd(), tc->rcv_wnd(), tc->unsent_len(),
                tc->flight_len(), tc->recv_available(),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(tc->rto()).count()));
        };
        for (const auto* h : {&a, &b}) {
            const auto& k = h->stack->counters();
            std::printf(
                "[offload]   %s tcp: rtx %llu rto %llu ooo_q %llu ooo_drop %llu rxq_full %llu "
                "alloc_fail %llu bad_cksum %llu oow %llu probes %llu wire_ring_full %llu\n",
                h == &a ? "A" : "B", (unsigned long long)k.retransmits,
                (unsigned long long)k.rto_timeouts, (unsigned long long)k.ooo_queued,
                (unsigned long long)k.ooo_dropped, (unsigned long long)k.rx_queue_full,
                (unsigned long long)k.mbuf_alloc_failed, (unsigned long long)k.bad_checksum,
                (unsigned long long)k.out_of_window, (unsigned long long)k.window_probes,
                (unsigned long long)wire->counters().rx_ring_full);
            std::printf(
                "[offload]   %s paws %llu ack_range %llu chal %llu chal_supp %llu missing_ts "
                "%llu\n",
                h == &a ? "A" : "B", (unsigned long long)k.paws_rejected,
                (unsigned long long)k.ack_out_of_range, (unsigned long long)k.challenge_acks,
                (unsigned long long)k.challenge_acks_suppressed,
                (unsigned long long)k.missing_timestamp);
        }
        for (std::uint32_t i = 0; i < proxy->num_sessions(); ++i) {
            const auto& s = proxy->session(i);
            if (s.phase() == offload::TlsSession::Phase::idle) continue;
            std::printf("[offload]   session %u phase %d tls_out %zu readable %zu\n", i,
                        static_cast<int>(s.phase()), s.tls().pending_output().size(),
                        s.tls().readable());
            tcp_line("B client leg", b.stack->find(s.client().id));
            tcp_line("B backend leg", b.stack->find(s.backend().id));
            if (auto* tc = b.stack->find(s.backend().id))
                std::printf("[offload]     B backend rcv_nxt %u snd_una %u snd_nxt %u\n",
                            tc->rcv_nxt().value(), tc->snd_una().value(), tc->snd_nxt().value());
        }
        for (const auto& id : app.echo_ids)
            if (auto* tc = a.stack->find(id))
                std::printf("[offload]     A echo rcv_nxt %u snd_una %u snd_nxt %u\n",
                            tc->rcv_nxt().value(), tc->snd_una().value(), tc->snd_nxt().value());
        for (const auto& c : app.clients)
            tcp_line("A client", a.stack->find(c->id));
        for (const auto& id : app.echo_ids)
            tcp_line("A echo", a.stack->find(id));
        proxy->counters().for_each([](std::string_view name, std::uint64_t v) {
            if (v != 0)
                std::printf("[offload]   %.*s %llu\n", static_cast<int>(name.size()), name.data(),
                            static_cast<unsigned long long>(v));
        });
    }
    void run_for(Duration d) {
        const Instant end = clock.now() + d;
        while (clock.now() < end)
            step();
    }
    bool all_closed() const {
        for (auto& c : app.clients)
            if (!c->closed) return false;
        for (auto& h : app.http)
            if (!h->closed) return false;
        return true;
    }

    static constexpr std::uint32_t kMaxConnections = 512;
    ManualClock clock;
    std::unique_ptr<drivers::RingWire> wire;
    SeededRandom proxy_random{77};
    ProxyOptions options;
    std::unique_ptr<Proxy> proxy;
    HostA app;
    Host a, b;
    bool idle = false;
};

// An echoed transfer arrived whole and the close went the documented way:
// the proxy's close_notify (after the backend's FIN), then TCP closed.
void expect_clean_echo(const TlsClient& c) {
    EXPECT_FALSE(c.error) << tls::alert_name(c.error->alert);
    EXPECT_TRUE(c.closed);
    EXPECT_EQ(c.reason, tcp::CloseReason::kNormal) << tcp::to_string(c.reason);
    EXPECT_EQ(c.sent, c.to_send);
    EXPECT_EQ(c.received, c.to_send);
    EXPECT_EQ(c.received_digest, c.sent_digest);
    EXPECT_TRUE(c.tls->peer_closed()) << "no close_notify from the proxy";
}

TEST(OffloadProxy, LargeEchoThroughTlsIntegrity) {
    Bench t(ProxySetup{});
    const std::uint64_t len = env_bytes("L45_OFFLOAD_BYTES", 8ull << 20);
    TlsClient& c = t.app.add_client(t.clock.now(), 0, len, 1);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    expect_clean_echo(c);
    EXPECT_EQ(c.tls->negotiated().peer_certificates.at(0), pki().sites[0].leaf_der);
    EXPECT_EQ(t.app.backend_bytes, len);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.connections_accepted, 1u);
    EXPECT_EQ(k.handshakes_ok, 1u);
    EXPECT_EQ(k.handshakes_failed, 0u);
    EXPECT_EQ(k.bytes_in, len);
    EXPECT_EQ(k.bytes_out, len);
    EXPECT_GT(k.tls_bytes_in, len);  // records carry headers and tags
    EXPECT_GT(k.tls_bytes_out, len);
    EXPECT_EQ(k.close_notify_received, 1u);
    EXPECT_EQ(k.close_notify_sent, 1u);
    EXPECT_EQ(k.client_truncated, 0u);
    EXPECT_EQ(k.backend_connected, 1u);
    EXPECT_EQ(k.connections_active, 0u);
    EXPECT_TRUE(t.proxy->drained());
}

// tls.keylog_file: the proxy writes each session's secrets in the NSS
// format. They are checked against what the client derived on its own side
// (it decrypted the whole echo with them, so the file's lines decrypt the
// captured traffic too) and the client_random against the ClientHello the
// client put on the wire, which is how Wireshark matches a line to a session.
TEST(OffloadProxy, KeyLogFileHoldsEverySessionsSecrets) {
    namespace fs = std::filesystem;
    const fs::path path =
        fs::temp_directory_path() / ("l45_offload_keylog_" + std::to_string(::getpid()) + ".log");
    fs::remove(path);
    auto file = offload::KeyLogFile::open(path.string());
    ASSERT_TRUE(file) << file.error();
    ProxySetup s;
    s.key_log = (*file)->sink();
    {
        Bench t(s);
        TlsClient& a = t.app.add_client(t.clock.now(), 0, 3000, 21);
        TlsClient& b = t.app.add_client(t.clock.now(), 1, 3000, 22);
        ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
        expect_clean_echo(a);
        expect_clean_echo(b);

        std::ifstream in(path);
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);)
            lines.push_back(line);
        EXPECT_EQ(lines.size(), 10u);
        EXPECT_EQ((*file)->lines_written(), 10u);
        EXPECT_EQ((*file)->write_errors(), 0u);
        const std::set<std::string> labels = {
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"};
        for (const TlsClient* c : {&a, &b}) {
            // ClientHello record: 5 bytes of record header, 4 of handshake
            // header, 2 of legacy_version, then the 32-byte random (§4.1.2).
            ASSERT_GE(c->first_flight.size(), 43u);
            ASSERT_EQ(c->first_flight[0], 22u);  // handshake
            ASSERT_EQ(c->first_flight[5], 1u);   // client_hello
            std::string random_hex;
            for (std::size_t i = 11; i < 43; ++i) {
                static const char* k = "0123456789abcdef";
                random_hex += k[c->first_flight[i] >> 4];
                random_hex += k[c->first_flight[i] & 15];
            }
            ASSERT_EQ(c->key_log.size(), 5u);
            std::set<std::string> seen;
            for (const std::string& line : c->key_log) {
                const auto sp1 = line.find(' ');
                const auto sp2 = line.find(' ', sp1 + 1);
                ASSERT_NE(sp2, std::string::npos) << line;
                seen.insert(line.substr(0, sp1));
                EXPECT_EQ(line.substr(sp1 + 1, sp2 - sp1 - 1), random_hex) << line;
                // The proxy logged exactly the secret the client derived.
                EXPECT_EQ(std::count(lines.begin(), lines.end(), line), 1) << line;
            }
            EXPECT_EQ(seen, labels);
        }
        EXPECT_EQ(fs::status(path).permissions() & fs::perms::all,
                  fs::perms::owner_read | fs::perms::owner_write);
    }
    file->reset();
    fs::remove(path);
}

TEST(OffloadProxy, SniChoosesTheCertificate) {
    Bench t(ProxySetup{});
    TlsClient& a = t.app.add_client(t.clock.now(), 0, 1000, 2);
    TlsClient& b = t.app.add_client(t.clock.now(), 1, 1000, 3);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    expect_clean_echo(a);
    expect_clean_echo(b);
    // Each verified its chain against its own CA for its own name; and the
    // leaf is the one configured for that name (not the default).
    EXPECT_EQ(a.tls->negotiated().peer_certificates.at(0), pki().sites[0].leaf_der);
    EXPECT_EQ(b.tls->negotiated().peer_certificates.at(0), pki().sites[1].leaf_der);
    EXPECT_NE(pki().sites[0].leaf_der, pki().sites[1].leaf_der);
    EXPECT_EQ(t.proxy->counters().handshakes_ok, 2u);
}

TEST(OffloadProxy, BackendDownGives502ThenServesAgain) {
    ProxySetup s;
    s.listening = {};  // the backend is down: its port answers SYNs with RST
    Bench t(s);
    TlsClient& c1 = t.app.add_client(t.clock.now(), 0, 100, 4);
    c1.close_after_send = false;  // a client that waits for the response
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    EXPECT_FALSE(c1.error);
    EXPECT_EQ(c1.reason, tcp::CloseReason::kNormal);
    EXPECT_TRUE(c1.tls->peer_closed()) << "502 must end with close_notify";
    EXPECT_EQ(c1.text.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0), 0u) << c1.text;
    EXPECT_EQ(c1.text, t.options.no_backend_response);
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.backend_refused, 1u);
    EXPECT_EQ(k.backend_marked_down, 1u);
    EXPECT_EQ(k.backend_unavailable, 1u);

    // The backend comes back, but stays marked down for the interval: the
    // next client gets the 502 without a new SYN to it.
    ASSERT_TRUE(t.a.stack->listen(kBackendPort, 64));
    TlsClient& c2 = t.app.add_client(t.clock.now(), 0, 100, 5);
    c2.close_after_send = false;
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    EXPECT_EQ(c2.text, t.options.no_backend_response);
    EXPECT_EQ(k.backend_connects, 1u);
    EXPECT_EQ(k.backend_unavailable, 2u);

    // After the interval it is tried again and works; l45 kept serving.
    t.run_for(t.options.backend_down_interval);
    TlsClient& c3 = t.app.add_client(t.clock.now(), 0, 50000, 6);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    expect_clean_echo(c3);
    EXPECT_EQ(k.backend_connects, 2u);
    EXPECT_EQ(k.backend_connected, 1u);
    EXPECT_EQ(k.handshakes_ok, 3u);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
}

TEST(OffloadProxy, RefusingBackendIsSkippedRoundRobin) {
    ProxySetup s;
    s.backend_ports = {kBackendPort2, kBackendPort};  // 8081 is down
    s.listening = {kBackendPort};
    Bench t(s);
    TlsClient& c1 = t.app.add_client(t.clock.now(), 0, 20000, 7);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    expect_clean_echo(c1);
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.backend_refused, 1u);  // 8081 first, then 8080
    EXPECT_EQ(k.backend_connects, 2u);
    EXPECT_FALSE(t.proxy->backends().up(0, t.clock.now()));
    EXPECT_TRUE(t.proxy->backends().up(1, t.clock.now()));
    // Three more: 8081 is skipped while down, so one SYN each.
    for (std::uint64_t i = 0; i < 3; ++i)
        t.app.add_client(t.clock.now(), 0, 3000, 8 + i);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    for (auto& c : t.app.clients)
        expect_clean_echo(*c);
    EXPECT_EQ(k.backend_connects, 5u);
    EXPECT_EQ(k.backend_refused, 1u);
    EXPECT_EQ(t.app.backend_accepted, 4u);
}

// The client half-closes first (request, close_notify), so the proxy FINs
// the backend, which then streams its response and FINs: the backend leg
// ends (both FINs) while response bytes still wait for the client's window.
TEST(OffloadProxy, ResponseAfterClientCloseNotifyArrivesWhole) {
    ProxySetup s;
    s.backend_ports = {kResponderPort};
    s.listening = {kResponderPort};
    Bench t(s);
    // More than the client's and the proxy's buffers hold while the client
    // does not read (TCP windows 256 KiB each way, TLS output high water),
    // less than those plus the backend leg's receive window.
    t.app.respond_len = 800 * 1024;
    t.app.respond_seed = 99;
    TlsClient& c = t.app.add_client(t.clock.now(), 1, 3000, 11);
    c.hold_reading = true;
    t.run_for(1500ms);  // less than TIME-WAIT (2 MSL = 2 s here)
    // The backend leg has ended (both FINs) with response bytes unread: the
    // stack holds its close (TcpStack's deferred close) until the proxy has
    // read them, so the proxy never sees a close with a tail left behind.
    EXPECT_EQ(t.proxy->counters().backend_tails, 0u);
    EXPECT_EQ(t.proxy->counters().backend_tail_lost, 0u);
    c.hold_reading = false;
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    Sha256 want;
    std::vector<std::uint8_t> chunk(64 * 1024);
    for (std::uint64_t off = 0; off < t.app.respond_len; off += chunk.size()) {
        const std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(chunk.size(), t.app.respond_len - off));
        fill_pattern(t.app.respond_seed, off, std::span(chunk.data(), n));
        want.update(ByteSpan(chunk.data(), n));
    }
    EXPECT_FALSE(c.error);
    EXPECT_EQ(c.reason, tcp::CloseReason::kNormal);
    EXPECT_EQ(c.received, t.app.respond_len);
    EXPECT_EQ(c.received_digest, want.hex());
    EXPECT_TRUE(c.tls->peer_closed());
    EXPECT_EQ(t.app.backend_bytes, 3000u);
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.backend_tail_lost, 0u);
    EXPECT_EQ(k.close_notify_received, 1u);
    EXPECT_EQ(k.close_notify_sent, 1u);
    EXPECT_EQ(k.bytes_out, t.app.respond_len);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
}

// Same, but the client stalls past the backend leg's TIME-WAIT: the bytes
// still in it are gone with the slot. The client must then see a reset,
// never a close_notify after a cut response.
TEST(OffloadProxy, LostBackendTailResetsTheClient) {
    ProxySetup s;
    s.backend_ports = {kResponderPort};
    s.listening = {kResponderPort};
    Bench t(s);
    // All of it must leave the backend (so that its leg ends), with more
    // left in the backend leg than the proxy takes at its close
    // (TlsSession::kTxSlots records): more than the client's window (256
    // KiB), the proxy's sealed records (kUnsentHighWater, kTxHighWater) and
    // kTxSlots records, less than the first two plus the backend leg's
    // receive window (256 KiB).
    t.app.respond_len = 500 * 1024;
    t.app.respond_seed = 98;
    TlsClient& c = t.app.add_client(t.clock.now(), 1, 3000, 12);
    c.hold_reading = true;
    t.run_for(3s);
    EXPECT_EQ(t.proxy->counters().backend_tails, 1u);
    c.hold_reading = false;
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    EXPECT_EQ(t.proxy->counters().backend_tail_lost, 1u);
    EXPECT_EQ(c.reason, tcp::CloseReason::kReset);
    EXPECT_FALSE(c.tls->peer_closed()) << "close_notify after a truncated response";
    EXPECT_LT(c.received, t.app.respond_len);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
}

// --- the zero-copy record path (TlsSession over RecordQueue) ---

// The client asks for a KeyUpdate in the middle of a stream: the proxy's
// fast path hands the record to tls::Connection, which switches its read key
// and queues its own KeyUpdate; that record must reach the client before
// any record sealed with the new key (else the client could not open them).
// close_notify also arrives as a control record through the fast path.
TEST(OffloadProxy, KeyUpdateMidStreamBothWays) {
    Bench t(ProxySetup{});
    const std::uint64_t len = env_bytes("L45_OFFLOAD_CONN_BYTES", 256 * 1024) * 4;
    TlsClient& c = t.app.add_client(t.clock.now(), 0, len, 21);
    c.key_update_at = len / 2;
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    expect_clean_echo(c);
    EXPECT_TRUE(c.key_update_done);
    EXPECT_EQ(c.tls->write_key_generation(), 1u);
    EXPECT_EQ(c.tls->read_key_generation(), 1u);  // the proxy answered
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.bytes_in, len);
    EXPECT_EQ(k.bytes_out, len);
    EXPECT_GE(k.records_control, 2u);  // KeyUpdate, close_notify
    EXPECT_EQ(k.close_notify_received, 1u);
    EXPECT_EQ(k.alerts_sent, 0u);
}

// A record whose tag does not verify: bad_record_mac to the client, the
// backend gets nothing of it (no plaintext before its tag verified).
TEST(OffloadProxy, BadTagIsBadRecordMacAndNothingIsForwarded) {
    Bench t(ProxySetup{});
    TlsClient& c = t.app.add_client(t.clock.now(), 0, 1000, 22);
    c.corrupt_at = 0;  // the first application record
    c.close_after_send = false;
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    EXPECT_TRUE(c.corrupted);
    ASSERT_TRUE(c.error.has_value());
    EXPECT_EQ(c.error->alert, tls::Alert::bad_record_mac);
    EXPECT_EQ(c.error->origin, tls::ErrorOrigin::peer);
    EXPECT_EQ(t.app.backend_bytes, 0u);
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.bytes_in, 0u);
    EXPECT_EQ(k.alerts_sent, 1u);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
}

// Record sizes follow the client leg's congestion window: the first records
// of a response fit one segment, bulk uses full 16 KiB records.
TEST(OffloadProxy, FirstRecordsFitASegmentBulkUsesFullRecords) {
    ProxySetup s;
    s.backend_ports = {kResponderPort};
    s.listening = {kResponderPort};
    Bench t(s);
    t.app.respond_len = 2 * 1024 * 1024;
    t.app.respond_seed = 97;
    TlsClient& c = t.app.add_client(t.clock.now(), 0, 100, 23);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    EXPECT_FALSE(c.error);
    EXPECT_EQ(c.received, t.app.respond_len);
    // By size only (every protected record is type 23 on the wire): a full
    // record is 2^14 + 1 + 16 bytes long.
    constexpr std::uint16_t kFull = 16384 + 1 + 16;
    const std::uint16_t kSegment = 1460;  // the wire's MSS
    std::size_t first_full = c.record_lens.size(), num_full = 0;
    for (std::size_t i = 0; i < c.record_lens.size(); ++i) {
        if (c.record_lens[i] == kFull) {
            ++num_full;
            first_full = std::min(first_full, i);
        }
    }
    ASSERT_LT(first_full, c.record_lens.size());
    // Before the first full record: at least kSmallRecordsAtStart records
    // that fit a segment with their header (the handshake records before
    // them are fine either way).
    std::size_t small_before = 0;
    for (std::size_t i = 0; i < first_full; ++i)
        if (c.record_lens[i] + tls::kRecordHeaderLen <= kSegment) ++small_before;
    EXPECT_GE(small_before, offload::TlsSession::kSmallRecordsAtStart);
    // Bulk: nearly all bytes in full records.
    EXPECT_GE(num_full * 16384, t.app.respond_len * 9 / 10);
    EXPECT_GE(t.proxy->counters().records_small, offload::TlsSession::kSmallRecordsAtStart);
}

TEST(OffloadProxy, ClientRejectingTheCertificateFailsOnlyItsHandshake) {
    ProxySetup s;
    Bench t(s);
    // Asks for a.l45.test but trusts only b's CA: unknown_ca from the client.
    TlsClient& bad = t.app.add_client(t.clock.now(), 0, 100, 13, 1);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    ASSERT_TRUE(bad.error.has_value());
    EXPECT_EQ(bad.error->alert, tls::Alert::unknown_ca);
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.handshakes_failed, 1u);
    EXPECT_EQ(k.alerts_received, 1u);
    EXPECT_EQ(k.backend_connects, 0u);  // no backend for a failed handshake
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
    // The next client is served (the session went back to the pool).
    TlsClient& good = t.app.add_client(t.clock.now(), 0, 5000, 14);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    expect_clean_echo(good);
}

TEST(OffloadProxy, SilentClientIsResetAtTheHandshakeTimeout) {
    Bench t(ProxySetup{});
    HttpClient& silent = t.app.add_http(t.clock.now(), "", 443);  // TCP only, no ClientHello
    t.run_for(t.options.handshake_timeout - 1s);
    EXPECT_FALSE(silent.closed);
    EXPECT_EQ(t.proxy->sessions_in_use(), 1u);
    t.run_for(2s);
    EXPECT_TRUE(silent.closed);
    EXPECT_EQ(t.proxy->counters().handshake_timeouts, 1u);
    EXPECT_EQ(t.proxy->counters().handshakes_failed, 1u);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
}

TEST(OffloadProxy, HttpRedirectOnPort80) {
    Bench t(ProxySetup{});
    HttpClient& ok = t.app.add_http(
        t.clock.now(),
        "GET /some/path?q=1 HTTP/1.1\r\nHost: www.l45.test:80\r\nAccept: */*\r\n\r\n");
    HttpClient& bad = t.app.add_http(t.clock.now(), "GET /x HTTP/1.1\r\nAccept: */*\r\n\r\n");
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    EXPECT_EQ(ok.response,
              "HTTP/1.1 301 Moved Permanently\r\n"
              "Location: https://www.l45.test/some/path?q=1\r\n"
              "Content-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(bad.response.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << bad.response;
    EXPECT_EQ(t.proxy->counters().redirects, 1u);
    EXPECT_EQ(t.proxy->counters().http_bad_requests, 1u);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->http_in_use() == 0; }));
}

TEST(OffloadProxy, FiftyConcurrentConnections) {
    Bench t(ProxySetup{});
    const std::uint64_t len = env_bytes("L45_OFFLOAD_CONN_BYTES", 64 * 1024);
    for (std::uint64_t i = 0; i < 50; ++i)
        t.app.add_client(t.clock.now(), i % 2, len + i * 1000, 100 + i);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    for (auto& c : t.app.clients)
        expect_clean_echo(*c);
    EXPECT_EQ(t.proxy->counters().handshakes_ok, 50u);
    EXPECT_EQ(t.proxy->counters().sessions_exhausted, 0u);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
}

// Issue 5 item 2: the asymmetric handshake work must not stall the bulk
// path. A burst of handshakes arrives while one client streams: the proxy
// queues each handshake step and runs one per poll, and the stream keeps
// moving in the iterations between them.
TEST(OffloadProxy, HandshakeBurstIsDeferredWhileBulkKeepsMoving) {
    ProxySetup s;
    s.handshakes_per_poll = 1;
    Bench t(s);
    const auto& k = t.proxy->counters();
    TlsClient& bulk = t.app.add_client(t.clock.now(), 0, 1ull << 40, 600);  // stopped below
    bulk.close_after_send = false;
    ASSERT_TRUE(t.run_until([&] { return bulk.received >= 256 * 1024; }));
    ASSERT_EQ(k.handshakes_ok, 1u);

    constexpr std::uint64_t kBurst = 24;
    for (std::uint64_t i = 0; i < kBurst; ++i)
        t.app.add_client(t.clock.now(), i % 2, 2000, 700 + i);
    const std::uint64_t bulk_before = bulk.received;
    std::uint64_t max_per_poll = 0, polls_with_handshake = 0, polls_with_both = 0;
    for (int steps = 0; k.handshakes_ok < 1 + kBurst; ++steps) {
        ASSERT_LT(steps, 100000) << "the burst did not complete";
        const std::uint64_t run_before = k.handshake_steps_run;
        const std::uint64_t received_before = bulk.received;
        t.step();
        const std::uint64_t run = k.handshake_steps_run - run_before;
        max_per_poll = std::max(max_per_poll, run);
        if (run == 0) continue;
        ++polls_with_handshake;
        if (bulk.received > received_before) ++polls_with_both;
    }
    std::printf(
        "[offload] burst of %llu: %llu polls ran a handshake step, bulk moved in %llu of them, "
        "%llu bytes during the burst, FIFO depth up to %llu\n",
        static_cast<unsigned long long>(kBurst),
        static_cast<unsigned long long>(polls_with_handshake),
        static_cast<unsigned long long>(polls_with_both),
        static_cast<unsigned long long>(bulk.received - bulk_before),
        static_cast<unsigned long long>(k.handshake_queue_max));
    // One step per poll at most, so the burst's steps (a ClientHello and a
    // Finished per client at least) took at least 2 * kBurst polls ...
    EXPECT_EQ(max_per_poll, 1u);
    EXPECT_GE(polls_with_handshake, 2 * kBurst);
    EXPECT_GE(k.handshake_steps_deferred, 2 * kBurst);
    EXPECT_GE(k.handshake_queue_max, kBurst / 2) << "the burst never queued";
    EXPECT_GT(k.handshake_polls_full, 0u);
    // ... and the stream was pumped in between, in most of those polls.
    EXPECT_GE(polls_with_both, polls_with_handshake / 2);
    EXPECT_GT(bulk.received - bulk_before, 256u * 1024);

    // Everyone finishes whole: the stream stops at what it has sent.
    bulk.to_send = bulk.sent;
    bulk.close_after_send = true;
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    for (auto& c : t.app.clients)
        expect_clean_echo(*c);
    EXPECT_EQ(t.proxy->handshakes_queued(), 0u);
    ASSERT_TRUE(t.run_until([&] { return t.proxy->sessions_in_use() == 0; }));
}

// handshakes_per_poll = 0: the handshake runs in the stack's callback, as
// before the FIFO; nothing is queued.
TEST(OffloadProxy, InlineHandshakesWhenDeferralIsOff) {
    ProxySetup s;
    s.handshakes_per_poll = 0;
    Bench t(s);
    for (std::uint64_t i = 0; i < 4; ++i)
        t.app.add_client(t.clock.now(), i % 2, 5000, 800 + i);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    for (auto& c : t.app.clients)
        expect_clean_echo(*c);
    EXPECT_EQ(t.proxy->counters().handshakes_ok, 4u);
    EXPECT_EQ(t.proxy->counters().handshake_steps_deferred, 0u);
}

TEST(OffloadProxy, SessionsExhaustedResetsTheExtraClient) {
    ProxySetup s;
    s.max_sessions = 2;
    Bench t(s);
    for (std::uint64_t i = 0; i < 3; ++i) {
        TlsClient& c = t.app.add_client(t.clock.now(), 0, 1000, 200 + i);
        c.close_after_send = false;  // hold the session open
    }
    ASSERT_TRUE(t.run_until([&] { return t.app.clients[2]->closed; }));
    EXPECT_EQ(t.app.clients[2]->reason, tcp::CloseReason::kReset);
    EXPECT_EQ(t.proxy->counters().sessions_exhausted, 1u);
    EXPECT_EQ(t.proxy->sessions_in_use(), 2u);
    // The two sessions still work.
    ASSERT_TRUE(t.run_until(
        [&] { return t.app.clients[0]->received == 1000 && t.app.clients[1]->received == 1000; }));
}

TEST(OffloadProxy, OnePercentLossKeepsIntegrity) {
    ProxySetup s;
    s.fault.drop_rate = 0.01;
    Bench t(s);
    const std::uint64_t len = env_bytes("L45_OFFLOAD_LOSS_BYTES", 2ull << 20);
    for (std::uint64_t i = 0; i < 4; ++i)
        t.app.add_client(t.clock.now(), i % 2, len, 300 + i);
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }, 60s));
    for (auto& c : t.app.clients)
        expect_clean_echo(*c);
    EXPECT_GT(t.wire->a_to_b()->counters().dropped + t.wire->b_to_a()->counters().dropped, 0u);
    EXPECT_EQ(t.proxy->counters().handshakes_ok, 4u);
}

TEST(OffloadProxy, GracefulShutdownSendsCloseNotify) {
    Bench t(ProxySetup{});
    for (std::uint64_t i = 0; i < 3; ++i) {
        TlsClient& c = t.app.add_client(t.clock.now(), 0, 1ull << 40, 400 + i);  // "forever"
        c.close_after_send = false;
    }
    ASSERT_TRUE(t.run_until([&] {
        for (auto& c : t.app.clients)
            if (c->received < 100000) return false;
        return true;
    }));
    t.proxy->shutdown(t.clock.now());
    ASSERT_TRUE(t.run_until([&] { return t.all_closed() && t.proxy->drained(); }));
    for (auto& c : t.app.clients) {
        EXPECT_FALSE(c->error);
        EXPECT_TRUE(c->tls->peer_closed()) << "no close_notify";
        EXPECT_EQ(c->reason, tcp::CloseReason::kNormal) << tcp::to_string(c->reason);
    }
    const auto& k = t.proxy->counters();
    EXPECT_EQ(k.close_notify_sent, 3u);
    EXPECT_EQ(k.linger_timeouts, 0u);
    // No new client is taken after shutdown: the port is closed (RST).
    TlsClient& late = t.app.add_client(t.clock.now(), 0, 10, 500);
    ASSERT_TRUE(t.run_until([&] { return late.closed; }));
    EXPECT_EQ(late.reason, tcp::CloseReason::kRefused);
}

// --- several lcores (lcores.h) ---
//
// Host B is l45-offload with one lcore per TLS queue: queues 1..3 TLS,
// queue 0 control, on a 4-queue net_ring wire whose software RSS plays the
// NIC (a virtual PMD: software steering, so the control side polls every
// queue and dispatches). Host A is the same clients and echo backend as
// above, its one stack polling all four of its queues. One thread drives
// everything with the manual clock, each lcore's iteration in turn.
class LcoresBench {
  public:
    static constexpr std::uint16_t kQueues = 4;
    static constexpr std::uint32_t kMaxConnections = 512;

    LcoresBench() {
        drivers::WireConfig wc;
        wc.num_queues = kQueues;
        wc.rss = true;
        wc.seed = 9;
        wc.ring_size = 4096;
        wc.port.num_mbufs = 32767;
        auto w = drivers::RingWire::create(wc);
        EXPECT_TRUE(w) << w.error();
        wire = std::move(*w);
        a = make_host(wire->a(), 1, app, kMaxConnections);
        app.stack = a.stack.get();

        drivers::SteeringConfig sc;
        sc.tls_ports = {443, 80};
        sc.tls_queues = {1, 2, 3};
        sc.control_queue = 0;
        sc.num_rx_queues = kQueues;
        sc.local_ip = kAddrB;
        auto classifier = drivers::SoftwareClassifier::create(sc);
        EXPECT_TRUE(classifier) << classifier.error();

        offload::LcoresConfig lc;
        lc.tls_queues = sc.tls_queues;
        lc.control_queue = 0;
        lc.dispatch_all = true;
        lc.iface.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, 2}};
        lc.iface.ip = kAddrB;
        lc.iface.prefix_len = 24;
        lc.tcp.local_addr = kAddrB;
        lc.tcp.max_connections = kMaxConnections;
        lc.tcp.tcp.msl = 1s;
        lc.proxy.credentials = &pki().creds;
        lc.proxy.max_sessions = 16;
        lc.proxy.max_http_connections = 4;
        lc.proxy.backends = {{kAddrA, kBackendPort}};
        lc.seed = 77;
        auto l = offload::OffloadLcores::create(wire->b(), *classifier, lc);
        EXPECT_TRUE(l) << l.error();
        lcores = std::move(*l);

        a.ifc->start(clock.now());
        // The clients' host knows B already: its hold queue (4 frames per
        // unresolved neighbour) would drop the SYNs of a burst of clients
        // and cost them an RTO. B's lcores resolve A themselves (their ARP
        // replies reach the control side, which feeds them the binding).
        a.ifc->learn_neighbour(clock.now(), kAddrB, rte_ether_addr{{0x02, 0, 0, 0, 0, 2}});
        EXPECT_TRUE(a.stack->listen(kBackendPort, 256));
        auto started = lcores->start(clock.now());
        EXPECT_TRUE(started) << started.error();
    }
    ~LcoresBench() {
        lcores.reset();
        a.adapter->detach();
    }

    void step() {
        clock.advance(kStep);
        const Instant now = clock.now();
        for (std::uint16_t q = 0; q < kQueues; ++q)
            apps::service_once(wire->a(), q, *a.ifc, now, a.stack.get());
        wire->pump(now);
        lcores->poll_control(now);
        for (std::uint16_t k = 0; k < lcores->num_lcores(); ++k)
            lcores->poll_lcore(k, now);
        wire->pump(now);
        app.service();
    }
    bool run_until(const std::function<bool()>& done, Duration limit = 20s) {
        Instant last = clock.now();
        std::uint64_t last_progress = app.progress;
        const auto wall_start = std::chrono::steady_clock::now();
        while (!done()) {
            step();
            if (app.progress != last_progress) {
                last_progress = app.progress;
                last = clock.now();
            } else if (clock.now() - last > limit) {
                return false;
            }
            if (std::chrono::steady_clock::now() - wall_start > 150s) return false;
        }
        return true;
    }
    bool all_closed() const {
        for (auto& c : app.clients)
            if (!c->closed) return false;
        return true;
    }

    ManualClock clock;
    std::unique_ptr<drivers::RingWire> wire;
    HostA app;
    Host a;
    std::unique_ptr<offload::OffloadLcores> lcores;
};

TEST(OffloadLcores, ConnectionsSpreadOverThreeTlsLcoresWithIntegrity) {
    LcoresBench t;
    const std::uint64_t len = env_bytes("L45_OFFLOAD_CONN_BYTES", 64 * 1024);
    constexpr std::uint64_t kClients = 36;
    for (std::uint64_t i = 0; i < kClients; ++i)
        t.app.add_client(t.clock.now(), i % 2, len + i * 777, 900 + i);
    const Instant began = t.clock.now();
    ASSERT_TRUE(t.run_until([&] { return t.all_closed(); }));
    std::printf("[offload] %llu clients done in %.3f s of simulated time\n",
                static_cast<unsigned long long>(kClients),
                std::chrono::duration<double>(t.clock.now() - began).count());
    for (auto& c : t.app.clients)
        expect_clean_echo(*c);
    ASSERT_TRUE(t.run_until([&] {
        for (std::uint16_t k = 0; k < t.lcores->num_lcores(); ++k)
            if (t.lcores->proxy(k).sessions_in_use() != 0) return false;
        return true;
    }));

    // Every lcore served some; together, every client once.
    std::uint64_t handshakes = 0, backend_bytes = 0;
    for (std::uint16_t k = 0; k < t.lcores->num_lcores(); ++k) {
        const auto& p = t.lcores->proxy(k).counters();
        std::printf(
            "[offload] lcore %u: accepted %llu handshakes %llu backends %llu bytes in %llu, "
            "frames handed over %llu\n",
            k, static_cast<unsigned long long>(p.connections_accepted),
            static_cast<unsigned long long>(p.handshakes_ok),
            static_cast<unsigned long long>(p.backend_connected),
            static_cast<unsigned long long>(p.bytes_in),
            static_cast<unsigned long long>(t.lcores->handed_back(k)));
        EXPECT_GT(p.handshakes_ok, 0u) << "lcore " << k << " served nobody";
        EXPECT_EQ(p.backend_connected, p.handshakes_ok) << "lcore " << k;
        EXPECT_EQ(p.handshakes_failed, 0u);
        // Nothing reached a stack that does not hold its connection.
        EXPECT_EQ(t.lcores->stack(k).counters().no_connection, 0u) << "lcore " << k;
        handshakes += p.handshakes_ok;
        backend_bytes += p.bytes_in;
    }
    EXPECT_EQ(handshakes, kClients);
    EXPECT_EQ(backend_bytes, t.app.backend_bytes);
    EXPECT_EQ(t.lcores->handback_dropped(), 0u);
    // ARP went to the control side alone, and it fed the TLS lcores.
    EXPECT_GT(t.lcores->control_interface().counters().arp_rx, 0u);

    // The summed counters, as telemetry and the stats line see them.
    t.lcores->stop();
    offload::StatsBoard total;
    t.lcores->publish_sum(total);
    const offload::StatsSample s = offload::sample(t.clock.now(), total);
    EXPECT_EQ(s.handshakes, kClients);
    EXPECT_EQ(s.connections, kClients);
    EXPECT_EQ(s.active, 0u);
}

TEST(OffloadLcores, GracefulShutdownOfEveryLcore) {
    LcoresBench t;
    for (std::uint64_t i = 0; i < 6; ++i) {
        TlsClient& c = t.app.add_client(t.clock.now(), i % 2, 1ull << 40, 950 + i);  // "forever"
        c.close_after_send = false;
    }
    ASSERT_TRUE(t.run_until([&] {
        for (auto& c : t.app.clients)
            if (c->received < 50000) return false;
        return true;
    }));
    EXPECT_FALSE(t.lcores->drained());
    t.lcores->request_shutdown();
    ASSERT_TRUE(t.run_until([&] { return t.all_closed() && t.lcores->drained(); }));
    std::uint64_t close_notify = 0;
    for (std::uint16_t k = 0; k < t.lcores->num_lcores(); ++k)
        close_notify += t.lcores->proxy(k).counters().close_notify_sent;
    EXPECT_EQ(close_notify, 6u);
    for (auto& c : t.app.clients) {
        EXPECT_FALSE(c->error);
        EXPECT_TRUE(c->tls->peer_closed()) << "no close_notify";
        EXPECT_EQ(c->reason, tcp::CloseReason::kNormal) << tcp::to_string(c->reason);
    }
}

// The backend ports of TLS lcore k (of n) are exactly the p with p mod n = k,
// and the dispatch sends a backend's reply to that lcore, a TLS port's frame
// to the lcore of the classifier's queue, and the rest to control.
TEST(OffloadLcores, BackendPortsBringRepliesHome) {
    struct NullSink final : tcp::SegmentSink {
        void send_segment(Instant, net::Ipv4Addr, net::Ipv4Addr, MbufPtr) override {}
    } sink;
    tcp::TcpHandler handler;
    SeededRandom random(3);
    tcp::TcpStackConfig tc;
    tc.local_addr = kAddrB;
    tc.max_connections = 8;
    tcp::TcpStack stack(tc, sink, test::pktmbuf_pool(), random, handler);
    tcp::FourTuple tuple;
    tuple.local.addr = kAddrB;
    tuple.remote.addr = kAddrA;
    tuple.remote.port = kBackendPort;
    for (std::uint16_t n : {1, 2, 3, 4, 7}) {
        for (std::uint16_t k = 0; k < n; ++k) {
            offload::BackendPortChooser chooser(k, n);
            std::set<std::uint16_t> seen;
            std::size_t count = 0;  // ports of the range with p mod n = k
            for (std::uint32_t p = offload::kBackendFirstPort;
                 p < offload::kBackendFirstPort + offload::kBackendNumPorts; ++p)
                count += p % n == k ? 1 : 0;
            for (std::size_t i = 0; i < 300; ++i) {
                std::uint16_t port = 0;
                ASSERT_TRUE(chooser.choose(stack, tuple, port));
                EXPECT_EQ(port % n, k);
                EXPECT_GE(port, offload::kBackendFirstPort);
                EXPECT_EQ(offload::backend_port_owner(port, n), k);
                seen.insert(port);
            }
            EXPECT_EQ(seen.size(), std::min<std::size_t>(300, count));
        }
    }
    EXPECT_EQ(offload::backend_port_owner(1234, 3), offload::kControl);
    EXPECT_EQ(offload::backend_port_owner(49152, 0), offload::kControl);

    drivers::SteeringConfig sc;
    sc.tls_ports = {443};
    sc.tls_queues = {1, 2, 3};
    sc.num_rx_queues = 4;
    sc.local_ip = kAddrB;
    auto classifier = drivers::SoftwareClassifier::create(sc);
    ASSERT_TRUE(classifier) << classifier.error();
    const offload::LcoreDispatch dispatch(*classifier, sc.tls_queues, kAddrB);
    // Ethernet + IPv4 (20 bytes) + the TCP ports.
    const auto frame = [](net::Ipv4Addr src, net::Ipv4Addr dst, std::uint8_t protocol,
                          std::uint16_t sport, std::uint16_t dport) {
        std::vector<std::uint8_t> f(14 + 20 + 20, 0);
        f[12] = 0x08;
        f[14] = 0x45;
        f[14 + 9] = protocol;
        for (int i = 0; i < 4; ++i) {
            f[14 + 12 + i] = static_cast<std::uint8_t>(src.value >> (24 - 8 * i));
            f[14 + 16 + i] = static_cast<std::uint8_t>(dst.value >> (24 - 8 * i));
        }
        f[34] = static_cast<std::uint8_t>(sport >> 8);
        f[35] = static_cast<std::uint8_t>(sport);
        f[36] = static_cast<std::uint8_t>(dport >> 8);
        f[37] = static_cast<std::uint8_t>(dport);
        return f;
    };
    for (std::uint16_t p = 49152; p < 49152 + 30; ++p) {
        EXPECT_EQ(dispatch.lcore_of(frame(kAddrA, kAddrB, 6, kBackendPort, p)), p % 3);
        EXPECT_EQ(dispatch.lcore_of(frame(kAddrA, kAddrA, 6, kBackendPort, p)), offload::kControl);
        EXPECT_EQ(dispatch.lcore_of(frame(kAddrA, kAddrB, 17, kBackendPort, p)), offload::kControl);
    }
    EXPECT_EQ(dispatch.lcore_of(frame(kAddrA, kAddrB, 6, 80, 1000)), offload::kControl);
    std::set<std::uint16_t> tls_lcores;
    for (std::uint16_t sport = 30000; sport < 30100; ++sport) {
        const auto f = frame(kAddrA, kAddrB, 6, sport, 443);
        const drivers::Classification c = classifier->classify(f);
        ASSERT_EQ(c.traffic_class, drivers::TrafficClass::tls);
        EXPECT_EQ(dispatch.lcore_of(f), c.queue - 1);  // queue q is lcore q - 1
        tls_lcores.insert(dispatch.lcore_of(f));
    }
    EXPECT_EQ(tls_lcores.size(), 3u);
    auto short_frame = frame(kAddrA, kAddrB, 6, kBackendPort, 49152);
    for (std::size_t len = 0; len < short_frame.size() - 16; ++len)
        EXPECT_EQ(dispatch.lcore_of(ByteSpan(short_frame.data(), len)), offload::kControl) << len;
}

}  // namespace
}  // namespace l45
