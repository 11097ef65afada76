#include <algorithm>
#include <cstdint>

#include "apps/l45-bench/load_generator.h"
#include "apps/l45-bench/pattern.h"

namespace l45::loadgen {

SourceService::SourceService(std::uint32_t max_tcp_connections)
    : PlainService(max_tcp_connections) {
    (void)download_window();  // built now, not on the data path
}

void SourceService::pump(Conn& c) {
    // Whatever the peer sends is not ours to answer: dropped, so its window
    // stays open and its FIN is seen.
    for (ByteSpan in = stack_->peek(c.id); !in.empty(); in = stack_->peek(c.id))
        stack_->consume(c.id, static_cast<std::uint32_t>(in.size()));
    // The peer is done (the proxy's client left): FIN answered, no more stream.
    if (answer_fin(c)) return;
    // As much as the send queue takes; on_writable resumes (TCP's flow
    // control). A piece is contiguous in the window (pattern.h).
    constexpr std::size_t kPiece = 16 * 1024;
    for (;;) {
        const std::uint32_t n = stack_->send(c.id, download_piece(c.offset, kPiece));
        if (n == 0) break;
        c.offset += n;
        bytes_sent_ += n;
    }
}

}  // namespace l45::loadgen
