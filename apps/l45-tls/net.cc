#include "apps/l45-tls/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

namespace l45::apps::tls_cli {
namespace {

std::atomic<bool> g_stop{false};
sigset_t g_unblocked;  // the mask ppoll() waits with: SIGINT/SIGTERM deliverable

void on_stop_signal(int) {
    g_stop.store(true, std::memory_order_relaxed);
}

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        reset();
        fd_ = other.release();
    }
    return *this;
}

void Fd::reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
    HostPort out;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        out.host = std::string(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        out.host = std::string(text.substr(0, colon));
        port_text = text.substr(colon + 1);
        if (out.host.find(':') != std::string::npos) return std::nullopt;  // bare IPv6
    }
    unsigned port = 0;
    const auto* end = port_text.data() + port_text.size();
    const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    if (out.host.empty() || port_text.empty() || ec != std::errc{} || ptr != end || port == 0 ||
        port > 65535)
        return std::nullopt;
    out.port = static_cast<std::uint16_t>(port);
    return out;
}

Fd listen_tcp(const HostPort& where, std::string& out_error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(where.port);
    if (const int rc = getaddrinfo(where.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
        out_error = "listen address " + where.host + ": " + gai_strerror(rc);
        return Fd{};
    }
    Fd fd{::socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol)};
    if (!fd.valid()) {
        out_error = errno_text("socket");
    } else {
        const int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0) {
            out_error = errno_text("bind");
            fd.reset();
        } else if (::listen(fd.get(), 16) != 0) {
            out_error = errno_text("listen");
            fd.reset();
        }
    }
    freeaddrinfo(res);
    return fd;
}

Fd connect_tcp(const HostPort& where, std::string& out_error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(where.port);
    if (const int rc = getaddrinfo(where.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
        out_error = where.host + ": " + gai_strerror(rc);
        return Fd{};
    }
    Fd fd;
    out_error = "no address";
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        Fd candidate{::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)};
        if (!candidate.valid()) {
            out_error = errno_text("socket");
            continue;
        }
        if (::connect(candidate.get(), ai->ai_addr, ai->ai_addrlen) == 0) {
            fd = std::move(candidate);
            break;
        }
        out_error = errno_text("connect");
    }
    freeaddrinfo(res);
    if (fd.valid()) {
        const int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

std::string peer_name(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char host[NI_MAXHOST];
    char serv[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return "?";
    return std::string(host) + ":" + serv;
}

Ready wait_fds(WaitFd* fds, std::size_t num_fds, int timeout_ms) {
    pollfd pfds[4];
    const std::size_t n = num_fds < 4 ? num_fds : 4;
    for (std::size_t i = 0; i < n; ++i) {
        pfds[i].fd = fds[i].fd;
        pfds[i].events =
            static_cast<short>((fds[i].want_read ? POLLIN : 0) | (fds[i].want_write ? POLLOUT : 0));
        pfds[i].revents = 0;
        fds[i].readable = fds[i].writable = fds[i].hangup = false;
    }
    if (stop_requested()) return Ready::stop;
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    const int rc = ::ppoll(pfds, n, tsp, &g_unblocked);
    if (rc < 0)
        return errno == EINTR ? (stop_requested() ? Ready::stop : Ready::timeout) : Ready::error;
    if (rc == 0) return Ready::timeout;
    for (std::size_t i = 0; i < n; ++i) {
        fds[i].readable = (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        fds[i].writable = (pfds[i].revents & (POLLOUT | POLLERR)) != 0;
        fds[i].hangup = (pfds[i].revents & (POLLHUP | POLLERR)) != 0;
    }
    return Ready::fd;
}

bool write_all(int fd, ByteSpan data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            WaitFd w{fd, false, true};
            if (wait_fds(&w, 1, -1) != Ready::fd && !w.writable) return false;
            continue;
        }
        return false;
    }
    return true;
}

void install_signal_handling() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: ppoll must return EINTR
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &block, &g_unblocked);
    sigdelset(&g_unblocked, SIGINT);
    sigdelset(&g_unblocked, SIGTERM);
}

bool stop_requested() {
    return g_stop.load(std::memory_order_relaxed);
}

}  // namespace l45::apps::tls_cli
