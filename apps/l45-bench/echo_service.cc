#include <cstdint>

#include "apps/l45-bench/load_generator.h"

namespace l45::loadgen {

EchoService::EchoService(std::uint32_t max_tcp_connections) : conns_(max_tcp_connections) {}

Result<void, tcp::TcpError> EchoService::listen(tcp::TcpStack& stack, std::uint16_t port,
                                                std::uint32_t backlog) {
    stack_ = &stack;
    return stack.listen(port, backlog);
}

void EchoService::on_accept(tcp::ConnId id, std::uint16_t /*listen_port*/) {
    if (stack_ == nullptr || id.index >= conns_.size()) return;
    conns_[id.index] = Conn{id, true, false};
    ++accepted_;
    pump(conns_[id.index]);
}

void EchoService::on_readable(tcp::ConnId id) {
    if (id.index < conns_.size() && conns_[id.index].open && conns_[id.index].id == id)
        pump(conns_[id.index]);
}

void EchoService::on_writable(tcp::ConnId id) {
    on_readable(id);
}

void EchoService::on_closed(tcp::ConnId id, tcp::CloseReason /*reason*/) {
    if (id.index < conns_.size() && conns_[id.index].id == id) conns_[id.index] = Conn{};
}

void EchoService::pump(Conn& c) {
    // Zero copy from the receive queue to the send queue's copy: what the
    // send window cannot take stays in the receive queue, so the peer's
    // window closes and on_writable resumes (TCP's own flow control).
    for (ByteSpan in = stack_->peek(c.id); !in.empty(); in = stack_->peek(c.id)) {
        const std::uint32_t n = stack_->send(c.id, in);
        if (n == 0) break;
        stack_->consume(c.id, n);
        bytes_echoed_ += n;
    }
    // RFC 9293 §3.10.4: the peer's FIN, once everything before it went
    // back, is answered with ours.
    const tcp::Connection* conn = stack_->find(c.id);
    if (!c.fin_sent && conn != nullptr && conn->recv_finished()) {
        stack_->close(c.id);
        c.fin_sent = true;
    }
}

}  // namespace l45::loadgen
