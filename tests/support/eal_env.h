// The DPDK environment of a test binary: one EAL per process, brought up by
// l45::drivers::eal_init (no hugepages needed, a private file prefix), and one
// packet mempool that every test in the binary may use.
#pragma once

#include <rte_mempool.h>

namespace l45::test {

[[nodiscard]] rte_mempool* pktmbuf_pool();

}  // namespace l45::test
