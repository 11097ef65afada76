#!/usr/bin/python3
"""Sends malformed frames from inside a test namespace at an l45 interface.

Usage: send_malformed.py IFACE DST_MAC DST_IP SRC_IP COUNT SEED [random]

Each category is sent COUNT times; one line per category is printed,
`category count`, so the caller can check that l45 counted each one under
its own drop reason. With `random`, 1000 random frames (seeded) are sent
instead: they must crash nothing. Runs with Debian's /usr/bin/python3
(python3-scapy).
"""
import random
import sys

from scapy.all import ARP, ICMP, IP, Ether, Raw, conf, sendp  # noqa: E402

conf.verb = 0


def main():
    iface, dst_mac, dst_ip, src_ip, count, seed = sys.argv[1:7]
    random_only = len(sys.argv) > 7 and sys.argv[7] == "random"
    count = int(count)
    rnd = random.Random(int(seed))
    src_mac = open(f"/sys/class/net/{iface}/address").read().strip()
    eth = Ether(src=src_mac, dst=dst_mac)

    def ip(**kw):
        return IP(src=src_ip, dst=dst_ip, **kw)

    def raw_ip(pkt, mutate):
        b = bytearray(bytes(pkt))
        mutate(b)
        return Ether(src=src_mac, dst=dst_mac, type=0x0800) / Raw(bytes(b))

    echo = ICMP(type=8, id=0x4545, seq=1) / Raw(b"l45-malformed-test")
    cases = {
        # Ethernet
        "rx_not_for_us": Ether(src=src_mac, dst="02:11:22:33:44:55") / ip() / echo,
        "rx_unknown_ethertype": Ether(src=src_mac, dst=dst_mac, type=0x88B5) / Raw(b"x" * 46),
        # IPv4 header faults (each mutates a valid echo request)
        "ip_bad_version": raw_ip(ip() / echo, lambda b: b.__setitem__(0, 0x65)),
        "ip_bad_ihl": raw_ip(ip() / echo, lambda b: b.__setitem__(0, 0x44)),
        "ip_bad_total_length": raw_ip(ip() / echo, lambda b: b.__setitem__(slice(2, 4), b"\x05\xdc")),
        "ip_bad_checksum": raw_ip(ip() / echo, lambda b: b.__setitem__(10, b[10] ^ 0xFF)),
        "ip_ttl_zero": eth / ip(ttl=0) / echo,
        "ip_fragment_dropped": eth / ip(flags="MF", frag=0) / echo,
        "ip_unknown_protocol": eth / ip(proto=253) / Raw(b"y" * 20),
        # ICMP faults
        "icmp_bad_checksum": eth / ip() / ICMP(type=8, id=1, seq=1, chksum=0x1234) / Raw(b"z" * 8),
        "icmp_malformed": eth / ip(proto=1) / Raw(b"\x08\x00"),
        # ARP faults
        "arp_malformed": Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff", type=0x0806) / Raw(b"\x00\x01\x08\x00"),
    }
    if random_only:
        send_random(iface, src_mac, dst_mac, rnd)
        return
    for name, frame in cases.items():
        sendp([frame] * count, iface=iface)
        print(name, count, flush=True)

    # An echo request with IP options (IHL 6, NOP padding) must still be answered.
    sendp(eth / IP(src=src_ip, dst=dst_ip, options=b"\x01\x01\x01\x00") / echo, iface=iface)
    print("ip_options_echo", 1, flush=True)


def send_random(iface, src_mac, dst_mac, rnd):
    """Random bytes behind an Ethernet header, as IPv4, ARP or any type."""
    junk = []
    for _ in range(1000):
        n = rnd.randint(0, 1500)
        body = bytes(rnd.getrandbits(8) for _ in range(n))
        etype = rnd.choice([0x0800, 0x0806, rnd.randint(0, 0xFFFF)])
        junk.append(Ether(src=src_mac, dst=dst_mac, type=etype) / Raw(body))
    sendp(junk, iface=iface)
    print("random", len(junk), flush=True)


if __name__ == "__main__":
    main()
