// What the benchmark programs print about the machine next to their figures:
// the CPU model and the load average (on a shared machine the figures are
// lower bounds, and the load says by how much to distrust them).
#pragma once

#include <fstream>
#include <string>

namespace l45::bench {

// The value of the first "key : value" line of `path` that starts with key
// ("?" when there is none), e.g. ("/proc/cpuinfo", "model name").
[[nodiscard]] inline std::string first_line_with(const char* path, const std::string& key) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "?";
}

// The 1, 5 and 15 minute load averages.
[[nodiscard]] inline std::string loadavg() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

}  // namespace l45::bench
