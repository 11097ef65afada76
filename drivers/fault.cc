#include "drivers/fault.h"

#include <algorithm>
#include <utility>

namespace l45::drivers {

void corrupt_byte(rte_mbuf* m, std::uint32_t offset, std::uint8_t xor_value) {
    if (offset >= rte_pktmbuf_pkt_len(m)) return;
    rte_mbuf* seg = m;
    while (seg != nullptr && offset >= seg->data_len) {
        offset -= seg->data_len;
        seg = seg->next;
    }
    if (seg != nullptr) rte_pktmbuf_mtod(seg, std::uint8_t*)[offset] ^= xor_value;
}

void truncate_frame(rte_mbuf* m, std::uint32_t new_len) {
    if (new_len >= rte_pktmbuf_pkt_len(m)) return;
    rte_mbuf* seg = m;
    std::uint32_t remaining = new_len;
    std::uint16_t segs = 1;
    while (remaining > seg->data_len && seg->next != nullptr) {
        remaining -= seg->data_len;
        seg = seg->next;
        ++segs;
    }
    seg->data_len = static_cast<std::uint16_t>(remaining);
    if (seg->next != nullptr) {
        rte_pktmbuf_free(seg->next);
        seg->next = nullptr;
    }
    m->nb_segs = segs;
    m->pkt_len = new_len;
}

FaultInjector::FaultInjector(const FaultConfig& config, std::uint64_t seed, rte_mempool* copy_pool)
    : config_(config), rng_(seed), copy_pool_(copy_pool) {
    config_.max_held = std::max<std::uint32_t>(config_.max_held, 1);
    config_.reorder_distance = std::max<std::uint32_t>(config_.reorder_distance, 1);
    held_.reserve(config_.max_held);
}

FaultInjector::FaultInjector(FaultInjector&& other) noexcept
    : config_(other.config_),
      rng_(other.rng_),
      copy_pool_(other.copy_pool_),
      held_(std::move(other.held_)),
      seq_(other.seq_),
      counters_(other.counters_) {
    other.held_.clear();
}

FaultInjector::~FaultInjector() {
    for (Held& h : held_)
        rte_pktmbuf_free(h.m);
}

bool FaultInjector::chance(double rate) {
    // Always one draw, whatever the rate, so decisions stay aligned per frame.
    const double u = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53;
    return u < rate;
}

FaultDecision FaultInjector::decide(std::uint32_t frame_len) {
    FaultDecision d;
    d.drop = chance(config_.drop_rate);
    d.duplicate = chance(config_.duplicate_rate);
    d.reorder = chance(config_.reorder_rate);
    d.delay = chance(config_.delay_rate);
    d.corrupt = chance(config_.corrupt_rate);
    d.truncate = chance(config_.truncate_rate);
    const std::uint64_t jitter_draw = rng_.next();
    const std::uint64_t offset_draw = rng_.next();
    const std::uint64_t xor_draw = rng_.next();
    const std::uint64_t trunc_draw = rng_.next();

    if (d.drop) {
        // Nothing else matters for a dropped frame.
        d.duplicate = d.reorder = d.delay = d.corrupt = d.truncate = false;
        return d;
    }
    if (d.truncate && frame_len >= 2) {
        d.truncate_to = 1 + static_cast<std::uint32_t>(trunc_draw % (frame_len - 1));
    } else {
        d.truncate = false;
    }
    const std::uint32_t len_after = d.truncate ? d.truncate_to : frame_len;
    if (d.corrupt && len_after > 0) {
        d.corrupt_offset = static_cast<std::uint32_t>(offset_draw % len_after);
        d.corrupt_xor = static_cast<std::uint8_t>(1 + xor_draw % 255);
    } else {
        d.corrupt = false;
    }
    if (d.delay) {
        const auto jitter_ns = config_.jitter.count();
        d.delay_for = config_.delay;
        if (jitter_ns > 0) {
            d.delay_for += Duration(static_cast<Duration::rep>(
                jitter_draw % (static_cast<std::uint64_t>(jitter_ns) + 1)));
        }
        d.reorder = false;  // a delayed frame is out of order already
    }
    return d;
}

void FaultInjector::push(Instant now, rte_mbuf* m, FrameSink& sink) {
    ++counters_.frames;
    const FaultDecision d = decide(rte_pktmbuf_pkt_len(m));
    if (d.drop) {
        ++counters_.dropped;
        rte_pktmbuf_free(m);
        return;
    }
    if (d.truncate) {
        truncate_frame(m, d.truncate_to);
        ++counters_.truncated;
    }
    if (d.corrupt) {
        corrupt_byte(m, d.corrupt_offset, d.corrupt_xor);
        ++counters_.corrupted;
    }
    if (d.duplicate) {
        rte_mbuf* copy = copy_pool_ ? rte_pktmbuf_copy(m, copy_pool_, 0, UINT32_MAX) : nullptr;
        if (copy != nullptr) {
            ++counters_.duplicated;
            deliver(copy, sink);
        } else {
            ++counters_.duplicate_failed;
        }
    }
    if (d.delay) {
        ++counters_.delayed;
        hold(m, now + d.delay_for, 0, sink);
    } else if (d.reorder) {
        ++counters_.reordered;
        hold(m, now + config_.reorder_timeout, config_.reorder_distance, sink);
    } else {
        deliver(m, sink);
    }
    release_due(now, sink, false);
}

void FaultInjector::hold(rte_mbuf* m, Instant release_at, std::uint32_t frames_left,
                         FrameSink& sink) {
    if (held_.size() >= config_.max_held) {
        ++counters_.hold_full;
        deliver(m, sink);
        return;
    }
    held_.push_back(Held{m, release_at, seq_++, frames_left});
}

void FaultInjector::deliver(rte_mbuf* m, FrameSink& sink) {
    ++counters_.delivered;
    sink.deliver(m);
    // A frame passed: reordered frames waiting for it come one step closer.
    // Those that reach zero leave now, after it, in arrival order.
    std::size_t i = 0;
    while (i < held_.size()) {
        Held& h = held_[i];
        if (h.frames_left > 0 && --h.frames_left == 0) {
            rte_mbuf* r = h.m;
            held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(i));
            ++counters_.delivered;
            sink.deliver(r);
            continue;
        }
        ++i;
    }
}

void FaultInjector::release_due(Instant now, FrameSink& sink, bool all) {
    if (held_.empty()) return;
    // In place (no allocation): order by due time, arrival order on ties.
    std::sort(held_.begin(), held_.end(), [](const Held& x, const Held& y) {
        return x.release_at != y.release_at ? x.release_at < y.release_at : x.seq < y.seq;
    });
    std::size_t n = 0;
    while (n < held_.size() && (all || held_[n].release_at <= now))
        ++n;
    for (std::size_t i = 0; i < n; ++i) {
        ++counters_.delivered;
        sink.deliver(held_[i].m);
    }
    held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(n));
}

void FaultInjector::poll(Instant now, FrameSink& sink) {
    release_due(now, sink, false);
}

void FaultInjector::flush(FrameSink& sink) {
    release_due(Instant::max(), sink, true);
}

}  // namespace l45::drivers
