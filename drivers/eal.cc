#include "drivers/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string_view>

namespace l45::drivers {
namespace {

bool has_flag(const std::vector<std::string>& args, std::string_view flag) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
        return a == flag || (a.size() > flag.size() && a.compare(0, flag.size(), flag) == 0 &&
                             a[flag.size()] == '=');
    });
}

int no_huge_mem_mib() {
    if (const char* env = std::getenv("L45_EAL_MEM"); env && *env) {
        const int v = std::atoi(env);
        if (v > 0) return v;
    }
    return kDefaultNoHugeMemMiB;
}

}  // namespace

bool hugepages_available() {
    bool mounted = false;
    std::ifstream mounts("/proc/mounts");
    for (std::string line; std::getline(mounts, line);) {
        if (line.find(" hugetlbfs ") != std::string::npos) mounted = true;
    }
    if (!mounted) return false;
    std::ifstream meminfo("/proc/meminfo");
    for (std::string line; std::getline(meminfo, line);) {
        if (line.rfind("HugePages_Free:", 0) == 0) return std::atol(line.c_str() + 15) > 0;
    }
    return false;
}

std::vector<std::string> effective_eal_args(const std::vector<std::string>& user_args,
                                            bool hugepages) {
    std::vector<std::string> args = user_args;
    if (args.empty()) args.emplace_back("l45");
    const bool user_memory = has_flag(args, "-m") || has_flag(args, "--socket-mem");
    if (!hugepages && !has_flag(args, "--no-huge")) {
        args.emplace_back("--no-huge");
        if (!user_memory) {
            args.emplace_back("-m");
            args.emplace_back(std::to_string(no_huge_mem_mib()));
        }
    }
    const bool no_huge = has_flag(args, "--no-huge");
    const bool isolated = has_flag(args, "--in-memory") || has_flag(args, "--no-shconf");
    if (!isolated && no_huge) args.emplace_back("--no-shconf");
    if (!has_flag(args, "--file-prefix") && !has_flag(args, "--in-memory")) {
        args.emplace_back("--file-prefix=l45-" + std::to_string(getpid()));
    }
    return args;
}

Result<EalResult, std::string> eal_init(const std::vector<std::string>& user_args) {
    EalResult result;
    result.effective_args = effective_eal_args(user_args, hugepages_available());
    result.no_huge = has_flag(result.effective_args, "--no-huge");

    std::vector<char*> argv;
    argv.reserve(result.effective_args.size() + 1);
    for (std::string& a : result.effective_args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
    if (rc < 0) return unexpected(std::string("rte_eal_init: ") + rte_strerror(rte_errno));
    return result;
}

Result<EalResult, std::string> eal_init(int argc, char** argv) {
    std::vector<std::string> eal_args;
    int app_index = argc;
    for (int i = 0; i < argc; ++i) {
        if (i > 0 && std::string_view(argv[i]) == "--") {
            app_index = i + 1;
            break;
        }
        eal_args.emplace_back(argv[i]);
    }
    auto result = eal_init(eal_args);
    if (result) result->app_args_index = app_index;
    return result;
}

void eal_cleanup() {
    rte_eal_cleanup();
}

}  // namespace l45::drivers
