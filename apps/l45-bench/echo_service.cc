#include <cstdint>

#include "apps/l45-bench/load_generator.h"

namespace l45::loadgen {

Result<void, tcp::TcpError> PlainService::listen(tcp::TcpStack& stack, std::uint16_t port,
                                                 std::uint32_t backlog) {
    stack_ = &stack;
    return stack.listen(port, backlog);
}

void PlainService::on_accept(tcp::ConnId id, std::uint16_t /*listen_port*/) {
    if (stack_ == nullptr || id.index >= conns_.size()) return;
    conns_[id.index] = Conn{.id = id, .open = true};
    ++accepted_;
    pump(conns_[id.index]);
}

void PlainService::on_readable(tcp::ConnId id) {
    if (id.index < conns_.size() && conns_[id.index].open && conns_[id.index].id == id)
        pump(conns_[id.index]);
}

void PlainService::on_writable(tcp::ConnId id) {
    on_readable(id);
}

void PlainService::on_closed(tcp::ConnId id, tcp::CloseReason /*reason*/) {
    if (id.index < conns_.size() && conns_[id.index].id == id) conns_[id.index] = Conn{};
}

bool PlainService::answer_fin(Conn& c) {
    const tcp::Connection* conn = stack_->find(c.id);
    if (conn == nullptr || !conn->recv_finished()) return false;
    if (!c.fin_sent) {
        stack_->close(c.id);
        c.fin_sent = true;
    }
    return true;
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
    (void)answer_fin(c);  // only once everything before the FIN went back
}

}  // namespace l45::loadgen
