// AEAD through Intel IPsec-MB 1.3: the direct GCM / ChaCha20-Poly1305 API for
// single records and the job API for batches. See aead.h.
#include "tls/record/aead.h"

#include <intel-ipsec-mb.h>
#include <string.h>  // explicit_bzero

#include <cstring>

// See key_schedule.h for why the pragma (tls/secret.h ignores its own
// [[nodiscard]] in its constructors).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-result"
#pragma GCC diagnostic ignored "-Wnonnull"
#include "tls/secret.h"
#pragma GCC diagnostic pop

namespace l45::tls {

static_assert(sizeof(gcm_key_data) <= 1024, "AeadContext::kKeyDataLen too small");

namespace {

int arch_rank(EngineArch arch) {
    switch (arch) {
        case EngineArch::no_aesni:
            return 0;
        case EngineArch::sse:
            return 1;
        case EngineArch::avx:
            return 2;
        case EngineArch::avx2:
            return 3;
        case EngineArch::avx512:
        case EngineArch::best:
            return 4;
    }
    return 0;
}

EngineArch from_imb(IMB_ARCH arch) {
    switch (arch) {
        case IMB_ARCH_NOAESNI:
            return EngineArch::no_aesni;
        case IMB_ARCH_SSE:
            return EngineArch::sse;
        case IMB_ARCH_AVX:
            return EngineArch::avx;
        case IMB_ARCH_AVX2:
            return EngineArch::avx2;
        case IMB_ARCH_AVX512:
            return EngineArch::avx512;
        default:
            return EngineArch::no_aesni;
    }
}

const gcm_key_data* gcm_keys(const std::uint8_t* key_data) {
    return reinterpret_cast<const gcm_key_data*>(key_data);
}

// IPsec-MB's argument checks reject NULL buffers even for zero lengths.
alignas(16) const std::uint8_t kEmpty[16] = {};

}  // namespace

// --- CryptoEngine ---

TlsResult<std::unique_ptr<CryptoEngine>> CryptoEngine::create(EngineArch arch) {
    IMB_MGR* mgr = alloc_mb_mgr(0);
    if (mgr == nullptr) return fail(Alert::internal_error, ErrorOrigin::internal);
    IMB_ARCH detected = IMB_ARCH_NONE;
    init_mb_mgr_auto(mgr, &detected);
    if (imb_get_errno(mgr) != 0 || detected == IMB_ARCH_NONE) {
        free_mb_mgr(mgr);
        return fail(Alert::internal_error, ErrorOrigin::internal);
    }
    EngineArch chosen = from_imb(detected);
    if (arch != EngineArch::best && arch != chosen) {
        // Only step down: forcing a path the CPU lacks would fault.
        if (arch_rank(arch) > arch_rank(chosen) || arch == EngineArch::no_aesni) {
            free_mb_mgr(mgr);
            return fail(Alert::internal_error, ErrorOrigin::internal);
        }
        switch (arch) {
            case EngineArch::sse:
                init_mb_mgr_sse(mgr);
                break;
            case EngineArch::avx:
                init_mb_mgr_avx(mgr);
                break;
            case EngineArch::avx2:
                init_mb_mgr_avx2(mgr);
                break;
            default:
                break;
        }
        if (imb_get_errno(mgr) != 0) {
            free_mb_mgr(mgr);
            return fail(Alert::internal_error, ErrorOrigin::internal);
        }
        chosen = arch;
    }
    return std::unique_ptr<CryptoEngine>(new CryptoEngine(mgr, chosen));
}

CryptoEngine::~CryptoEngine() {
    free_mb_mgr(mgr_);
}

// --- AeadContext ---

TlsResult<void> AeadContext::install(CryptoEngine& engine, CipherSuite suite, ByteSpan key,
                                     ByteSpan iv) {
    clear();
    const auto info = suite_info(suite);
    if (!info || key.size() != info->key_len || iv.size() != kAeadNonceLen)
        return fail(Alert::internal_error, ErrorOrigin::internal);
    IMB_MGR* mgr = engine.mgr();
    auto* keys = reinterpret_cast<gcm_key_data*>(key_data_.data());
    switch (info->aead) {
        case AeadAlgorithm::aes_128_gcm:
            IMB_AES128_GCM_PRE(mgr, key.data(), keys);
            break;
        case AeadAlgorithm::aes_256_gcm:
            IMB_AES256_GCM_PRE(mgr, key.data(), keys);
            break;
        case AeadAlgorithm::chacha20_poly1305:
            std::memcpy(key_data_.data(), key.data(), key.size());
            break;
    }
    std::memcpy(iv_.data(), iv.data(), kAeadNonceLen);
    algorithm_ = info->aead;
    arch_ = engine.arch();
    installed_ = true;
    return {};
}

void AeadContext::clear() {
    explicit_bzero(key_data_.data(), key_data_.size());
    explicit_bzero(iv_.data(), iv_.size());
    installed_ = false;
}

bool AeadContext::usable_with(const CryptoEngine& engine) const {
    // ChaCha20 keys are raw bytes; GCM key data is laid out per code path.
    return installed_ && (algorithm_ == AeadAlgorithm::chacha20_poly1305 || arch_ == engine.arch());
}

void AeadContext::nonce(std::uint64_t seq, std::span<std::uint8_t, kAeadNonceLen> out) const {
    std::uint8_t padded_seq[kAeadNonceLen] = {};
    store_be64(padded_seq + 4, seq);
    for (std::size_t i = 0; i < kAeadNonceLen; ++i)
        out[i] = static_cast<std::uint8_t>(iv_[i] ^ padded_seq[i]);
}

TlsResult<void> AeadContext::seal(CryptoEngine& engine, std::uint64_t seq, ByteSpan aad,
                                  MutableByteSpan data,
                                  std::span<std::uint8_t, kAeadTagLen> out_tag) const {
    if (!usable_with(engine)) return fail(Alert::internal_error, ErrorOrigin::internal);
    IMB_MGR* mgr = engine.mgr();
    std::uint8_t nonce_bytes[kAeadNonceLen];
    nonce(seq, nonce_bytes);
    const std::uint8_t* aad_ptr = aad.empty() ? kEmpty : aad.data();
    std::uint8_t* buf = data.empty() ? const_cast<std::uint8_t*>(kEmpty) : data.data();
    switch (algorithm_) {
        case AeadAlgorithm::aes_128_gcm: {
            gcm_context_data ctx;
            IMB_AES128_GCM_ENC(mgr, gcm_keys(key_data_.data()), &ctx, buf, buf, data.size(),
                               nonce_bytes, aad_ptr, aad.size(), out_tag.data(), kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
        case AeadAlgorithm::aes_256_gcm: {
            gcm_context_data ctx;
            IMB_AES256_GCM_ENC(mgr, gcm_keys(key_data_.data()), &ctx, buf, buf, data.size(),
                               nonce_bytes, aad_ptr, aad.size(), out_tag.data(), kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
        case AeadAlgorithm::chacha20_poly1305: {
            chacha20_poly1305_context_data ctx;
            IMB_CHACHA20_POLY1305_INIT(mgr, key_data_.data(), &ctx, nonce_bytes, aad_ptr,
                                       aad.size());
            IMB_CHACHA20_POLY1305_ENC_UPDATE(mgr, key_data_.data(), &ctx, buf, buf, data.size());
            IMB_CHACHA20_POLY1305_ENC_FINALIZE(mgr, &ctx, out_tag.data(), kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
    }
    return {};
}

TlsResult<void> AeadContext::open(CryptoEngine& engine, std::uint64_t seq, ByteSpan aad,
                                  MutableByteSpan data,
                                  std::span<const std::uint8_t, kAeadTagLen> tag) const {
    if (!usable_with(engine)) return fail(Alert::internal_error, ErrorOrigin::internal);
    IMB_MGR* mgr = engine.mgr();
    std::uint8_t nonce_bytes[kAeadNonceLen];
    nonce(seq, nonce_bytes);
    const std::uint8_t* aad_ptr = aad.empty() ? kEmpty : aad.data();
    std::uint8_t scratch[1];
    std::uint8_t* buf = data.empty() ? scratch : data.data();
    alignas(16) std::uint8_t computed[kAeadTagLen];
    switch (algorithm_) {
        case AeadAlgorithm::aes_128_gcm: {
            gcm_context_data ctx;
            IMB_AES128_GCM_DEC(mgr, gcm_keys(key_data_.data()), &ctx, buf, buf, data.size(),
                               nonce_bytes, aad_ptr, aad.size(), computed, kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
        case AeadAlgorithm::aes_256_gcm: {
            gcm_context_data ctx;
            IMB_AES256_GCM_DEC(mgr, gcm_keys(key_data_.data()), &ctx, buf, buf, data.size(),
                               nonce_bytes, aad_ptr, aad.size(), computed, kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
        case AeadAlgorithm::chacha20_poly1305: {
            chacha20_poly1305_context_data ctx;
            IMB_CHACHA20_POLY1305_INIT(mgr, key_data_.data(), &ctx, nonce_bytes, aad_ptr,
                                       aad.size());
            IMB_CHACHA20_POLY1305_DEC_UPDATE(mgr, key_data_.data(), &ctx, buf, buf, data.size());
            IMB_CHACHA20_POLY1305_DEC_FINALIZE(mgr, &ctx, computed, kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
    }
    if (!ct_equal(computed, tag)) {
        if (!data.empty()) explicit_bzero(data.data(), data.size());
        return fail(Alert::bad_record_mac);
    }
    return {};
}

TlsResult<void> AeadContext::open_slices(CryptoEngine& engine, std::uint64_t seq, ByteSpan aad,
                                         std::span<const MutableByteSpan> data,
                                         std::span<const std::uint8_t, kAeadTagLen> tag) const {
    if (!usable_with(engine)) return fail(Alert::internal_error, ErrorOrigin::internal);
    IMB_MGR* mgr = engine.mgr();
    std::uint8_t nonce_bytes[kAeadNonceLen];
    nonce(seq, nonce_bytes);
    const std::uint8_t* aad_ptr = aad.empty() ? kEmpty : aad.data();
    alignas(16) std::uint8_t computed[kAeadTagLen];
    switch (algorithm_) {
        case AeadAlgorithm::aes_128_gcm:
        case AeadAlgorithm::aes_256_gcm: {
            const bool aes128 = algorithm_ == AeadAlgorithm::aes_128_gcm;
            gcm_context_data ctx;
            if (aes128)
                IMB_AES128_GCM_INIT(mgr, gcm_keys(key_data_.data()), &ctx, nonce_bytes, aad_ptr,
                                    aad.size());
            else
                IMB_AES256_GCM_INIT(mgr, gcm_keys(key_data_.data()), &ctx, nonce_bytes, aad_ptr,
                                    aad.size());
            for (const MutableByteSpan& s : data) {
                if (s.empty()) continue;
                if (aes128)
                    IMB_AES128_GCM_DEC_UPDATE(mgr, gcm_keys(key_data_.data()), &ctx, s.data(),
                                              s.data(), s.size());
                else
                    IMB_AES256_GCM_DEC_UPDATE(mgr, gcm_keys(key_data_.data()), &ctx, s.data(),
                                              s.data(), s.size());
            }
            if (aes128)
                IMB_AES128_GCM_DEC_FINALIZE(mgr, gcm_keys(key_data_.data()), &ctx, computed,
                                            kAeadTagLen);
            else
                IMB_AES256_GCM_DEC_FINALIZE(mgr, gcm_keys(key_data_.data()), &ctx, computed,
                                            kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
        case AeadAlgorithm::chacha20_poly1305: {
            chacha20_poly1305_context_data ctx;
            IMB_CHACHA20_POLY1305_INIT(mgr, key_data_.data(), &ctx, nonce_bytes, aad_ptr,
                                       aad.size());
            for (const MutableByteSpan& s : data) {
                if (s.empty()) continue;
                IMB_CHACHA20_POLY1305_DEC_UPDATE(mgr, key_data_.data(), &ctx, s.data(), s.data(),
                                                 s.size());
            }
            IMB_CHACHA20_POLY1305_DEC_FINALIZE(mgr, &ctx, computed, kAeadTagLen);
            explicit_bzero(&ctx, sizeof ctx);
            break;
        }
    }
    if (!ct_equal(computed, tag)) {
        for (const MutableByteSpan& s : data)
            if (!s.empty()) explicit_bzero(s.data(), s.size());
        return fail(Alert::bad_record_mac);
    }
    return {};
}

// --- AeadBatch ---

AeadBatch::~AeadBatch() {
    (void)flush();
}

void AeadBatch::submit(AeadOp& op) {
    op.status = AeadOpStatus::pending;
    if (op.ctx == nullptr || op.tag == nullptr || !op.ctx->usable_with(engine_)) {
        op.status = AeadOpStatus::internal_error;
        ++failed_;
        return;
    }
    IMB_MGR* mgr = engine_.mgr();
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    op.ctx->nonce(op.seq, op.nonce);
    const bool seal = op.direction == AeadDirection::seal;
    // Zero-length data still needs valid pointers: point at the tag scratch.
    std::uint8_t* buf = op.data.empty() ? op.computed_tag.data() : op.data.data();
    job->src = buf;
    job->dst = buf;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = op.data.size();
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bytes = op.data.size();
    job->iv = op.nonce.data();
    job->iv_len_in_bytes = kAeadNonceLen;
    // Seal writes the tag straight to its place; open writes the computed
    // tag to scratch for the constant-time compare on completion.
    job->auth_tag_output = seal ? op.tag : op.computed_tag.data();
    job->auth_tag_output_len_in_bytes = kAeadTagLen;
    job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    job->enc_keys = op.ctx->key_data_.data();
    job->dec_keys = op.ctx->key_data_.data();
    const std::uint8_t* aad_ptr = op.aad.empty() ? kEmpty : op.aad.data();
    switch (op.ctx->algorithm_) {
        case AeadAlgorithm::aes_128_gcm:
        case AeadAlgorithm::aes_256_gcm:
            job->key_len_in_bytes = op.ctx->algorithm_ == AeadAlgorithm::aes_128_gcm
                                        ? IMB_KEY_128_BYTES
                                        : IMB_KEY_256_BYTES;
            job->cipher_mode = IMB_CIPHER_GCM;
            job->hash_alg = IMB_AUTH_AES_GMAC;
            job->u.GCM.aad = aad_ptr;
            job->u.GCM.aad_len_in_bytes = op.aad.size();
            break;
        case AeadAlgorithm::chacha20_poly1305:
            job->key_len_in_bytes = IMB_KEY_256_BYTES;
            job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
            job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
            job->u.CHACHA20_POLY1305.aad = aad_ptr;
            job->u.CHACHA20_POLY1305.aad_len_in_bytes = op.aad.size();
            break;
    }
    job->user_data = &op;
    ++in_flight_;
    job = IMB_SUBMIT_JOB(mgr);
    while (job != nullptr) {
        complete(job);
        job = IMB_GET_COMPLETED_JOB(mgr);
    }
}

void AeadBatch::complete(void* job_ptr) {
    auto* job = static_cast<IMB_JOB*>(job_ptr);
    auto* op = static_cast<AeadOp*>(job->user_data);
    if (op == nullptr) return;
    --in_flight_;
    if (job->status != IMB_STATUS_COMPLETED) {
        op->status = AeadOpStatus::internal_error;
    } else if (op->direction == AeadDirection::open) {
        const bool good =
            ct_equal(op->computed_tag, std::span<const std::uint8_t>(op->tag, kAeadTagLen));
        if (!good && !op->data.empty()) explicit_bzero(op->data.data(), op->data.size());
        op->status = good ? AeadOpStatus::ok : AeadOpStatus::bad_record_mac;
    } else {
        op->status = AeadOpStatus::ok;
    }
    if (op->status != AeadOpStatus::ok) ++failed_;
    explicit_bzero(op->computed_tag.data(), op->computed_tag.size());
    job->user_data = nullptr;
}

std::size_t AeadBatch::flush() {
    IMB_MGR* mgr = engine_.mgr();
    while (IMB_JOB* job = IMB_FLUSH_JOB(mgr))
        complete(job);
    while (IMB_JOB* job = IMB_GET_COMPLETED_JOB(mgr))
        complete(job);
    const std::size_t failed = failed_;
    failed_ = 0;
    return failed;
}

}  // namespace l45::tls
