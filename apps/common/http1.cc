#include "apps/common/http1.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace l45::apps::http {
namespace {

// RFC 9110 §5.6.2: tchar.
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}
bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}
// Field values: visible ASCII, obs-text, SP and HTAB (RFC 9110 §5.5); no
// other control bytes (a NUL or a bare CR is an attack, not a value).
bool is_field_value(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7f);
    });
}
// Request targets in origin-form: visible ASCII only.
bool is_visible(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
    });
}
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20) &&
                      ((x >= 'A' && x <= 'Z') || (x >= 'a' && x <= 'z') || x == y);
           });
}
std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Splits the next line off `rest` (LF-terminated; a CR before the LF is part
// of the terminator, RFC 9112 §2.2).
std::string_view next_line(std::string_view& rest) {
    const auto lf = rest.find('\n');
    std::string_view line = rest.substr(0, lf);
    rest = lf == std::string_view::npos ? std::string_view{} : rest.substr(lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

Result<void, ParseError> parse_version(std::string_view v, int& out_minor) {
    if (v == "HTTP/1.1") {
        out_minor = 1;
    } else if (v == "HTTP/1.0") {
        out_minor = 0;
    } else {
        return unexpected(ParseError::kBadVersion);
    }
    return {};
}

bool parse_decimal(std::string_view s, std::uint64_t& out) {
    // §6.3 step 5 / RFC 9110 §8.6: 1*DIGIT; 18 digits cannot overflow.
    if (s.empty() || s.size() > 18) return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// Connection (RFC 9110 §7.6.1): a comma-separated list of options.
bool has_connection_option(std::string_view value, std::string_view option) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        if (iequals(trim_ows(value.substr(0, comma)), option)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

// The field lines after the start line, shared by requests and responses.
Result<void, ParseError> parse_fields(std::string_view rest, std::span<Header> storage, Head& out) {
    std::size_t num = 0;
    std::optional<std::uint64_t> content_length;
    bool close = false;
    bool keep_alive = false;
    while (!rest.empty()) {
        const std::string_view line = next_line(rest);
        if (line.empty()) break;  // cannot happen before the end: the accumulator strips it
        // §5.2: obs-fold (a line starting with whitespace) is rejected.
        if (line.front() == ' ' || line.front() == '\t') return unexpected(ParseError::kBadHeader);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return unexpected(ParseError::kBadHeader);
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim_ows(line.substr(colon + 1));
        // §5.1: no whitespace between name and colon; the name is a token.
        if (!is_token(name) || !is_field_value(value)) return unexpected(ParseError::kBadHeader);
        if (num == storage.size()) return unexpected(ParseError::kTooManyHeaders);
        storage[num++] = Header{name, value};
        if (iequals(name, "content-length")) {
            std::uint64_t len = 0;
            // §6.3 step 5: differing values (or a list) are unrecoverable.
            if (!parse_decimal(value, len) || (content_length && *content_length != len))
                return unexpected(ParseError::kBadContentLength);
            content_length = len;
        } else if (iequals(name, "transfer-encoding")) {
            return unexpected(ParseError::kUnsupportedEncoding);
        } else if (iequals(name, "connection")) {
            close = close || has_connection_option(value, "close");
            keep_alive = keep_alive || has_connection_option(value, "keep-alive");
        }
    }
    out.headers = storage.first(num);
    out.content_length = content_length;
    // §9.3: "close" always wins; otherwise 1.1 persists and 1.0 only on request.
    out.keep_alive = !close && (out.version_minor >= 1 || keep_alive);
    return {};
}

template <class Parsed, class ParseFn>
Result<std::size_t, ParseError> feed_and_parse(HeadAccumulator& acc, ByteSpan in,
                                               std::span<Header> storage, Parsed& out,
                                               ParseFn parse) {
    auto taken = acc.feed(in);
    if (!taken) return taken;
    if (acc.complete()) {
        if (auto r = parse(acc.text(), storage, out); !r) return unexpected(r.error());
    }
    return taken;
}

void write_text(Writer& w, std::string_view s) {
    w.bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}
void write_decimal(Writer& w, std::uint64_t v) {
    std::array<char, 24> digits{};
    const auto r = std::to_chars(digits.data(), digits.data() + digits.size(), v);
    write_text(w, {digits.data(), static_cast<std::size_t>(r.ptr - digits.data())});
}

}  // namespace

const char* to_string(ParseError e) {
    switch (e) {
        case ParseError::kHeadTooLarge:
            return "head too large";
        case ParseError::kBadStartLine:
            return "bad start line";
        case ParseError::kBadVersion:
            return "unsupported HTTP version";
        case ParseError::kBadHeader:
            return "bad header field";
        case ParseError::kTooManyHeaders:
            return "too many header fields";
        case ParseError::kBadContentLength:
            return "bad Content-Length";
        case ParseError::kUnsupportedEncoding:
            return "unsupported Transfer-Encoding";
    }
    return "?";
}

std::string_view Head::header(std::string_view name) const {
    for (const Header& h : headers)
        if (iequals(h.name, name)) return h.value;
    return {};
}

Result<std::size_t, ParseError> HeadAccumulator::feed(ByteSpan in) {
    if (complete_) return std::size_t{0};
    const std::size_t old_len = len_;
    const std::size_t take = std::min(in.size(), buf_.size() - len_);
    if (take > 0) std::memcpy(buf_.data() + len_, in.data(), take);
    len_ += take;
    // Look for the blank line ("\n\r\n" or "\n\n") from just before the new
    // bytes, so a terminator split across two feeds is found.
    const std::size_t from = old_len >= 3 ? old_len - 3 : 0;
    const std::string_view all(buf_.data(), len_);
    for (std::size_t i = all.find('\n', from); i != std::string_view::npos;
         i = all.find('\n', i + 1)) {
        std::size_t end = 0;
        if (i + 1 < len_ && all[i + 1] == '\n') {
            end = i + 2;
        } else if (i + 2 < len_ && all[i + 1] == '\r' && all[i + 2] == '\n') {
            end = i + 3;
        } else {
            continue;
        }
        // A head that starts with an empty line: RFC 9112 §2.2 lets a server
        // ignore one CRLF before a request line, but a blank head is no head.
        if (end <= old_len) continue;  // cannot happen: the search starts late enough
        len_ = i + 1;                  // keep the last field line's LF, drop the blank line
        complete_ = true;
        return end - old_len;
    }
    if (len_ == buf_.size()) return unexpected(ParseError::kHeadTooLarge);
    return take;
}

Result<void, ParseError> parse_request(std::string_view head, std::span<Header> storage,
                                       Request& out) {
    out = Request{};
    std::string_view rest = head;
    const std::string_view line = next_line(rest);
    // §3: method SP request-target SP HTTP-version, single spaces.
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return unexpected(ParseError::kBadStartLine);
    out.method = line.substr(0, sp1);
    out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(out.method) || out.target.empty() || out.target.front() != '/' ||
        !is_visible(out.target))
        return unexpected(ParseError::kBadStartLine);
    if (auto r = parse_version(version, out.version_minor); !r) return r;
    return parse_fields(rest, storage, out);
}

Result<void, ParseError> parse_response(std::string_view head, std::span<Header> storage,
                                        Response& out) {
    out = Response{};
    std::string_view rest = head;
    const std::string_view line = next_line(rest);
    // §4: HTTP-version SP 3DIGIT SP [reason-phrase]; a missing final SP is
    // tolerated (some servers omit it with an empty reason).
    if (line.size() < 12 || line[8] != ' ') return unexpected(ParseError::kBadStartLine);
    if (auto r = parse_version(line.substr(0, 8), out.version_minor); !r) return r;
    const std::string_view code = line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return unexpected(ParseError::kBadStartLine);
    out.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (out.status < 100) return unexpected(ParseError::kBadStartLine);
    if (line.size() > 12) {
        if (line[12] != ' ' || !is_field_value(line.substr(13)))
            return unexpected(ParseError::kBadStartLine);
        out.reason = line.substr(13);
    }
    return parse_fields(rest, storage, out);
}

Result<std::size_t, ParseError> RequestParser::feed(ByteSpan in) {
    return feed_and_parse(acc_, in, headers_, request_, parse_request);
}

Result<std::size_t, ParseError> ResponseParser::feed(ByteSpan in) {
    return feed_and_parse(acc_, in, headers_, response_, parse_response);
}

void write_response_head(Writer& w, const ResponseHead& head) {
    write_text(w, "HTTP/1.1 ");
    write_decimal(w, static_cast<std::uint64_t>(head.status));
    write_text(w, " ");
    write_text(w, head.reason);
    write_text(w, "\r\nServer: l45\r\n");
    if (head.content_length) {
        write_text(w, "Content-Length: ");
        write_decimal(w, *head.content_length);
        write_text(w, "\r\n");
    }
    if (!head.content_type.empty()) {
        write_text(w, "Content-Type: ");
        write_text(w, head.content_type);
        write_text(w, "\r\n");
    }
    if (!head.location.empty()) {
        write_text(w, "Location: ");
        write_text(w, head.location);
        write_text(w, "\r\n");
    }
    if (!head.keep_alive) write_text(w, "Connection: close\r\n");
    write_text(w, "\r\n");
}

void write_get_request(Writer& w, std::string_view host, std::string_view target, bool keep_alive) {
    write_text(w, "GET ");
    write_text(w, target);
    write_text(w, " HTTP/1.1\r\nHost: ");
    write_text(w, host);
    write_text(w, "\r\nUser-Agent: l45-echo\r\nAccept: */*\r\n");
    if (!keep_alive) write_text(w, "Connection: close\r\n");
    write_text(w, "\r\n");
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 301:
            return "Moved Permanently";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 431:
            return "Request Header Fields Too Large";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

std::optional<HttpUrl> parse_http_url(std::string_view url) {
    constexpr std::string_view scheme = "http://";
    if (url.size() < scheme.size() || !iequals(url.substr(0, scheme.size()), scheme))
        return std::nullopt;
    url.remove_prefix(scheme.size());
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    HttpUrl out;
    out.target = slash == std::string_view::npos ? std::string_view("/") : url.substr(slash);
    if (!is_visible(out.target)) return std::nullopt;
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
        const std::string_view port = authority.substr(colon + 1);
        std::uint64_t p = 0;
        if (!parse_decimal(port, p) || p == 0 || p > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(p);
        authority = authority.substr(0, colon);
    }
    if (authority.empty() || !is_visible(authority) || authority.find('@') != authority.npos)
        return std::nullopt;
    out.host = authority;
    return out;
}

}  // namespace l45::apps::http
