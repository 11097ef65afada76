// Which lcore a frame belongs to when l45-offload runs one lcore per TLS
// queue, and the backend local ports that make that answer cheap.
//
// Read first: docs/appliance.md ("Queues", the backend-reply design note),
// drivers/steering_classify.h (the TLS half of this decision), RFC 6056
// §3.3 (ephemeral port choice), RFC 9293 §3.1 (the TCP header).
//
// Why it looks like this:
//   - A TLS lcore's connection to its backend is received on the control
//     queue: the steering rules send only the TLS listen ports to the TLS
//     queues. TLS lcore k (of n) therefore opens backend connections only
//     from local ports p with p mod n = k (BackendPortChooser), and the
//     control lcore hands every TCP frame to such a port back to lcore
//     p mod n over that lcore's SP/SC ring. One modulo per frame, no table,
//     nothing shared. A NIC that takes masked port rules could do the same
//     in hardware (TCP dst & (n - 1) = k -> QUEUE k, n a power of two); no
//     NIC here has rte_flow, so that rule is not built.
//   - On PMDs without rte_flow (every virtual PMD here) the control lcore
//     polls every rx queue and this dispatch decides for every frame: the
//     software classifier for the TLS ports, the modulo for backend replies,
//     the control lcore's own stack for the rest (ARP, ICMP, other ports).
//   - Pure and bounds-checked (Reader, no allocation), like the classifier:
//     a frame it cannot read goes to the control lcore, whose full stack
//     counts and drops it.
#pragma once

#include <cstdint>
#include <vector>

#include "drivers/steering_classify.h"
#include "stack/base/bytes.h"
#include "stack/tcp/stack.h"

namespace l45::offload {

// The RFC 6335 dynamic range, as tcp::EphemeralPortChooser uses it.
inline constexpr std::uint16_t kBackendFirstPort = 49152;
inline constexpr std::uint32_t kBackendNumPorts = 16384;

// Local ports p of [kBackendFirstPort, +kBackendNumPorts) with
// p mod num_lcores = lcore, searched from a moving start (RFC 6056 §3.3.2's
// simple hash-less variant: the next candidate after the last one chosen).
class BackendPortChooser final : public tcp::PortChooser {
  public:
    BackendPortChooser(std::uint16_t lcore, std::uint16_t num_lcores);
    [[nodiscard]] bool choose(const tcp::TcpStack& stack, const tcp::FourTuple& tuple_without_port,
                              std::uint16_t& out_port) override;

  private:
    std::uint16_t lcore_ = 0;
    std::uint16_t num_lcores_ = 1;
    std::uint32_t next_ = 0;  // index among this lcore's ports
};

// The lcore that owns local port `port` of a backend connection, or
// kControl when it is not a backend port.
inline constexpr std::uint16_t kControl = 0xffff;

class LcoreDispatch {
  public:
    // tls_queues[k] is served by TLS lcore k; `classifier` is the port's
    // (Steering::classifier()), copied.
    LcoreDispatch(const drivers::SoftwareClassifier& classifier,
                  const std::vector<std::uint16_t>& tls_queues, net::Ipv4Addr local_ip);

    // Data path: TLS lcore index, or kControl.
    [[nodiscard]] std::uint16_t lcore_of(ByteSpan frame) const;

    [[nodiscard]] std::uint16_t num_lcores() const { return num_lcores_; }

  private:
    drivers::SoftwareClassifier classifier_;
    std::vector<std::uint16_t> lcore_of_queue_;  // by queue id; kControl if not a TLS queue
    std::uint32_t local_ip_ = 0;                 // host order
    std::uint16_t num_lcores_ = 1;
};

// The lcore whose backend connection uses local port `port`, or kControl.
[[nodiscard]] std::uint16_t backend_port_owner(std::uint16_t port, std::uint16_t num_lcores);

}  // namespace l45::offload
