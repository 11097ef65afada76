// Receive-side scaling in software: the Toeplitz hash a NIC computes over a
// packet's addresses and ports, and the redirection table (RETA) lookup that
// turns the hash into an rx queue. The TCP layer uses it to predict on which
// queue (so on which lcore) the replies of a connection will arrive.
//
// Read first: Microsoft, "RSS hashing functions" and "Verifying the RSS hash
// calculation" (the Toeplitz definition and the verification suite also in
// the Intel 82599 datasheet §7.1.2.8.3); Woo & Park, "Scalable TCP session
// monitoring with symmetric receive-side scaling" (2012) for the 0x6d5a key.
//
// Why not DPDK's rte_softrss (rte_thash.h): it reads the key through a
// uint32_t* cast, which needs a 4-byte aligned key at least 4 bytes longer
// than the input (misaligned or short keys are undefined behaviour), and the
// header drags in rte_ip.h and SIMD headers. This is twenty lines of bytewise
// math over spans, bounds-checked, constexpr-friendly, and the tests check it
// against rte_softrss and the published vectors. The ring wire (drivers/)
// emulates the NIC with rte_softrss itself, so the sharded test crosses two
// independent implementations.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "stack/net/addr.h"

namespace l45::net {

// Bytes of Toeplitz input for IPv4 + TCP/UDP: src addr, dst addr, src port,
// dst port, all in network byte order (the order of the packet's headers).
inline constexpr std::size_t kRssIpv4L4InputLen = 12;
// The longest key we accept (DPDK's largest hash_key_size is 52 bytes).
inline constexpr std::size_t kRssMaxKeyLen = 52;

// The Toeplitz hash of `input` under `key`: for every set bit i of the input
// (most significant bit of byte 0 first), XOR in the 32 key bits starting at
// bit i. Key bits past the end of `key` count as zero (a key must be at least
// input_len + 4 bytes long for a NIC-equal result).
[[nodiscard]] std::uint32_t toeplitz_hash(std::span<const std::uint8_t> key,
                                          std::span<const std::uint8_t> input);

// The 12-byte input of the packet src:sport -> dst:dport.
[[nodiscard]] std::array<std::uint8_t, kRssIpv4L4InputLen> rss_ipv4_l4_input(Ipv4Addr src,
                                                                             Ipv4Addr dst,
                                                                             std::uint16_t sport,
                                                                             std::uint16_t dport);

// The queue a NIC puts a packet with `hash` in: reta[hash % reta.size()]
// (DPDK's convention: the low bits of the hash index the table). Queue 0
// with an empty table (no RSS: one queue).
[[nodiscard]] std::uint16_t rss_queue(std::uint32_t hash, std::span<const std::uint16_t> reta);

// The symmetric key: 0x6d,0x5a repeated. Its 16-bit period makes the hash
// of (a, b, pa, pb) equal that of (b, a, pb, pa): swapping the 32-bit
// addresses or the 16-bit ports shifts key windows by a multiple of 16 bits.
[[nodiscard]] constexpr std::uint8_t symmetric_rss_key_byte(std::size_t i) {
    return (i % 2 == 0) ? 0x6d : 0x5a;
}

}  // namespace l45::net
