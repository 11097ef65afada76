// EAL bring-up that works out of the box: with or without hugepages, one
// process or many, a NIC or only virtual PMDs.
//
// Apps follow DPDK's convention, `app [EAL args] -- [app args]`. What the user
// passes is kept; l45 only adds what is missing:
//   - `--no-huge -m <MiB>` when no hugepage is free (no hugetlbfs mounted, or
//     none reserved), so the stack runs on a laptop or in CI;
//   - `--no-shconf` and a per-process `--file-prefix`, so concurrent processes
//     (tests, two apps over a veth) never share runtime files. DPDK 22.11
//     refuses `--no-huge` together with `--in-memory`, so that is never added.
#pragma once

#include <string>
#include <vector>

#include "stack/base/result.h"

namespace l45::drivers {

struct EalResult {
    // Index in the caller's argv of the first application argument (after
    // "--"), or argc when there are none.
    int app_args_index = 0;
    bool no_huge = false;
    std::vector<std::string> effective_args;
};

// Default memory for --no-huge, in MiB; $L45_EAL_MEM overrides it.
inline constexpr int kDefaultNoHugeMemMiB = 512;

// True when hugetlbfs is mounted and HugePages_Free > 0.
[[nodiscard]] bool hugepages_available();

// The argument list eal_init would pass to rte_eal_init (testable without EAL).
[[nodiscard]] std::vector<std::string> effective_eal_args(const std::vector<std::string>& user_args,
                                                          bool hugepages);

// args[0] is the program name; the rest are EAL arguments only.
[[nodiscard]] Result<EalResult, std::string> eal_init(const std::vector<std::string>& args);

// For main(): splits argv at "--" and brings the EAL up with the part before.
[[nodiscard]] Result<EalResult, std::string> eal_init(int argc, char** argv);

void eal_cleanup();

}  // namespace l45::drivers
