#include "tests/support/vectors.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace l45::test {

std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("L45_SHARED_DIR"); env && *env) return env;
    return L45_DEFAULT_SHARED_DIR;
}

nlohmann::json load_json(std::string_view relative) {
    const std::filesystem::path path = shared_dir() / relative;
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr,
                     "FATAL: test vector file %s is missing. Tests read ../shared next to the "
                     "source tree; set L45_SHARED_DIR to point elsewhere.\n",
                     path.c_str());
        std::abort();
    }
    return nlohmann::json::parse(in);
}

static int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::vector<std::uint8_t> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) {
        std::fprintf(stderr, "FATAL: odd-length hex string in test vector\n");
        std::abort();
    }
    std::vector<std::uint8_t> out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            std::fprintf(stderr, "FATAL: bad hex digit in test vector\n");
            std::abort();
        }
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return out;
}

std::string to_hex(const std::uint8_t* data, std::size_t len) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(len * 2, '0');
    for (std::size_t i = 0; i < len; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 0xf];
    }
    return out;
}

}  // namespace l45::test
