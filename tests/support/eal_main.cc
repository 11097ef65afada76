// main() for test binaries that need DPDK. EAL arguments may be passed after
// the gtest flags: `test_x --gtest_filter=... -- --log-level=debug`.
#include "tests/support/eal_env.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <string>
#include <vector>

#include "drivers/eal.h"

namespace l45::test {
namespace {
rte_mempool* g_pool = nullptr;
}

rte_mempool* pktmbuf_pool() {
    return g_pool;
}

}  // namespace l45::test

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);

    std::vector<std::string> eal_args = {argv[0], "--no-pci", "--log-level=lib.eal:warning"};
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--") {
            for (int j = i + 1; j < argc; ++j)
                eal_args.emplace_back(argv[j]);
            break;
        }
    }
    auto eal = l45::drivers::eal_init(eal_args);
    if (!eal) {
        std::fprintf(stderr, "FATAL: EAL init failed: %s\n", eal.error().c_str());
        return 2;
    }
    l45::test::g_pool =
        rte_pktmbuf_pool_create("test_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (l45::test::g_pool == nullptr) {
        std::fprintf(stderr, "FATAL: cannot create the test mempool\n");
        return 2;
    }
    const int rc = RUN_ALL_TESTS();
    rte_mempool_free(l45::test::g_pool);
    l45::drivers::eal_cleanup();
    return rc;
}
