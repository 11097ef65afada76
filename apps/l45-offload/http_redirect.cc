#include "apps/l45-offload/http_redirect.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string_view>

namespace l45::offload {
namespace {

constexpr std::size_t kMaxMethodLen = 16;
constexpr std::size_t kMaxHostLen = 255;  // RFC 1035 §2.3.4 (a name's length)

constexpr std::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Length: 0\r\n"
    "Connection: close\r\n"
    "\r\n";

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_visible(char c) {
    return c >= 0x21 && c <= 0x7e;
}
// RFC 3986 §3.2.2 reg-name (unreserved and sub-delims minus those that would
// need escaping in a URI we write back) plus the IPv6 literal's characters.
bool is_host_char(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return c == '-' || c == '.' || c == '_' || c == '~';
}
bool equals_ci(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// A cursor over the head; every take is checked against the end.
class Cursor {
  public:
    explicit Cursor(std::string_view s) : s_(s) {}
    [[nodiscard]] bool empty() const { return s_.empty(); }
    [[nodiscard]] std::string_view rest() const { return s_; }
    // The bytes up to (not including) `delim`, consuming the delimiter too.
    [[nodiscard]] std::optional<std::string_view> take_until(std::string_view delim) {
        const std::size_t pos = s_.find(delim);
        if (pos == std::string_view::npos) return std::nullopt;
        const std::string_view out = s_.substr(0, pos);
        s_.remove_prefix(pos + delim.size());
        return out;
    }

  private:
    std::string_view s_;
};

std::string_view trim_ows(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
    return v;
}

// RFC 9110 §7.2: Host = uri-host [ ":" port ]. Returns the host part (port
// dropped: the redirect goes to the https port), or nullopt when malformed.
std::optional<std::string_view> host_of(std::string_view authority) {
    if (authority.empty() || authority.size() > kMaxHostLen + 6) return std::nullopt;
    std::string_view host = authority, port;
    if (authority.front() == '[') {
        // IP-literal: "[" IPv6 "]" (RFC 3986 §3.2.2).
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos || close < 3) return std::nullopt;
        for (char c : authority.substr(1, close - 1))
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return std::nullopt;
        host = authority.substr(0, close + 1);
        const std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
        }
    } else {
        const std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
        }
        if (host.empty() || host.size() > kMaxHostLen) return std::nullopt;
        for (char c : host)
            if (!is_host_char(c)) return std::nullopt;
    }
    // port = *DIGIT (RFC 3986 §3.2.3), at most 5 of them.
    if (port.size() > 5) return std::nullopt;
    for (char c : port)
        if (c < '0' || c > '9') return std::nullopt;
    return host;
}

struct Request {
    std::string_view host;
    std::string_view target;  // origin-form path and query
};

std::optional<Request> parse_head(std::string_view head) {
    Cursor cur(head);
    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version CRLF
    const auto line = cur.take_until("\r\n");
    if (!line) return std::nullopt;
    Cursor rl(*line);
    const auto method = rl.take_until(" ");
    if (!method || method->empty() || method->size() > kMaxMethodLen) return std::nullopt;
    for (char c : *method)
        if (!is_tchar(c)) return std::nullopt;
    const auto target = rl.take_until(" ");
    if (!target || target->empty()) return std::nullopt;
    for (char c : *target)
        if (!is_visible(c)) return std::nullopt;
    const std::string_view version = rl.rest();
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;

    Request req;
    // §3.2.2 absolute-form: its authority is the host, Host is ignored.
    std::optional<std::string_view> uri_host;
    if (target->front() == '/') {
        req.target = *target;
    } else if (target->size() > 7 && equals_ci(target->substr(0, 7), "http://")) {
        const std::string_view rest = target->substr(7);
        const std::size_t slash = rest.find('/');
        const std::string_view authority = rest.substr(0, slash);
        uri_host = host_of(authority);
        if (!uri_host) return std::nullopt;
        req.target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    } else {
        return std::nullopt;  // asterisk-form, authority-form: nothing to redirect
    }

    // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, CRLF.
    int num_hosts = 0;
    std::string_view host_value;
    for (;;) {
        const auto field = cur.take_until("\r\n");
        if (!field) return std::nullopt;
        if (field->empty()) break;  // the end of the head
        const std::size_t colon = field->find(':');
        if (colon == std::string_view::npos || colon == 0) return std::nullopt;  // incl. obs-fold
        const std::string_view name = field->substr(0, colon);
        for (char c : name)
            if (!is_tchar(c)) return std::nullopt;  // §5.1: no space before the colon
        const std::string_view value = trim_ows(field->substr(colon + 1));
        for (char c : value)
            if (!is_visible(c) && c != ' ' && c != '\t') return std::nullopt;
        if (equals_ci(name, "host")) {
            ++num_hosts;
            host_value = value;
        }
    }
    if (uri_host) {
        req.host = *uri_host;
        return req;
    }
    // RFC 9110 §7.2 / RFC 9112 §3.2: exactly one Host, valid.
    if (num_hosts != 1) return std::nullopt;
    const auto h = host_of(host_value);
    if (!h) return std::nullopt;
    req.host = *h;
    return req;
}

void put(Writer& w, std::string_view s) {
    w.bytes(ByteSpan(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

}  // namespace

HttpAnswer answer_http(ByteSpan received, std::size_t max_request_len, std::uint16_t https_port,
                       MutableByteSpan out) {
    const std::string_view text(reinterpret_cast<const char*>(received.data()),
                                std::min(received.size(), max_request_len));
    const std::size_t end = text.find("\r\n\r\n");
    Writer w(out);
    std::optional<Request> req;
    if (end == std::string_view::npos) {
        if (received.size() < max_request_len) return {};  // need_more
    } else {
        req = parse_head(text.substr(0, end + 4));
    }
    if (req) {
        std::array<char, 8> port_text{};
        std::size_t port_len = 0;
        if (https_port != 443) {
            const auto r =
                std::to_chars(port_text.data(), port_text.data() + port_text.size(), https_port);
            port_len = static_cast<std::size_t>(r.ptr - port_text.data());
        }
        put(w, "HTTP/1.1 301 Moved Permanently\r\nLocation: https://");
        put(w, req->host);
        if (port_len != 0) {
            put(w, ":");
            put(w, std::string_view(port_text.data(), port_len));
        }
        put(w, req->target);
        put(w, "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        if (w.ok()) return {HttpVerdict::redirect, w.written()};
    }
    Writer bad(out);
    put(bad, kBadRequest);
    return {HttpVerdict::bad_request, bad.ok() ? bad.written() : 0};
}

}  // namespace l45::offload
