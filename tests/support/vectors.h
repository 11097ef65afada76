// Access to the published test vectors in ../shared/vectors (RFC 8448 traces,
// Wycheproof). A missing file is a test failure with a clear message, never a
// silent skip.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace l45::test {

// The shared/ folder: $L45_SHARED_DIR, else the one configured at build time.
[[nodiscard]] std::filesystem::path shared_dir();

// Parses shared/<relative>; aborts the test binary with a message when absent.
[[nodiscard]] nlohmann::json load_json(std::string_view relative);

// "0a1b" -> {0x0a, 0x1b}; aborts on malformed hex (vectors are trusted input).
[[nodiscard]] std::vector<std::uint8_t> from_hex(std::string_view hex);
[[nodiscard]] std::string to_hex(const std::uint8_t* data, std::size_t len);
template <class Bytes>
[[nodiscard]] std::string to_hex(const Bytes& bytes) {
    return to_hex(reinterpret_cast<const std::uint8_t*>(std::data(bytes)), std::size(bytes));
}

}  // namespace l45::test
