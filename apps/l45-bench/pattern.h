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

#include <cstddef>
#include <cstdint>
#include <span>

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

}  // namespace l45::loadgen
