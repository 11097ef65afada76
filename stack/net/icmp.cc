#include "stack/net/icmp.h"

namespace l45::net {

Result<IcmpHeader, IcmpError> IcmpHeader::parse(ByteSpan message) {
    Reader r(message);
    IcmpHeader h;
    if (!r.u8(h.type) || !r.u8(h.code) || !r.u16(h.checksum) || !r.u32(h.rest))
        return unexpected(IcmpError::truncated);
    return h;
}

bool IcmpHeader::emit(MutableByteSpan out) const {
    Writer w(out);
    w.u8(type);
    w.u8(code);
    w.u16(checksum);
    w.u32(rest);
    return w.ok();
}

}  // namespace l45::net
