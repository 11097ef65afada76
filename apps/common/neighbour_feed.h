// ARP bindings passed from the shard that receives ARP to the other shards
// of a port.
//
// Why: RSS hashes only IP, so a NIC puts every ARP frame on queue 0 and only
// shard 0 learns neighbours. The other shards need the bindings too (to send
// a SYN-ACK, an ARP reply addressed to us must have been seen by someone).
// Sharing shard 0's cache would put a lock or a data race on the data path;
// instead shard 0 sends each binding it learns or refreshes as a message on
// one single-producer/single-consumer ring per other shard, and each shard
// merges the messages into its own cache (Interface::learn_neighbour). A
// shard that lacks a binding still sends its own ARP request: the reply is
// addressed to us, so shard 0 learns it and passes it on.
#pragma once

#include <rte_ring.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/net/interface.h"

namespace l45::apps {

class NeighbourFeed {
  public:
    // Set-up path: one ring of `size` (a power of two) messages.
    [[nodiscard]] static Result<std::unique_ptr<NeighbourFeed>, std::string> create(
        const std::string& name, int socket, unsigned size = 1024);
    NeighbourFeed(const NeighbourFeed&) = delete;
    NeighbourFeed& operator=(const NeighbourFeed&) = delete;
    ~NeighbourFeed();

    // Producer (shard 0): the reachable, learnt (not static) bindings of
    // `owner` updated at or after `since`. A full ring drops the message
    // (counted): the consumer then resolves by itself.
    void publish(const net::Interface& owner, Instant since);
    // Consumer: merges what arrived into `ifc`; returns how many.
    std::size_t apply(Instant now, net::Interface& ifc);

    [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

  private:
    NeighbourFeed() = default;
    rte_ring* ring_ = nullptr;
    std::uint64_t dropped_ = 0;  // producer side only
};

// Shard 0's side for every other shard: publish(owner, since) on each feed.
void publish_neighbours(const net::Interface& owner, Instant since,
                        std::span<NeighbourFeed* const> feeds);

}  // namespace l45::apps
