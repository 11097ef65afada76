#!/usr/bin/python3
"""l45-bench end to end through net_tap: l45-bench (TLS clients on l45's
TCP) on a tap whose kernel end lives in a namespace with real TLS servers.
One line per case:

    handshake        -n 200 full handshakes against openssl s_server, the
                     certificate verified: exactly 200 handshakes, 0 errors
    rr-http          rr over HTTP (keep-alive GET, the response read to its
                     end; s_server -www closes after each) : requests made,
                     percentiles printed, 0 errors
    rr-echo          rr of 64-byte requests against gnutls-serv --echo: every
                     echoed byte checked, p50/p99 in the result, 0 errors
    bulk-echo        2 connections x 2 MB each way against gnutls-serv --echo:
                     all 4 MB came back, integrity_errors 0
    wrong-ca         a CA that did not sign the server: TLS errors counted
                     and exit status 3
    offload-rr       l45-bench against l45-offload, whose backend is
                     l45-bench's own --serve-echo (both taps on a bridge in
                     the namespace): requests echoed through the appliance,
                     0 errors; and a CSV row was written
Everything it creates (processes, namespaces, taps, files) is removed at
exit, also when a case fails. Usage: bench_e2e.py BUILD_ROOT
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import l45_harness  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
BENCH = os.path.join(BUILD, "apps", "l45-bench", "l45-bench")
OFFLOAD = os.path.join(BUILD, "apps", "l45-offload", "l45-offload")
RUN = l45_harness.Run("l45-bench-e2e.")
TMP = RUN.tmp
PID = os.getpid() % 100000
KERNEL_IP = "198.18.0.1"
BENCH_IP = "198.18.0.3"
OFFLOAD_IP = "198.18.0.2"
runs = 0


def report(name, ok, detail=""):
    RUN.report(name, ok, " | ".join(x for x in str(detail).replace("\r", "").split("\n") if x))


def wait_listen(ns, port, proc):
    for _ in range(100):
        if l45_harness.in_ns(ns, f"ss -Htln 'sport = :{port}'", text=True).stdout.strip():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} in {ns}")


def start_in_ns(ns, cmd, log_name):
    log = open(os.path.join(TMP, log_name), "w")
    p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=log, stderr=subprocess.STDOUT)
    RUN.procs.append(p)
    return p


def wait_up(path, proc, what):
    for _ in range(300):
        with open(path) as f:
            if f"{what}: up" in f.read():
                return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    with open(path) as f:
        raise RuntimeError(f"{what} did not come up:\n{f.read()}")


def move_tap(ns, iface, bridge=None):
    """The tap's kernel end into `ns`: on the bridge, or with the kernel's address."""
    subprocess.run(["ip", "link", "set", iface, "netns", ns], check=True)
    if bridge:
        subprocess.run(["ip", "-n", ns, "link", "set", iface, "master", bridge], check=True)
    else:
        subprocess.run(["ip", "-n", ns, "addr", "add", f"{KERNEL_IP}/24", "dev", iface],
                       check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", iface, "up"], check=True)


def bench(ns, args, bridge=None, timeout=60):
    """Runs l45-bench on a new tap moved into `ns`; returns (exit status,
    stdout, stderr, the result line's fields)."""
    global runs
    runs += 1
    iface = f"l45b{PID}{runs}"[:15]
    out_path = os.path.join(TMP, f"bench{runs}.out")
    err_path = os.path.join(TMP, f"bench{runs}.err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        p = subprocess.Popen([BENCH, "--no-pci", "--vdev", f"net_tap0,iface={iface}", "--",
                              *args, "--ip", f"{BENCH_IP}/24", "--start-delay", "1"],
                             stdout=out, stderr=err)
        RUN.procs.append(p)
        wait_up(out_path, p, "l45-bench")
        move_tap(ns, iface, bridge)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
    with open(out_path) as f:
        out = f.read()
    with open(err_path) as f:
        err = f.read()
    fields = {}
    m = re.search(r"^l45-bench: result (.*)$", out, re.M)
    if m:
        fields = dict(kv.split("=", 1) for kv in m.group(1).split())
    return rc, out, err, fields


def num(fields, key):
    return float(fields.get(key, "nan"))


def summary_of(out, err):
    table = [line for line in out.splitlines() if line.startswith("  ")]
    tcp = [line for line in err.splitlines() if "tcp segments" in line]
    return "\n".join(table + tcp)


def servers_cases(ca, crt, key, other_ca):
    ns = RUN.new_ns("l45-bench")
    s_server = start_in_ns(ns, ["openssl", "s_server", "-accept", "4433", "-tls1_3", "-cert", crt,
                                "-key", key, "-www", "-quiet"], "s_server.log")
    gnutls = start_in_ns(ns, ["gnutls-serv", "-p", "4434", "--echo", "-a", "-q",
                              "--x509certfile", crt, "--x509keyfile", key], "gnutls-serv.log")
    wait_listen(ns, 4433, s_server)
    wait_listen(ns, 4434, gnutls)
    common = ["--sni", "localhost", "--ca", ca, "-t", "20"]

    rc, out, err, f = bench(ns, ["handshake", "--connect", f"{KERNEL_IP}:4433", *common,
                                 "-n", "200", "-c", "4"])
    report("handshake", rc == 0 and num(f, "handshakes") == 200 and num(f, "errors") == 0
           and f.get("verified") == "yes", f"rc {rc}\n{summary_of(out, err)}")

    rc, out, err, f = bench(ns, ["rr", "--payload", "http", "--connect", f"{KERNEL_IP}:4433",
                                 *common, "-n", "100", "-c", "2"])
    report("rr-http", rc == 0 and num(f, "requests") == 100 and num(f, "errors") == 0
           and num(f, "bytes_received") > 0 and num(f, "p99_us") >= num(f, "p50_us") > 0,
           f"rc {rc}\n{summary_of(out, err)}")

    rc, out, err, f = bench(ns, ["rr", "--connect", f"{KERNEL_IP}:4434", *common, "-n", "2000",
                                 "-c", "4", "--size", "64"])
    report("rr-echo", rc == 0 and num(f, "requests") == 2000 and num(f, "errors") == 0
           and num(f, "integrity_errors") == 0 and num(f, "bytes_received") == 2000 * 64
           and num(f, "latency_samples") == 2000
           and num(f, "p999_us") >= num(f, "p99_us") >= num(f, "p50_us") > 0,
           f"rc {rc}\n{summary_of(out, err)}")

    rc, out, err, f = bench(ns, ["bulk", "--connect", f"{KERNEL_IP}:4434", *common, "-c", "2",
                                 "--bytes", "2000000"])
    report("bulk-echo", rc == 0 and num(f, "bytes_received") == 4000000
           and num(f, "bytes_sent") == 4000000 and num(f, "integrity_errors") == 0
           and num(f, "errors") == 0 and num(f, "requests") == 2,
           f"rc {rc}\n{summary_of(out, err)}")

    rc, out, err, f = bench(ns, ["handshake", "--connect", f"{KERNEL_IP}:4433", "--sni",
                                 "localhost", "--ca", other_ca, "-t", "20", "-n", "5", "-c", "1"])
    report("wrong-ca", rc == 3 and num(f, "tls_errors") == 5 and num(f, "handshakes") == 0,
           f"rc {rc}\n{summary_of(out, err)}")


def offload_case():
    ns = RUN.new_ns("l45-bench-off")
    # A fixed MAC: a bridge otherwise takes its ports' lowest, which changes
    # as taps join and leave (and ARP entries for the bridge go stale).
    subprocess.run(["ip", "-n", ns, "link", "add", "br0", "address", "02:00:c6:12:00:01",
                    "type", "bridge"], check=True)
    subprocess.run(["ip", "-n", ns, "addr", "add", f"{KERNEL_IP}/24", "dev", "br0"], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", "br0", "up"], check=True)
    iface = f"l45bo{PID}"[:15]
    work = os.path.join(TMP, "offload")
    os.makedirs(work)
    log_path = os.path.join(work, "offload.log")
    log = open(log_path, "w")
    # The embedded default (generated CA, 198.18.0.2), its backend is
    # l45-bench's own echo service.
    p = subprocess.Popen([OFFLOAD, "--no-pci", "--vdev", f"net_tap0,iface={iface}", "--",
                          "--stats-interval", "0", "--backend", f"{BENCH_IP}:8000"],
                         stdout=log, stderr=subprocess.STDOUT, cwd=work)
    RUN.procs.append(p)
    wait_up(log_path, p, "l45-offload")
    move_tap(ns, iface, "br0")
    ca = os.path.join(work, "l45-offload-pki", "ca.pem")
    csv = os.path.join(TMP, "offload.csv")
    rc, out, err, f = bench(ns, ["rr", "--connect", f"{OFFLOAD_IP}:443", "--ca", ca, "-t", "20",
                                 "-n", "500", "-c", "4", "--serve-echo", "8000", "--csv", csv],
                            bridge="br0")
    rows = open(csv).read().splitlines() if os.path.exists(csv) else []
    report("offload-rr", rc == 0 and num(f, "requests") == 500 and num(f, "errors") == 0
           and num(f, "integrity_errors") == 0 and len(rows) == 2
           and rows[0].startswith("mode,") and rows[1].startswith("rr,"),
           f"rc {rc} csv {len(rows)} lines\n{summary_of(out, err)}")


def main():
    ca, crt, key = l45_harness.make_cert(TMP, "localhost")
    other_ca, _, _ = l45_harness.make_cert(TMP, "other")
    for name, case in (("servers", lambda: servers_cases(ca, crt, key, other_ca)),
                       ("offload", offload_case)):
        try:
            case()
        except Exception as e:  # noqa: BLE001 - a case's set-up failed: report, go on
            report(name, False, repr(e))
    return RUN.summary()


if __name__ == "__main__":
    sys.exit(main())
