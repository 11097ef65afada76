// Handshake-message deframer: record plaintext in, whole messages out.
//
// Read first: RFC 8446 §5.1 (handshake messages may be fragmented over
// records and several may share one record; they MUST NOT span a key change)
// and §4 (the 4-byte header: HandshakeType msg_type, uint24 length).
//
// Usage: after each handshake record, feed(plaintext), then call next() until
// it returns no message. A returned message's spans stay valid until the
// next feed() or next(). At a key change the handshake layer checks
// has_partial(): leftover bytes then -> unexpected_message (§5.1).
//
// Bounds. The buffer is allocated once in the constructor (capacity =
// header + largest allowed message + one record), nothing allocates later.
//  - A message whose header announces more than its type's limit ->
//    illegal_parameter, reported as soon as the header is complete (before
//    buffering the body). RFC 8446 names no alert for this; OpenSSL
//    (tls_get_message_header) and BoringSSL (parse_message) both send
//    illegal_parameter with SSL_R_EXCESSIVE_MESSAGE_SIZE, and decode_error
//    would misdescribe a well-formed message we merely refuse to hold.
//  - feed() of more than one record's plaintext (2^14) -> record_overflow
//    (RFC 8446 §5.1: the record layer should have caught it already).
//  - feed() that would exceed the buffer -> unexpected_message. With the
//    usage above this cannot happen (leftover < one message); it means the
//    peer kept sending handshake data that the caller has not asked for yet
//    (e.g. while the handshake is suspended), i.e. unexpected messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/types.h"

namespace l45::tls::msg {

struct HandshakeMessage {
    HandshakeType type{};  // any byte value: unknown types are the caller's to reject
    ByteSpan body{};       // without the header
    ByteSpan full{};       // header + body: the transcript input
};

struct HandshakeReaderLimits {
    // Certificate and CertificateRequest (certificate chains,
    // certificate_authorities lists) may use up to this much.
    std::size_t max_message_len = 64 * 1024;
    // Every other message type is capped at min(max_message_len, this):
    // ClientHello, ServerHello, EE, CertificateVerify, NewSessionTicket are a
    // few hundred bytes to a few KiB in practice (BoringSSL caps all but
    // Certificate at 16 KiB too); Finished, KeyUpdate, EndOfEarlyData are
    // checked exactly by their parsers.
    std::size_t max_small_message_len = 16 * 1024;
};

class HandshakeReader {
  public:
    explicit HandshakeReader(HandshakeReaderLimits limits = {});

    HandshakeReader(const HandshakeReader&) = delete;
    HandshakeReader& operator=(const HandshakeReader&) = delete;
    HandshakeReader(HandshakeReader&&) = default;
    HandshakeReader& operator=(HandshakeReader&&) = default;

    // Appends one record's plaintext. Fails as described above; after a
    // failure the reader is unusable (the connection is dead).
    [[nodiscard]] TlsResult<void> feed(ByteSpan record_plaintext);

    // Forgets every buffered byte and a past failure, keeping the buffer
    // (Connection::reset reuses one reader for the next connection).
    void reset() {
        begin_ = end_ = 0;
        failed_ = false;
    }

    // The next whole message, std::nullopt when more bytes are needed.
    [[nodiscard]] TlsResult<std::optional<HandshakeMessage>> next();

    // Bytes of an incomplete message are buffered (RFC 8446 §5.1 check at a
    // key change).
    [[nodiscard]] bool has_partial() const { return end_ != begin_; }
    [[nodiscard]] std::size_t buffered() const { return end_ - begin_; }
    [[nodiscard]] std::size_t capacity() const { return capacity_; }
    // The size limit that applies to `type`.
    [[nodiscard]] std::size_t limit_for(HandshakeType type) const;

  private:
    HandshakeReaderLimits limits_;
    std::size_t capacity_ = 0;
    std::unique_ptr<std::uint8_t[]> buf_;
    std::size_t begin_ = 0;  // first unconsumed byte
    std::size_t end_ = 0;    // one past the last buffered byte
    bool failed_ = false;
};

}  // namespace l45::tls::msg
