// libFuzzer target: arbitrary bytes as one received frame into
// Interface::receive, with the first input byte choosing how the frame is
// split into mbuf segments and which NIC checksum flag it carries. Replies
// are drained and freed; an mbuf leak shows as a growing in-use count.
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_lundef=false
//   ninja -C build-fuzz tests/stack/fuzz_interface && build-fuzz/tests/stack/fuzz_interface
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "drivers/eal.h"
#include "stack/net/checksum.h"
#include "stack/net/interface.h"

namespace {

rte_mempool* g_pool = nullptr;
std::unique_ptr<l45::net::Interface> g_iface;
l45::Instant g_now{std::chrono::seconds(1)};

class Sink final : public l45::net::L4Handler {
  public:
    void on_ipv4(l45::Instant, const l45::net::Ipv4Info&, l45::MbufPtr) override {}
};
Sink g_sink;

// Copies data into a chain of segments of seg_len bytes (0: one segment).
rte_mbuf* to_mbuf(const std::uint8_t* data, std::size_t size, std::size_t seg_len) {
    if (seg_len == 0 || seg_len > 2048) seg_len = size ? size : 1;
    rte_mbuf* head = nullptr;
    std::size_t off = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
        if (!m) break;
        const std::size_t n = std::min(seg_len, size - off);
        if (n) {
            char* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(n));
            if (!p) {
                rte_pktmbuf_free(m);
                break;
            }
            std::memcpy(p, data + off, n);
        }
        off += n;
        if (!head) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(m);
            break;
        }
    } while (off < size);
    if (off < size && head) {
        rte_pktmbuf_free(head);
        return nullptr;
    }
    return head;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
    (void)argc;
    std::vector<std::string> args = {(*argv)[0], "--no-pci", "--log-level=lib.eal:error"};
    auto eal = l45::drivers::eal_init(args);
    if (!eal) {
        std::fprintf(stderr, "EAL init failed: %s\n", eal.error().c_str());
        std::abort();
    }
    g_pool = rte_pktmbuf_pool_create("fuzz_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (!g_pool) std::abort();
    l45::net::InterfaceConfig c;
    c.mac = rte_ether_addr{{0x02, 0, 0, 0, 0, 0x01}};
    c.ip = l45::net::Ipv4Addr::from_octets(198, 18, 0, 1);
    c.prefix_len = 24;
    c.gateway = l45::net::Ipv4Addr::from_octets(198, 18, 0, 254);
    c.multicast.push_back(rte_ether_addr{{0x01, 0x00, 0x5e, 0, 0, 1}});
    c.arp.cache_capacity = 8;
    c.tx_capacity = 64;
    g_iface = std::make_unique<l45::net::Interface>(c, g_pool, l45::net::TxOffloads{});
    g_iface->set_l4_handler(l45::net::kIpProtoTcp, &g_sink);
    g_iface->start(g_now);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t control = data[0];
    const std::size_t seg_len = (control & 0x1f) * 8;  // 0 = one segment
    // Bit 0x20 of the control byte: repair the IPv4 and ICMP checksums, so
    // the fuzzer gets past them into the echo and delivery paths.
    std::vector<std::uint8_t> frame(data + 1, data + size);
    if ((control & 0x20) && frame.size() >= 34 && frame[12] == 0x08 && frame[13] == 0x00) {
        const std::size_t ihl = (frame[14] & 0x0fu) * 4;
        if (ihl >= 20 && 14 + ihl <= frame.size()) {
            frame[24] = frame[25] = 0;
            const l45::ByteSpan hdr(frame.data() + 14, ihl);
            l45::store_be16(frame.data() + 24, l45::net::internet_checksum(hdr));
            const std::size_t total = l45::load_be16(frame.data() + 16);
            if (frame[23] == 1 && total >= ihl + 8 && 14 + total <= frame.size()) {
                std::uint8_t* icmp = frame.data() + 14 + ihl;
                icmp[2] = icmp[3] = 0;
                l45::store_be16(icmp + 2,
                                l45::net::internet_checksum(l45::ByteSpan(icmp, total - ihl)));
            }
        }
    }
    rte_mbuf* m = to_mbuf(frame.data(), frame.size(), seg_len);
    if (!m) return 0;
    if (control & 0x40) m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    if (control & 0x80) m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
    g_now += std::chrono::milliseconds(control & 0x0f);
    g_iface->receive(g_now, l45::MbufPtr(m));
    g_iface->poll(g_now);
    std::array<rte_mbuf*, 32> out{};
    std::size_t n;
    while ((n = g_iface->drain_tx(out)) > 0)
        for (std::size_t i = 0; i < n; ++i)
            rte_pktmbuf_free(out[i]);
    // Nothing outlives an input except what the ARP cache may hold (at
    // most capacity * max_held): a leak eventually exhausts the pool.
    if (rte_mempool_in_use_count(g_pool) > 8 * 4 + 1) std::abort();
    return 0;
}
