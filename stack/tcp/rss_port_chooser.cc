// RSS-aware ephemeral ports. See rss_port_chooser.h.
#include "stack/tcp/rss_port_chooser.h"

#include <algorithm>

#include "stack/base/bytes.h"
#include "stack/tcp/isn.h"

namespace l45::tcp {

RssPortChooser::RssPortChooser(std::span<const std::uint8_t> key,
                               std::span<const std::uint16_t> reta, std::uint16_t queue,
                               Random& random, const RssPortChooserConfig& config)
    : key_len_(std::min(key.size(), net::kRssMaxKeyLen)),
      reta_(reta.begin(), reta.end()),
      queue_(queue),
      config_(config) {
    std::copy_n(key.begin(), key_len_, key_.begin());
    config_.num_ports = std::min<std::uint32_t>(config_.num_ports, 65536u - config_.first_port);
    secret_ = {random.next_u64(), random.next_u64()};
    // The reply's destination port is input bytes 10-11: its bit b (0 =
    // least significant) is input bit 80 + 15 - b.
    const auto k = std::span<const std::uint8_t>(key_.data(), key_len_);
    for (unsigned b = 0; b < 16; ++b) {
        port_bit_hash_[b] = net::toeplitz_hash(
            k, net::rss_ipv4_l4_input({}, {}, 0, static_cast<std::uint16_t>(1u << b)));
    }
}

std::uint32_t RssPortChooser::reply_hash(const FourTuple& t) const {
    const auto in =
        net::rss_ipv4_l4_input(t.remote.addr, t.local.addr, t.remote.port, t.local.port);
    return net::toeplitz_hash(std::span<const std::uint8_t>(key_.data(), key_len_), in);
}

std::uint16_t RssPortChooser::reply_queue(const FourTuple& t) const {
    return net::rss_queue(reply_hash(t), reta_);
}

bool RssPortChooser::choose(const TcpStack& stack, const FourTuple& tuple,
                            std::uint16_t& out_port) {
    if (config_.num_ports == 0) return false;
    // RFC 6056 §3.3.3: offset = F(local IP, remote IP, remote port, secret).
    std::array<std::uint8_t, 10> f_in{};
    Writer w(f_in);
    w.u32(tuple.local.addr.value);
    w.u32(tuple.remote.addr.value);
    w.u16(tuple.remote.port);
    const auto offset = static_cast<std::uint32_t>(siphash24(secret_, f_in.data(), f_in.size()));

    // Toeplitz is linear in its input: hash(reply with port p) =
    // hash(reply with port 0) ^ the contributions of p's set bits.
    FourTuple t = tuple;
    t.local.port = 0;
    const std::uint32_t base = reply_hash(t);
    for (std::uint32_t i = 0; i < config_.num_ports; ++i) {
        const auto port = static_cast<std::uint16_t>(config_.first_port +
                                                     (offset + next_ + i) % config_.num_ports);
        std::uint32_t h = base;
        for (unsigned b = 0; b < 16; ++b)
            if ((port >> b) & 1u) h ^= port_bit_hash_[b];
        if (net::rss_queue(h, reta_) != queue_) continue;
        t.local.port = port;
        if (stack.in_use(t)) continue;
        next_ += i + 1;
        out_port = port;
        return true;
    }
    return false;
}

}  // namespace l45::tcp
