#include <algorithm>
#include <cstdint>

#include "apps/l45-bench/load_generator.h"
#include "apps/l45-bench/pattern.h"

namespace l45::loadgen {

SourceService::SourceService(std::uint32_t max_tcp_connections) : conns_(max_tcp_connections) {
    (void)download_window();  // built now, not on the data path
}

Result<void, tcp::TcpError> SourceService::listen(tcp::TcpStack& stack, std::uint16_t port,
                                                  std::uint32_t backlog) {
    stack_ = &stack;
    return stack.listen(port, backlog);
}

void SourceService::on_accept(tcp::ConnId id, std::uint16_t /*listen_port*/) {
    if (stack_ == nullptr || id.index >= conns_.size()) return;
    conns_[id.index] = Conn{id, true, false, 0};
    ++accepted_;
    pump(conns_[id.index]);
}

void SourceService::on_readable(tcp::ConnId id) {
    if (id.index < conns_.size() && conns_[id.index].open && conns_[id.index].id == id)
        pump(conns_[id.index]);
}

void SourceService::on_writable(tcp::ConnId id) {
    on_readable(id);
}

void SourceService::on_closed(tcp::ConnId id, tcp::CloseReason /*reason*/) {
    if (id.index < conns_.size() && conns_[id.index].id == id) conns_[id.index] = Conn{};
}

void SourceService::pump(Conn& c) {
    // Whatever the peer sends is not ours to answer: dropped, so its window
    // stays open and its FIN is seen.
    for (ByteSpan in = stack_->peek(c.id); !in.empty(); in = stack_->peek(c.id))
        stack_->consume(c.id, static_cast<std::uint32_t>(in.size()));
    const tcp::Connection* conn = stack_->find(c.id);
    if (conn != nullptr && conn->recv_finished()) {
        // RFC 9293 §3.10.4: the peer is done (the proxy's client left);
        // answer its FIN with ours and stop streaming.
        if (!c.fin_sent) {
            stack_->close(c.id);
            c.fin_sent = true;
        }
        return;
    }
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
