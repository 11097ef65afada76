// The NSS key log of l45-offload (tls.keylog_file): every TLS session's
// traffic secrets, one line each, in the SSLKEYLOGFILE format Wireshark
// reads (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/):
//   CLIENT_HANDSHAKE_TRAFFIC_SECRET <client_random hex> <secret hex>
//
// Why it looks like this:
//   - These lines are the keys to the traffic. The file is opened once at
//     start-up, created 0600 (an existing file is narrowed to 0600), and the
//     program says so loudly on stderr; nothing is written unless the
//     configuration names a file.
//   - Several lcores write to one file without a lock: the descriptor is
//     O_APPEND and each line (with its newline) is one write(2), which the
//     kernel appends atomically for a regular file, so lines never
//     interleave. No stdio buffer (it would need a lock, and lines would sit
//     in memory after the handshake that made them), no allocation.
//   - tls::Connection calls the sink during a handshake, on the lcore that
//     runs it; a write error is counted, never fatal (the proxy serves on).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "stack/base/result.h"
#include "tls/handshake/config.h"

namespace l45::offload {

class KeyLogFile {
  public:
    // Set-up path: opens (creates) `path` for appending, mode 0600.
    [[nodiscard]] static Result<std::unique_ptr<KeyLogFile>, std::string> open(
        const std::string& path);
    KeyLogFile(const KeyLogFile&) = delete;
    KeyLogFile& operator=(const KeyLogFile&) = delete;
    ~KeyLogFile();

    // One line (without its newline); any lcore.
    void write(std::string_view line);
    // A sink for tls::Config::key_log that writes here; this file must
    // outlive every connection that holds it.
    [[nodiscard]] tls::KeyLogSink sink() {
        return [this](std::string_view line) { write(line); };
    }

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::uint64_t lines_written() const {
        return lines_written_.load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t write_errors() const {
        return write_errors_.load(std::memory_order_relaxed);
    }

  private:
    KeyLogFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

    int fd_ = -1;
    std::string path_;
    std::atomic<std::uint64_t> lines_written_{0};
    std::atomic<std::uint64_t> write_errors_{0};
};

}  // namespace l45::offload
