// Byte queues made of mbufs, for the send and receive buffers, and the
// bounded out-of-order queue.
//
// Read first: RFC 9293 §3.8.6 (the window follows the free buffer space),
// §3.10.7.4 "seventh, process the segment text", RFC 2018 §4 (which blocks
// a receiver reports), RFC 9293 §3.8.6.2.2 (receiver SWS avoidance; done by
// the connection from the numbers these queues give).
//
// Zero copy on receive: a received segment's mbuf is kept whole, and an
// entry says which bytes of it are payload (offset, length). The application
// reads spans of those bytes (peek/consume) or copies them out (read). Every
// queue has a fixed number of slots allocated at construction; nothing here
// allocates afterwards except drawing mbufs from the caller's mempool.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <memory>

#include "stack/base/bytes.h"
#include "stack/base/mbuf.h"
#include "stack/tcp/header.h"
#include "stack/tcp/seq.h"

namespace l45::tcp {

// Copies `out.size()` bytes starting at byte `offset` of the (chained) packet
// `m` into out. False when the range lies outside the packet.
[[nodiscard]] bool mbuf_copy_out(const rte_mbuf* m, std::uint32_t offset, MutableByteSpan out);

// A FIFO of byte ranges held in mbufs.
class MbufQueue {
  public:
    explicit MbufQueue(std::uint32_t num_slots);
    MbufQueue(const MbufQueue&) = delete;
    MbufQueue& operator=(const MbufQueue&) = delete;

    [[nodiscard]] std::uint32_t bytes() const { return bytes_; }
    [[nodiscard]] std::uint32_t num_entries() const { return count_; }
    [[nodiscard]] bool full() const { return count_ == capacity_; }
    [[nodiscard]] bool empty() const { return count_ == 0; }

    // Takes the bytes [offset, offset+len) of m. False (m untouched, still
    // owned by the caller) when every slot is taken.
    [[nodiscard]] bool push(MbufPtr& m, std::uint32_t offset, std::uint32_t len);
    // Copies bytes into mbufs from `pool`, filling the tailroom of the last
    // mbuf first when this queue made it. Returns how many bytes were taken
    // (less than data.size() when the pool or the slots run out).
    [[nodiscard]] std::uint32_t append_copy(ByteSpan data, rte_mempool* pool);

    // Copies out.size() bytes starting `offset` bytes after the front. The
    // walk to `offset` starts from where the previous copy ended when that is
    // not past it, so a sender copying segment after segment out of a full
    // send queue does not rescan the queue from the front each time.
    [[nodiscard]] bool copy_out(std::uint32_t offset, MutableByteSpan out) const;
    // The contiguous bytes at the front (empty when the queue is).
    [[nodiscard]] ByteSpan front_span() const;
    // Hands the front entry over whole: its mbuf and which bytes of it are
    // data. False when empty.
    [[nodiscard]] bool pop_front(MbufPtr& out, std::uint32_t& out_offset, std::uint32_t& out_len);
    // Drops n bytes from the front, freeing mbufs that empty.
    void consume(std::uint32_t n);
    void clear();

  private:
    struct Entry {
        MbufPtr m;
        std::uint32_t offset = 0;  // of the first byte in the packet
        std::uint32_t len = 0;
        bool appendable = false;  // made by append_copy: single segment, ours to fill
    };
    [[nodiscard]] Entry& at(std::uint32_t i) const { return slots_[(head_ + i) % capacity_]; }

    // Drops the front entry (its mbuf freed or already moved out).
    void pop_entry();

    std::unique_ptr<Entry[]> slots_;
    std::uint32_t capacity_;
    std::uint32_t head_ = 0;
    std::uint32_t count_ = 0;
    std::uint32_t bytes_ = 0;
    // Stream positions (64-bit: they never wrap): entries ever popped and
    // bytes ever removed from the front. An entry keeps its number and the
    // stream position of its first byte until it is popped; only the front
    // entry's start moves (partial consume), to front_pos_.
    std::uint64_t popped_ = 0;
    std::uint64_t front_pos_ = 0;
    // copy_out's cursor: entry number and stream position of its first byte.
    mutable std::uint64_t cursor_entry_ = 0;
    mutable std::uint64_t cursor_pos_ = 0;
};

// Segments that arrived ahead of RCV.NXT, sorted and non-overlapping, with a
// fixed number of slots (RFC 9293 §3.10.7.4 allows keeping them; RFC 2018
// reports them to the sender as SACK blocks).
//
// Memory limit: one slot per segment kept (24 bytes each, allocated at
// construction; the mbufs come from the pool). The slots should cover a
// receive window of full segments: with losses in a 256 KiB window of
// 1460-byte segments up to ~180 segments sit above a hole, and a segment
// dropped for want of a slot is a loss the sender has to repair again.
// The receive window bounds the bytes held whatever the slot count.
class OooQueue {
  public:
    static constexpr std::uint32_t kMaxSlots = 1024;
    explicit OooQueue(std::uint32_t num_slots);
    OooQueue(const OooQueue&) = delete;
    OooQueue& operator=(const OooQueue&) = delete;

    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] std::uint32_t num_entries() const { return count_; }
    [[nodiscard]] std::uint32_t capacity() const { return capacity_; }
    [[nodiscard]] std::uint32_t bytes() const;

    // Inserts the bytes [offset, offset+len) of m, which carry sequence
    // numbers [seq, seq+len). Parts already held are trimmed away. Returns
    // false when nothing new could be kept (all duplicate, or no free slot).
    bool insert(SeqNum seq, MbufPtr& m, std::uint32_t offset, std::uint32_t len);
    // Moves whatever is now in order at rcv_nxt into `rx` (dropping what lies
    // before rcv_nxt); returns the new rcv_nxt.
    [[nodiscard]] SeqNum drain_into(SeqNum rcv_nxt, MbufQueue& rx);
    // RFC 2018 §4: the first block holds the most recently received segment,
    // then the blocks of the segments received before it (most recent
    // first, so that every block is repeated in several ACKs and survives
    // ACK loss), then the highest remaining blocks. Returns how many blocks
    // were written (at most max).
    std::uint8_t sack_blocks(SackBlock* out, std::uint8_t max) const;
    void clear();

  private:
    struct Entry {
        SeqNum seq;
        MbufPtr m;
        std::uint32_t offset = 0;
        std::uint32_t len = 0;
    };
    // The contiguous run of entries (one SACK block) holding seq; false if none.
    bool block_containing(SeqNum seq, SackBlock& out) const;

    static constexpr std::uint32_t kRecent = kMaxSackBlocks;
    std::unique_ptr<Entry[]> slots_;
    std::uint32_t capacity_;
    std::uint32_t count_ = 0;
    SeqNum recent_[kRecent];  // first bytes of the latest insertions, newest first
    std::uint32_t num_recent_ = 0;
};

}  // namespace l45::tcp
