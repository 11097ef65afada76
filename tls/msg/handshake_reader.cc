// Handshake-message deframer. See handshake_reader.h for the RFC sections
// and the choice of alerts.
#include "tls/msg/handshake_reader.h"

#include <algorithm>
#include <cstring>

#include "tls/msg/messages.h"

namespace l45::tls::msg {

HandshakeReader::HandshakeReader(HandshakeReaderLimits limits)
    : limits_(limits),
      // A partial message of at most the largest limit, plus one record.
      capacity_(kHandshakeHeaderLen + limits.max_message_len + kMaxPlaintext),
      buf_(new std::uint8_t[capacity_]) {}

std::size_t HandshakeReader::limit_for(HandshakeType type) const {
    switch (type) {
        case HandshakeType::certificate:
        case HandshakeType::certificate_request:
            return limits_.max_message_len;
        default:
            return std::min(limits_.max_message_len, limits_.max_small_message_len);
    }
}

TlsResult<void> HandshakeReader::feed(ByteSpan record_plaintext) {
    if (failed_) return fail(Alert::internal_error, ErrorOrigin::internal);
    if (record_plaintext.size() > kMaxPlaintext) {
        failed_ = true;
        return fail(Alert::record_overflow);
    }
    // Compact: move the unconsumed tail to the front (at most one partial
    // message plus one record, so this copy is bounded).
    if (begin_ != 0) {
        const std::size_t len = end_ - begin_;
        if (len != 0) std::memmove(buf_.get(), buf_.get() + begin_, len);
        begin_ = 0;
        end_ = len;
    }
    if (capacity_ - end_ < record_plaintext.size()) {
        failed_ = true;
        return fail(Alert::unexpected_message);
    }
    if (!record_plaintext.empty())
        std::memcpy(buf_.get() + end_, record_plaintext.data(), record_plaintext.size());
    end_ += record_plaintext.size();
    return {};
}

TlsResult<std::optional<HandshakeMessage>> HandshakeReader::next() {
    if (failed_) return fail(Alert::internal_error, ErrorOrigin::internal);
    Reader r(ByteSpan(buf_.get() + begin_, end_ - begin_));
    std::uint8_t type = 0;
    std::uint32_t len = 0;
    if (!r.u8(type) || !r.u24(len)) return std::optional<HandshakeMessage>{};
    const auto htype = static_cast<HandshakeType>(type);
    if (len > limit_for(htype)) {
        failed_ = true;
        return fail(Alert::illegal_parameter);
    }
    ByteSpan body;
    if (!r.bytes(len, body)) return std::optional<HandshakeMessage>{};
    HandshakeMessage m;
    m.type = htype;
    m.body = body;
    m.full = ByteSpan(buf_.get() + begin_, kHandshakeHeaderLen + len);
    begin_ += kHandshakeHeaderLen + len;
    if (begin_ == end_) begin_ = end_ = 0;
    return std::optional<HandshakeMessage>{m};
}

}  // namespace l45::tls::msg
