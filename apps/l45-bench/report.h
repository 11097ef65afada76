// What l45-bench prints: the progress line (stderr, once a second), the
// results (stdout: a human table and one `key=value` line scripts parse)
// and the CSV row. Plain functions of LoadStats so tests check the figures.
#pragma once

#include <string>

#include "apps/l45-bench/load_generator.h"

namespace l45::loadgen {

// Rates over [from, to] (to - from = `seconds`).
[[nodiscard]] std::string progress_line(const LoadStats& from, const LoadStats& to, double seconds,
                                        double elapsed_s, std::uint32_t open_connections);

struct RunSummary {
    const LoadOptions* options = nullptr;
    std::string server;  // "IP:PORT"
    double seconds = 0;  // start -> last close
    const LoadStats* stats = nullptr;
};

[[nodiscard]] std::string results_text(const RunSummary& run);
// One line: "l45-bench: result mode=rr ... p99_us=..." (every figure of the CSV).
[[nodiscard]] std::string results_line(const RunSummary& run);
[[nodiscard]] std::string csv_header();
[[nodiscard]] std::string csv_row(const RunSummary& run);

}  // namespace l45::loadgen
