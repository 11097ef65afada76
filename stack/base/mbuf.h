// One owner per mbuf.
//
// MbufPtr owns exactly one packet (a possibly chained rte_mbuf) and frees it
// when it goes out of scope; everything else sees raw pointers or spans and
// never frees. Handing a packet on (to a tx queue, an ARP hold queue, a TCP
// receive buffer) is a move, so ownership is visible in the code.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <span>
#include <utility>

namespace l45 {

class MbufPtr {
  public:
    MbufPtr() = default;
    explicit MbufPtr(rte_mbuf* m) : m_(m) {}
    MbufPtr(const MbufPtr&) = delete;
    MbufPtr& operator=(const MbufPtr&) = delete;
    MbufPtr(MbufPtr&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    MbufPtr& operator=(MbufPtr&& other) noexcept {
        if (this != &other) reset(std::exchange(other.m_, nullptr));
        return *this;
    }
    ~MbufPtr() { reset(); }

    [[nodiscard]] rte_mbuf* get() const { return m_; }
    rte_mbuf* operator->() const { return m_; }
    explicit operator bool() const { return m_ != nullptr; }

    // Gives up ownership, e.g. to rte_eth_tx_burst.
    [[nodiscard]] rte_mbuf* release() { return std::exchange(m_, nullptr); }
    void reset(rte_mbuf* m = nullptr) {
        if (m_) rte_pktmbuf_free(m_);
        m_ = m;
    }

  private:
    rte_mbuf* m_ = nullptr;
};

// The first segment's data as a span (headers always live in the first segment).
[[nodiscard]] inline std::span<std::uint8_t> first_segment(rte_mbuf* m) {
    return {rte_pktmbuf_mtod(m, std::uint8_t*), rte_pktmbuf_data_len(m)};
}

}  // namespace l45
