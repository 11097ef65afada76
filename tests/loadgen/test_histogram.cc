// l45-bench's latency histogram (apps/l45-bench/histogram.h), its echo
// pattern (pattern.h) and its CSV (report.h): percentiles against the exact
// order statistics of the same samples, the bucket bounds, and the pattern's
// split independence and mismatch counting.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "apps/l45-bench/histogram.h"
#include "apps/l45-bench/pattern.h"
#include "apps/l45-bench/report.h"

namespace l45::loadgen {
namespace {

// The exact q-quantile as Histogram::percentile defines it: the sample of
// rank ceil(q * n) (1-based, at least 1) in sorted order.
std::uint64_t exact_percentile(std::vector<std::uint64_t> v, double q) {
    std::sort(v.begin(), v.end());
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    rank = std::clamp<std::size_t>(rank, 1, v.size());
    return v[rank - 1];
}

TEST(Histogram, EmptyReportsZero) {
    Histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(0.5), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, SmallValuesAreExact) {
    Histogram h;
    for (std::uint64_t v = 100; v >= 1; --v)
        h.record(v);  // order must not matter
    EXPECT_EQ(h.count(), 100u);
    EXPECT_EQ(h.percentile(0.50), 50u);
    EXPECT_EQ(h.percentile(0.90), 90u);
    EXPECT_EQ(h.percentile(0.99), 99u);
    EXPECT_EQ(h.percentile(0.999), 100u);
    EXPECT_EQ(h.percentile(1.0), 100u);
    EXPECT_EQ(h.percentile(0.0), 1u);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), 100u);
    EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(Histogram, BucketsCoverEveryValueWithBoundedWidth) {
    std::mt19937_64 rng(45);
    std::vector<std::uint64_t> values = {
        0, 1, 255, 256, 257, 511, 512, 1000, 65535, 65536, Histogram::kMaxValue};
    for (int i = 0; i < 100000; ++i)
        values.push_back(rng() >> (rng() % 64) & Histogram::kMaxValue);
    for (std::uint64_t v : values) {
        const std::size_t i = Histogram::index_of(v);
        ASSERT_LT(i, Histogram::kNumBuckets) << v;
        ASSERT_LE(Histogram::lowest_in(i), v) << v;
        ASSERT_GE(Histogram::highest_in(i), v) << v;
        // Width at most 1/128 of the bucket's lowest value (exact below 256).
        const std::uint64_t width = Histogram::highest_in(i) - Histogram::lowest_in(i);
        if (v < 256)
            ASSERT_EQ(width, 0u) << v;
        else
            ASSERT_LE(width * 128, Histogram::lowest_in(i)) << v;
    }
    // Consecutive buckets tile the range without gaps or overlaps.
    for (std::size_t i = 1; i < Histogram::kNumBuckets; ++i)
        ASSERT_EQ(Histogram::lowest_in(i), Histogram::highest_in(i - 1) + 1) << i;
    EXPECT_EQ(Histogram::highest_in(Histogram::kNumBuckets - 1), Histogram::kMaxValue);
}

TEST(Histogram, PercentilesMatchExactOrderStatisticsWithinOnePercent) {
    // A latency-like mix: a log-normal body around 40 us and a tail of
    // millisecond stalls.
    std::mt19937_64 rng(7);
    std::lognormal_distribution<double> body(std::log(40000.0), 0.5);
    std::uniform_real_distribution<double> stall(1e6, 5e7);
    std::vector<std::uint64_t> samples;
    Histogram h;
    for (int i = 0; i < 200000; ++i) {
        const double x = i % 500 == 0 ? stall(rng) : body(rng);
        const auto v = static_cast<std::uint64_t>(x);
        samples.push_back(v);
        h.record(v);
    }
    for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) {
        const auto exact = static_cast<double>(exact_percentile(samples, q));
        const auto got = static_cast<double>(h.percentile(q));
        EXPECT_GE(got, exact) << q;  // the bucket's top: never below the true value
        EXPECT_LE(got, exact * (1 + 1.0 / 128)) << q;
    }
    EXPECT_EQ(h.max(), *std::max_element(samples.begin(), samples.end()));
    EXPECT_EQ(h.min(), *std::min_element(samples.begin(), samples.end()));
}

TEST(Histogram, MergeEqualsRecordingEverything) {
    Histogram a, b, all;
    for (std::uint64_t v = 1; v < 5000; v += 3) {
        (v % 2 ? a : b).record(v * 97);
        all.record(v * 97);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), all.count());
    EXPECT_EQ(a.min(), all.min());
    EXPECT_EQ(a.max(), all.max());
    EXPECT_DOUBLE_EQ(a.mean(), all.mean());
    for (double q : {0.1, 0.5, 0.9, 0.99})
        EXPECT_EQ(a.percentile(q), all.percentile(q)) << q;
}

TEST(Histogram, ValuesBeyondTheRangeAreClamped) {
    Histogram h;
    h.record(~std::uint64_t{0});
    EXPECT_EQ(h.max(), Histogram::kMaxValue);
    EXPECT_EQ(h.percentile(0.5), Histogram::kMaxValue);
}

TEST(Pattern, IndependentOfHowTheStreamIsCut) {
    std::vector<std::uint8_t> whole(10000);
    fill_pattern(3, 5, whole);
    std::vector<std::uint8_t> pieces(whole.size());
    std::size_t at = 0;
    for (std::size_t len : {1, 7, 8, 63, 64, 65, 1000}) {
        fill_pattern(3, 5 + at, std::span(pieces.data() + at, len));
        at += len;
    }
    fill_pattern(3, 5 + at, std::span(pieces.data() + at, pieces.size() - at));
    EXPECT_EQ(whole, pieces);
    for (std::size_t i = 0; i < whole.size(); i += 37)
        EXPECT_EQ(pattern_byte(3, 5 + i), whole[i]);
    EXPECT_EQ(count_pattern_mismatches(3, 5, whole), 0u);
}

TEST(Pattern, PrintableLinesAndSeedsDiffer) {
    std::vector<std::uint8_t> a(4096), b(4096);
    fill_pattern(1, 0, a);
    fill_pattern(2, 0, b);
    EXPECT_NE(a, b);
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i % 64 == 63)
            ASSERT_EQ(a[i], '\n') << i;
        else
            ASSERT_TRUE(std::isalnum(a[i]) || a[i] == '+' || a[i] == '/') << i;
    }
    // Another seed's bytes, or our bytes shifted by one, are caught.
    EXPECT_GT(count_pattern_mismatches(1, 0, b), 3000u);
    EXPECT_GT(count_pattern_mismatches(1, 1, a), 3000u);
    a[100] ^= 1;
    EXPECT_EQ(count_pattern_mismatches(1, 0, a), 1u);
}

// The download stream is the pattern of kDownloadSeed with period
// kDownloadPeriod, read from one window with memcmp: the piece at any offset
// (across the period's end too) is that stream, and a flipped, lost or
// repeated byte is counted.
TEST(Pattern, DownloadWindowIsThePeriodicStream) {
    const std::uint64_t offsets[] = {0, 1, 16384, kDownloadPeriod - 5, 3 * kDownloadPeriod + 77};
    for (std::uint64_t off : offsets) {
        const auto piece = download_piece(off, 16384);
        ASSERT_EQ(piece.size(), 16384u);
        for (std::size_t i = 0; i < piece.size(); ++i)
            ASSERT_EQ(piece[i], pattern_byte(kDownloadSeed, (off + i) % kDownloadPeriod))
                << off << "+" << i;
        EXPECT_EQ(count_download_mismatches(off, piece), 0u);
    }
    // Longer than a period: checked in pieces.
    std::vector<std::uint8_t> big(2 * kDownloadPeriod + 100);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = pattern_byte(kDownloadSeed, (kDownloadPeriod - 50 + i) % kDownloadPeriod);
    EXPECT_EQ(count_download_mismatches(kDownloadPeriod - 50, big), 0u);
    big[kDownloadPeriod + 3] ^= 0x20;
    EXPECT_EQ(count_download_mismatches(kDownloadPeriod - 50, big), 1u);

    // A lost byte (the stream read one offset late) or a repeated record.
    const auto at = download_piece(1000, 4096);
    std::vector<std::uint8_t> copy(at.begin(), at.end());
    EXPECT_GT(count_download_mismatches(1001, copy), 3000u);
    EXPECT_GT(count_download_mismatches(1000 + 16384, copy), 3000u);
}

TEST(Report, CsvRowHasAColumnPerHeaderField) {
    LoadOptions o;
    o.mode = Mode::rr;
    LoadStats s;
    for (std::uint64_t v = 1; v <= 1000; ++v)
        s.latency.record(v * 1000);  // 1..1000 us
    s.requests = 1000;
    const RunSummary run{&o, "198.18.0.1:443", 2.0, &s};
    const std::string header = csv_header();
    const std::string row = csv_row(run);
    EXPECT_EQ(std::count(header.begin(), header.end(), ','),
              std::count(row.begin(), row.end(), ','));
    EXPECT_EQ(header.rfind("mode,payload,server,", 0), 0u) << header;
    EXPECT_EQ(row.rfind("rr,echo,198.18.0.1:443,", 0), 0u) << row;
    const std::string line = results_line(run);
    EXPECT_NE(line.find(" requests=1000 "), std::string::npos) << line;
    EXPECT_NE(line.find(" requests_per_s=500.000 "), std::string::npos) << line;
    // The percentile is the top of the sample's bucket (within 1/128 of it).
    const auto field = [&](const char* name) {
        const auto at = line.find(std::string(" ") + name + "=");
        EXPECT_NE(at, std::string::npos) << name;
        return std::stod(line.substr(at + std::string(name).size() + 2));
    };
    EXPECT_GE(field("p50_us"), 500.0);
    EXPECT_LE(field("p50_us"), 500.0 * (1 + 1.0 / 128));
    EXPECT_GE(field("p99_us"), 990.0);
    EXPECT_LE(field("p99_us"), 990.0 * (1 + 1.0 / 128));
    EXPECT_DOUBLE_EQ(field("max_us"), 1000.0);
    EXPECT_DOUBLE_EQ(field("mean_us"), 500.5);
}

}  // namespace
}  // namespace l45::loadgen
