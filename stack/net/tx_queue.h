// A fixed-capacity FIFO of frames waiting for the driver. Storage is
// allocated once at construction; push() on a full queue refuses (and the
// caller counts the drop) instead of growing.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <span>
#include <vector>

#include "stack/base/mbuf.h"

namespace l45::net {

class TxQueue {
  public:
    explicit TxQueue(std::size_t capacity) : slots_(capacity ? capacity : 1, nullptr) {}
    TxQueue(const TxQueue&) = delete;
    TxQueue& operator=(const TxQueue&) = delete;
    ~TxQueue() {
        while (size_ > 0)
            rte_pktmbuf_free(pop());
    }

    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t capacity() const { return slots_.size(); }
    [[nodiscard]] bool full() const { return size_ == slots_.size(); }

    // Takes ownership on success; on a full queue `m` is left with the caller
    // (who frees it when it goes out of scope).
    [[nodiscard]] bool push(MbufPtr& m) {
        if (full()) return false;
        slots_[(head_ + size_) % slots_.size()] = m.release();
        ++size_;
        return true;
    }

    // Moves up to out.size() frames (oldest first) to the caller.
    std::size_t drain(std::span<rte_mbuf*> out) {
        std::size_t n = 0;
        while (n < out.size() && size_ > 0)
            out[n++] = pop();
        return n;
    }

  private:
    rte_mbuf* pop() {
        rte_mbuf* m = slots_[head_];
        slots_[head_] = nullptr;
        head_ = (head_ + 1) % slots_.size();
        --size_;
        return m;
    }

    std::vector<rte_mbuf*> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace l45::net
