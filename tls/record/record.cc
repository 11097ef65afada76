// TLS 1.3 record framing and protection. See record.h.
#include "tls/record/record.h"

#include <algorithm>
#include <cstring>

#include "tls/record/key_schedule.h"

namespace l45::tls {

namespace {

constexpr auto internal = [] { return fail(Alert::internal_error, ErrorOrigin::internal); };

bool known_type(std::uint8_t type) {
    switch (static_cast<ContentType>(type)) {
        case ContentType::change_cipher_spec:
        case ContentType::alert:
        case ContentType::handshake:
        case ContentType::application_data:
            return true;
        case ContentType::invalid:
            return false;
    }
    return false;
}

}  // namespace

// --- header (§5.1) ---

TlsResult<RecordHeader> parse_record_header(ByteSpan header_bytes) {
    Reader r(header_bytes);
    std::uint8_t type = 0;
    RecordHeader h;
    if (!r.u8(type) || !r.u16(h.legacy_version) || !r.u16(h.length)) return internal();
    if (!known_type(type)) return fail(Alert::unexpected_message);
    h.type = static_cast<ContentType>(type);
    const std::size_t limit =
        h.type == ContentType::application_data ? kMaxCiphertext : kMaxPlaintext;
    if (h.length > limit) return fail(Alert::record_overflow);
    return h;
}

void write_record_header(std::span<std::uint8_t, kRecordHeaderLen> out, ContentType type,
                         std::uint16_t length, std::uint16_t legacy_version) {
    Writer w(out);
    w.u8(static_cast<std::uint8_t>(type));
    w.u16(legacy_version);
    w.u16(length);
}

// --- Deframer ---

TlsResult<std::size_t> Deframer::feed(ByteSpan in) {
    if (failed_) return unexpected(error_);
    if (ready_) return std::size_t{0};
    std::size_t used = 0;
    while (used < in.size() && !ready_) {
        const std::size_t take = std::min(need_ - filled_, in.size() - used);
        std::memcpy(buf_.data() + filled_, in.data() + used, take);
        filled_ += take;
        used += take;
        if (filled_ < need_) break;
        if (need_ == kRecordHeaderLen) {
            auto h = parse_record_header(ByteSpan(buf_.data(), kRecordHeaderLen));
            if (!h) {
                failed_ = true;
                error_ = h.error();
                return unexpected(error_);
            }
            view_.header = *h;
            need_ = kRecordHeaderLen + h->length;
        }
        if (filled_ == need_) {
            view_.header_bytes = ByteSpan(buf_.data(), kRecordHeaderLen);
            view_.fragment = MutableByteSpan(buf_.data() + kRecordHeaderLen, view_.header.length);
            ready_ = true;
        }
    }
    return used;
}

void Deframer::pop() {
    if (!ready_) return;
    ready_ = false;
    filled_ = 0;
    need_ = kRecordHeaderLen;
    view_ = RecordView{};
}

// --- TrafficEpoch ---

TlsResult<void> TrafficEpoch::install(CryptoEngine& engine, CipherSuite suite,
                                      const Secret& traffic_secret) {
    auto keys = derive_traffic_keys(suite, traffic_secret);
    if (!keys) return unexpected(keys.error());
    if (auto r = install_keys(engine, suite, keys->key.view(), keys->iv.view()); !r) return r;
    secret_ = traffic_secret;
    return {};
}

TlsResult<void> TrafficEpoch::install_keys(CryptoEngine& engine, CipherSuite suite, ByteSpan key,
                                           ByteSpan iv) {
    clear();
    if (auto r = aead_.install(engine, suite, key, iv); !r) return r;
    suite_ = suite;
    return {};
}

TlsResult<void> TrafficEpoch::update(CryptoEngine& engine) {
    const auto info = suite_info(suite_);
    if (!installed() || secret_.empty() || !info) return internal();
    auto next = next_application_traffic_secret(info->hash, secret_);
    if (!next) return unexpected(next.error());
    return install(engine, suite_, *next);
}

void TrafficEpoch::clear() {
    aead_.clear();
    secret_ = Secret{};
    next_seq_ = 0;
    exhausted_ = false;
}

TlsResult<std::uint64_t> TrafficEpoch::take_sequence() {
    // §5.3: a sequence number never wraps; the connection must rekey (or
    // close) before. 2^64 - 1 is the last one used.
    if (exhausted_ || !installed()) return internal();
    const std::uint64_t seq = next_seq_;
    if (seq == UINT64_MAX)
        exhausted_ = true;
    else
        ++next_seq_;
    return seq;
}

// --- RecordSealer ---

void RecordSealer::set_record_size_limit(std::size_t limit) {
    max_inner_ = std::min(limit, kMaxInnerPlaintext);
}

std::size_t RecordSealer::max_content_len(std::size_t padding_len) const {
    return max_inner_ > padding_len + 1 ? max_inner_ - padding_len - 1 : 0;
}

TlsResult<std::size_t> RecordSealer::prepare_seal(ContentType type, MutableByteSpan record_buf,
                                                  std::size_t content_len, std::size_t padding_len,
                                                  AeadOp& out_op) {
    if (!installed() || max_inner_ < 1 || padding_len > max_inner_ ||
        content_len > max_content_len(padding_len) || type == ContentType::invalid)
        return internal();
    const std::size_t inner_len = content_len + 1 + padding_len;
    const std::size_t total = kRecordHeaderLen + inner_len + kAeadTagLen;
    if (record_buf.size() < total) return internal();
    auto seq = take_sequence();
    if (!seq) return unexpected(seq.error());
    // TLSInnerPlaintext: content || ContentType || zeros[padding_len] (§5.2)
    std::uint8_t* inner = record_buf.data() + kRecordHeaderLen;
    inner[content_len] = static_cast<std::uint8_t>(type);
    if (padding_len) std::memset(inner + content_len + 1, 0, padding_len);
    // The header is the AAD: opaque_type, legacy_record_version, length of
    // the encrypted record (§5.2).
    write_record_header(record_buf.first<kRecordHeaderLen>(), ContentType::application_data,
                        static_cast<std::uint16_t>(inner_len + kAeadTagLen));
    out_op.ctx = &aead();
    out_op.direction = AeadDirection::seal;
    out_op.seq = *seq;
    out_op.aad = record_buf.first(kRecordHeaderLen);
    out_op.data = MutableByteSpan(inner, inner_len);
    out_op.tag = inner + inner_len;
    out_op.status = AeadOpStatus::pending;
    return total;
}

TlsResult<std::size_t> RecordSealer::seal(CryptoEngine& engine, ContentType type,
                                          MutableByteSpan record_buf, std::size_t content_len,
                                          std::size_t padding_len) {
    AeadOp op;
    auto total = prepare_seal(type, record_buf, content_len, padding_len, op);
    if (!total) return total;
    if (auto r = aead().seal(engine, op.seq, op.aad, op.data,
                             std::span<std::uint8_t, kAeadTagLen>(op.tag, kAeadTagLen));
        !r)
        return unexpected(r.error());
    return total;
}

// --- RecordOpener ---

void RecordOpener::set_record_size_limit(std::size_t limit) {
    max_inner_ = std::min(limit, kMaxInnerPlaintext);
}

TlsResult<std::uint64_t> RecordOpener::check_and_take(const RecordHeader& header,
                                                      std::size_t header_len,
                                                      std::size_t fragment_len) {
    if (!installed()) return internal();
    if (header.type != ContentType::application_data) return fail(Alert::unexpected_message);
    if (header_len != kRecordHeaderLen || fragment_len != header.length) return internal();
    // Too short to hold a tag and a content type: it cannot authenticate.
    if (fragment_len < kAeadTagLen + 1) return fail(Alert::bad_record_mac);
    // §5.2 / RFC 8449: the TLSInnerPlaintext length is known before
    // decrypting; refuse an oversized record without spending the AEAD on it.
    if (fragment_len - kAeadTagLen > max_inner_) return fail(Alert::record_overflow);
    return take_sequence();
}

TlsResult<void> RecordOpener::prepare_open(const RecordView& rec, AeadOp& out_op) {
    auto seq = check_and_take(rec.header, rec.header_bytes.size(), rec.fragment.size());
    if (!seq) return unexpected(seq.error());
    const std::size_t inner_len = rec.fragment.size() - kAeadTagLen;
    out_op.ctx = &aead();
    out_op.direction = AeadDirection::open;
    out_op.seq = *seq;
    out_op.aad = rec.header_bytes;
    out_op.data = rec.fragment.first(inner_len);
    out_op.tag = rec.fragment.data() + inner_len;
    out_op.status = AeadOpStatus::pending;
    return {};
}

TlsResult<ContentType> RecordOpener::open_slices(CryptoEngine& engine, const RecordHeader& header,
                                                 ByteSpan header_bytes,
                                                 std::span<const MutableByteSpan> fragment,
                                                 std::size_t& out_content_len) {
    std::size_t fragment_len = 0;
    for (const MutableByteSpan& s : fragment)
        fragment_len += s.size();
    if (fragment.size() > kMaxRecordSlices) return internal();
    auto seq = check_and_take(header, header_bytes.size(), fragment_len);
    if (!seq) return unexpected(seq.error());
    const std::size_t inner_len = fragment_len - kAeadTagLen;
    // Split the slices at inner_len: ciphertext in front, the tag behind
    // (gathered: it may straddle two slices or more).
    std::array<MutableByteSpan, kMaxRecordSlices> cipher{};
    std::size_t num_cipher = 0;
    std::array<std::uint8_t, kAeadTagLen> tag{};
    std::size_t pos = 0;
    for (const MutableByteSpan& s : fragment) {
        if (pos < inner_len) {
            const std::size_t take = std::min(s.size(), inner_len - pos);
            cipher[num_cipher++] = s.first(take);
        }
        // The part of this slice that lies in the tag.
        const std::size_t from = pos < inner_len ? std::min(s.size(), inner_len - pos) : 0;
        for (std::size_t i = from; i < s.size(); ++i)
            tag[pos + i - inner_len] = s[i];
        pos += s.size();
    }
    auto r = aead().open_slices(engine, *seq, header_bytes,
                                std::span<const MutableByteSpan>(cipher.data(), num_cipher), tag);
    if (!r) return unexpected(r.error());
    // §5.4: the content type is the last non-zero byte (scanned from the end
    // across slices, as finish_open does in one buffer).
    std::size_t end = inner_len;
    for (std::size_t k = num_cipher; k-- > 0;) {
        const MutableByteSpan& s = cipher[k];
        std::size_t i = s.size();
        while (i > 0 && s[i - 1] == 0)
            --i;
        if (i > 0) {
            end -= s.size() - i;
            const std::uint8_t type = s[i - 1];
            switch (static_cast<ContentType>(type)) {
                case ContentType::handshake:
                case ContentType::alert:
                case ContentType::application_data:
                    out_content_len = end - 1;
                    return static_cast<ContentType>(type);
                default:
                    return fail(Alert::unexpected_message);
            }
        }
        end -= s.size();
    }
    return fail(Alert::unexpected_message);
}

TlsResult<OpenedRecord> RecordOpener::finish_open(const AeadOp& op) const {
    switch (op.status) {
        case AeadOpStatus::ok:
            break;
        case AeadOpStatus::bad_record_mac:
            return fail(Alert::bad_record_mac);
        case AeadOpStatus::pending:
        case AeadOpStatus::internal_error:
            return internal();
    }
    // §5.4: the content type is the last non-zero byte; all zeros is an
    // unexpected_message. Scanning from the end reveals the padding length
    // through timing, which §5.4 accepts.
    std::size_t i = op.data.size();
    while (i > 0 && op.data[i - 1] == 0)
        --i;
    if (i == 0) return fail(Alert::unexpected_message);
    const std::uint8_t type = op.data[i - 1];
    switch (static_cast<ContentType>(type)) {
        case ContentType::handshake:
        case ContentType::alert:
        case ContentType::application_data:
            break;
        default:
            // Includes a protected change_cipher_spec (RFC 8446 §5).
            return fail(Alert::unexpected_message);
    }
    return OpenedRecord{static_cast<ContentType>(type), op.data.first(i - 1)};
}

TlsResult<OpenedRecord> RecordOpener::open(CryptoEngine& engine, const RecordView& rec) {
    AeadOp op;
    if (auto r = prepare_open(rec, op); !r) return unexpected(r.error());
    auto r = aead().open(engine, op.seq, op.aad, op.data,
                         std::span<const std::uint8_t, kAeadTagLen>(op.tag, kAeadTagLen));
    if (r)
        op.status = AeadOpStatus::ok;
    else
        op.status = r.error().alert == Alert::bad_record_mac ? AeadOpStatus::bad_record_mac
                                                             : AeadOpStatus::internal_error;
    return finish_open(op);
}

}  // namespace l45::tls
