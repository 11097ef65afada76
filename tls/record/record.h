// TLS 1.3 record framing and record protection (RFC 8446 §5).
//
// Read first: RFC 8446 §5.1 (TLSPlaintext, limits), §5.2 (TLSInnerPlaintext,
// TLSCiphertext, AAD), §5.3 (nonce), §5.4 (padding), §5.5 (key limits),
// RFC 8449 (record_size_limit).
//
// Sans-IO: bytes in, bytes out, caller-owned buffers. Nothing here allocates.
//
//   bytes from TCP -> Deframer::feed() -> RecordView -> RecordOpener::open()
//                                                     -> OpenedRecord{type, content}
//   content in a buffer with headroom/tailroom -> RecordSealer::seal() -> wire bytes
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/record/aead.h"
#include "tls/record/suite.h"
// tls/secret.h ignores its own [[nodiscard]] assign() in the constructors,
// which -Werror turns into a build break; silence that until it is fixed.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-result"
#pragma GCC diagnostic ignored "-Wnonnull"
#include "tls/secret.h"
#pragma GCC diagnostic pop
#include "tls/types.h"

namespace l45::tls {

// TLSInnerPlaintext (content || type || zeros) MUST NOT exceed 2^14 + 1 (§5.4).
inline constexpr std::size_t kMaxInnerPlaintext = kMaxPlaintext + 1;

// §5.1 header: type(1) legacy_record_version(2) length(2).
struct RecordHeader {
    ContentType type = ContentType::invalid;
    std::uint16_t legacy_version = kTls12;
    std::uint16_t length = 0;
};

// Parses the 5-byte header and applies the §5.1/§5.2 length limits:
// application_data (the TLSCiphertext opaque_type) may carry up to 2^14+256
// bytes, every other type is a plaintext record limited to 2^14;
// a larger length is record_overflow. An unknown type is unexpected_message
// (§5). legacy_record_version is ignored, as §5.1 requires. Needs 5 bytes.
[[nodiscard]] TlsResult<RecordHeader> parse_record_header(ByteSpan header_bytes);
void write_record_header(std::span<std::uint8_t, kRecordHeaderLen> out, ContentType type,
                         std::uint16_t length, std::uint16_t legacy_version = kTls12);

// One whole record, still in the deframer's buffer. `fragment` is mutable so
// it can be opened in place.
struct RecordView {
    RecordHeader header;
    ByteSpan header_bytes;  // the 5 wire bytes (the AAD of a protected record)
    MutableByteSpan fragment;
};

// Reassembles records from a byte stream split at arbitrary points (down to
// one byte per call). Memory is bounded: one record of at most
// 5 + 2^14 + 256 bytes, held inline (no heap). Typical loop:
//
//   while (!in.empty()) {
//       auto used = deframer.feed(in);       // error: send used.error().alert
//       in = in.subspan(*used);
//       if (auto* rec = deframer.record()) { handle(*rec); deframer.pop(); }
//   }
//
// After an error the deframer stays failed (a TLS error is fatal).
class Deframer {
  public:
    // Consumes bytes until one record is complete (or `in` runs out). Returns
    // the number of bytes used; 0 while a record is waiting to be popped.
    [[nodiscard]] TlsResult<std::size_t> feed(ByteSpan in);
    // The completed record, or nullptr. Valid until pop() or the next feed().
    [[nodiscard]] RecordView* record() { return ready_ ? &view_ : nullptr; }
    void pop();
    // Bytes held of a record not yet complete (0 at a record boundary):
    // a connection closing with buffered() != 0 ended mid-record.
    [[nodiscard]] std::size_t buffered() const { return ready_ ? 0 : filled_; }

  private:
    std::array<std::uint8_t, kRecordHeaderLen + kMaxCiphertext> buf_{};
    std::size_t filled_ = 0;
    std::size_t need_ = kRecordHeaderLen;  // bytes of the current record known so far
    bool ready_ = false;
    bool failed_ = false;
    TlsError error_{};
    RecordView view_{};
};

// Keys and sequence number for one direction of one key epoch (§5.3):
// the sequence number restarts at 0 whenever the key changes and must never
// wrap (a record is refused once 2^64 - 1 has been used).
class TrafficEpoch {
  public:
    // Derives key/iv from the traffic secret (§7.3), keeps the secret for
    // KeyUpdate, and resets the sequence number.
    [[nodiscard]] TlsResult<void> install(CryptoEngine& engine, CipherSuite suite,
                                          const Secret& traffic_secret);
    // Raw key/iv (no KeyUpdate possible afterwards).
    [[nodiscard]] TlsResult<void> install_keys(CryptoEngine& engine, CipherSuite suite,
                                               ByteSpan key, ByteSpan iv);
    // §7.2: derives application_traffic_secret_N+1 and installs it.
    [[nodiscard]] TlsResult<void> update(CryptoEngine& engine);
    void clear();

    [[nodiscard]] bool installed() const { return aead_.installed(); }
    [[nodiscard]] CipherSuite suite() const { return suite_; }
    [[nodiscard]] const AeadContext& aead() const { return aead_; }
    // The sequence number the next record will use.
    [[nodiscard]] std::uint64_t sequence() const { return next_seq_; }
    [[nodiscard]] const Secret& traffic_secret() const { return secret_; }
    // Tests only: jump close to the wrap.
    void set_sequence_for_testing(std::uint64_t seq) {
        next_seq_ = seq;
        exhausted_ = false;
    }

  protected:
    // Takes the next sequence number, or fails when the space is used up.
    [[nodiscard]] TlsResult<std::uint64_t> take_sequence();

  private:
    AeadContext aead_;
    Secret secret_;
    CipherSuite suite_ = CipherSuite::aes_128_gcm_sha256;
    std::uint64_t next_seq_ = 0;
    bool exhausted_ = false;
};

// The write side: TLSInnerPlaintext -> TLSCiphertext (§5.2).
class RecordSealer : public TrafficEpoch {
  public:
    // Bytes around the content: 5 in front; type + padding + tag behind.
    [[nodiscard]] static constexpr std::size_t headroom() { return kRecordHeaderLen; }
    [[nodiscard]] static constexpr std::size_t tailroom(std::size_t padding_len = 0) {
        return 1 + padding_len + kAeadTagLen;
    }
    // RFC 8449: the peer's record_size_limit bounds TLSInnerPlaintext
    // (content + type + padding). Values above 2^14 + 1 are clamped.
    void set_record_size_limit(std::size_t limit);
    // The largest content_len seal() accepts with this padding.
    [[nodiscard]] std::size_t max_content_len(std::size_t padding_len = 0) const;

    // `record_buf` holds the content at [5, 5 + content_len) and has room for
    // tailroom(padding_len) after it. Writes the header, the real type, zero
    // padding, encrypts in place and appends the tag. Returns the record's
    // total length (from record_buf.data()). Too large or no room:
    // internal_error (our own bug, not the peer's).
    [[nodiscard]] TlsResult<std::size_t> seal(CryptoEngine& engine, ContentType type,
                                              MutableByteSpan record_buf, std::size_t content_len,
                                              std::size_t padding_len = 0);

    // Batched form: lays the record out and takes a sequence number exactly
    // as seal() does, but leaves the encryption to `op` (AeadBatch). The
    // record is complete when the op ends `ok`.
    [[nodiscard]] TlsResult<std::size_t> prepare_seal(ContentType type, MutableByteSpan record_buf,
                                                      std::size_t content_len,
                                                      std::size_t padding_len, AeadOp& out_op);

  private:
    std::size_t max_inner_ = kMaxInnerPlaintext;
};

// A protected record that spans several buffers (received mbufs): at most
// this many slices; the record layer never needs more than a 16 KiB record
// split into minimum-size segments would give with a sane MSS (536 bytes:
// 32 slices), so twice that.
inline constexpr std::size_t kMaxRecordSlices = 64;

struct OpenedRecord {
    ContentType type = ContentType::invalid;  // the real type from TLSInnerPlaintext
    MutableByteSpan content;                  // padding and type stripped
};

// The read side: TLSCiphertext -> content (§5.2, §5.4).
class RecordOpener : public TrafficEpoch {
  public:
    // RFC 8449: the limit WE advertised bounds the TLSInnerPlaintext we
    // accept. Values above 2^14 + 1 are clamped.
    void set_record_size_limit(std::size_t limit);

    // Decrypts rec.fragment in place. Errors, per RFC 8446:
    //  - header type other than application_data: unexpected_message
    //  - inner plaintext longer than the limit: record_overflow (§5.2, RFC 8449)
    //  - AEAD failure (or a fragment shorter than the tag): bad_record_mac
    //  - all-zero plaintext (no content type): unexpected_message (§5.4)
    //  - inner type not handshake/alert/application_data: unexpected_message
    [[nodiscard]] TlsResult<OpenedRecord> open(CryptoEngine& engine, const RecordView& rec);

    // Batched form: checks and takes a sequence number, fills `out_op`; after
    // the batch flush, finish_open() strips the padding.
    [[nodiscard]] TlsResult<void> prepare_open(const RecordView& rec, AeadOp& out_op);
    [[nodiscard]] TlsResult<OpenedRecord> finish_open(const AeadOp& op) const;

    // open() for a record whose fragment (`header.length` bytes) lies in up
    // to kMaxRecordSlices buffers, decrypted in place slice by slice
    // (AeadContext::open_slices). Same checks and alerts as open(). The tag
    // may itself span slices: its 16 bytes are gathered into a local copy.
    // Returns the inner type; the content is the first `out_content_len`
    // bytes of the slices.
    [[nodiscard]] TlsResult<ContentType> open_slices(CryptoEngine& engine,
                                                     const RecordHeader& header,
                                                     ByteSpan header_bytes,
                                                     std::span<const MutableByteSpan> fragment,
                                                     std::size_t& out_content_len);

  private:
    // The checks before decryption, then the sequence number.
    [[nodiscard]] TlsResult<std::uint64_t> check_and_take(const RecordHeader& header,
                                                          std::size_t header_len,
                                                          std::size_t fragment_len);
    std::size_t max_inner_ = kMaxInnerPlaintext;
};

}  // namespace l45::tls
