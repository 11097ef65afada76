// See openssl_peer.h. Two event loops (server, client), each in its own
// thread, edge-triggered epoll: every readiness change drives the connection
// until OpenSSL reports SSL_ERROR_WANT_READ/WRITE, i.e. until the socket
// returned EAGAIN, so no event can be lost. Counters are single-writer
// atomics that the main thread samples at the window's edges.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "apps/bench/openssl_peer.h"
#include "apps/bench/timing.h"

namespace l45::bench::peer {

const char* workload_name(Workload w) {
    switch (w) {
        case Workload::bulk:
            return "bulk";
        case Workload::handshake:
            return "handshake";
        case Workload::rr:
            return "rr";
    }
    return "?";
}

namespace {

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "l45-openssl-peer: %s\n", what);
    ERR_print_errors_fp(stderr);
    std::exit(2);
}

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// TLS 1.3 only, the suite and group l45 is measured with, no resumption.
void restrict_ctx(SSL_CTX* ctx) {
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1 ||
        SSL_CTX_set1_groups_list(ctx, "X25519") != 1 ||
        SSL_CTX_set1_sigalgs_list(ctx, "ECDSA+SHA256") != 1)
        die("restricting the SSL_CTX failed");
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
}

SslCtxPtr server_ctx(const PeerCredentials& creds) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) die("SSL_CTX_new (server)");
    restrict_ctx(ctx.get());
    // No NewSessionTicket after the handshake: a full handshake every time.
    if (SSL_CTX_set_num_tickets(ctx.get(), 0) != 1) die("SSL_CTX_set_num_tickets");
    BIO* cb = BIO_new_mem_buf(creds.chain_pem.data(), static_cast<int>(creds.chain_pem.size()));
    X509* leaf = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
    if (!leaf || SSL_CTX_use_certificate(ctx.get(), leaf) != 1) die("server certificate");
    X509_free(leaf);
    while (X509* extra = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr)) {
        const bool added = SSL_CTX_add1_chain_cert(ctx.get(), extra) == 1;  // takes a reference
        X509_free(extra);
        if (!added) die("chain certificate");
    }
    ERR_clear_error();  // the loop above ends on "no start line"
    BIO_free(cb);
    BIO* kb = BIO_new_mem_buf(creds.key_pem.data(), static_cast<int>(creds.key_pem.size()));
    EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(kb);
    if (!key || SSL_CTX_use_PrivateKey(ctx.get(), key) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1)
        die("server key");
    EVP_PKEY_free(key);
    return ctx;
}

SslCtxPtr client_ctx(const PeerCredentials& creds, bool verify) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) die("SSL_CTX_new (client)");
    restrict_ctx(ctx.get());
    if (verify) {
        BIO* b = BIO_new_mem_buf(creds.ca_pem.data(), static_cast<int>(creds.ca_pem.size()));
        X509* ca = b ? PEM_read_bio_X509(b, nullptr, nullptr, nullptr) : nullptr;
        BIO_free(b);
        if (!ca || X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca) != 1)
            die("client trust anchor");
        X509_free(ca);
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    }
    return ctx;
}

// One writer (the owning thread), any number of readers.
struct alignas(64) Counters {
    std::atomic<std::uint64_t> bytes{0}, handshakes{0}, requests{0}, errors{0};
    static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

struct Shared {
    std::atomic<bool> stop{false};
    std::atomic<int> server_tid{0};
    Counters server, client;
    std::mutex negotiated_mu;
    std::string negotiated;  // written once by the client
};

void pin_self(int cpu, const char* name) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
    pthread_setname_np(pthread_self(), name);  // `perf report --comms <name>`
}

// One TLS connection of either side.
struct Conn {
    enum class St : std::uint8_t { handshake, running, shutting };
    int fd = -1;
    SSL* ssl = nullptr;
    St st = St::handshake;
    std::size_t have = 0;        // bytes of the current request (server) / response (client)
    bool reply_pending = false;  // server: the echo is still to be written
    bool request_sent = false;   // client: waiting for the response
    Clock::time_point sent_at{};
    ~Conn() {
        if (ssl) SSL_free(ssl);
        if (fd >= 0) close(fd);
    }
};

// What SSL_get_error says after a call returned <= 0.
enum class Io : std::uint8_t { blocked, closed, failed };
Io classify(SSL* ssl, int r) {
    switch (SSL_get_error(ssl, r)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            return Io::blocked;
        case SSL_ERROR_ZERO_RETURN:
            return Io::closed;
        default:
            ERR_clear_error();
            return Io::failed;
    }
}

class Loop {
  public:
    Loop() : ep_(epoll_create1(0)) {
        if (ep_ < 0) die("epoll_create1");
    }
    ~Loop() { close(ep_); }
    void add(int fd, void* ptr) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
        ev.data.ptr = ptr;
        if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    }
    std::span<epoll_event> wait() {
        const int n = epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), 10);
        return {events_.data(), n > 0 ? static_cast<std::size_t>(n) : 0};
    }

  private:
    int ep_;
    std::array<epoll_event, 256> events_{};
};

// ---- server ----
class Server {
  public:
    Server(SSL_CTX* ctx, const PeerOptions& o, int listen_fd, Shared& sh)
        : ctx_(ctx), o_(o), lfd_(listen_fd), sh_(sh), buf_(std::max(o.record_len, o.request_len)) {
        for (std::size_t i = 0; i < buf_.size(); ++i)
            buf_[i] = static_cast<std::uint8_t>(i * 131 + 7);
    }

    void run() {
        loop_.add(lfd_, nullptr);
        while (!sh_.stop.load(std::memory_order_relaxed)) {
            for (const epoll_event& ev : loop_.wait()) {
                if (ev.data.ptr == nullptr) {
                    accept_all();
                    continue;
                }
                Conn* c = static_cast<Conn*>(ev.data.ptr);
                if (!drive(*c)) drop(c);
            }
        }
        conns_.clear();
    }

  private:
    void accept_all() {
        for (;;) {
            const int fd = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK);
            if (fd < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK) error();
                return;
            }
            const int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto c = std::make_unique<Conn>();
            c->fd = fd;
            c->ssl = SSL_new(ctx_);
            if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) die("SSL_new (server)");
            SSL_set_accept_state(c->ssl);
            Conn* raw = c.get();
            conns_.push_back(std::move(c));
            loop_.add(fd, raw);
            if (!drive(*raw)) drop(raw);
        }
    }

    // false: the connection is finished (closed or failed).
    bool drive(Conn& c) {
        if (c.st == Conn::St::handshake) {
            const int r = SSL_do_handshake(c.ssl);
            if (r != 1) return settle(c, r);
            c.st = Conn::St::running;
            Counters::add(sh_.server.handshakes, 1);
        }
        if (o_.workload == Workload::bulk) {
            for (;;) {
                const int r = SSL_write(c.ssl, buf_.data(), static_cast<int>(o_.record_len));
                if (r <= 0) return settle(c, r);
                Counters::add(sh_.server.bytes, static_cast<std::uint64_t>(r));
            }
        }
        // rr, handshake: echo request_len bytes until the client's close_notify.
        for (;;) {
            if (c.reply_pending) {
                const int r = SSL_write(c.ssl, buf_.data(), static_cast<int>(o_.request_len));
                if (r <= 0) return settle(c, r);
                c.reply_pending = false;
                Counters::add(sh_.server.requests, 1);
            }
            // Handshake mode without a request still reads (1 byte room: a
            // zero-length SSL_read is not a read), to see the close_notify.
            const std::size_t room = o_.request_len == 0 ? 1 : o_.request_len - c.have;
            const int r = SSL_read(c.ssl, buf_.data() + c.have, static_cast<int>(room));
            if (r <= 0) {
                if (classify(c.ssl, r) == Io::closed) {
                    // Answer the close_notify (RFC 8446 §6.1) and close.
                    (void)SSL_shutdown(c.ssl);
                    return false;
                }
                return settle(c, r);
            }
            if (o_.request_len == 0) {  // data where only close_notify belongs
                error();
                return false;
            }
            c.have += static_cast<std::size_t>(r);
            if (c.have == o_.request_len) {
                c.have = 0;
                c.reply_pending = true;
            }
        }
    }

    bool settle(Conn& c, int r) {
        const Io io = classify(c.ssl, r);
        if (io == Io::blocked) return true;
        if (io == Io::failed) error();
        return false;
    }
    void error() {
        if (!sh_.stop.load(std::memory_order_relaxed)) Counters::add(sh_.server.errors, 1);
    }
    void drop(Conn* c) {
        // Closing the fd removes it from the epoll set.
        auto it = std::find_if(conns_.begin(), conns_.end(),
                               [c](const std::unique_ptr<Conn>& p) { return p.get() == c; });
        if (it != conns_.end()) {
            std::swap(*it, conns_.back());
            conns_.pop_back();
        }
    }

    SSL_CTX* ctx_;
    const PeerOptions& o_;
    int lfd_;
    Shared& sh_;
    Loop loop_;
    std::vector<std::uint8_t> buf_;
    std::vector<std::unique_ptr<Conn>> conns_;
};

// ---- client ----
class Client {
  public:
    Client(SSL_CTX* ctx, const PeerOptions& o, const PeerCredentials& creds, std::uint16_t port,
           Shared& sh)
        : ctx_(ctx),
          o_(o),
          creds_(creds),
          port_(port),
          sh_(sh),
          buf_(std::max<std::size_t>(65536, o.request_len)) {
        latencies_.reserve(1 << 20);
    }

    // (time the response arrived, latency) of every rr request.
    struct Sample {
        Clock::time_point at;
        std::uint32_t ns;
    };
    std::vector<Sample>& latencies() { return latencies_; }

    void run() {
        for (std::uint32_t i = 0; i < o_.connections; ++i)
            open_one();
        while (!sh_.stop.load(std::memory_order_relaxed)) {
            for (const epoll_event& ev : loop_.wait()) {
                Conn* c = static_cast<Conn*>(ev.data.ptr);
                if (!drive(*c)) {
                    drop(c);
                    if (!sh_.stop.load(std::memory_order_relaxed)) open_one();
                }
            }
        }
        conns_.clear();
    }

  private:
    void open_one() {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) die("socket");
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port_);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS)
            die("connect");
        auto c = std::make_unique<Conn>();
        c->fd = fd;
        c->ssl = SSL_new(ctx_);
        if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) die("SSL_new (client)");
        SSL_set_connect_state(c->ssl);
        if (SSL_set_tlsext_host_name(c->ssl, creds_.server_name.c_str()) != 1) die("SNI");
        if (o_.verify && SSL_set1_host(c->ssl, creds_.server_name.c_str()) != 1)
            die("SSL_set1_host");
        Conn* raw = c.get();
        conns_.push_back(std::move(c));
        // Until the connection is up, SSL_do_handshake's write gets EAGAIN
        // (SYN_SENT, non-blocking): WANT_WRITE, and EPOLLOUT fires once the
        // three-way handshake is done.
        loop_.add(fd, raw);
        if (!drive(*raw)) {
            drop(raw);
            error();
        }
    }

    bool drive(Conn& c) {
        if (c.st == Conn::St::handshake) {
            const int r = SSL_do_handshake(c.ssl);
            if (r != 1) return settle(c, r);
            if (!checked_) check_negotiation(c.ssl);
            c.st = Conn::St::running;
            Counters::add(sh_.client.handshakes, 1);
        }
        if (c.st == Conn::St::running) {
            if (o_.workload == Workload::bulk) {
                for (;;) {
                    const int r = SSL_read(c.ssl, buf_.data(), static_cast<int>(buf_.size()));
                    if (r <= 0) return settle(c, r);
                    Counters::add(sh_.client.bytes, static_cast<std::uint64_t>(r));
                }
            }
            while (o_.request_len > 0) {
                if (!c.request_sent) {
                    c.sent_at = Clock::now();
                    const int r = SSL_write(c.ssl, buf_.data(), static_cast<int>(o_.request_len));
                    if (r <= 0) return settle(c, r);
                    c.request_sent = true;
                    c.have = 0;
                }
                const int r = SSL_read(c.ssl, buf_.data() + c.have,
                                       static_cast<int>(o_.request_len - c.have));
                if (r <= 0) return settle(c, r);
                c.have += static_cast<std::size_t>(r);
                if (c.have < o_.request_len) continue;
                const auto now = Clock::now();
                c.request_sent = false;
                Counters::add(sh_.client.requests, 1);
                if (o_.workload == Workload::rr) {
                    latencies_.push_back(
                        {now,
                         static_cast<std::uint32_t>(std::min<std::int64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.sent_at)
                                 .count(),
                             UINT32_MAX))});
                    continue;
                }
                break;  // handshake mode: one echo, then close
            }
            c.st = Conn::St::shutting;
        }
        // close_notify, then wait for the server's before closing the socket.
        const int r = SSL_shutdown(c.ssl);
        if (r == 1) return false;
        if (r == 0) return drive_shutdown(c);
        return settle(c, r);
    }
    bool drive_shutdown(Conn& c) {
        const int r = SSL_shutdown(c.ssl);
        if (r == 1) return false;
        return settle(c, r);
    }

    void check_negotiation(SSL* ssl) {
        checked_ = true;
        char group[64] = "?";
        const int nid = SSL_get_negotiated_group(ssl);
        if (nid > 0) std::snprintf(group, sizeof group, "%s", OBJ_nid2sn(nid));
        std::string key = "?";
        if (X509* cert = SSL_get1_peer_certificate(ssl)) {
            char name[64] = "?";
            std::size_t len = 0;
            EVP_PKEY* pk = X509_get0_pubkey(cert);
            if (pk && EVP_PKEY_get_group_name(pk, name, sizeof name, &len) == 1)
                key = std::string(EVP_PKEY_get0_type_name(pk)) + " " + name;
            X509_free(cert);
        }
        const std::string cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl));
        const std::string got =
            std::string(SSL_get_version(ssl)) + " " + cipher + " " + group + " cert " + key;
        if (cipher != "TLS_AES_128_GCM_SHA256" || nid != NID_X25519 || key != "EC prime256v1")
            die(("unexpected negotiation: " + got).c_str());
        std::lock_guard<std::mutex> lock(sh_.negotiated_mu);
        sh_.negotiated = got;
    }

    bool settle(Conn& c, int r) {
        const Io io = classify(c.ssl, r);
        if (io == Io::blocked) return true;
        // The server answers close_notify with its own; anything else ends
        // the connection early.
        if (io == Io::failed || c.st != Conn::St::shutting) error();
        return false;
    }
    void error() {
        if (!sh_.stop.load(std::memory_order_relaxed)) Counters::add(sh_.client.errors, 1);
    }
    void drop(Conn* c) {
        auto it = std::find_if(conns_.begin(), conns_.end(),
                               [c](const std::unique_ptr<Conn>& p) { return p.get() == c; });
        if (it != conns_.end()) {
            std::swap(*it, conns_.back());
            conns_.pop_back();
        }
    }

    SSL_CTX* ctx_;
    const PeerOptions& o_;
    const PeerCredentials& creds_;
    std::uint16_t port_;
    Shared& sh_;
    Loop loop_;
    bool checked_ = false;
    std::vector<std::uint8_t> buf_;
    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<Sample> latencies_;
};

double thread_cpu_s(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// utime and stime of one thread, seconds (proc(5): fields 14 and 15, in
// clock ticks, after the parenthesised command name).
std::pair<double, double> thread_user_sys_s(int tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    std::getline(in, line);
    const auto paren = line.rfind(')');
    if (paren == std::string::npos) return {0, 0};
    std::istringstream rest(line.substr(paren + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    return {static_cast<double>(utime) / hz, static_cast<double>(stime) / hz};
}

struct Snapshot {
    Clock::time_point at;
    std::uint64_t bytes, server_handshakes, requests, errors;
    double server_cpu, client_cpu, server_user, server_sys;
};

}  // namespace

PeerResult run_peer(const PeerCredentials& creds, const PeerOptions& o) {
    // A write to a connection the peer has closed (at the stop) must be an
    // EPIPE, not the end of the process.
    std::signal(SIGPIPE, SIG_IGN);
    const SslCtxPtr sctx = server_ctx(creds);
    const SslCtxPtr cctx = client_ctx(creds, o.verify);

    const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(lfd, 4096) != 0 ||
        getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &sl) != 0)
        die("listening socket");
    const std::uint16_t port = ntohs(sa.sin_port);

    Shared sh;
    Server server(sctx.get(), o, lfd, sh);
    Client client(cctx.get(), o, creds, port, sh);
    std::thread st([&] {
        pin_self(o.server_cpu, "ossl-server");
        sh.server_tid.store(static_cast<int>(gettid()));
        server.run();
    });
    std::thread ct([&] {
        pin_self(o.client_cpu, "ossl-client");
        client.run();
    });
    clockid_t sclock{}, cclock{};
    if (pthread_getcpuclockid(st.native_handle(), &sclock) != 0 ||
        pthread_getcpuclockid(ct.native_handle(), &cclock) != 0)
        die("pthread_getcpuclockid");

    auto snap = [&] {
        Snapshot s{};
        s.at = Clock::now();
        s.bytes = sh.client.bytes.load();
        s.server_handshakes = sh.server.handshakes.load();
        s.requests = sh.client.requests.load();
        s.errors = sh.client.errors.load() + sh.server.errors.load();
        s.server_cpu = thread_cpu_s(sclock);
        s.client_cpu = thread_cpu_s(cclock);
        std::tie(s.server_user, s.server_sys) = thread_user_sys_s(sh.server_tid.load());
        return s;
    };
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
    const Snapshot a = snap();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    const Snapshot b = snap();
    sh.stop.store(true);
    ct.join();
    st.join();
    close(lfd);

    PeerResult r;
    r.window_s = seconds_between(a.at, b.at);
    r.bytes = b.bytes - a.bytes;
    r.handshakes = b.server_handshakes - a.server_handshakes;
    r.requests = b.requests - a.requests;
    r.errors = sh.client.errors.load() + sh.server.errors.load();
    r.server_cpu_s = b.server_cpu - a.server_cpu;
    r.client_cpu_s = b.client_cpu - a.client_cpu;
    r.server_user_s = b.server_user - a.server_user;
    r.server_sys_s = b.server_sys - a.server_sys;
    r.negotiated = sh.negotiated;

    std::vector<std::uint32_t> lat;
    for (const auto& s : client.latencies())
        if (s.at >= a.at && s.at < b.at) lat.push_back(s.ns);
    if (!lat.empty()) {
        std::sort(lat.begin(), lat.end());
        auto pct = [&](double p) {
            const auto idx = static_cast<std::size_t>(p * static_cast<double>(lat.size() - 1));
            return lat[idx] / 1e3;
        };
        r.p50_us = pct(0.50);
        r.p90_us = pct(0.90);
        r.p99_us = pct(0.99);
        r.max_us = lat.back() / 1e3;
    }
    return r;
}

}  // namespace l45::bench::peer
