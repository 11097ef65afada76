// Kernel sockets for l45-tls: a demo and interop tool, so plain blocking
// sockets driven by ppoll(2), not the DPDK data path.
//
// Read first: poll(2)/ppoll(2) (signal-safe waiting), getaddrinfo(3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/base/bytes.h"

namespace l45::apps::tls_cli {

// Owns one file descriptor.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset();

  private:
    int fd_ = -1;
};

// "HOST:PORT", "[v6]:PORT". The port must be 1..65535.
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};
[[nodiscard]] std::optional<HostPort> parse_host_port(std::string_view text);

// A listening TCP socket (SO_REUSEADDR) on a numeric address; the error text
// (with errno's) goes to `out_error`.
[[nodiscard]] Fd listen_tcp(const HostPort& where, std::string& out_error);
// A connected TCP socket to the first address of `where` that answers.
[[nodiscard]] Fd connect_tcp(const HostPort& where, std::string& out_error);
// "IP:PORT" of a connected socket's peer, for logs.
[[nodiscard]] std::string peer_name(int fd);

// Outcome of one wait.
enum class Ready : std::uint8_t { fd, stop, timeout, error };

// Waits until one of `fds` (up to 2, -1 entries ignored) is readable (or
// writable, per `want_write`), a stop signal arrived, or `timeout_ms` passed
// (-1: forever). `out_ready[i]` is true for each ready fd.
struct WaitFd {
    int fd = -1;
    bool want_read = true;
    bool want_write = false;
    bool readable = false;
    bool writable = false;
    bool hangup = false;
};
[[nodiscard]] Ready wait_fds(WaitFd* fds, std::size_t num_fds, int timeout_ms);

// Writes all of `data` to a blocking fd, waiting with wait_fds(); false on
// an error, a closed peer (EPIPE) or a stop signal.
[[nodiscard]] bool write_all(int fd, ByteSpan data);

// SIGINT and SIGTERM are blocked in every thread and only delivered inside
// ppoll (see wait_fds), so a signal can never be lost between "check the
// flag" and "sleep". SIGPIPE is ignored (a closed peer is an EPIPE error).
void install_signal_handling();
[[nodiscard]] bool stop_requested();

}  // namespace l45::apps::tls_cli
