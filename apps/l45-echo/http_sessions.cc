#include "apps/l45-echo/http_sessions.h"

#include <algorithm>
#include <charconv>

namespace l45::apps {
namespace {

constexpr std::string_view kPage =
    "<!DOCTYPE html>\n<html><head><title>l45</title></head><body>\n"
    "<h1>l45-echo</h1>\n<p>A userspace TCP stack over DPDK. "
    "GET /bytes/N returns N bytes of its seeded test pattern.</p>\n</body></html>\n";

ByteSpan as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// "/bytes/N": N in decimal, no sign, no leading junk, at most the bound.
std::optional<std::uint64_t> bytes_route(std::string_view target) {
    constexpr std::string_view prefix = "/bytes/";
    if (target.substr(0, prefix.size()) != prefix) return std::nullopt;
    const std::string_view digits = target.substr(prefix.size());
    std::uint64_t n = 0;
    if (digits.empty() || digits.size() > 15) return std::nullopt;
    const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size()) return std::nullopt;
    if (n > HttpServerSession::kMaxPatternLen) return std::nullopt;
    return n;
}

}  // namespace

HttpServerSession::HttpServerSession(std::uint64_t seed, std::size_t chunk_len)
    : seed_(seed), pattern_(chunk_len) {}

void HttpServerSession::reset() {
    phase_ = Phase::kReadHead;
    parser_.reset();
    skip_ = 0;
    keep_alive_ = true;
    shut_down_ = false;
    head_len_ = head_off_ = 0;
    body_ = Body::kNone;
    pattern_.start(seed_, 0);
}

bool HttpServerSession::idle() const {
    // A parser holding part of a head is not idle: the peer is mid-request.
    return phase_ == Phase::kReadHead && skip_ == 0 && parser_.empty();
}

std::size_t HttpServerSession::on_input(ByteSpan in) {
    std::size_t taken = 0;
    // A request body (Content-Length) is read and dropped: no route takes one.
    if (skip_ > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, in.size()));
        skip_ -= n;
        taken += n;
        in = in.subspan(n);
    }
    if (phase_ == Phase::kClosing) return taken + in.size();  // nothing more is answered
    if (phase_ != Phase::kReadHead || skip_ > 0 || in.empty()) return taken;
    auto r = parser_.feed(in);
    if (!r) {
        ++bad_requests_;
        // RFC 6585 §5: 431 for an oversized head; 400 for the rest.
        respond_error(r.error() == http::ParseError::kHeadTooLarge ? 431 : 400);
        return taken + in.size();
    }
    taken += *r;
    if (parser_.complete()) {
        ++requests_;
        skip_ = parser_.request().content_length.value_or(0);
        respond(parser_.request());
        // The body (if any) may already be here.
        if (skip_ > 0 && *r < in.size()) taken += on_input(in.subspan(*r));
    }
    return taken;
}

void HttpServerSession::respond(const http::Request& request) {
    keep_alive_ = request.keep_alive;
    const bool head_only = request.method == "HEAD";
    if (request.method != "GET" && !head_only) return respond_error(405);
    http::ResponseHead head;
    head.keep_alive = keep_alive_;
    if (request.target == "/") {
        head.content_length = kPage.size();
        head.content_type = "text/html";
        return start_response(head, head_only ? Body::kNone : Body::kPage, kPage.size());
    }
    if (const auto n = bytes_route(request.target)) {
        head.content_length = *n;
        head.content_type = "application/octet-stream";
        return start_response(head, head_only ? Body::kNone : Body::kPattern, *n);
    }
    head.status = 404;
    head.reason = http::reason_phrase(404);
    head.content_length = 0;
    start_response(head, Body::kNone, 0);
}

// Errors end the connection: after a malformed head the framing of whatever
// follows is unknown (RFC 9112 §9.3 lets a server close at any time).
void HttpServerSession::respond_error(int status) {
    keep_alive_ = false;
    skip_ = 0;
    http::ResponseHead head;
    head.status = status;
    head.reason = http::reason_phrase(status);
    head.content_length = 0;
    head.keep_alive = false;
    start_response(head, Body::kNone, 0);
}

void HttpServerSession::start_response(const http::ResponseHead& head, Body body,
                                       std::uint64_t body_len) {
    Writer w(head_);
    http::write_response_head(w, head);
    // The head is built from bounded parts (no request bytes): it fits.
    head_len_ = w.ok() ? w.written() : 0;
    head_off_ = 0;
    body_ = body;
    page_off_ = 0;
    pattern_.start(seed_, body == Body::kPattern ? body_len : 0);
    phase_ = Phase::kRespond;
}

ByteSpan HttpServerSession::pending_output() {
    if (phase_ != Phase::kRespond) return {};
    if (head_off_ < head_len_) return ByteSpan(head_).subspan(head_off_, head_len_ - head_off_);
    ByteSpan out;
    if (body_ == Body::kPage) out = as_bytes(kPage).subspan(page_off_);
    if (body_ == Body::kPattern) out = pattern_.pending();
    if (out.empty()) finish_response();
    return out;
}

void HttpServerSession::output_sent(std::size_t n) {
    if (phase_ != Phase::kRespond || n == 0) return;
    const std::size_t from_head = std::min(n, head_len_ - head_off_);
    head_off_ += from_head;
    n -= from_head;
    body_sent_ += n;
    if (body_ == Body::kPage) page_off_ += n;
    if (body_ == Body::kPattern) pattern_.advance(n);
}

void HttpServerSession::finish_response() {
    head_len_ = head_off_ = 0;
    body_ = Body::kNone;
    parser_.reset();
    phase_ = keep_alive_ ? Phase::kReadHead : Phase::kClosing;
}

HttpGetClient::HttpGetClient(std::string host, std::string target) {
    // Host and target come from the command line, already checked by
    // parse_http_url; the buffer is sized for them.
    std::string buf(host.size() + target.size() + 128, '\0');
    Writer w({reinterpret_cast<std::uint8_t*>(buf.data()), buf.size()});
    http::write_get_request(w, host, target, /*keep_alive=*/false);
    buf.resize(w.ok() ? w.written() : 0);
    request_ = std::move(buf);
}

ByteSpan HttpGetClient::pending_output() const {
    return as_bytes(request_).subspan(std::min(request_off_, request_.size()));
}

Result<std::size_t, std::string> HttpGetClient::on_input(ByteSpan in, BodySink& sink) {
    std::size_t taken = 0;
    if (!head_done_) {
        auto r = parser_.feed(in);
        if (!r) return unexpected(std::string("response: ") + http::to_string(r.error()));
        taken = *r;
        if (!parser_.complete()) return taken;
        const http::Response& resp = parser_.response();
        // §6.3 step 1: 1xx/204/304 have no body; 1xx is not final either,
        // and l45 never asks for one, so it is an error here.
        if (resp.status < 200) return unexpected(std::string("response: unexpected 1xx"));
        head_done_ = true;
        status_ = resp.status;
        content_length_ = resp.content_length;
        if (resp.status == 204 || resp.status == 304) content_length_ = 0;
        in = in.subspan(taken);
    }
    if (done_) return taken + in.size();  // bytes after the body: ignored
    std::size_t n = in.size();
    if (content_length_)
        n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *content_length_ - body_received_));
    sink.body(in.first(n));
    body_received_ += n;
    if (content_length_ && body_received_ == *content_length_) done_ = true;
    return taken + in.size();
}

Result<void, std::string> HttpGetClient::on_peer_closed() {
    if (done_) return {};
    if (!head_done_) return unexpected(std::string("closed before a complete response head"));
    if (content_length_)
        return unexpected("closed after " + std::to_string(body_received_) + " of " +
                          std::to_string(*content_length_) + " body bytes");
    done_ = true;  // close-delimited body
    return {};
}

}  // namespace l45::apps
