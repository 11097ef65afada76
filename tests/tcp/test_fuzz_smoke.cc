// Runs the fuzz_segment body on seeded random and mutated-valid inputs under
// gtest, so the unit suite exercises it without clang/libFuzzer; checks that
// no mbuf leaks.
#include <gtest/gtest.h>

#include <vector>

#define L45_FUZZ_SMOKE 1
#include "tests/support/eal_env.h"
#include "tests/tcp/fuzz_segment.cc"

namespace l45::tcp {
namespace {

TEST(FuzzSmoke, RandomSegmentsNeitherCrashNorLeak) {
    rte_mempool* pool = l45::test::pktmbuf_pool();
    fuzz::g_fuzz_pool = pool;
    const unsigned before = rte_mempool_in_use_count(pool);
    SeededRandom r(12345);
    for (int iter = 0; iter < 3000; ++iter) {
        std::vector<std::uint8_t> in;
        in.push_back(static_cast<std::uint8_t>(iter & 7));
        const int records = 1 + static_cast<int>(r.below(8));
        for (int k = 0; k < records; ++k) {
            // Mostly plausible headers (data offset 5..15, some flags), some garbage.
            const auto len = static_cast<std::uint16_t>(r.below(120));
            in.push_back(static_cast<std::uint8_t>(len >> 8));
            in.push_back(static_cast<std::uint8_t>(len));
            std::vector<std::uint8_t> s(len);
            r.fill(s);
            if (len >= 20 && r.below(4) != 0) {
                s[12] = static_cast<std::uint8_t>((5 + r.below(len >= 60 ? 11 : (len - 20) / 4 + 1))
                                                  << 4);
                s[13] = static_cast<std::uint8_t>(r.below(0x40));
                store_be32(s.data() + 4, 5001 + static_cast<std::uint32_t>(r.below(3000)));
                store_be32(s.data() + 8, 1001 + static_cast<std::uint32_t>(r.below(3000)));
            }
            in.insert(in.end(), s.begin(), s.end());
        }
        EXPECT_EQ(fuzz::run_one(in.data(), in.size()), 0);
        ASSERT_EQ(rte_mempool_in_use_count(pool), before) << "mbuf leak at iteration " << iter;
    }
}

}  // namespace
}  // namespace l45::tcp
