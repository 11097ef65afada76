// The local port of an active open, chosen so that the peer's replies come
// back on this lcore's rx queue.
//
// Read first: RFC 6056 §3.3.3 (Algorithm 3: a keyed hash of the
// destination picks where the search starts, a counter moves it on) and
// stack/net/rss.h (the Toeplitz hash and the RETA).
//
// Why: with one TcpStack per lcore and nothing shared, a connection must be
// received on the queue of the lcore that holds its state. A passive open
// is there by construction (the SYN arrived on that queue and the NIC hashes
// every later packet of the flow the same way). An active open is not: the
// NIC will hash the reply (remote -> local) to some queue, so the only free
// variable, the local port, is searched until the hash of the reply maps
// through the RETA to our queue. With a uniform hash 1 port in N qualifies,
// so the search costs about N hash evaluations, each a few XORs (Toeplitz
// is linear, so only the port's 16 bits are recomputed per candidate).
//
// With no RSS (empty RETA) every packet lands on queue 0: the chooser then
// behaves as a plain RFC 6056 chooser for queue 0 and finds nothing for any
// other queue.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "stack/base/random.h"
#include "stack/net/rss.h"
#include "stack/tcp/stack.h"

namespace l45::tcp {

struct RssPortChooserConfig {
    std::uint16_t first_port = 49152;  // RFC 6335 §6 dynamic range
    std::uint32_t num_ports = 16384;
};

class RssPortChooser final : public PortChooser {
  public:
    // key and reta are what the NIC holds (drivers::Port::rss_key()/reta(),
    // or the ring wire's); both are copied (set-up path). `queue` is this
    // stack's rx queue. The start-offset secret is drawn from `random`.
    RssPortChooser(std::span<const std::uint8_t> key, std::span<const std::uint16_t> reta,
                   std::uint16_t queue, Random& random, const RssPortChooserConfig& config = {});

    // A free local port whose reply tuple hashes to our queue; false when
    // every port of the range is taken or hashes elsewhere.
    [[nodiscard]] bool choose(const TcpStack& stack, const FourTuple& tuple_without_port,
                              std::uint16_t& out_port) override;

    // The Toeplitz hash of a packet the peer sends on `tuple` (remote ->
    // local), as the NIC computes it, and the queue it lands on.
    [[nodiscard]] std::uint32_t reply_hash(const FourTuple& tuple) const;
    [[nodiscard]] std::uint16_t reply_queue(const FourTuple& tuple) const;
    [[nodiscard]] std::uint16_t queue() const { return queue_; }

  private:
    std::array<std::uint8_t, net::kRssMaxKeyLen> key_{};
    std::size_t key_len_ = 0;
    std::vector<std::uint16_t> reta_;
    std::uint16_t queue_ = 0;
    RssPortChooserConfig config_;
    std::array<std::uint64_t, 2> secret_{};
    std::uint32_t next_ = 0;  // RFC 6056's next_ephemeral
    // Toeplitz contribution of bit b of the reply's destination port.
    std::array<std::uint32_t, 16> port_bit_hash_{};
};

}  // namespace l45::tcp
