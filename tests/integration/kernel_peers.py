#!/usr/bin/python3
"""l45 TCP against the Linux kernel's own programs, through net_tap into a
namespace, both ways, checked by SHA-256 (issue #3):

  kernel clients -> one l45-echo server (--iperf3 --http 8080):
    nc-echo          nc sends N random bytes to echo (7) and gets them back
    curl-http        curl fetches /bytes/N; compared with the pattern made here
    curl-keepalive   two requests on one connection, a malformed one gets 400
    iperf3-c         iperf3 -c -n N, and iperf3 -c -R -n N
  l45 clients (one l45-echo each) -> kernel servers:
    l45-nc           --connect to `nc -l`: N bytes each way at once
    l45-iperf3       --iperf3-client to `iperf3 -s`, normal and --reverse
    l45-http-get     --http-get from `python3 -m http.server` (N-byte file)
  and the same with 5% random loss each way (nftables in the namespace) for
  nc each way and HTTP each way; at the end no kernel socket is left open
  and l45's counters agree (every connection it knew of closed).

N is L45_PEER_BYTES (default 256 MiB), L45_LOSS_BYTES under loss. Every
interface and namespace name carries the pid; all are removed at exit.
Usage: kernel_peers.py BUILD_ROOT
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import l45_harness as H  # noqa: E402

BUILD = sys.argv[1]
ECHO = os.path.join(BUILD, "apps", "l45-echo")
RUN = H.Run("l45-peers.")
report = RUN.report
N = int(os.environ.get("L45_PEER_BYTES", str(256 << 20)))
N_LOSS = int(os.environ.get("L45_LOSS_BYTES", str(64 << 20)))
LOSS = 5
SEED = 7
L45_IP = "198.18.0.2"
KERNEL_IP = "198.18.0.1"
PID = os.getpid()
timings = []


def loss_seen(counters):
    """The loss rules dropped packets in the directions that carried data
    (a direction with only a handful of packets, e.g. bare ACKs of a short
    request, may by chance see no drop)."""
    return counters is not None and all(dropped > 0 for _, dropped, total in counters
                                        if total >= 200)


def timed(name, fn):
    t0 = time.time()
    try:
        return fn()
    finally:
        timings.append((name, time.time() - t0))


def gbits(n, secs):
    return f"{n * 8 / secs / 1e9:.2f} Gbit/s" if secs > 0 else "-"


def stop(proc, log):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.seek(0)
    return proc.returncode, log.read()


def check_l45_counters(name, rc, text, iperf_tests=None):
    """l45 exited cleanly (a sanitizer report makes it fail), every
    connection it reported to the app has closed, no iperf3 test failed."""
    m = re.search(r"services opened (\d+) live (\d+); http requests (\d+) bad (\d+) body_bytes "
                  r"(\d+) refused (\d+); iperf3 tests (\d+) failed (\d+)", text)
    tcp = re.search(r"resets_sent (\d+).* retransmits (\d+) rto_timeouts (\d+)", text)
    ok = rc == 0 and m is not None and int(m.group(2)) == 0 and int(m.group(8)) == 0
    if ok and iperf_tests is not None:
        ok = int(m.group(7)) == iperf_tests
    detail = (m.group(0) if m else text[-400:]) + (
        f"; resets_sent {tcp.group(1)} retransmits {tcp.group(2)} (RTO {tcp.group(3)})"
        if tcp else "")
    report(name, ok, detail)


# --- kernel clients against one l45 server ---

def nc_echo(ns, name, src, src_hash, n):
    t0 = time.time()
    r = H.in_ns(ns, f"nc -N {L45_IP} 7 < {src} | sha256sum", timeout=300, text=True)
    secs = time.time() - t0
    got = r.stdout.split()[0] if r.stdout else ""
    report(name, r.returncode == 0 and got == src_hash,
           f"{n} bytes each way in {secs:.1f} s; rc={r.returncode} {r.stderr[-200:]}")


def curl_bytes(ns, name, n):
    t0 = time.time()
    r = H.in_ns(ns, f"curl -sS --max-time 280 http://{L45_IP}:8080/bytes/{n} | sha256sum",
                timeout=300, text=True)
    secs = time.time() - t0
    got = r.stdout.split()[0] if r.stdout else ""
    want = H.pattern_sha256(SEED, n)
    report(name, r.returncode == 0 and got == want,
           f"{n} bytes in {secs:.1f} s ({gbits(n, secs)}); rc={r.returncode} {r.stderr[-200:]}")


def kernel_clients():
    iface = f"l45p{PID}s"
    server, log = RUN.start_echo(ECHO, iface, "server.log", ip=f"{L45_IP}/24",
                                 extra=["--iperf3", "--http", "8080", "--seed", str(SEED)])
    ns = RUN.new_ns("l45-peers")
    H.attach(ns, iface, f"{KERNEL_IP}/24")

    src = os.path.join(RUN.tmp, "random.bin")
    src_hash = H.write_random_file(src, N)
    timed("nc-echo", lambda: nc_echo(ns, "nc-echo", src, src_hash, N))
    timed("curl-http", lambda: curl_bytes(ns, "curl-http", N))

    # One connection, two requests (curl reuses it), then a malformed head.
    r = H.in_ns(ns, f"curl -sS -v http://{L45_IP}:8080/ http://{L45_IP}:8080/bytes/1000 "
                    "-o /dev/null -o /dev/null 2>&1", text=True)
    reused = "Re-using existing connection" in r.stdout or "Reusing existing" in r.stdout
    report("curl-keepalive", r.returncode == 0 and reused, r.stdout[-300:] if not reused else "")
    r = H.in_ns(ns, f"printf 'GET /\\001 HTTP/1.1\\r\\n\\r\\n' | nc -N {L45_IP} 8080", text=True)
    report("http-400", r.stdout.startswith("HTTP/1.1 400 "), r.stdout[:100])

    for reverse in (False, True):
        name = "iperf3-c-R" if reverse else "iperf3-c"

        def run_iperf():
            r = H.in_ns(ns, f"iperf3 -c {L45_IP} -n {N} {'-R' if reverse else ''} -J",
                        timeout=300, text=True)
            try:
                end = json.loads(r.stdout)["end"]
                sent, got = end["sum_sent"]["bytes"], end["sum_received"]["bytes"]
                secs = end["sum_received"]["seconds"]
            except (ValueError, KeyError):
                report(name, False, f"rc={r.returncode} {r.stdout[-300:]} {r.stderr[-300:]}")
                return
            report(name, r.returncode == 0 and got >= N and sent >= got,
                   f"sent {sent} received {got} ({gbits(got, secs)})")
        timed(name, run_iperf)

    # Loss on the kernel's side, both directions.
    H.add_loss(ns, iface, LOSS)
    small = os.path.join(RUN.tmp, "random-loss.bin")
    small_hash = H.write_random_file(small, N_LOSS)
    timed("nc-echo-loss", lambda: nc_echo(ns, "nc-echo-loss", small, small_hash, N_LOSS))
    timed("curl-http-loss", lambda: curl_bytes(ns, "curl-http-loss", N_LOSS))
    drops = H.loss_counters(ns)
    report("loss-applied", loss_seen(drops), f"dropped (direction, dropped, of) {drops}")
    H.remove_loss(ns)

    time.sleep(0.5)  # the last FIN/ACK exchanges
    left = H.open_tcp_states(ns)
    report("kernel-clients-no-open-sockets", left == "", left[-300:])
    rc, text = stop(server, log)
    check_l45_counters("l45-server-counters", rc, text, iperf_tests=2)
    return ns


# --- l45 clients against kernel servers ---

def l45_closed_all(text):
    """The client's l45 saw every connection it opened close, and its TCP
    counters (for the report; loss shows as retransmits and RTOs)."""
    m = re.search(r"services opened (\d+) live (\d+)", text)
    tcp = re.search(r" retransmits (\d+) rto_timeouts (\d+) fast_retransmits (\d+)", text)
    return (m is not None and int(m.group(1)) > 0 and int(m.group(2)) == 0,
            "l45 retransmits {} (RTO {}, fast {})".format(*tcp.groups()) if tcp else "")

def l45_client(ns, tag, args):
    """Runs one l45-echo client on a new tap (l45p<pid><tag>, at most 15
    characters) moved into `ns`; returns
    (exit code, log text, seconds)."""
    iface = f"l45p{PID}{tag}"
    t0 = time.time()
    proc, log = RUN.start_echo(ECHO, iface, f"client-{tag}.log", ip=f"{L45_IP}/24", extra=args)
    H.attach(ns, iface, f"{KERNEL_IP}/24")
    if ns in LOSSY:
        H.add_loss(ns, iface, LOSS)
    try:
        rc = proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = None
    log.seek(0)
    text = log.read()
    if ns in LOSSY:
        LOSSY[ns] = H.loss_counters(ns)
        H.remove_loss(ns)
    return rc, text, time.time() - t0


LOSSY = {}


def l45_nc(ns, name, tag, n, port):
    src = os.path.join(RUN.tmp, f"{name}.bin")
    src_hash = H.write_random_file(src, n)
    # nc sends its file while it receives ours; -N: FIN after its file. It
    # stops sending once it reads EOF, so l45 sends its FIN only after nc's.
    sink = H.popen_ns(RUN, ns, f"nc -l -N {port} < {src} | sha256sum")
    rc, text, secs = l45_client(ns, tag,
                                ["--connect", f"{KERNEL_IP}:{port}", "--bytes", str(n), "--bulk",
                                 "--seed", str(SEED), "--fin-after-peer"])
    try:
        kernel_got = sink.communicate(timeout=30)[0].split()[0]
    except (subprocess.TimeoutExpired, IndexError):
        kernel_got = ""
    sent = re.search(r"client normal: sent (\d+) bytes sha256 ([0-9a-f]+)", text)
    got = re.search(r"client received (\d+) bytes sha256 ([0-9a-f]+)", text)
    closed, tcp = l45_closed_all(text)
    ok = (rc == 0 and sent is not None and got is not None and int(sent.group(1)) == n
          and sent.group(2) == kernel_got == H.pattern_sha256(SEED, n)
          and got.group(2) == src_hash and closed)
    report(name, ok, f"{n} bytes each way in {secs:.1f} s, {tcp}; rc={rc} " + (
        "" if ok else f"kernel got {kernel_got}, file {src_hash}, pattern "
        f"{H.pattern_sha256(SEED, n)}; l45: {sent.group(0) if sent else None} "
        f"{got.group(0) if got else None}"))


def l45_iperf3(ns, name, tag, reverse, port):
    server = H.popen_ns(RUN, ns, f"iperf3 -s -1 -J -p {port}")
    time.sleep(0.3)
    rc, text, secs = l45_client(ns, tag,
                                ["--iperf3-client", f"{KERNEL_IP}:{port}", "--bytes", str(N)]
                                + (["--reverse"] if reverse else []))
    try:
        out = server.communicate(timeout=30)[0]
        end = json.loads(out)["end"]
        kernel = end["sum_received" if not reverse else "sum_sent"]["bytes"]
        server_rc = server.returncode
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        kernel, server_rc = None, None
    m = re.search(r"iperf3 client ok: (sent|received) (\d+) bytes, server counted (\d+), "
                  r"([0-9.]+) Gbit/s", text)
    closed, tcp = l45_closed_all(text)
    # iperf3 -s stops reading at TEST_END: as a receiver it may count up to
    # one block (128 KiB) less than l45 sent and its TCP acknowledged.
    slack = 0 if reverse else 128 << 10
    ok = rc == 0 and server_rc == 0 and m is not None and int(m.group(2)) >= N and kernel is not None \
        and kernel + slack >= N and closed
    report(name, ok, f"l45 {m.group(1)} {m.group(2)} kernel {kernel}, {m.group(4)} Gbit/s, {tcp}"
           if ok else f"rc={rc} server_rc={server_rc} kernel={kernel} " + " | ".join(
               l for l in text.splitlines() if "client" in l))


def l45_http_get(ns, name, tag, n, port):
    root = os.path.join(RUN.tmp, f"www-{name}")
    os.mkdir(root)
    file_hash = H.write_random_file(os.path.join(root, "file.bin"), n)
    server = H.popen_ns(RUN, ns, f"cd {root} && /usr/bin/python3 -m http.server {port} "
                                  "--bind 0.0.0.0")
    time.sleep(0.5)
    rc, text, secs = l45_client(ns, tag,
                                ["--http-get", f"http://{KERNEL_IP}:{port}/file.bin"])
    server.send_signal(signal.SIGINT)
    m = re.search(r"http-get status (\d+): received (\d+) bytes sha256 ([0-9a-f]+)", text)
    closed, tcp = l45_closed_all(text)
    ok = rc == 0 and m is not None and m.group(1) == "200" and int(m.group(2)) == n \
        and m.group(3) == file_hash and closed
    report(name, ok, f"{n} bytes in {secs:.1f} s, {tcp}" if ok else f"rc={rc} {text[-600:]}")


def l45_clients():
    ns = RUN.new_ns("l45-peers")
    timed("l45-nc", lambda: l45_nc(ns, "l45-nc", "n", N, 5001))
    timed("l45-iperf3", lambda: l45_iperf3(ns, "l45-iperf3", "i", False, 5202))
    timed("l45-iperf3-R", lambda: l45_iperf3(ns, "l45-iperf3-R", "r", True, 5203))
    timed("l45-http-get", lambda: l45_http_get(ns, "l45-http-get", "h", N, 8000))
    LOSSY[ns] = None
    timed("l45-nc-loss", lambda: l45_nc(ns, "l45-nc-loss", "nl", N_LOSS, 5004))
    report("loss-applied-nc", loss_seen(LOSSY[ns]), f"dropped (direction, dropped, of) {LOSSY[ns]}")
    timed("l45-http-get-loss", lambda: l45_http_get(ns, "l45-http-get-loss", "hl", N_LOSS, 8001))
    report("loss-applied-http", loss_seen(LOSSY[ns]),
           f"dropped (direction, dropped, of) {LOSSY[ns]}")
    del LOSSY[ns]
    time.sleep(0.5)
    left = H.open_tcp_states(ns)
    report("l45-clients-no-open-sockets", left == "", left[-300:])


def main():
    t0 = time.time()
    only = os.environ.get("L45_PEERS_ONLY", "")  # "kernel" or "l45": one half (debugging)
    if only != "l45":
        kernel_clients()
    if only != "kernel":
        l45_clients()
    print("info: wall times: " + ", ".join(f"{n} {s:.1f} s" for n, s in timings)
          + f"; total {time.time() - t0:.1f} s", flush=True)
    return RUN.summary()


if __name__ == "__main__":
    sys.exit(main())
