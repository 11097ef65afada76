#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <algorithm>

#include "drivers/eal.h"
#include "tests/support/eal_env.h"

namespace l45 {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(EalArgs, AddsNoHugeAndMemoryWithoutHugepages) {
    const auto args = drivers::effective_eal_args({"app", "--no-pci"}, /*hugepages=*/false);
    EXPECT_TRUE(contains(args, "--no-huge"));
    EXPECT_TRUE(contains(args, "-m"));
    EXPECT_TRUE(contains(args, "--no-shconf"));
    EXPECT_FALSE(contains(args, "--in-memory"));
}

TEST(EalArgs, KeepsUserMemoryAndPrefix) {
    const auto args = drivers::effective_eal_args({"app", "--socket-mem=64", "--file-prefix=mine"},
                                                  /*hugepages=*/false);
    EXPECT_FALSE(contains(args, "-m"));
    EXPECT_TRUE(contains(args, "--file-prefix=mine"));
    EXPECT_EQ(std::count_if(args.begin(), args.end(),
                            [](const std::string& a) { return a.rfind("--file-prefix", 0) == 0; }),
              1);
}

TEST(EalArgs, LeavesHugepageSetupAlone) {
    const auto args = drivers::effective_eal_args({"app"}, /*hugepages=*/true);
    EXPECT_FALSE(contains(args, "--no-huge"));
    EXPECT_FALSE(contains(args, "--no-shconf"));
}

TEST(EalArgs, NeverCombinesNoHugeWithInMemory) {
    const auto args = drivers::effective_eal_args({"app", "--in-memory"}, /*hugepages=*/false);
    EXPECT_TRUE(contains(args, "--no-huge"));
    EXPECT_FALSE(contains(args, "--no-shconf"));
}

TEST(Eal, IsUpAndPoolAllocates) {
    ASSERT_NE(test::pktmbuf_pool(), nullptr);
    rte_mbuf* m = rte_pktmbuf_alloc(test::pktmbuf_pool());
    ASSERT_NE(m, nullptr);
    EXPECT_NE(rte_pktmbuf_append(m, 100), nullptr);
    rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace l45
