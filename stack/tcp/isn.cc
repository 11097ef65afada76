// SipHash-2-4 and the RFC 6528 ISN. See isn.h.
#include "stack/tcp/isn.h"

#include <chrono>
#include <cstring>

#include "stack/base/bytes.h"

namespace l45::tcp {

namespace {
constexpr std::uint64_t rotl(std::uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}

struct SipState {
    std::uint64_t v0, v1, v2, v3;
    void round() {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    }
};

std::uint64_t load_le64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}
}  // namespace

std::uint64_t siphash24(const std::array<std::uint64_t, 2>& key, const std::uint8_t* data,
                        std::size_t len) {
    SipState s{0x736f6d6570736575ULL ^ key[0], 0x646f72616e646f6dULL ^ key[1],
               0x6c7967656e657261ULL ^ key[0], 0x7465646279746573ULL ^ key[1]};
    const std::size_t full = len - len % 8;
    for (std::size_t i = 0; i < full; i += 8) {
        const std::uint64_t m = load_le64(data + i);
        s.v3 ^= m;
        s.round();
        s.round();
        s.v0 ^= m;
    }
    std::uint64_t b = static_cast<std::uint64_t>(len) << 56;
    for (std::size_t i = 0; i < len % 8; ++i)
        b |= static_cast<std::uint64_t>(data[full + i]) << (8 * i);
    s.v3 ^= b;
    s.round();
    s.round();
    s.v0 ^= b;
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; ++i)
        s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

IsnGenerator::IsnGenerator(Random& random) {
    key_[0] = random.next_u64();
    key_[1] = random.next_u64();
}

std::uint64_t IsnGenerator::keyed(std::uint8_t domain, net::Ipv4Addr local,
                                  std::uint16_t local_port, net::Ipv4Addr remote,
                                  std::uint16_t remote_port, std::uint32_t extra) const {
    std::uint8_t buf[17];
    buf[0] = domain;
    store_be32(buf + 1, local.value);
    store_be16(buf + 5, local_port);
    store_be32(buf + 7, remote.value);
    store_be16(buf + 11, remote_port);
    store_be32(buf + 13, extra);
    return siphash24(key_, buf, sizeof buf);
}

std::uint64_t IsnGenerator::keyed(std::uint8_t domain, net::Ipv4Addr local,
                                  std::uint16_t local_port, net::Ipv4Addr remote,
                                  std::uint16_t remote_port, std::uint32_t extra,
                                  std::uint32_t extra2) const {
    // 21 bytes: as long as the 17 of the other form in SipHash blocks, and
    // never equal to one of them (the length is part of the last block).
    std::uint8_t buf[21];
    buf[0] = domain;
    store_be32(buf + 1, local.value);
    store_be16(buf + 5, local_port);
    store_be32(buf + 7, remote.value);
    store_be16(buf + 11, remote_port);
    store_be32(buf + 13, extra);
    store_be32(buf + 17, extra2);
    return siphash24(key_, buf, sizeof buf);
}

std::uint32_t IsnGenerator::isn(Instant now, net::Ipv4Addr local, std::uint16_t local_port,
                                net::Ipv4Addr remote, std::uint16_t remote_port) const {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch());
    const auto ticks = static_cast<std::uint32_t>(us.count() / 4);
    return static_cast<std::uint32_t>(keyed(0, local, local_port, remote, remote_port, 0)) + ticks;
}

std::uint32_t IsnGenerator::ts_offset(net::Ipv4Addr local, std::uint16_t local_port,
                                      net::Ipv4Addr remote, std::uint16_t remote_port) const {
    return static_cast<std::uint32_t>(keyed(1, local, local_port, remote, remote_port, 0));
}

}  // namespace l45::tcp
