// A seeded, deterministic fault injector for the in-process test wire.
//
// The decision for a frame (decide()) is a pure function of the seed and the
// number of frames seen so far: it draws the same number of random values for
// every frame whatever the outcome, so a failing test replays bit for bit from
// its seed. apply()/push() then carry the decision out on a real mbuf, and
// poll(now) releases held frames when their time comes: time is an argument,
// never read here. Frames leave through a FrameSink, which takes ownership.
//
// Memory is bounded: at most Config::max_held frames are held (delay +
// reorder); past that a frame is delivered without the hold and counted.
// The destructor frees every frame still held.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/random.h"

namespace l45::drivers {

// Receives frames that leave the injector; owns them from then on.
class FrameSink {
  public:
    virtual void deliver(rte_mbuf* m) = 0;

  protected:
    ~FrameSink() = default;
};

struct FaultConfig {
    // Probabilities in [0, 1], drawn independently per frame.
    double drop_rate = 0;
    double duplicate_rate = 0;
    double reorder_rate = 0;
    double delay_rate = 0;
    double corrupt_rate = 0;
    double truncate_rate = 0;
    // A delayed frame is released at now + delay + uniform[0, jitter].
    Duration delay{0};
    Duration jitter{0};
    // A reordered frame is released after this many later frames passed,
    // or at the latest reorder_timeout after it arrived.
    std::uint32_t reorder_distance = 1;
    Duration reorder_timeout = std::chrono::milliseconds(1);
    std::uint32_t max_held = 1024;
};

struct FaultCounters {
    std::uint64_t frames = 0;  // pushed in
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t duplicate_failed = 0;  // no mbuf for the copy
    std::uint64_t reordered = 0;
    std::uint64_t delayed = 0;
    std::uint64_t corrupted = 0;
    std::uint64_t truncated = 0;
    std::uint64_t hold_full = 0;  // would have been held, delivered at once
};

// What happens to one frame. Offsets/lengths are already resolved against
// the frame's length (no corruption/truncation of a frame too short for it).
struct FaultDecision {
    bool drop = false;
    bool duplicate = false;
    bool reorder = false;
    bool delay = false;
    Duration delay_for{0};
    bool corrupt = false;
    std::uint32_t corrupt_offset = 0;
    std::uint8_t corrupt_xor = 0;  // never 0
    bool truncate = false;
    std::uint32_t truncate_to = 0;  // < frame length, >= 1

    friend bool operator==(const FaultDecision&, const FaultDecision&) = default;
};

class FaultInjector {
  public:
    // `copy_pool` supplies the mbufs for duplicates (rte_pktmbuf_copy).
    FaultInjector(const FaultConfig& config, std::uint64_t seed, rte_mempool* copy_pool);
    FaultInjector(FaultInjector&& other) noexcept;
    FaultInjector& operator=(FaultInjector&&) = delete;
    FaultInjector(const FaultInjector&) = delete;
    FaultInjector& operator=(const FaultInjector&) = delete;
    ~FaultInjector();

    // The sans-IO core: the fate of the next frame of `frame_len` bytes.
    [[nodiscard]] FaultDecision decide(std::uint32_t frame_len);

    // Takes ownership of `m`: decides, applies, and delivers now or later.
    void push(Instant now, rte_mbuf* m, FrameSink& sink);
    // Releases held frames that are due at `now`.
    void poll(Instant now, FrameSink& sink);
    // Releases every held frame now, in release order.
    void flush(FrameSink& sink);

    [[nodiscard]] std::size_t held() const { return held_.size(); }
    [[nodiscard]] const FaultCounters& counters() const { return counters_; }
    [[nodiscard]] const FaultConfig& config() const { return config_; }

  private:
    struct Held {
        rte_mbuf* m;
        Instant release_at;
        std::uint64_t seq;          // ties keep arrival order
        std::uint32_t frames_left;  // reorder: later frames still to pass; 0: time only
    };

    [[nodiscard]] bool chance(double rate);
    void hold(rte_mbuf* m, Instant release_at, std::uint32_t frames_left, FrameSink& sink);
    void deliver(rte_mbuf* m, FrameSink& sink);
    void release_due(Instant now, FrameSink& sink, bool all);

    FaultConfig config_;
    SeededRandom rng_;
    rte_mempool* copy_pool_;
    std::vector<Held> held_;  // capacity reserved to max_held at construction
    std::uint64_t seq_ = 0;
    FaultCounters counters_{};
};

// Applies corruption/truncation in place (exposed for tests); handles chains.
void corrupt_byte(rte_mbuf* m, std::uint32_t offset, std::uint8_t xor_value);
void truncate_frame(rte_mbuf* m, std::uint32_t new_len);

}  // namespace l45::drivers
