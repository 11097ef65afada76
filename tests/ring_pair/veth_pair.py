#!/usr/bin/python3
"""l45-bench against l45-offload in two processes, over af_packet on a veth
pair (issue 5 item 7; the in-process twin is test_ring_pair.cc):

  namespace O: l45-offload on net_af_packet over one veth end, 198.18.0.2,
               TLS on 443 with the certificate it generates at first run,
               its backend 198.18.0.3:8080;
  namespace B: l45-bench on net_af_packet over the other end, 198.18.0.3,
               the TLS clients (verifying against l45-offload's CA) and,
               with --serve-echo 8080, l45-offload's echo backend.

The kernel only carries frames between the two packet sockets: neither veth
end has an address (IPv6 off), so no kernel stack answers for l45. Each
process gets its own lcore (-l 0 / -l 1) and a private EAL file prefix.

One line per case:
  up            l45-offload serving on af_packet
  handshake     L45_VETH_HANDSHAKES (3000) handshakes, no error
  bulk          4 connections x L45_VETH_BULK_BYTES (8 MiB) echoed through the
                proxy, every byte compared by l45-bench (integrity_errors=0)
  offload       on SIGINT, l45-offload's counters agree with l45-bench's
                (handshakes_ok, nothing failed) and it drains
Everything (processes, namespaces with their veth, files) is removed at exit,
also when a case fails. Usage: veth_pair.py BUILD_ROOT
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import l45_harness  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
OFFLOAD = os.path.join(BUILD, "apps", "l45-offload", "l45-offload")
BENCH = os.path.join(BUILD, "apps", "l45-bench", "l45-bench")
RUN = l45_harness.Run("l45-veth-pair.")
PID = os.getpid() % 100000
HANDSHAKES = int(os.environ.get("L45_VETH_HANDSHAKES", "3000"))
BULK = int(os.environ.get("L45_VETH_BULK_BYTES", str(8 << 20)))
BULK_CONNS = 4
OFFLOAD_IP = "198.18.0.2"
BENCH_IP = "198.18.0.3"
ECHO_PORT = 8080


def result_of(text):
    """The key=value pairs of l45-bench's `l45-bench: result ...` line."""
    for line in text.splitlines():
        if line.startswith("l45-bench: result "):
            return dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
    return {}


def counters_of(text):
    """l45-offload's `offload counters (non-zero)` block at exit, as ints."""
    out = {}
    block = text.split("l45-offload: offload counters (non-zero)", 1)
    if len(block) < 2:
        return None
    for line in block[1].splitlines()[1:]:
        m = re.match(r"^\s+(\w+)\s+(\d+)$", line)
        if not m:
            break
        out[m.group(1)] = int(m.group(2))
    return out


def bench(ns, iface, ca, mode_args, timeout):
    cmd = ["ip", "netns", "exec", ns, BENCH, "--no-pci", "-l", "1",
           "--vdev", f"net_af_packet0,iface={iface}", "--",
           *mode_args, "--connect", f"{OFFLOAD_IP}:443", "--ip", f"{BENCH_IP}/24",
           "--sni", "localhost", "--ca", ca, "--serve-echo", str(ECHO_PORT)]
    p = subprocess.run(["timeout", str(timeout), *cmd], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    ns_o = RUN.new_ns("l45-vo")
    ns_b = RUN.new_ns("l45-vb")
    end_o, end_b = f"l45vo{PID}", f"l45vb{PID}"
    # Created straight into the namespaces: deleting them removes the pair.
    subprocess.run(["ip", "link", "add", end_o, "netns", ns_o, "type", "veth",
                    "peer", "name", end_b, "netns", ns_b], check=True)
    for ns, dev in ((ns_o, end_o), (ns_b, end_b)):
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                        f"net.ipv6.conf.{dev}.disable_ipv6=1"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)

    log_path = os.path.join(RUN.tmp, "offload.log")
    log = open(log_path, "w+")
    offload = subprocess.Popen(
        ["ip", "netns", "exec", ns_o, OFFLOAD, "--no-pci", "-l", "0",
         "--vdev", f"net_af_packet0,iface={end_o}", "--",
         "--ip", f"{OFFLOAD_IP}/24", "--gw", "", "--http-port", "0",
         "--backend", f"{BENCH_IP}:{ECHO_PORT}", "--stats-interval", "0", "--no-telemetry"],
        stdout=log, stderr=subprocess.STDOUT, cwd=RUN.tmp)
    RUN.procs.append(offload)

    def offload_text():
        log.seek(0)
        return log.read()

    for _ in range(300):
        if "l45-offload: up" in offload_text() or offload.poll() is not None:
            break
        time.sleep(0.1)
    up = "l45-offload: up" in offload_text()
    RUN.report("up", up, "" if up else offload_text()[-2000:])
    if not up:
        return
    ca = os.path.join(RUN.tmp, "l45-offload-pki", "ca.pem")

    # handshake: a new connection per request, each verified against the CA.
    rc, out, err = bench(ns_b, end_b, ca,
                         ["handshake", "-c", "16", "-n", str(HANDSHAKES), "-t", "240"], 300)
    r = result_of(out)
    ok = (rc == 0 and r.get("handshakes") == str(HANDSHAKES) and r.get("errors") == "0"
          and r.get("verified") == "yes")
    RUN.report("handshake", ok,
               f"{r.get('handshakes')} handshakes, {r.get('handshakes_per_s')}/s, errors "
               f"{r.get('errors')}" if ok else f"rc {rc}: {out[-1500:]} {err[-1500:]}")

    # bulk: every byte echoed back through the proxy and compared.
    rc, out, err = bench(ns_b, end_b, ca,
                         ["bulk", "-c", str(BULK_CONNS), "--bytes", str(BULK), "-t", "240"], 300)
    r = result_of(out)
    want = str(BULK * BULK_CONNS)
    ok = (rc == 0 and r.get("bytes_sent") == want and r.get("bytes_received") == want
          and r.get("integrity_errors") == "0" and r.get("errors") == "0")
    RUN.report("bulk", ok,
               f"{want} bytes each way, {r.get('gbit_in')} Gbit/s in" if ok
               else f"rc {rc}: {out[-1500:]} {err[-1500:]}")

    # l45-offload's side of the same runs, read from its exit summary.
    offload.send_signal(signal.SIGINT)
    try:
        offload.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    text = offload_text()
    k = counters_of(text) or {}
    clients = HANDSHAKES + BULK_CONNS
    bad = [n for n in ("handshakes_failed", "alerts_sent", "alerts_received", "client_resets",
                       "client_truncated", "backend_resets", "backend_refused",
                       "backend_unavailable", "sessions_exhausted") if k.get(n, 0) != 0]
    ok = (offload.returncode == 0 and "drained, exiting" in text
          and k.get("handshakes_ok") == clients and k.get("connections_accepted") == clients
          and k.get("bytes_in", 0) >= BULK * BULK_CONNS and not bad)
    RUN.report("offload", ok,
               f"handshakes_ok {k.get('handshakes_ok')}, bytes_in {k.get('bytes_in')}" if ok
               else f"rc {offload.returncode}, bad {bad}, counters {k}: {text[-2000:]}")


try:
    main()
except Exception as e:  # a set-up step failed: one FAIL line, then clean up
    RUN.report("setup", False, repr(e))
sys.exit(RUN.summary())
