// libFuzzer: arbitrary bytes -> Deframer (in chunks chosen by the input) ->
// RecordOpener with a fixed key. Nothing may crash, leak or read out of
// bounds; every outcome is either a record or a TLS error.
//
//   CXX=clang++ meson setup build-record-fuzz -Dfuzz=true -Db_lundef=false
//   ninja -C build-record-fuzz tests/tls_record/fuzz_tls_record
//   build-record-fuzz/tests/tls_record/fuzz_tls_record -max_total_time=30
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tls/record/key_schedule.h"
#include "tls/record/record.h"

using namespace l45;
using namespace l45::tls;

namespace {

struct Fixture {
    std::unique_ptr<CryptoEngine> engine;
    Secret secrets[3];
    Fixture() {
        auto e = CryptoEngine::create();
        if (!e) __builtin_trap();
        engine = std::move(*e);
        for (int i = 0; i < 3; ++i) {
            std::uint8_t bytes[48];
            for (auto& b : bytes)
                b = static_cast<std::uint8_t>(0x40 + i);
            if (!secrets[i].assign(ByteSpan(bytes, i == 1 ? 48 : 32))) __builtin_trap();
        }
    }
};

constexpr CipherSuite kSuites[3] = {CipherSuite::aes_128_gcm_sha256,
                                    CipherSuite::aes_256_gcm_sha384,
                                    CipherSuite::chacha20_poly1305_sha256};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture fx;
    if (size < 2) return 0;
    // Byte 0: suite and record_size_limit; byte 1: chunk size.
    const std::size_t which = data[0] % 3;
    const std::size_t chunk = 1 + data[1];
    static Deframer deframer;  // ~16 KiB: reused, reset by a fresh object below
    deframer = Deframer{};
    RecordOpener opener;
    if (!opener.install(*fx.engine, kSuites[which], fx.secrets[which])) __builtin_trap();
    if (data[0] & 0x80) opener.set_record_size_limit(64 + data[0]);
    ByteSpan in(data + 2, size - 2);
    // Bit 6: the input is a list of inner plaintexts (u8 length, bytes) that
    // we encrypt ourselves, so the fuzzer reaches past the tag check (padding
    // strip, content type, size limits) instead of stopping at bad_record_mac.
    static std::uint8_t wire[1 << 16];
    if (data[0] & 0x40) {
        auto keys = derive_traffic_keys(kSuites[which], fx.secrets[which]);
        if (!keys) __builtin_trap();
        AeadContext aead;
        if (!aead.install(*fx.engine, kSuites[which], keys->key.view(), keys->iv.view()))
            __builtin_trap();
        std::size_t out = 0;
        std::uint64_t seq = 0;
        Reader r(in);
        Reader inner;
        while (r.u8_prefixed(inner)) {
            const std::size_t len = inner.remaining();
            if (out + kRecordHeaderLen + len + kAeadTagLen > sizeof wire) break;
            std::uint8_t* rec = wire + out;
            write_record_header(std::span<std::uint8_t, kRecordHeaderLen>(rec, kRecordHeaderLen),
                                ContentType::application_data,
                                static_cast<std::uint16_t>(len + kAeadTagLen));
            if (!inner.copy(MutableByteSpan(rec + kRecordHeaderLen, len))) __builtin_trap();
            if (!aead.seal(*fx.engine, seq++, ByteSpan(rec, kRecordHeaderLen),
                           MutableByteSpan(rec + kRecordHeaderLen, len),
                           std::span<std::uint8_t, kAeadTagLen>(rec + kRecordHeaderLen + len,
                                                                kAeadTagLen)))
                __builtin_trap();
            out += kRecordHeaderLen + len + kAeadTagLen;
        }
        in = ByteSpan(wire, out);
    }
    while (!in.empty()) {
        auto used = deframer.feed(in.first(in.size() < chunk ? in.size() : chunk));
        if (!used) return 0;
        in = in.subspan(*used);
        if (RecordView* rec = deframer.record()) {
            if (rec->header.type == ContentType::application_data) {
                auto opened = opener.open(*fx.engine, *rec);
                if (opened && (data[0] & 0x40) == 0) {
                    // Random bytes authenticating would be a forgery.
                    __builtin_trap();
                }
                if (opened) {
                    // Content lies inside the fragment, before the type byte.
                    if (opened->content.size() + 1 + kAeadTagLen > rec->fragment.size())
                        __builtin_trap();
                } else if (opened.error().alert != Alert::bad_record_mac &&
                           opened.error().alert != Alert::record_overflow &&
                           opened.error().alert != Alert::unexpected_message) {
                    __builtin_trap();
                }
            }
            deframer.pop();
        }
    }
    return 0;
}
