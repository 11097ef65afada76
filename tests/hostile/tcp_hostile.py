#!/usr/bin/python3
"""Hostile TCP input against l45-echo over net_tap, from a kernel namespace.

Starts l45-echo on a net_tap port (interface l45h<pid>), moves the tap's
kernel end into a namespace of its own (198.18.0.1/24, l45 is 198.18.0.2),
enters that namespace with setns(2) and attacks with scapy and raw
AF_PACKET frames. One PASS/FAIL line per case:
  blind-rst     in-window RST with seq != RCV.NXT -> challenge ACK, and the
                connection still echoes (RFC 5961 section 3)
  syn-in-est    SYN on an established connection -> challenge ACK, the
                connection survives (RFC 5961 section 4)
  out-of-window data far outside the receive window is not delivered, the
                connection survives
  syn-flood     100,000 spoofed SYNs while a kernel client gets an echo
  malformed     1000 malformed TCP segments, then a kernel echo still works
  clean-exit    l45-echo exits 0 on SIGINT
The kernel's RSTs to SYN-ACKs for scapy-made connections are dropped by an
nftables rule inside the namespace. Everything created is removed at exit.
Usage: tcp_hostile.py BUILD_ROOT
"""
import ctypes
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import l45_harness  # noqa: E402

from scapy.all import AsyncSniffer, Ether, IP, TCP, Raw, conf, get_if_hwaddr, sendp

BUILD = sys.argv[1]
ECHO = os.path.join(BUILD, "apps", "l45-echo")
RUN = l45_harness.Run("l45-hostile.")
TMP = RUN.tmp
IFACE = f"l45h{os.getpid() % 100000}"
NS = f"l45-hostile-{os.getpid()}"
L45_IP = "198.18.0.2"
MY_IP = "198.18.0.1"
procs = RUN.procs
ns_made = RUN.namespaces
report = RUN.report
conf.verb = 0


def start_echo():
    return RUN.start_echo(ECHO, IFACE, "server.log", ip=f"{L45_IP}/24")


def enter_ns():
    subprocess.run(["ip", "netns", "add", NS], check=True)
    ns_made.append(NS)
    # Only now that the port has started may its interface move.
    subprocess.run(["ip", "link", "set", IFACE, "netns", NS], check=True)
    subprocess.run(["ip", "-n", NS, "addr", "add", f"{MY_IP}/24", "dev", IFACE], check=True)
    subprocess.run(["ip", "-n", NS, "link", "set", IFACE, "up"], check=True)
    subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)
    # The kernel would RST every SYN-ACK/segment for scapy-made connections.
    subprocess.run(["ip", "netns", "exec", NS, "nft", "-f", "-"], check=True, text=True,
                   input="table inet l45h {\n chain out {\n  type filter hook output priority 0;\n"
                         "  tcp flags & rst == rst drop\n }\n}\n")
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{NS}", os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    os.close(fd)


def l45_mac():
    subprocess.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", L45_IP], check=True,
                   stdout=subprocess.DEVNULL)
    with open("/proc/net/arp") as f:
        for line in f:
            parts = line.split()
            if parts[0] == L45_IP:
                return parts[3]
    raise RuntimeError("no ARP entry for l45")


class Conn:
    """A TCP connection whose client side is made by hand with scapy."""

    def __init__(self, sport, dport=7):
        self.sport, self.dport = sport, dport
        self.seen = []
        self.lock = threading.Lock()
        self.sniffer = AsyncSniffer(
            iface=IFACE, store=False, prn=self._got,
            lfilter=lambda p: TCP in p and p[IP].src == L45_IP and p[TCP].dport == sport)
        self.sniffer.start()
        time.sleep(0.5)
        self.snd_nxt = random.randrange(1 << 32)
        self.rcv_nxt = None
        self.echoed = b""

    def _got(self, p):
        with self.lock:
            self.seen.append(p)

    def mark(self):
        with self.lock:
            return len(self.seen)

    def since(self, m):
        with self.lock:
            return list(self.seen[m:])

    def wait_for(self, m, pred, timeout=3.0):
        end = time.time() + timeout
        while time.time() < end:
            for p in self.since(m):
                if pred(p[TCP]):
                    return p[TCP]
            time.sleep(0.02)
        return None

    def send(self, flags, seq=None, ack=None, payload=b"", options=()):
        seg = TCP(sport=self.sport, dport=self.dport, flags=flags,
                  seq=self.snd_nxt if seq is None else seq,
                  ack=(self.rcv_nxt or 0) if ack is None else ack,
                  window=65535, options=list(options))
        pkt = IP(src=MY_IP, dst=L45_IP) / seg
        if payload:
            pkt = pkt / Raw(payload)
        sendp(Ether(dst=MAC, src=MY_MAC_STR) / pkt, iface=IFACE)

    def handshake(self):
        m = self.mark()
        self.send("S", ack=0, options=[("MSS", 1460)])
        sa = self.wait_for(m, lambda t: t.flags.S and t.flags.A)
        if sa is None or sa.ack != (self.snd_nxt + 1) % (1 << 32):
            return False
        self.snd_nxt = (self.snd_nxt + 1) % (1 << 32)
        self.rcv_nxt = (sa.seq + 1) % (1 << 32)
        self.send("A")
        return True

    def echo(self, data, timeout=3.0):
        """Sends data and collects what comes back; acks it."""
        m = self.mark()
        self.send("PA", payload=data)
        self.snd_nxt = (self.snd_nxt + len(data)) % (1 << 32)
        got = b""
        end = time.time() + timeout
        while time.time() < end and len(got) < len(data):
            got = b""
            for p in self.since(m):
                if Raw in p:
                    got += bytes(p[Raw].load)
            time.sleep(0.02)
        self.rcv_nxt = (self.rcv_nxt + len(got)) % (1 << 32)
        self.send("A")
        return got

    def payload_since(self, m):
        return b"".join(bytes(p[Raw].load) for p in self.since(m) if Raw in p)

    def close(self):
        # sendp() bypasses the IP output hook, so this RST is not dropped by nft.
        self.send("RA")
        self.sniffer.stop()


def is_challenge_ack(conn):
    return lambda t: (t.flags.A and not t.flags.S and not t.flags.R
                      and t.ack == conn.snd_nxt and t.seq == conn.rcv_nxt)


def case_blind_rst(conn):
    m = conn.mark()
    conn.send("R", seq=(conn.snd_nxt + 1000) % (1 << 32), ack=0)
    ch = conn.wait_for(m, is_challenge_ack(conn))
    got = conn.echo(b"after-rst")
    report("blind-rst", ch is not None and got == b"after-rst",
           f"challenge_ack={'seen' if ch else 'missing'} echo={got!r}")


def case_syn_in_est(conn):
    m = conn.mark()
    conn.send("S", seq=random.randrange(1 << 32), ack=0)
    ch = conn.wait_for(m, is_challenge_ack(conn))
    got = conn.echo(b"after-syn")
    report("syn-in-est", ch is not None and got == b"after-syn",
           f"challenge_ack={'seen' if ch else 'missing'} echo={got!r}")


def case_out_of_window(conn):
    m = conn.mark()
    conn.send("PA", seq=(conn.snd_nxt + (1 << 30)) % (1 << 32), payload=b"EVIL" * 64)
    time.sleep(0.5)
    stray = conn.payload_since(m)
    got = conn.echo(b"in-window")
    time.sleep(0.3)
    total = conn.payload_since(m)
    report("out-of-window", stray == b"" and got == b"in-window" and b"EVIL" not in total,
           f"stray={stray[:16]!r} echo={got!r}")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src_ip, tcp_bytes, tcp_len_for_ip=None, fix_sum=True, dst_mac=None):
    """Ethernet+IPv4 around raw TCP bytes; fills the TCP checksum if asked."""
    src = socket.inet_aton(src_ip)
    dst = socket.inet_aton(L45_IP)
    if fix_sum and len(tcp_bytes) >= 18:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp_bytes))
        tcp_bytes = bytearray(tcp_bytes)
        tcp_bytes[16:18] = b"\0\0"
        tcp_bytes[16:18] = struct.pack("!H", csum(pseudo + bytes(tcp_bytes)))
        tcp_bytes = bytes(tcp_bytes)
    total = 20 + len(tcp_bytes)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.randrange(65536), 0, 64, 6, 0,
                     src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + MY_MAC + b"\x08\x00" + ip + tcp_bytes


def tcp_hdr(sport, dport, seq, ack, doff, flags, opts=b"", payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (doff & 0xF) << 4, flags & 0xFF,
                       65535, 0, 0) + opts + payload


def kernel_echo(data, timeout=10.0):
    try:
        with socket.create_connection((L45_IP, 7), timeout=timeout) as s:
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            return got
    except OSError as e:
        return repr(e).encode()


def case_syn_flood():
    dmac = bytes.fromhex(MAC.replace(":", ""))
    rng = random.Random(1)
    frames = []
    for _ in range(100_000):
        src = f"198.18.0.{rng.choice([1, rng.randrange(3, 255)])}"
        frames.append(frame(src, tcp_hdr(rng.randrange(1024, 65536), 7, rng.randrange(1 << 32),
                                         0, 5, 0x02), dst_mac=dmac))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((IFACE, 0))
    result = {}
    sent = [0]

    def flood():
        # Paced at about 10,000 a second so the kernel client's handshake
        # really happens in the middle of the flood (unpaced, the tap
        # drops most of them and the flood is over in a second).
        t0 = time.time()
        for i, f in enumerate(frames):
            if i % 500 == 0:
                time.sleep(max(0.0, t0 + i / 10_000 - time.time()))
            try:
                sock.send(f)
                sent[0] += 1
            except OSError:
                time.sleep(0.0005)

    t = threading.Thread(target=flood)
    start = time.time()
    t.start()
    while sent[0] < 20_000 and t.is_alive():
        time.sleep(0.01)
    data = os.urandom(4096)
    result["echo"] = kernel_echo(data, timeout=20)
    during = sent[0] < len(frames)
    t.join(timeout=60)
    sock.close()
    ok = result["echo"] == data
    report("syn-flood", ok and not t.is_alive(),
           f"sent={sent[0]} in {time.time() - start:.1f}s echo_ok={ok} "
           f"client_during_flood={during}")


def case_malformed():
    dmac = bytes.fromhex(MAC.replace(":", ""))
    rng = random.Random(2)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((IFACE, 0))
    kinds = ["doff<5", "doff>len", "optlen0", "optlen1", "optover", "trunc", "badsum", "flags"]
    n = 0
    for i in range(1000):
        kind = kinds[i % len(kinds)]
        sport = rng.randrange(1024, 65536)
        dport = rng.choice([7, 9, rng.randrange(1, 65536)])
        seq, ack = rng.randrange(1 << 32), rng.randrange(1 << 32)
        flags = rng.randrange(256)
        fix = True
        if kind == "doff<5":
            seg = tcp_hdr(sport, dport, seq, ack, rng.randrange(0, 5), flags, payload=b"x" * 8)
        elif kind == "doff>len":
            seg = tcp_hdr(sport, dport, seq, ack, rng.randrange(6, 16), flags)
        elif kind == "optlen0":
            seg = tcp_hdr(sport, dport, seq, ack, 6, 0x02, opts=bytes([2, 0, 5, 0xB4]))
        elif kind == "optlen1":
            seg = tcp_hdr(sport, dport, seq, ack, 6, 0x02, opts=bytes([3, 1, 7, 1]))
        elif kind == "optover":
            seg = tcp_hdr(sport, dport, seq, ack, 6, 0x02,
                          opts=bytes([rng.choice([2, 3, 4, 8, 5, 30]), 40, 1, 1]))
        elif kind == "trunc":
            seg = tcp_hdr(sport, dport, seq, ack, 5, 0x02)[:rng.randrange(0, 20)]
            fix = len(seg) >= 18
        elif kind == "badsum":
            seg = bytearray(tcp_hdr(sport, dport, seq, ack, 5, 0x02, payload=b"bad"))
            fix = False
            seg[16:18] = struct.pack("!H", rng.randrange(1, 65536))
            seg = bytes(seg)
        else:  # every flag combination, including none and SYN+FIN
            seg = tcp_hdr(sport, dport, seq, ack, 5, i % 256, payload=b"f" * (i % 3))
        sock.send(frame(MY_IP, seg, fix_sum=fix, dst_mac=dmac))
        n += 1
    sock.close()
    time.sleep(0.5)
    data = os.urandom(8192)
    got = kernel_echo(data)
    report("malformed", got == data and server.poll() is None,
           f"sent={n} echo_ok={got == data} alive={server.poll() is None}")


def main():
    global server, MAC, MY_MAC, MY_MAC_STR
    server, log = start_echo()
    enter_ns()
    # scapy listed interfaces and routes at import, in the initial namespace.
    conf.ifaces.reload()
    conf.route.resync()
    MAC = l45_mac()
    # /sys still shows the initial namespace, so ask the socket layer.
    MY_MAC_STR = get_if_hwaddr(IFACE)
    MY_MAC = bytes.fromhex(MY_MAC_STR.replace(":", ""))

    conn = Conn(random.randrange(40000, 50000))
    if not conn.handshake():
        report("handshake", False, "no SYN-ACK from l45")
    else:
        got = conn.echo(b"hello")
        report("handshake", got == b"hello", f"echo={got!r}")
        case_blind_rst(conn)
        case_syn_in_est(conn)
        case_out_of_window(conn)
    conn.close()
    case_syn_flood()
    case_malformed()

    server.send_signal(signal.SIGINT)
    try:
        rc = server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    log.seek(0)
    text = log.read()
    # UBSan reports without changing the exit code, so look at the log too.
    sanitizer = "runtime error" in text or "Sanitizer" in text
    report("clean-exit", rc == 0 and not sanitizer,
           f"rc={rc} sanitizer_report={sanitizer} tail={text[-300:]!r}")
    # l45-echo's TCP counters at exit: the defences really ran.
    tcp = dict((k, int(v)) for k, v in re.findall(r"\b([a-z_]+) (\d+)",
               next((l for l in text.splitlines() if l.startswith("l45-echo: tcp ")), "")))
    report("tcp-counters", tcp.get("challenge_acks", 0) >= 1 and tcp.get("bad_checksum", 0) > 0
           and tcp.get("syn_cookies_sent", 0) > 0 and tcp.get("syn_cookies_accepted", 0) > 0, f"{tcp}")
    return RUN.summary()


if __name__ == "__main__":
    sys.exit(main())
