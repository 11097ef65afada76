// Port 80 of the appliance: every request is answered with
// `301 Moved Permanently` to https://<host><target>, a malformed or
// oversized one with `400 Bad Request`, then the connection closes.
//
// Read first: RFC 9112 §2.2 (message parsing robustness: the server may
// reject bare LF, obs-fold and over-long heads with 400), §3 (request line),
// §3.2 (request target; absolute-form MUST be accepted and its authority
// wins over Host), §3.2.2, RFC 9110 §7.2 (Host: exactly one in HTTP/1.1, else
// 400), §15.4.2 (301), RFC 3986 §3.2.2 (host: reg-name, IPv4, [IPv6]).
//
// Sans-IO and bounded: the parser looks only at the bytes it is given (a
// caller-owned buffer of at most max_request_len) and writes the response
// into a caller-owned buffer; it never allocates. What it copies into the
// Location header is checked character by character (visible ASCII only,
// no CR/LF), so a request cannot inject header fields into the response.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"

namespace l45::offload {

enum class HttpVerdict : std::uint8_t {
    need_more,    // no end of the head yet (and still under the bound)
    redirect,     // 301 written
    bad_request,  // 400 written
};

struct HttpAnswer {
    HttpVerdict verdict = HttpVerdict::need_more;
    std::size_t response_len = 0;  // bytes of `out` to send (0 for need_more)
};

// The longest response for a head of max_request_len bytes: `out` of this
// size always fits either answer.
[[nodiscard]] constexpr std::size_t max_redirect_response_len(std::size_t max_request_len) {
    return max_request_len + 256;
}

// Looks at the head received so far. https_port 443 gives no port in the
// Location; any other is written after the host.
[[nodiscard]] HttpAnswer answer_http(ByteSpan received, std::size_t max_request_len,
                                     std::uint16_t https_port, MutableByteSpan out);

}  // namespace l45::offload
