// Helpers shared by the tls/pki tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/random.h"
#include "tests/support/vectors.h"
#include "tls/alert.h"

namespace l45::tls::pki::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes hex(std::string_view s) {
    return l45::test::from_hex(s);
}

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The first RFC 8448 step of `who` whose heading starts with `what` and that
// carries `label`; fails the test (empty result) when there is none.
inline Bytes rfc8448_value(const nlohmann::json& trace, std::string_view who, std::string_view what,
                           std::string_view label, int nth = 0) {
    for (const auto& step : trace.at("steps")) {
        if (step.at("who") != who) continue;
        const std::string heading = step.at("what");
        if (heading.rfind(what, 0) != 0) continue;
        if (!step.at("values").contains(std::string(label))) continue;
        if (nth-- > 0) continue;
        return hex(step.at("values").at(std::string(label)).get<std::string>());
    }
    ADD_FAILURE() << "RFC 8448 trace has no " << who << " '" << what << "' with '" << label << "'";
    return {};
}

// A Random that hands out scripted bytes (then zeros): tests of rejection
// sampling.
class ScriptedRandom final : public Random {
  public:
    void push(const Bytes& bytes) { queue_.insert(queue_.end(), bytes.begin(), bytes.end()); }
    void fill(std::span<std::uint8_t> out) override {
        for (auto& b : out) {
            if (queue_.empty()) {
                b = 0;
                continue;
            }
            b = queue_.front();
            queue_.pop_front();
        }
    }

  private:
    std::deque<std::uint8_t> queue_;
};

template <class T>
Alert alert_of(const TlsResult<T>& r) {
    return r ? Alert::close_notify : r.error().alert;
}

}  // namespace l45::tls::pki::test
