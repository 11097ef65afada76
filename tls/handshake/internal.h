// Small helpers shared by client.cc, server.cc and connection.cc. Not part
// of the public API.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "stack/base/bytes.h"
#include "tls/alert.h"

namespace l45::tls::hs_internal {

template <class E>
[[nodiscard]] constexpr std::uint16_t u16(E e) {
    return static_cast<std::uint16_t>(e);
}

template <class T>
[[nodiscard]] bool contains(const std::vector<T>& v, T x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

// Fails with `alert` unless `cond` holds.
[[nodiscard]] inline TlsResult<void> require(bool cond, Alert alert) {
    if (!cond) return fail(alert);
    return {};
}

[[nodiscard]] inline ByteSpan as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

[[nodiscard]] inline bool equal(ByteSpan a, ByteSpan b) {
    return std::ranges::equal(a, b);
}

}  // namespace l45::tls::hs_internal

// Propagates a TlsResult<void> failure.
#define L45_TRY(expr)                                                                         \
    do {                                                                                      \
        if (auto l45_try_r = (expr); !l45_try_r) return ::l45::unexpected(l45_try_r.error()); \
    } while (0)
