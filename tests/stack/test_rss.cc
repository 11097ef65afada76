// The software Toeplitz hash (stack/net/rss.h) against the published RSS
// verification suite and against DPDK's own rte_softrss, and the property
// the symmetric key exists for.
#include <gtest/gtest.h>
#include <rte_thash.h>

#include <array>
#include <cstdint>
#include <vector>

#include "stack/base/random.h"
#include "stack/net/rss.h"

namespace l45::net {
namespace {

// The default key of Microsoft's "Verifying the RSS Hash Calculation" (also
// the Intel 82599 datasheet §7.1.2.8.3 and DPDK app/test/test_thash.c).
constexpr std::array<std::uint8_t, 40> kMicrosoftKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

struct Vector {
    Ipv4Addr src, dst;
    std::uint16_t sport, dport;
    std::uint32_t ipv4_only;  // hash over the two addresses
    std::uint32_t ipv4_tcp;   // hash over addresses and ports
};

// The IPv4 table of the verification suite (destination, source columns
// swapped into packet order: src first).
const Vector kVectors[] = {
    {Ipv4Addr::from_octets(66, 9, 149, 187), Ipv4Addr::from_octets(161, 142, 100, 80), 2794, 1766,
     0x323e8fc2, 0x51ccc178},
    {Ipv4Addr::from_octets(199, 92, 111, 2), Ipv4Addr::from_octets(65, 69, 140, 83), 14230, 4739,
     0xd718262a, 0xc626b0ea},
    {Ipv4Addr::from_octets(24, 19, 198, 95), Ipv4Addr::from_octets(12, 22, 207, 184), 12898, 38024,
     0xd2d0a5de, 0x5c2b394a},
    {Ipv4Addr::from_octets(38, 27, 205, 30), Ipv4Addr::from_octets(209, 142, 163, 6), 48228, 2217,
     0x82989176, 0xafc7327f},
    {Ipv4Addr::from_octets(153, 39, 163, 191), Ipv4Addr::from_octets(202, 188, 127, 2), 44251, 1303,
     0x5d1809c5, 0x10e828a2},
};

std::vector<std::uint8_t> symmetric_key(std::size_t len) {
    std::vector<std::uint8_t> k(len);
    for (std::size_t i = 0; i < len; ++i)
        k[i] = symmetric_rss_key_byte(i);
    return k;
}

// DPDK's generic software RSS over the same tuple (host-order words, the
// key as-is); the key is copied to aligned storage as rte_softrss reads it
// through a uint32_t pointer.
std::uint32_t dpdk_softrss(std::span<const std::uint8_t> key, Ipv4Addr src, Ipv4Addr dst,
                           std::uint16_t sport, std::uint16_t dport) {
    alignas(4) std::array<std::uint8_t, 52> k{};
    std::copy(key.begin(), key.end(), k.begin());
    rte_ipv4_tuple t{};
    t.src_addr = src.value;
    t.dst_addr = dst.value;
    t.sport = sport;
    t.dport = dport;
    return rte_softrss(reinterpret_cast<std::uint32_t*>(&t), RTE_THASH_V4_L4_LEN, k.data());
}

TEST(Toeplitz, MicrosoftVerificationSuiteIpv4Tcp) {
    for (const Vector& v : kVectors) {
        const auto in = rss_ipv4_l4_input(v.src, v.dst, v.sport, v.dport);
        EXPECT_EQ(toeplitz_hash(kMicrosoftKey, in), v.ipv4_tcp) << v.src.to_string();
        // The 2-tuple hash is the first 8 bytes of the same input.
        EXPECT_EQ(toeplitz_hash(kMicrosoftKey, std::span(in).first(8)), v.ipv4_only);
    }
}

TEST(Toeplitz, EqualsDpdkSoftrss) {
    SeededRandom rnd(7);
    for (int i = 0; i < 2000; ++i) {
        std::array<std::uint8_t, 40> key{};
        rnd.fill(key);
        const Ipv4Addr src{rnd.next_u32()}, dst{rnd.next_u32()};
        const auto sport = static_cast<std::uint16_t>(rnd.next_u32());
        const auto dport = static_cast<std::uint16_t>(rnd.next_u32());
        ASSERT_EQ(toeplitz_hash(key, rss_ipv4_l4_input(src, dst, sport, dport)),
                  dpdk_softrss(key, src, dst, sport, dport));
    }
}

TEST(Toeplitz, SymmetricKeyHashesBothDirectionsAlike) {
    const auto key = symmetric_key(40);
    SeededRandom rnd(11);
    for (int i = 0; i < 5000; ++i) {
        const Ipv4Addr a{rnd.next_u32()}, b{rnd.next_u32()};
        const auto pa = static_cast<std::uint16_t>(rnd.next_u32());
        const auto pb = static_cast<std::uint16_t>(rnd.next_u32());
        ASSERT_EQ(toeplitz_hash(key, rss_ipv4_l4_input(a, b, pa, pb)),
                  toeplitz_hash(key, rss_ipv4_l4_input(b, a, pb, pa)));
    }
}

TEST(Toeplitz, MicrosoftKeyIsNotSymmetric) {
    // The control for the test above: with an ordinary key the two
    // directions of a flow mostly hash apart.
    int differ = 0;
    for (const Vector& v : kVectors) {
        differ += toeplitz_hash(kMicrosoftKey, rss_ipv4_l4_input(v.src, v.dst, v.sport, v.dport)) !=
                  toeplitz_hash(kMicrosoftKey, rss_ipv4_l4_input(v.dst, v.src, v.dport, v.sport));
    }
    EXPECT_EQ(differ, 5);
}

TEST(Toeplitz, RetaLookupUsesTheLowBits) {
    const std::vector<std::uint16_t> reta = {0, 1, 2, 3, 0, 1, 2, 3};
    EXPECT_EQ(rss_queue(0x51ccc178, reta), reta[0x51ccc178 % 8]);
    EXPECT_EQ(rss_queue(5, reta), 1);
    EXPECT_EQ(rss_queue(0xffffffffu, {}), 0);
}

}  // namespace
}  // namespace l45::net
