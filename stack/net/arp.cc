#include "stack/net/arp.h"

namespace l45::net {
namespace {
constexpr std::uint16_t kHtypeEthernet = 1;
constexpr std::uint16_t kPtypeIpv4 = 0x0800;
}  // namespace

Result<ArpPacket, ArpError> ArpPacket::parse(ByteSpan payload) {
    Reader r(payload);
    std::uint16_t htype = 0, ptype = 0, op = 0;
    std::uint8_t hlen = 0, plen = 0;
    ArpPacket p;
    std::uint32_t sip = 0, tip = 0;
    if (!r.u16(htype) || !r.u16(ptype) || !r.u8(hlen) || !r.u8(plen) || !r.u16(op))
        return unexpected(ArpError::truncated);
    // RFC 826: "?Do I have the hardware type in ar$hrd? ... ?Do I speak the
    // protocol in ar$pro?" -- and the lengths must be the ones we parse.
    if (htype != kHtypeEthernet || ptype != kPtypeIpv4 || hlen != 6 || plen != 4)
        return unexpected(ArpError::unsupported);
    if (!r.copy(p.sender_mac.addr_bytes) || !r.u32(sip) || !r.copy(p.target_mac.addr_bytes) ||
        !r.u32(tip))
        return unexpected(ArpError::truncated);
    if (op != static_cast<std::uint16_t>(ArpOp::request) &&
        op != static_cast<std::uint16_t>(ArpOp::reply))
        return unexpected(ArpError::bad_op);
    p.op = static_cast<ArpOp>(op);
    p.sender_ip = Ipv4Addr{sip};
    p.target_ip = Ipv4Addr{tip};
    return p;
}

bool ArpPacket::emit(MutableByteSpan out) const {
    Writer w(out);
    w.u16(kHtypeEthernet);
    w.u16(kPtypeIpv4);
    w.u8(6);
    w.u8(4);
    w.u16(static_cast<std::uint16_t>(op));
    w.bytes(sender_mac.addr_bytes);
    w.u32(sender_ip.value);
    w.bytes(target_mac.addr_bytes);
    w.u32(target_ip.value);
    return w.ok();
}

}  // namespace l45::net
