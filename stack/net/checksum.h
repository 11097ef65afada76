// The Internet checksum: RFC 1071 (computation), RFC 1624 (incremental update).
//
// Sums are kept unfolded in 32 bits while adding pieces and folded once at
// the end. Multi-segment mbufs go through rte_raw_cksum_mbuf, which handles
// odd-length segments correctly.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "stack/base/bytes.h"

namespace l45::net {

// The 16-bit one's complement sum of `data` (big-endian words), not complemented.
[[nodiscard]] std::uint32_t checksum_add(std::uint32_t sum, ByteSpan data);
// Folds a 32-bit accumulator into 16 bits (still not complemented).
[[nodiscard]] std::uint16_t checksum_fold(std::uint32_t sum);
// The value to store in a header's checksum field: ~fold(sum over the bytes,
// with the checksum field zero). Host order; store it with store_be16.
[[nodiscard]] std::uint16_t internet_checksum(ByteSpan data);
// True when the bytes (checksum field included) sum to 0xffff.
[[nodiscard]] bool checksum_ok(ByteSpan data);

// Sum of `len` bytes of a (possibly chained) mbuf starting at `offset`, not
// complemented, host order. False when the range lies outside the packet.
[[nodiscard]] bool mbuf_checksum_sum(const rte_mbuf* m, std::uint32_t offset, std::uint32_t len,
                                     std::uint16_t& out_sum);

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') when one 16-bit word changes from
// old_word to new_word. All values host order.
[[nodiscard]] std::uint16_t checksum_update16(std::uint16_t checksum, std::uint16_t old_word,
                                              std::uint16_t new_word);

}  // namespace l45::net
