// Glue between the TCP stack and the L2/L3 interface (stack/net/interface.h):
// the Interface hands TCP segments to on_ipv4, and segments the stack emits
// go out through Interface::send_ipv4. The core never sees Interface.
//
// Read first: stack/net/interface.h (L4Handler, send_ipv4's headroom rule).
#pragma once

#include "stack/net/interface.h"
#include "stack/tcp/stack.h"

namespace l45::tcp {

class InterfaceAdapter final : public SegmentSink, public net::L4Handler {
  public:
    explicit InterfaceAdapter(net::Interface& ifc) : ifc_(ifc) {}

    // Registers for protocol 6; the stack must use this adapter as its sink.
    void attach(TcpStack& stack) {
        stack_ = &stack;
        ifc_.set_l4_handler(kIpProtoTcp, this);
    }
    void detach() {
        ifc_.set_l4_handler(kIpProtoTcp, nullptr);
        stack_ = nullptr;
    }

    void on_ipv4(Instant now, const net::Ipv4Info& info, MbufPtr m) override {
        // TCP never talks to broadcast addresses (RFC 1122 §4.2.3.10).
        if (stack_ == nullptr || info.to_broadcast) return;
        stack_->on_segment(now, info.src, info.dst, std::move(m));
    }

    void send_segment(Instant now, net::Ipv4Addr, net::Ipv4Addr dst, MbufPtr m) override {
        // The Interface sends from its own address (the stack is configured
        // with the same one) and counts its own failures.
        if (!ifc_.send_ipv4(now, dst, kIpProtoTcp, std::move(m))) ++send_failures_;
    }

    [[nodiscard]] std::uint64_t send_failures() const { return send_failures_; }

  private:
    net::Interface& ifc_;
    TcpStack* stack_ = nullptr;
    std::uint64_t send_failures_ = 0;
};

}  // namespace l45::tcp
