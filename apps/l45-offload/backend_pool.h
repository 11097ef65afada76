// The plaintext backends of one lcore: round-robin, skipping a backend that
// recently refused a connection or did not answer (marked down for an
// interval, then tried again by the next client that reaches it).
//
// Sans-IO and per lcore: `now` is an argument, nothing is shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "apps/l45-offload/proxy_options.h"

namespace l45::offload {

class BackendPool {
  public:
    BackendPool(const std::vector<BackendAddress>& backends, Duration down_interval);

    // The next backend in round-robin order that is up at `now`, or nullopt
    // when every one is down.
    [[nodiscard]] std::optional<std::size_t> pick(Instant now);
    // A connection to backend `index` was refused or timed out: skip it
    // until now + down_interval. Returns whether it was up until now.
    bool mark_down(std::size_t index, Instant now);
    // A connection to it succeeded: it is up again at once.
    void mark_up(std::size_t index);

    [[nodiscard]] bool up(std::size_t index, Instant now) const {
        return now >= entries_[index].down_until;
    }
    [[nodiscard]] const BackendAddress& address(std::size_t index) const {
        return entries_[index].address;
    }
    [[nodiscard]] std::size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        BackendAddress address;
        Instant down_until{};  // up when now >= down_until
    };
    std::vector<Entry> entries_;
    Duration down_interval_;
    std::size_t next_ = 0;
};

}  // namespace l45::offload
