// What the NIC does for us on transmit. drivers::Port fills this from
// rte_eth_dev_info; the stack computes in software whatever is false.
// (On receive the stack reads the per-mbuf RTE_MBUF_F_RX_*_CKSUM_* flags.)
#pragma once

namespace l45::net {

struct TxOffloads {
    bool ipv4_cksum = false;
    bool tcp_cksum = false;
    bool udp_cksum = false;
    bool tso = false;
    bool multi_segs = false;
};

}  // namespace l45::net
