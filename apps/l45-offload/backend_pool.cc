#include "apps/l45-offload/backend_pool.h"

namespace l45::offload {

BackendPool::BackendPool(const std::vector<BackendAddress>& backends, Duration down_interval)
    : down_interval_(down_interval) {
    entries_.reserve(backends.size());
    for (const auto& b : backends)
        entries_.push_back(Entry{b, Instant{}});
}

std::optional<std::size_t> BackendPool::pick(Instant now) {
    for (std::size_t tried = 0; tried < entries_.size(); ++tried) {
        const std::size_t i = next_;
        next_ = next_ + 1 == entries_.size() ? 0 : next_ + 1;
        if (up(i, now)) return i;
    }
    return std::nullopt;
}

bool BackendPool::mark_down(std::size_t index, Instant now) {
    const bool was_up = up(index, now);
    entries_[index].down_until = now + down_interval_;
    return was_up;
}

void BackendPool::mark_up(std::size_t index) {
    entries_[index].down_until = Instant{};
}

}  // namespace l45::offload
