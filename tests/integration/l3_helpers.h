// Helpers for the L2/L3 integration tests: build an ICMP echo request as an
// upper layer would hand it to Interface::send_ipv4, and drive an Interface
// over a port until a condition holds.
#pragma once

#include <rte_mbuf.h>

#include <chrono>
#include <cstring>
#include <functional>

#include "apps/common/service.h"
#include "stack/base/bytes.h"
#include "stack/net/checksum.h"
#include "stack/net/icmp.h"

namespace l45::test {

// An ICMP echo request (8-byte header + payload) with headroom for IP and
// Ethernet, ready for send_ipv4(dst, 1, ...).
inline MbufPtr make_echo_request(rte_mempool* pool, std::uint16_t id, std::uint16_t seq,
                                 std::size_t payload_len) {
    MbufPtr m(rte_pktmbuf_alloc(pool));
    if (!m) return m;
    auto* p = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(8 + payload_len)));
    if (p == nullptr) return MbufPtr();
    net::IcmpHeader h;
    h.type = static_cast<std::uint8_t>(net::IcmpType::echo_request);
    h.rest = (std::uint32_t{id} << 16) | seq;
    (void)h.emit({p, 8});
    for (std::size_t i = 0; i < payload_len; ++i)
        p[8 + i] = static_cast<std::uint8_t>(seq + i);
    store_be16(p + 2, net::internet_checksum({p, 8 + payload_len}));
    return m;
}

}  // namespace l45::test
