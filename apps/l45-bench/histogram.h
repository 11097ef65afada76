// A fixed-size log-linear latency histogram (HdrHistogram's bucket layout):
// values below 2^kSubBits are counted exactly; above, each power of two is
// split into 2^(kSubBits-1) equal buckets, so a reported percentile is within
// 1/2^(kSubBits-1) (0.8 %) of the true value. Recording is two shifts and an
// increment and never allocates, so it runs on the data path; min, max and
// the sum are kept exactly.
//
// Read first: Gil Tene, "How NOT to measure latency" (why percentiles of
// every sample, not averages of averages), HdrHistogram's README (layout).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>

namespace l45::loadgen {

class Histogram {
  public:
    static constexpr unsigned kSubBits = 8;   // 2^7 buckets per power of two
    static constexpr unsigned kMaxBits = 44;  // values up to 2^44 ns (~4.9 hours)
    static constexpr std::uint64_t kHalf = 1u << (kSubBits - 1);
    static constexpr std::size_t kNumBuckets = (kMaxBits - kSubBits + 2) * kHalf;

    void record(std::uint64_t value) {
        value = std::min(value, kMaxValue);
        ++counts_[index_of(value)];
        ++count_;
        sum_ += value;
        min_ = std::min(min_, value);
        max_ = std::max(max_, value);
    }
    void merge(const Histogram& other) {
        for (std::size_t i = 0; i < kNumBuckets; ++i)
            counts_[i] += other.counts_[i];
        count_ += other.count_;
        sum_ += other.sum_;
        min_ = std::min(min_, other.min_);
        max_ = std::max(max_, other.max_);
    }
    void clear() { *this = Histogram{}; }

    [[nodiscard]] std::uint64_t count() const { return count_; }
    [[nodiscard]] std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
    [[nodiscard]] std::uint64_t max() const { return max_; }
    [[nodiscard]] double mean() const {
        return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
    }

    // The smallest recorded value v such that at least q (0..1) of the
    // samples are <= v, reported as the highest value of v's bucket (never
    // above max()). 0 when empty. q = 1 gives max().
    [[nodiscard]] std::uint64_t percentile(double q) const {
        if (count_ == 0) return 0;
        q = std::clamp(q, 0.0, 1.0);
        // The rank of the sample (1-based), rounded up: p50 of {1,2} is 1.
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
        if (static_cast<double>(rank) < q * static_cast<double>(count_)) ++rank;
        rank = std::max<std::uint64_t>(rank, 1);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < kNumBuckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::clamp(highest_in(i), min(), max_);
        }
        return max_;
    }

    // Bucket arithmetic (public for the unit test).
    [[nodiscard]] static std::size_t index_of(std::uint64_t value) {
        if (value < 2 * kHalf) return static_cast<std::size_t>(value);
        // Bit width w > kSubBits: the top kSubBits bits select the bucket.
        const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - kSubBits;
        return static_cast<std::size_t>((shift + 1) * kHalf + ((value >> shift) - kHalf));
    }
    [[nodiscard]] static std::uint64_t lowest_in(std::size_t index) {
        if (index < 2 * kHalf) return index;
        const std::uint64_t shift = index / kHalf - 1;
        return (kHalf + index % kHalf) << shift;
    }
    [[nodiscard]] static std::uint64_t highest_in(std::size_t index) {
        if (index < 2 * kHalf) return index;
        const std::uint64_t shift = index / kHalf - 1;
        return lowest_in(index) + (std::uint64_t{1} << shift) - 1;
    }

    static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBits) - 1;

  private:
    std::array<std::uint64_t, kNumBuckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

}  // namespace l45::loadgen
