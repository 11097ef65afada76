#include "stack/net/ethernet.h"

namespace l45::net {

Result<EthernetHeader, EthernetError> EthernetHeader::parse(ByteSpan frame) {
    Reader r(frame);
    EthernetHeader h;
    if (!r.copy(h.dst.addr_bytes) || !r.copy(h.src.addr_bytes) || !r.u16(h.ethertype))
        return unexpected(EthernetError::truncated);
    return h;
}

bool EthernetHeader::emit(MutableByteSpan out) const {
    Writer w(out);
    w.bytes(dst.addr_bytes);
    w.bytes(src.addr_bytes);
    w.u16(ethertype);
    return w.ok();
}

}  // namespace l45::net
