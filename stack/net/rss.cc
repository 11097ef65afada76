// Toeplitz hash and RETA lookup. See rss.h.
#include "stack/net/rss.h"

#include "stack/base/bytes.h"

namespace l45::net {

std::uint32_t toeplitz_hash(std::span<const std::uint8_t> key,
                            std::span<const std::uint8_t> input) {
    // `window` holds the 32 key bits that line up with the current input
    // bit, plus 8 more bits of lookahead in the low byte of a 64-bit value:
    // after each input bit it shifts left by one, and after each input byte
    // the next key byte enters at the bottom.
    auto key_byte = [&](std::size_t i) -> std::uint64_t { return i < key.size() ? key[i] : 0; };
    std::uint64_t window = (key_byte(0) << 32) | (key_byte(1) << 24) | (key_byte(2) << 16) |
                           (key_byte(3) << 8) | key_byte(4);
    std::uint32_t hash = 0;
    for (std::size_t byte = 0; byte < input.size(); ++byte) {
        for (int bit = 7; bit >= 0; --bit) {
            if ((input[byte] >> bit) & 1u) hash ^= static_cast<std::uint32_t>(window >> 8);
            window <<= 1;
        }
        window = (window & 0xffffffffffull) | key_byte(byte + 5);
    }
    return hash;
}

std::array<std::uint8_t, kRssIpv4L4InputLen> rss_ipv4_l4_input(Ipv4Addr src, Ipv4Addr dst,
                                                               std::uint16_t sport,
                                                               std::uint16_t dport) {
    std::array<std::uint8_t, kRssIpv4L4InputLen> in{};
    Writer w(in);  // exactly 12 bytes into 12: cannot fail
    w.u32(src.value);
    w.u32(dst.value);
    w.u16(sport);
    w.u16(dport);
    return in;
}

std::uint16_t rss_queue(std::uint32_t hash, std::span<const std::uint16_t> reta) {
    if (reta.empty()) return 0;
    return reta[hash % reta.size()];
}

}  // namespace l45::net
