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

TlsResult<void> RecordOpener::prepare_open(const RecordView& rec, AeadOp& out_op) {
    if (!installed()) return internal();
    if (rec.header.type != ContentType::application_data) return fail(Alert::unexpected_message);
    if (rec.header_bytes.size() != kRecordHeaderLen || rec.fragment.size() != rec.header.length)
        return internal();
    // Too short to hold a tag and a content type: it cannot authenticate.
    if (rec.fragment.size() < kAeadTagLen + 1) return fail(Alert::bad_record_mac);
    const std::size_t inner_len = rec.fragment.size() - kAeadTagLen;
    // §5.2 / RFC 8449: the TLSInnerPlaintext length is known before
    // decrypting; refuse an oversized record without spending the AEAD on it.
    if (inner_len > max_inner_) return fail(Alert::record_overflow);
    auto seq = take_sequence();
    if (!seq) return unexpected(seq.error());
    out_op.ctx = &aead();
    out_op.direction = AeadDirection::open;
    out_op.seq = *seq;
    out_op.aad = rec.header_bytes;
    out_op.data = rec.fragment.first(inner_len);
    out_op.tag = rec.fragment.data() + inner_len;
    out_op.status = AeadOpStatus::pending;
    return {};
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
