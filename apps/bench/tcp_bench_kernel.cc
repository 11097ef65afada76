// The baseline: the same two workloads on the Linux kernel's TCP over
// 127.0.0.1, with plain non-blocking sockets and one epoll loop per side,
// side A pinned to A's CPU and side B to B's (sched_setaffinity), so each
// side has one core as l45's sides do. Kernel defaults everywhere (socket
// buffer autotuning, Nagle on, CUBIC): no tuning that l45 does not get.
//
// crr does what l45's crr does, step for step: connect, write the request,
// read the response, shutdown(SHUT_WR) (the client's FIN goes first, so the
// client holds TIME-WAIT), read the server's FIN, close(). A connection
// counts once the client has seen the server's FIN.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "apps/bench/tcp_bench.h"

namespace l45::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMaxEvents = 64;
constexpr std::size_t kMaxFds = 1 << 16;
constexpr auto kConnectTimeout = std::chrono::seconds(5);
constexpr auto kDrainTimeout = std::chrono::seconds(10);

bool pin_self(unsigned cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// Caps the MSS (lo's 64 KiB MTU otherwise gives ~64 KiB segments).
void set_mss(int fd, int mss) {
    if (mss > 0) (void)setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
}

// A listening socket on 127.0.0.1 (non-blocking), or -1 with `error` set.
// Takes the first free port from `port` on (another run may hold it), at most
// 64 further, all below the ephemeral range; `port` is set to the one taken.
int make_listener(std::uint16_t& port, int mss, std::string& error) {
    for (std::uint16_t p = port; p < port + 64 && p < 32768; ++p) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error = errno_text("socket");
            return -1;
        }
        const int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        set_mss(fd, mss);  // accepted sockets inherit it
        const sockaddr_in a = loopback(p);
        if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 &&
            listen(fd, 4096) == 0) {
            port = p;
            return fd;
        }
        error = errno_text("bind/listen 127.0.0.1") + " (port " + std::to_string(p) + ")";
        close(fd);
        if (errno != EADDRINUSE) return -1;
    }
    return -1;
}

// Starts a non-blocking connect; -1 with errno on failure.
int start_connect(std::uint16_t port, int mss) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    set_mss(fd, mss);
    const sockaddr_in a = loopback(port);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) {
        const int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

bool connect_succeeded(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

void epoll_add(int ep, int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    (void)epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

void epoll_mod(int ep, int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    (void)epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

struct Shared {
    alignas(64) std::atomic<std::uint64_t> received{0};  // server: payload bytes
    alignas(64) std::atomic<bool> stop_server{false};
    std::atomic<std::uint64_t> served{0}, failed{0}, check_failures{0};
    ThreadClock server_clock;
};

// Per-fd state of either side (indexed by fd).
struct FdState {
    bool open = false;
    bool connected = false;
    bool answered = false;
    bool shut = false;
    std::uint64_t got = 0;   // bytes read
    std::uint64_t sent = 0;  // bytes written (bulk)
};

// What one drain of a readable socket found.
struct Drained {
    bool eof = false;
    bool error = false;
};

// Reads `fd` until it would block, checking the bytes against the stream
// pattern at the connection's offset (with opt.check) and counting them.
Drained drain_checked(int fd, std::vector<std::uint8_t>& buf, const TcpBenchOptions& opt,
                      const StreamPattern& pattern, FdState& s, std::uint64_t& received,
                      std::uint64_t& check_failures) {
    for (;;) {
        const ssize_t r = read(fd, buf.data(), buf.size());
        if (r > 0) {
            const ByteSpan got(buf.data(), static_cast<std::size_t>(r));
            if (opt.check && !pattern.matches(s.got, got)) ++check_failures;
            s.got += static_cast<std::uint64_t>(r);
            received += static_cast<std::uint64_t>(r);
            continue;
        }
        if (r == 0) return {.eof = true};
        return {.error = errno != EAGAIN && errno != EINTR};
    }
}

// --- bulk ---

void bulk_server(const TcpBenchOptions& opt, const StreamPattern& pattern, int lfd, Shared& sh) {
    (void)pin_self(opt.cpu_b);
    sh.server_clock.publish_self();
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_add(ep, lfd, EPOLLIN);
    std::vector<FdState> st(kMaxFds);
    std::vector<std::uint8_t> buf(opt.write_len);
    std::uint64_t received = 0, accepted = 0, closed = 0, check_failures = 0;
    epoll_event events[kMaxEvents];
    while (!(accepted == opt.conns && closed == accepted) &&
           !sh.stop_server.load(std::memory_order_relaxed)) {
        const int n = epoll_wait(ep, events, kMaxEvents, 10);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == lfd) {
                for (int c;
                     (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                    if (static_cast<std::size_t>(c) >= kMaxFds) {
                        close(c);
                        continue;
                    }
                    st[c] = FdState{.open = true};
                    ++accepted;
                    epoll_add(ep, c, EPOLLIN);
                }
                continue;
            }
            FdState& s = st[fd];
            const Drained d = drain_checked(fd, buf, opt, pattern, s, received, check_failures);
            if (d.eof || d.error) {
                if (d.error) sh.failed.fetch_add(1, std::memory_order_relaxed);
                close(fd);  // closes the epoll registration too
                s.open = false;
                ++closed;
            }
            sh.received.store(received, std::memory_order_relaxed);
        }
    }
    sh.check_failures.store(check_failures, std::memory_order_relaxed);
    close(ep);
}

TcpFigure bulk_client(const TcpBenchOptions& opt, const StreamPattern& pattern, Shared& sh) {
    TcpFigure fig;
    (void)pin_self(opt.cpu_a);
    ThreadClock self;
    self.publish_self();
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<int> fds;
    std::vector<FdState> st(kMaxFds);
    for (std::uint32_t i = 0; i < opt.conns; ++i) {
        const int fd = start_connect(opt.kernel_port, opt.kernel_mss);
        if (fd < 0 || static_cast<std::size_t>(fd) >= kMaxFds) {
            fig.error = errno_text("connect");
            break;
        }
        fds.push_back(fd);
        st[fd] = FdState{.open = true};
        epoll_add(ep, fd, EPOLLOUT);
    }
    epoll_event events[kMaxEvents];
    std::uint64_t sent = 0;
    std::uint32_t connected = 0;
    const auto t_start = Clock::now();
    // Writes until the socket buffer is full.
    auto pump = [&](int fd) {
        FdState& s = st[fd];
        for (;;) {
            const ByteSpan chunk = pattern.at(s.sent, opt.write_len);
            const ssize_t w = write(fd, chunk.data(), chunk.size());
            if (w <= 0) {
                if (w < 0 && errno != EAGAIN && errno != EINTR) fig.error = errno_text("write");
                return;
            }
            s.sent += static_cast<std::uint64_t>(w);
            sent += static_cast<std::uint64_t>(w);
        }
    };
    auto units = [&] { return sh.received.load(std::memory_order_relaxed); };
    std::optional<MeasureWindow<Clock::time_point>> window;  // once every connection is up
    while (fig.error.empty()) {
        const int n = epoll_wait(ep, events, kMaxEvents, 10);
        for (int i = 0; i < n && fig.error.empty(); ++i) {
            const int fd = events[i].data.fd;
            FdState& s = st[fd];
            if (!s.connected) {
                if (!connect_succeeded(fd)) {
                    fig.error = "connect to 127.0.0.1 failed";
                    break;
                }
                s.connected = true;
                if (++connected == opt.conns) window.emplace(opt, Clock::now());
            }
            pump(fd);
        }
        const auto now = Clock::now();
        if (!window) {
            if (now - t_start > kConnectTimeout) fig.error = "connections not up after 5 s";
            continue;
        }
        const auto tick =
            window->tick(now, units(), self.seconds(), sh.server_clock.seconds(), fig);
        if (tick == MeasureWindow<Clock::time_point>::Tick::closed) break;
        if (tick == MeasureWindow<Clock::time_point>::Tick::stalled)
            fig.error = "no progress for 3 s";
    }
    // Close: the FIN follows what the socket still holds; the server reads to EOF.
    for (int fd : fds)
        close(fd);
    close(ep);
    fig.sent = sent;
    return fig;
}

// --- crr ---

void crr_server(const TcpBenchOptions& opt, const StreamPattern& pattern, int lfd, Shared& sh) {
    (void)pin_self(opt.cpu_b);
    sh.server_clock.publish_self();
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_add(ep, lfd, EPOLLIN);
    std::vector<FdState> st(kMaxFds);
    std::vector<std::uint8_t> buf(std::max(opt.request_len, 4096u));
    std::uint64_t received = 0, open = 0, served = 0, failed = 0, check_failures = 0;
    epoll_event events[kMaxEvents];
    while (!(sh.stop_server.load(std::memory_order_relaxed) && open == 0)) {
        const int n = epoll_wait(ep, events, kMaxEvents, 10);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == lfd) {
                for (int c;
                     (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
                    if (static_cast<std::size_t>(c) >= kMaxFds) {
                        close(c);
                        ++failed;
                        continue;
                    }
                    st[c] = FdState{.open = true};
                    ++open;
                    epoll_add(ep, c, EPOLLIN);
                }
                continue;
            }
            FdState& s = st[fd];
            auto [eof, error] = drain_checked(fd, buf, opt, pattern, s, received, check_failures);
            if (!error && s.got >= opt.request_len && !s.answered) {
                s.answered = true;
                const ByteSpan resp = pattern.at(0, opt.response_len);
                if (write(fd, resp.data(), resp.size()) != static_cast<ssize_t>(resp.size()))
                    error = true;
            }
            if (eof || error) {
                // The client's FIN: close (our FIN; LAST-ACK is the kernel's).
                if (!error && s.answered && s.got == opt.request_len)
                    ++served;
                else
                    ++failed;
                close(fd);
                s.open = false;
                --open;
            }
        }
        sh.received.store(received, std::memory_order_relaxed);
    }
    sh.served.store(served, std::memory_order_relaxed);
    sh.failed.store(failed, std::memory_order_relaxed);
    sh.check_failures.store(check_failures, std::memory_order_relaxed);
    close(ep);
}

TcpFigure crr_client(const TcpBenchOptions& opt, const StreamPattern& pattern, Shared& sh) {
    TcpFigure fig;
    (void)pin_self(opt.cpu_a);
    ThreadClock self;
    self.publish_self();
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    std::vector<FdState> st(kMaxFds);
    std::vector<std::uint8_t> buf(std::max(opt.response_len, 4096u));
    std::uint32_t in_flight = 0;
    std::uint64_t completed = 0, failed = 0, sent = 0, received = 0, check_failures = 0;
    std::uint64_t connect_errors = 0;
    int last_errno = 0;
    bool stopping = false;
    epoll_event events[kMaxEvents];
    auto finish = [&](int fd, bool ok) {
        close(fd);
        st[fd].open = false;
        --in_flight;
        if (ok)
            ++completed;
        else
            ++failed;
    };
    MeasureWindow<Clock::time_point> window(opt, Clock::now());
    Clock::time_point t_stop{};
    for (;;) {
        while (!stopping && in_flight < opt.concurrency) {
            const int fd = start_connect(opt.kernel_port, opt.kernel_mss);
            if (fd < 0) {
                ++connect_errors;  // EADDRNOTAVAIL: ephemeral ports in TIME-WAIT
                last_errno = errno;
                break;
            }
            if (static_cast<std::size_t>(fd) >= kMaxFds) {
                close(fd);
                fig.error = "fd above the state table";
                break;
            }
            st[fd] = FdState{.open = true};
            ++in_flight;
            epoll_add(ep, fd, EPOLLOUT | EPOLLIN);
        }
        const int n = epoll_wait(ep, events, kMaxEvents, 10);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            FdState& s = st[fd];
            if (!s.open) continue;
            if (!s.connected) {
                if (!connect_succeeded(fd)) {
                    finish(fd, false);
                    continue;
                }
                s.connected = true;
                const ByteSpan req = pattern.at(0, opt.request_len);
                const ssize_t w = write(fd, req.data(), req.size());
                if (w != static_cast<ssize_t>(req.size())) {
                    finish(fd, false);
                    continue;
                }
                sent += req.size();
                epoll_mod(ep, fd, EPOLLIN);
                continue;
            }
            auto [eof, error] = drain_checked(fd, buf, opt, pattern, s, received, check_failures);
            if (error) {
                finish(fd, false);
                continue;
            }
            if (s.got >= opt.response_len && !s.shut) {
                s.shut = true;
                (void)shutdown(fd, SHUT_WR);  // our FIN first: TIME-WAIT stays here
            }
            if (eof) finish(fd, s.shut && s.got == opt.response_len);
        }
        const auto now = Clock::now();
        if (stopping) {
            if (in_flight == 0) break;
            if (now - t_stop > kDrainTimeout) {
                if (fig.error.empty()) fig.error = "connections did not close within 10 s";
                break;
            }
            continue;
        }
        const auto tick =
            window.tick(now, completed, self.seconds(), sh.server_clock.seconds(), fig);
        if (tick == MeasureWindow<Clock::time_point>::Tick::stalled) {
            fig.error = "no progress for 3 s";
            if (connect_errors > 0)
                fig.error += std::string(" (connect: ") + std::strerror(last_errno) + ")";
        }
        if (tick != MeasureWindow<Clock::time_point>::Tick::running || !fig.error.empty()) {
            stopping = true;
            t_stop = now;
        }
    }
    close(ep);
    fig.sent = sent;
    fig.received = received;  // the client's: responses
    fig.completed = completed;
    fig.failed = failed;
    fig.check_failures = check_failures;
    if (connect_errors > 0)
        fig.notes.push_back("connect errors: " + std::to_string(connect_errors) + " (" +
                            std::strerror(last_errno) + ")");
    return fig;
}

}  // namespace

TcpFigure run_kernel(TcpMode mode, const TcpBenchOptions& options) {
    TcpFigure fig;
    std::string error;
    TcpBenchOptions opt = options;
    const int lfd = make_listener(opt.kernel_port, opt.kernel_mss, error);
    if (lfd < 0) {
        fig.error = error;
        return fig;
    }

    const StreamPattern pattern(std::max({opt.write_len, opt.request_len, opt.response_len}));
    Shared sh;
    std::thread server([&] {
        if (mode == TcpMode::bulk)
            bulk_server(opt, pattern, lfd, sh);
        else
            crr_server(opt, pattern, lfd, sh);
    });
    std::thread client([&] {
        fig = mode == TcpMode::bulk ? bulk_client(opt, pattern, sh) : crr_client(opt, pattern, sh);
        if (mode == TcpMode::crr) sh.stop_server.store(true, std::memory_order_relaxed);
    });
    client.join();
    if (mode == TcpMode::bulk) {
        // The server ends at EOF on every connection; bound the wait.
        const auto t = Clock::now();
        while (sh.received.load(std::memory_order_relaxed) < fig.sent &&
               Clock::now() - t < kDrainTimeout)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (sh.received.load(std::memory_order_relaxed) < fig.sent && fig.error.empty())
            fig.error = "the server did not receive everything within 10 s";
        sh.stop_server.store(true, std::memory_order_relaxed);
    }
    server.join();
    close(lfd);
    if (opt.kernel_port != options.kernel_port)
        fig.notes.push_back("listened on port " + std::to_string(opt.kernel_port));
    if (mode == TcpMode::bulk) {
        fig.received = sh.received.load(std::memory_order_relaxed);
        fig.failed += sh.failed.load(std::memory_order_relaxed);
    } else {
        // received: the server's request bytes (the client's are responses).
        fig.received = sh.received.load(std::memory_order_relaxed);
        fig.served = sh.served.load(std::memory_order_relaxed);
        fig.failed += sh.failed.load(std::memory_order_relaxed);
    }
    fig.check_failures += sh.check_failures.load(std::memory_order_relaxed);
    fig.ok = fig.error.empty();
    return fig;
}

}  // namespace l45::bench
