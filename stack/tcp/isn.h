// Initial sequence numbers and other keyed per-connection values.
//
// Read first: RFC 6528 §3 (ISN = M + F(localip, localport, remoteip,
// remoteport, secretkey), M a timer ticking every 4 microseconds, F a keyed
// PRF), RFC 9293 §3.4.1 (the ISN generator), RFC 7323 §5.4 and §7.1
// (timestamp clocks may start at a random offset per connection), and the
// SipHash paper (Aumasson & Bernstein 2012) for the PRF.
#pragma once

#include <array>
#include <cstdint>

#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/net/addr.h"

namespace l45::tcp {

// SipHash-2-4 of `len` bytes with a 128-bit key.
[[nodiscard]] std::uint64_t siphash24(const std::array<std::uint64_t, 2>& key,
                                      const std::uint8_t* data, std::size_t len);

class IsnGenerator {
  public:
    // The key is drawn once from `random` (production: SystemRandom).
    explicit IsnGenerator(Random& random);

    // RFC 6528: F(4-tuple, key) + now in 4 µs ticks.
    [[nodiscard]] std::uint32_t isn(Instant now, net::Ipv4Addr local, std::uint16_t local_port,
                                    net::Ipv4Addr remote, std::uint16_t remote_port) const;
    // A per-connection offset for TSval (RFC 7323 §7.1), from the same key
    // with a different domain byte.
    [[nodiscard]] std::uint32_t ts_offset(net::Ipv4Addr local, std::uint16_t local_port,
                                          net::Ipv4Addr remote, std::uint16_t remote_port) const;
    // Keyed hash for SYN cookies and table hashing.
    [[nodiscard]] std::uint64_t keyed(std::uint8_t domain, net::Ipv4Addr local,
                                      std::uint16_t local_port, net::Ipv4Addr remote,
                                      std::uint16_t remote_port, std::uint32_t extra) const;
    // The same with a second word (SYN cookies: the MSS index and options).
    [[nodiscard]] std::uint64_t keyed(std::uint8_t domain, net::Ipv4Addr local,
                                      std::uint16_t local_port, net::Ipv4Addr remote,
                                      std::uint16_t remote_port, std::uint32_t extra,
                                      std::uint32_t extra2) const;

  private:
    std::array<std::uint64_t, 2> key_{};
};

}  // namespace l45::tcp
