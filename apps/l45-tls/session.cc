#include "apps/l45-tls/session.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "apps/l45-tls/names.h"
#include "apps/l45-tls/net.h"

namespace l45::apps::tls_cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kInputBufferLen = 64 * 1024;
constexpr std::size_t kChunkLen = 16 * 1024;
constexpr std::size_t kMaxHttpRequestLen = 16 * 1024;

int ms_until(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

class Session {
  public:
    Session(tls::Connection& conn, int sock, const SessionOptions& options)
        : conn_(conn), sock_(sock), options_(options), in_(kInputBufferLen), app_(kChunkLen) {}

    SessionResult run(const std::function<void(const tls::Connection&)>& on_established);

  private:
    // Offers buffered socket bytes to the connection, reading application
    // data out between offers (receive() stops at undelivered app data).
    [[nodiscard]] bool feed();
    // Application data -> stdout / echo / HTTP request. False on an I/O error.
    [[nodiscard]] bool deliver(ByteSpan data);
    // Moves pending_ into the connection (write() may take a part).
    [[nodiscard]] bool push_pending();
    // Sends what the connection queued; false on a socket error.
    [[nodiscard]] bool send_output();
    void flush_best_effort();
    SessionResult finish(SessionOutcome outcome, std::string detail = {});

    tls::Connection& conn_;
    int sock_;
    SessionOptions options_;

    std::vector<std::uint8_t> in_;  // socket bytes not yet taken by receive()
    std::size_t in_head_ = 0, in_tail_ = 0;
    std::vector<std::uint8_t> app_;      // read() scratch
    std::vector<std::uint8_t> pending_;  // plaintext waiting for write()
    std::size_t pending_off_ = 0;
    std::string http_request_;
    bool close_after_pending_ = false;

    bool tcp_eof_ = false;
    bool stdin_eof_ = false;
    bool close_sent_ = false;
    bool io_failed_ = false;
    std::string io_detail_;
};

bool Session::feed() {
    for (;;) {
        bool progress = false;
        if (in_tail_ > in_head_ && !conn_.failed()) {
            auto taken = conn_.receive({in_.data() + in_head_, in_tail_ - in_head_});
            if (!taken) return false;
            in_head_ += *taken;
            if (in_head_ == in_tail_) in_head_ = in_tail_ = 0;
            progress = *taken > 0;
        }
        // Read application data only when nothing older waits for write()
        // (echo back-pressure).
        const bool echo_blocked =
            options_.mode != SessionMode::client_stdio && pending_off_ != pending_.size();
        while (!echo_blocked && !close_after_pending_ && conn_.readable() > 0) {
            const std::size_t n = conn_.read(app_);
            if (n == 0) break;
            if (!deliver({app_.data(), n})) return true;
            progress = true;
            if (options_.mode != SessionMode::client_stdio) break;  // one chunk in flight
        }
        if (!progress || in_tail_ == in_head_) return true;
    }
}

bool Session::deliver(ByteSpan data) {
    switch (options_.mode) {
        case SessionMode::client_stdio:
            if (!write_all(STDOUT_FILENO, data)) {
                io_failed_ = true;
                io_detail_ = std::string("writing stdout: ") + std::strerror(errno);
                return false;
            }
            return true;
        case SessionMode::server_echo:
            pending_.assign(data.begin(), data.end());
            pending_off_ = 0;
            return true;
        case SessionMode::server_www: {
            if (http_request_.size() + data.size() > kMaxHttpRequestLen) {
                http_request_.clear();
                const std::string resp =
                    "HTTP/1.0 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n";
                pending_.assign(resp.begin(), resp.end());
                pending_off_ = 0;
                close_after_pending_ = true;
                return true;
            }
            http_request_.append(reinterpret_cast<const char*>(data.data()), data.size());
            if (http_request_.find("\r\n\r\n") != std::string::npos ||
                http_request_.find("\n\n") != std::string::npos) {
                const std::string resp = www_response(http_request_, conn_.negotiated());
                pending_.assign(resp.begin(), resp.end());
                pending_off_ = 0;
                close_after_pending_ = true;
            }
            return true;
        }
    }
    return true;
}

bool Session::push_pending() {
    while (pending_off_ < pending_.size()) {
        auto n = conn_.write({pending_.data() + pending_off_, pending_.size() - pending_off_});
        if (!n) return false;
        if (*n == 0) break;  // output buffer full: send first
        pending_off_ += *n;
    }
    if (pending_off_ == pending_.size()) {
        pending_.clear();
        pending_off_ = 0;
        if (close_after_pending_ && !close_sent_) {
            if (!conn_.close()) return false;
            close_sent_ = true;
        }
    }
    return true;
}

bool Session::send_output() {
    for (;;) {
        const ByteSpan out = conn_.pending_output();
        if (out.empty()) return true;
        const ssize_t n = ::send(sock_, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            conn_.consume_output(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        io_detail_ = std::string("send: ") + std::strerror(errno);
        return false;
    }
}

void Session::flush_best_effort() {
    // The alert (or close_notify) is queued; give the peer a chance to read it.
    const auto deadline = Clock::now() + std::chrono::milliseconds(1000);
    while (!conn_.pending_output().empty()) {
        if (!send_output()) return;
        if (conn_.pending_output().empty()) return;
        WaitFd w{sock_, false, true};
        if (wait_fds(&w, 1, ms_until(deadline)) != Ready::fd) return;
    }
}

SessionResult Session::finish(SessionOutcome outcome, std::string detail) {
    SessionResult r;
    r.outcome = outcome;
    r.detail = std::move(detail);
    r.handshake_complete = conn_.handshake_complete();
    if (outcome == SessionOutcome::tls_error) r.error = conn_.error();
    return r;
}

SessionResult Session::run(const std::function<void(const tls::Connection&)>& on_established) {
    const int flags = ::fcntl(sock_, F_GETFL);
    if (flags < 0 || ::fcntl(sock_, F_SETFL, flags | O_NONBLOCK) != 0)
        return finish(SessionOutcome::io_error, std::string("fcntl: ") + std::strerror(errno));

    const auto handshake_deadline =
        Clock::now() + std::chrono::milliseconds(options_.handshake_timeout_ms);
    auto last_activity = Clock::now();
    std::optional<Clock::time_point> close_deadline;
    bool announced = false;

    for (;;) {
        if (!feed() || !push_pending() || conn_.failed()) {
            flush_best_effort();
            return finish(SessionOutcome::tls_error);
        }
        if (io_failed_) return finish(SessionOutcome::io_error, io_detail_);
        // More decrypted data is ready now that the echo went out: no waiting.
        if (options_.mode != SessionMode::client_stdio && pending_.empty() &&
            !close_after_pending_ && conn_.readable() > 0)
            continue;
        if (conn_.handshake_complete() && !announced) {
            announced = true;
            if (on_established) on_established(conn_);
        }
        // §6.1: answer the peer's close_notify with ours (after any echo).
        const bool client = options_.mode == SessionMode::client_stdio;
        if (conn_.peer_closed() && !close_sent_ && (client || pending_.empty())) {
            if (!conn_.close()) {
                flush_best_effort();
                return finish(SessionOutcome::tls_error);
            }
            close_sent_ = true;
        }
        if (!send_output()) return finish(SessionOutcome::io_error, io_detail_);

        if (close_sent_ && !close_deadline)
            close_deadline = Clock::now() + std::chrono::milliseconds(options_.close_wait_ms);
        const bool output_empty = conn_.pending_output().empty();
        if (close_sent_ && output_empty && (conn_.peer_closed() || tcp_eof_))
            return finish(SessionOutcome::ok);
        if (tcp_eof_) {
            if (!conn_.handshake_complete())
                return finish(SessionOutcome::io_error,
                              "the peer closed the TCP connection during the handshake");
            if (close_sent_) return finish(SessionOutcome::ok);
            if (!conn_.peer_closed())
                return finish(SessionOutcome::truncated,
                              "the peer closed the TCP connection without close_notify");
        }

        // What to wait for.
        WaitFd fds[2];
        fds[0].fd = sock_;
        fds[0].want_read = !tcp_eof_ && in_tail_ < in_.size();
        fds[0].want_write = !output_empty;
        std::size_t num_fds = 1;
        const bool want_stdin = client && conn_.handshake_complete() && !stdin_eof_ &&
                                !close_sent_ && !conn_.peer_closed() && pending_.empty();
        if (want_stdin) {
            fds[1].fd = STDIN_FILENO;
            num_fds = 2;
        }
        int timeout_ms = -1;
        if (!conn_.handshake_complete()) {
            timeout_ms = ms_until(handshake_deadline);
            if (timeout_ms == 0) return finish(SessionOutcome::timeout, "handshake timeout");
        } else if (close_deadline) {
            timeout_ms = ms_until(*close_deadline);
            if (timeout_ms == 0) {
                // We said goodbye; the peer never answered. Not an error.
                return finish(SessionOutcome::ok, "no close_notify from the peer");
            }
        } else if (options_.idle_timeout_ms > 0) {
            timeout_ms =
                ms_until(last_activity + std::chrono::milliseconds(options_.idle_timeout_ms));
            if (timeout_ms == 0) return finish(SessionOutcome::timeout, "idle timeout");
        }
        const Ready ready = wait_fds(fds, num_fds, timeout_ms);
        if (ready == Ready::stop) {
            if (conn_.handshake_complete() && !close_sent_ && conn_.close()) flush_best_effort();
            return finish(SessionOutcome::stopped);
        }
        if (ready == Ready::error)
            return finish(SessionOutcome::io_error, std::string("poll: ") + std::strerror(errno));
        if (ready == Ready::timeout) continue;

        if (fds[0].readable && fds[0].want_read) {
            if (in_head_ > 0) {
                std::memmove(in_.data(), in_.data() + in_head_, in_tail_ - in_head_);
                in_tail_ -= in_head_;
                in_head_ = 0;
            }
            const ssize_t n = ::recv(sock_, in_.data() + in_tail_, in_.size() - in_tail_, 0);
            if (n > 0) {
                in_tail_ += static_cast<std::size_t>(n);
                last_activity = Clock::now();
            } else if (n == 0) {
                tcp_eof_ = true;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                if (errno == ECONNRESET && close_sent_) return finish(SessionOutcome::ok);
                return finish(SessionOutcome::io_error,
                              std::string("recv: ") + std::strerror(errno));
            }
        }
        if (num_fds == 2 && fds[1].readable) {
            pending_.resize(kChunkLen);
            const ssize_t n = ::read(STDIN_FILENO, pending_.data(), pending_.size());
            if (n > 0) {
                pending_.resize(static_cast<std::size_t>(n));
                pending_off_ = 0;
                last_activity = Clock::now();
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                // stdin is done: half-close with close_notify (§6.1), keep reading.
                pending_.clear();
                stdin_eof_ = true;
                if (!conn_.close()) {
                    flush_best_effort();
                    return finish(SessionOutcome::tls_error);
                }
                close_sent_ = true;
            } else {
                pending_.clear();
            }
        }
    }
}

}  // namespace

SessionResult run_session(tls::Connection& conn, int sock, const SessionOptions& options,
                          const std::function<void(const tls::Connection&)>& on_established) {
    Session session(conn, sock, options);
    return session.run(on_established);
}

std::string describe_error(const tls::TlsError& error) {
    const std::string name(tls::alert_name(error.alert));
    switch (error.origin) {
        case tls::ErrorOrigin::local:
            return "sent alert " + name;
        case tls::ErrorOrigin::peer:
            return "received alert " + name + " from the peer";
        case tls::ErrorOrigin::internal:
            return "internal error (sent alert " + name + ")";
    }
    return name;
}

std::string describe_negotiated(const tls::Negotiated& n, std::string_view our_server_name) {
    std::string s = "TLSv1.3 suite=";
    s += suite_name(n.suite);
    s += " group=";
    s += group_name(n.group);
    s += " hrr=";
    s += n.hello_retry ? "yes" : "no";
    s += " signature=";
    s += scheme_name(n.signature_scheme);
    s += " alpn=";
    s += n.alpn.empty() ? "-" : n.alpn;
    s += " sni=";
    const std::string_view sni = our_server_name.empty() ? n.server_name : our_server_name;
    s += sni.empty() ? std::string_view("-") : sni;
    return s;
}

std::string www_response(std::string_view request, const tls::Negotiated& n) {
    const bool is_get = request.substr(0, 4) == "GET ";
    if (!is_get) {
        return "HTTP/1.0 405 Method Not Allowed\r\nAllow: GET\r\nConnection: close\r\n"
               "Content-Length: 0\r\n\r\n";
    }
    // Only negotiated parameters go on the page: no secrets, no request echo
    // (which would make the page a reflection vector).
    std::string body = "<html><head><title>l45-tls</title></head><body><pre>\n";
    body += "l45-tls server\n";
    body += "Protocol: TLSv1.3\n";
    body += "New, TLSv1.3, Cipher is ";
    body += suite_name(n.suite);
    body += "\nCipher suite: ";
    body += suite_name(n.suite);
    body += "\nKey exchange group: ";
    body += group_name(n.group);
    body += "\nHelloRetryRequest: ";
    body += n.hello_retry ? "yes" : "no";
    body += "\nSignature scheme: ";
    body += scheme_name(n.signature_scheme);
    body += "\nSNI: ";
    body += n.server_name.empty() ? "(none)" : n.server_name;
    body += "\nALPN: ";
    body += n.alpn.empty() ? "(none)" : n.alpn;
    body += "\n</pre></body></html>\n";
    std::string resp = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n";
    resp += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    resp += body;
    return resp;
}

}  // namespace l45::apps::tls_cli
