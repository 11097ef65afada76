#include "stack/net/ipv4.h"

#include "stack/net/checksum.h"

namespace l45::net {

Result<Ipv4Header, Ipv4Error> Ipv4Header::parse(ByteSpan contiguous, std::size_t available_len,
                                                bool verify_checksum) {
    if (available_len < kIpv4MinHeaderLen) return unexpected(Ipv4Error::truncated);
    Reader r(contiguous);
    std::uint8_t version_ihl = 0;
    if (!r.u8(version_ihl)) return unexpected(Ipv4Error::header_not_contiguous);
    if ((version_ihl >> 4) != 4) return unexpected(Ipv4Error::bad_version);
    const std::size_t header_len = std::size_t{version_ihl & 0x0fu} * 4;
    if (header_len < kIpv4MinHeaderLen || header_len > available_len)
        return unexpected(Ipv4Error::bad_ihl);
    if (header_len > contiguous.size()) return unexpected(Ipv4Error::header_not_contiguous);

    Ipv4Header h;
    h.header_len = static_cast<std::uint8_t>(header_len);
    std::uint32_t src = 0, dst = 0;
    // The length checks above make these reads succeed; they are still
    // checked, so a later edit cannot turn them into overreads.
    if (!r.u8(h.tos) || !r.u16(h.total_len) || !r.u16(h.id) || !r.u16(h.flags_fragment) ||
        !r.u8(h.ttl) || !r.u8(h.protocol) || !r.u16(h.checksum) || !r.u32(src) || !r.u32(dst))
        return unexpected(Ipv4Error::header_not_contiguous);
    h.src = Ipv4Addr{src};
    h.dst = Ipv4Addr{dst};
    if (h.total_len < header_len || h.total_len > available_len)
        return unexpected(Ipv4Error::bad_total_length);
    if (verify_checksum && !checksum_ok(contiguous.first(header_len)))
        return unexpected(Ipv4Error::bad_checksum);
    return h;
}

bool Ipv4Header::emit(MutableByteSpan out, bool fill_checksum) const {
    Writer w(out);
    w.u8(0x45);
    w.u8(tos);
    w.u16(total_len);
    w.u16(id);
    w.u16(flags_fragment);
    w.u8(ttl);
    w.u8(protocol);
    w.u16(0);
    w.u32(src.value);
    w.u32(dst.value);
    if (!w.ok()) return false;
    if (fill_checksum) store_be16(out.data() + 10, internet_checksum(out.first(kIpv4MinHeaderLen)));
    return true;
}

}  // namespace l45::net
