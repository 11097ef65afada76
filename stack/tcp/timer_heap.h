// An indexed binary min-heap of deadlines, one entry per connection slot.
//
// Read first: RFC 9293 §3.10.8 (the timeouts), and for the design: the
// kernel's hrtimer / libuv's timer heap. Each slot has at most one entry
// (its earliest deadline, Connection::poll_at), so the capacity is the
// table size and update/remove are O(log n) with no allocation after
// construction. A hashed wheel would be O(1) but coarser; connections here
// rearm often (every ACK) and a heap of a few thousand is cheap.
#pragma once

#include <cstdint>
#include <memory>

#include "stack/base/clock.h"

namespace l45::tcp {

class TimerHeap {
  public:
    static constexpr std::uint32_t kNone = 0xffffffffu;

    explicit TimerHeap(std::uint32_t capacity)
        : heap_(std::make_unique<Entry[]>(capacity)),
          pos_(std::make_unique<std::uint32_t[]>(capacity)),
          capacity_(capacity) {
        for (std::uint32_t i = 0; i < capacity; ++i)
            pos_[i] = kNone;
    }

    [[nodiscard]] bool empty() const { return size_ == 0; }
    [[nodiscard]] std::uint32_t size() const { return size_; }
    [[nodiscard]] Instant top_deadline() const {
        return size_ ? heap_[0].deadline : Instant::max();
    }
    [[nodiscard]] std::uint32_t top_slot() const { return size_ ? heap_[0].slot : kNone; }
    [[nodiscard]] bool contains(std::uint32_t slot) const { return pos_[slot] != kNone; }

    // Sets (or with Instant::max(), removes) the deadline of `slot`.
    void update(std::uint32_t slot, Instant deadline) {
        if (slot >= capacity_) return;
        if (deadline == Instant::max()) {
            remove(slot);
            return;
        }
        std::uint32_t i = pos_[slot];
        if (i == kNone) {
            i = size_++;
            heap_[i] = {deadline, slot};
            pos_[slot] = i;
            sift_up(i);
            return;
        }
        const Instant old = heap_[i].deadline;
        heap_[i].deadline = deadline;
        if (deadline < old)
            sift_up(i);
        else
            sift_down(i);
    }

    void remove(std::uint32_t slot) {
        if (slot >= capacity_) return;
        const std::uint32_t i = pos_[slot];
        if (i == kNone) return;
        pos_[slot] = kNone;
        --size_;
        if (i == size_) return;
        heap_[i] = heap_[size_];
        const std::uint32_t moved = heap_[i].slot;
        pos_[moved] = i;
        sift_up(i);
        sift_down(pos_[moved]);
    }

  private:
    struct Entry {
        Instant deadline;
        std::uint32_t slot;
    };
    void swap_at(std::uint32_t a, std::uint32_t b) {
        const Entry tmp = heap_[a];
        heap_[a] = heap_[b];
        heap_[b] = tmp;
        pos_[heap_[a].slot] = a;
        pos_[heap_[b].slot] = b;
    }
    void sift_up(std::uint32_t i) {
        while (i > 0) {
            const std::uint32_t parent = (i - 1) / 2;
            if (!(heap_[i].deadline < heap_[parent].deadline)) break;
            swap_at(i, parent);
            i = parent;
        }
    }
    void sift_down(std::uint32_t i) {
        for (;;) {
            const std::uint32_t l = 2 * i + 1, r = l + 1;
            std::uint32_t m = i;
            if (l < size_ && heap_[l].deadline < heap_[m].deadline) m = l;
            if (r < size_ && heap_[r].deadline < heap_[m].deadline) m = r;
            if (m == i) return;
            swap_at(i, m);
            i = m;
        }
    }

    std::unique_ptr<Entry[]> heap_;
    std::unique_ptr<std::uint32_t[]> pos_;
    std::uint32_t capacity_;
    std::uint32_t size_ = 0;
};

}  // namespace l45::tcp
