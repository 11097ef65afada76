// The echo payload: a deterministic byte stream per connection, addressable
// by offset, so the bytes that come back can be checked wherever a TLS
// record or TCP segment happened to cut them. Word j of stream `seed` is
// splitmix64(seed * golden + j); byte i is the base64 character its byte
// i % 8 selects, and every 64th byte is '\n'. Text in lines, so echo servers
// that treat data as strings or lines (gnutls-serv --echo stops at a NUL)
// return it unchanged; 6 bits per byte still catch any reordering or
// corruption. Nothing is stored.
//
// Read first: Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators" (OOPSLA 2014), for splitmix64's finaliser.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace l45::loadgen {

[[nodiscard]] inline std::uint64_t pattern_word(std::uint64_t seed, std::uint64_t index) {
    std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + index + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

inline constexpr char kPatternAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr std::uint64_t kPatternLineLen = 64;  // 63 characters and '\n'

// Byte b (0..7) of `word` at stream offset `offset`.
[[nodiscard]] inline std::uint8_t pattern_char(std::uint64_t word, unsigned b,
                                               std::uint64_t offset) {
    if (offset % kPatternLineLen == kPatternLineLen - 1) return '\n';
    return static_cast<std::uint8_t>(kPatternAlphabet[(word >> (8 * b)) & 63]);
}

[[nodiscard]] inline std::uint8_t pattern_byte(std::uint64_t seed, std::uint64_t offset) {
    return pattern_char(pattern_word(seed, offset / 8), static_cast<unsigned>(offset % 8), offset);
}

// Writes the stream's bytes [offset, offset + out.size()).
inline void fill_pattern(std::uint64_t seed, std::uint64_t offset, std::span<std::uint8_t> out) {
    std::size_t i = 0;
    while (i < out.size()) {
        const std::uint64_t pos = offset + i;
        const std::uint64_t word = pattern_word(seed, pos / 8);
        for (unsigned b = static_cast<unsigned>(pos % 8); b < 8 && i < out.size(); ++b, ++i)
            out[i] = pattern_char(word, b, offset + i);
    }
}

// How many bytes of `in` differ from the stream at [offset, ...).
[[nodiscard]] inline std::size_t count_pattern_mismatches(std::uint64_t seed, std::uint64_t offset,
                                                          std::span<const std::uint8_t> in) {
    std::size_t bad = 0;
    std::size_t i = 0;
    while (i < in.size()) {
        const std::uint64_t pos = offset + i;
        const std::uint64_t word = pattern_word(seed, pos / 8);
        for (unsigned b = static_cast<unsigned>(pos % 8); b < 8 && i < in.size(); ++b, ++i)
            bad += in[i] != pattern_char(word, b, offset + i) ? 1 : 0;
    }
    return bad;
}

// The download stream (LoadOptions::download): the pattern of seed
// kDownloadSeed repeated with period kDownloadPeriod, so the sender and the
// checker work from one precomputed window with memcpy/memcmp instead of
// generating or comparing byte by byte (the per-byte check cost 30 % of an
// lcore in bulk profiles). The period is prime, so it lines up with neither
// 16 KiB records nor 1448-byte segments: a lost, repeated or reordered piece
// still shows as a mismatch. The window holds two periods, so any piece of
// up to one period starting anywhere in the stream is contiguous in it.
inline constexpr std::uint64_t kDownloadSeed = 0x6c34352d646c;  // "l45-dl"
inline constexpr std::size_t kDownloadPeriod = 65521;

// Built on first use (call it at start-up); read-only afterwards.
[[nodiscard]] inline std::span<const std::uint8_t> download_window() {
    static const std::vector<std::uint8_t> window = [] {
        std::vector<std::uint8_t> w(2 * kDownloadPeriod);
        fill_pattern(kDownloadSeed, 0, std::span<std::uint8_t>(w.data(), kDownloadPeriod));
        std::copy_n(w.data(), kDownloadPeriod, w.data() + kDownloadPeriod);
        return w;
    }();
    return window;
}

// The download stream's bytes [offset, offset + n), n <= kDownloadPeriod.
[[nodiscard]] inline std::span<const std::uint8_t> download_piece(std::uint64_t offset,
                                                                  std::size_t n) {
    return download_window().subspan(static_cast<std::size_t>(offset % kDownloadPeriod), n);
}

// How many bytes of `in` differ from the download stream at [offset, ...):
// memcmp per piece, a byte count only for a piece that differs.
[[nodiscard]] inline std::size_t count_download_mismatches(std::uint64_t offset,
                                                           std::span<const std::uint8_t> in) {
    std::size_t bad = 0;
    while (!in.empty()) {
        const std::size_t n = std::min(in.size(), kDownloadPeriod);
        const auto want = download_piece(offset, n);
        if (std::memcmp(in.data(), want.data(), n) != 0)
            for (std::size_t i = 0; i < n; ++i)
                bad += in[i] != want[i] ? 1 : 0;
        in = in.subspan(n);
        offset += n;
    }
    return bad;
}

}  // namespace l45::loadgen
