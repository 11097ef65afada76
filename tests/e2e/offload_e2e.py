#!/usr/bin/python3
"""l45-offload end to end through net_tap: real TLS clients in a namespace
-> l45-offload (TLS 1.3 on l45's TCP) -> a plaintext backend in the same
namespace (python3 -m http.server). One line per case:

  first instance, the embedded default (no configuration at all; only the
  tap's name and the stats interval are given on the command line):
    pki-generated    the CA and server certificate appear, key mode 0600
    curl             a page fetched with the certificate verified (--cacert)
    big-body         L45_E2E_BIG_BYTES (100 MB) through curl, SHA-256 equal
    openssl          openssl s_client (-verify_return_error) gets the page
    gnutls           gnutls-cli (--x509cafile) gets the page
    redirect         http:// answers 301 with Location: https://<host><path>
    telemetry        /l45/offload/stats, /l45/tcp/stats and /l45/net/stats
                     over the rte_telemetry socket, with counts that match
  second instance, a configuration file with two certificates:
    sni-a, sni-b     the certificate chosen by SNI, verified against its own CA
    sni-wrong-ca     b.test's certificate does not verify against a.test's CA
    backend-down     with the backend stopped: HTTP 502 over TLS, then
                     close_notify (Python's ssl sees a clean EOF)
    backend-back     the backend restarted: a later request succeeds
    sigterm          an idle TLS client gets close_notify on SIGTERM, and
                     l45-offload exits 0 ("drained")
Everything it creates (processes, namespaces, taps, files) is removed at
exit, also when a case fails. Usage: offload_e2e.py BUILD_ROOT
"""
import hashlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import l45_harness  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
OFFLOAD = os.path.join(BUILD, "apps", "l45-offload", "l45-offload")
RUN = l45_harness.Run("l45-offload-e2e.")
TMP = RUN.tmp


def report(name, ok, detail=""):
    RUN.report(name, ok, " | ".join(x for x in str(detail).replace("\r", "").split("\n") if x))

BIG = int(os.environ.get("L45_E2E_BIG_BYTES", str(100 * 1000 * 1000)))
L45_IP = "198.18.0.2"
KERNEL_IP = "198.18.0.1"
PID = os.getpid() % 100000


def sh(ns, cmd, timeout=120, **kw):
    return subprocess.run(["timeout", str(timeout), "ip", "netns", "exec", ns, "sh", "-c", cmd],
                          capture_output=True, **kw)


class Site:
    """A namespace with a backend, and an l45-offload whose tap lives in it."""

    def __init__(self, n):
        self.ns = f"l45-off-{PID}-{n}"
        self.iface = f"l45o{PID}{n}"
        self.www = os.path.join(TMP, f"www{n}")
        os.makedirs(self.www)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        RUN.namespaces.append(self.ns)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.backend = None
        self.proc = None
        self.log = None

    def start_backend(self):
        # Bound to every address: the tap's arrives later.
        self.backend = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "/usr/bin/python3", "-m", "http.server", "8000",
             "--directory", self.www], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        RUN.procs.append(self.backend)
        for _ in range(100):
            if sh(self.ns, "ss -Htln 'sport = :8000'", text=True).stdout.strip():
                return
            time.sleep(0.1)
        raise RuntimeError("the backend did not listen")

    def stop_backend(self):
        self.backend.send_signal(signal.SIGINT)
        self.backend.wait(timeout=10)

    def start_offload(self, app_args, cwd, eal_args=()):
        self.log = open(os.path.join(TMP, f"{self.iface}.log"), "w+")
        self.proc = subprocess.Popen([OFFLOAD, "--no-pci", *eal_args,
                                      "--vdev", f"net_tap0,iface={self.iface}",
                                      "--", *app_args], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=cwd)
        RUN.procs.append(self.proc)
        for _ in range(300):
            if "l45-offload: up" in self.text():
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        if "l45-offload: up" not in self.text():
            raise RuntimeError(f"l45-offload did not come up:\n{self.text()}")
        # Only now that the port has started may its interface move.
        subprocess.run(["ip", "link", "set", self.iface, "netns", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "addr", "add", f"{KERNEL_IP}/24", "dev", self.iface],
                       check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", self.iface, "up"], check=True)
        r = sh(self.ns, f"ping -c 1 -W 5 {L45_IP}", text=True)
        if r.returncode != 0:
            raise RuntimeError(f"l45-offload does not answer ping: {r.stdout}{r.stderr}")

    def text(self):
        self.log.seek(0)
        return self.log.read()


def write_random(path, n):
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = n
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


def telemetry(path, command):
    """One command over DPDK's telemetry v2 socket (what dpdk-telemetry.py does)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    info = json.loads(s.recv(16384).decode())
    s.send(command.encode())
    reply = json.loads(s.recv(info.get("max_output_len", 16384)).decode())
    s.close()
    return reply[command]


# A TLS client that reads to the end and says whether the end was a
# close_notify ("clean") or a bare TCP close ("ragged").
TLS_CLIENT = r"""
import socket, ssl, sys
host, ca, request, hold = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "hold"
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
raw = socket.create_connection(("198.18.0.2", 443), timeout=30)
s = ctx.wrap_socket(raw, server_hostname=host, suppress_ragged_eofs=False)
print("connected", s.version(), flush=True)
if request:
    s.sendall(request.encode().decode("unicode_escape").encode())
body = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        body += b
    end = "clean"
except ssl.SSLEOFError:
    end = "ragged"
sys.stdout.write(body.decode(errors="replace"))
print("\nend", end, flush=True)
"""


def first_instance():
    site = Site(0)
    index = b"<html>hello from the backend, through l45-offload</html>\n"
    with open(os.path.join(site.www, "index.html"), "wb") as f:
        f.write(index)
    big_sha = write_random(os.path.join(site.www, "big.bin"), BIG)
    site.start_backend()
    site.start_offload(["--stats-interval", "1"], cwd=TMP)

    pki = os.path.join(TMP, "l45-offload-pki")
    ca = os.path.join(pki, "ca.pem")
    key_mode = stat.S_IMODE(os.stat(os.path.join(pki, "server.key")).st_mode) \
        if os.path.exists(os.path.join(pki, "server.key")) else None
    report("pki-generated", os.path.exists(ca) and key_mode == 0o600
           and f"generated CA {ca}" in site.text(), f"key mode {key_mode and oct(key_mode)}")

    curl = f"curl -sS --max-time 100 --cacert {ca} --resolve localhost:443:{L45_IP}"
    r = sh(site.ns, f"{curl} https://localhost/index.html")
    report("curl", r.returncode == 0 and r.stdout == index,
           f"rc={r.returncode} {r.stderr.decode()[-300:]}")

    t0 = time.time()
    r = sh(site.ns, f"{curl} https://localhost/big.bin | sha256sum", text=True)
    secs = time.time() - t0
    got = r.stdout.split()[0] if r.stdout else ""
    report("big-body", r.returncode == 0 and got == big_sha,
           f"{BIG} bytes in {secs:.1f} s ({BIG * 8 / secs / 1e9:.2f} Gbit/s); {r.stderr[-300:]}")

    req = "printf 'GET /index.html HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n'"
    r = sh(site.ns, f"{req} | openssl s_client -connect {L45_IP}:443 -servername localhost "
                    f"-verify_hostname localhost -CAfile {ca} -verify_return_error -tls1_3 "
                    "-quiet", timeout=30)
    out = r.stdout
    report("openssl", r.returncode == 0 and b" 200 " in out and out.endswith(index),
           f"rc={r.returncode} {r.stderr.decode()[-300:]}")

    r = sh(site.ns, f"({req}; sleep 3) | gnutls-cli --x509cafile {ca} --sni-hostname localhost "
                    f"--verify-hostname localhost -p 443 {L45_IP}", timeout=30)
    out = r.stdout
    report("gnutls", r.returncode == 0 and b" 200 " in out and index in out,
           f"rc={r.returncode} {r.stderr.decode()[-300:]}")

    r = sh(site.ns, f"curl -sS -o /dev/null -D - --max-time 10 --resolve localhost:80:{L45_IP} "
                    "'http://localhost/some/path?q=1'", text=True)
    loc = re.search(r"^location: (\S+)", r.stdout, re.I | re.M)
    report("redirect", r.returncode == 0 and r.stdout.startswith("HTTP/1.1 301")
           and loc is not None and loc.group(1) == "https://localhost/some/path?q=1",
           r.stdout.strip()[:300])

    m = re.search(r"telemetry (\S+dpdk_telemetry\.v2)", site.text())
    try:
        time.sleep(0.3)  # one publish interval
        off = telemetry(m.group(1), "/l45/offload/stats")
        tcp = telemetry(m.group(1), "/l45/tcp/stats")
        net = telemetry(m.group(1), "/l45/net/stats")
        # curl x2, openssl, gnutls: four handshakes; curl's http:// one redirect.
        ok = (off["handshakes_ok"] == 4 and off["redirects"] == 1
              and off["bytes_out"] >= BIG and tcp["segments_in"] > 0
              and net["rx_frames"] > 0 and "port_tx_dropped" in net)
        detail = (f"handshakes_ok={off['handshakes_ok']} redirects={off['redirects']} "
                  f"bytes_out={off['bytes_out']} segments_in={tcp['segments_in']}")
    except Exception as e:  # noqa: BLE001 - reported as the case's failure
        ok, detail = False, f"{type(e).__name__}: {e}; {m.group(0) if m else site.text()[-500:]}"
    report("telemetry", ok, detail)
    stats = [line for line in site.text().splitlines() if "l45-offload: stats" in line]
    if stats:
        print(f"info: {stats[-1]}", flush=True)

    site.proc.send_signal(signal.SIGINT)
    rc = site.proc.wait(timeout=30)
    if rc != 0:
        report("first-exit", False, f"rc={rc}\n{site.text()[-1500:]}")


def second_instance():
    site = Site(1)
    with open(os.path.join(site.www, "index.html"), "w") as f:
        f.write("sni site\n")
    certs = os.path.join(TMP, "certs")
    os.makedirs(certs)
    ca_a, crt_a, key_a = l45_harness.make_cert(certs, "a.test")
    ca_b, crt_b, key_b = l45_harness.make_cert(certs, "b.test")
    conf = os.path.join(TMP, "two-certs.toml")
    with open(conf, "w") as f:
        f.write(f"""
[network]
vdev = ""
[[certificates]]
names = ["a.test"]
cert = "{crt_a}"
key = "{key_a}"
default = true
[[certificates]]
names = ["b.test"]
cert = "{crt_b}"
key = "{key_b}"
[backends]
servers = ["{KERNEL_IP}:8000"]
[health]
mark_down_ms = 1000
[stats]
interval_s = 0
""")
    site.start_backend()
    site.start_offload(["--config", conf], cwd=TMP)

    def curl(host, ca):
        return sh(site.ns, f"curl -sS --max-time 20 --cacert {ca} --resolve {host}:443:{L45_IP} "
                           f"https://{host}/index.html", text=True)

    for host, ca, case in (("a.test", ca_a, "sni-a"), ("b.test", ca_b, "sni-b")):
        r = curl(host, ca)
        issuer = sh(site.ns, f"openssl s_client -connect {L45_IP}:443 -servername {host} "
                             "</dev/null 2>/dev/null | openssl x509 -noout -subject", text=True)
        report(case, r.returncode == 0 and r.stdout == "sni site\n"
               and f"CN = {host}" in issuer.stdout,
               f"rc={r.returncode} {r.stderr[-200:]} {issuer.stdout.strip()}")
    r = curl("b.test", ca_a)
    report("sni-wrong-ca", r.returncode != 0, f"rc={r.returncode}")

    client = os.path.join(TMP, "tls_client.py")
    with open(client, "w") as f:
        f.write(TLS_CLIENT)
    get = "GET /index.html HTTP/1.0\\r\\nHost: a.test\\r\\n\\r\\n"
    site.stop_backend()
    r = sh(site.ns, f"/usr/bin/python3 {client} a.test {ca_a} '{get}' once", timeout=30, text=True)
    report("backend-down", r.returncode == 0 and "HTTP/1.1 502 Bad Gateway" in r.stdout
           and "no backend available" in r.stdout and "end clean" in r.stdout,
           (r.stdout + r.stderr)[-400:])

    site.start_backend()
    time.sleep(1.2)  # past mark_down_ms
    r = sh(site.ns, f"/usr/bin/python3 {client} a.test {ca_a} '{get}' once", timeout=30, text=True)
    report("backend-back", r.returncode == 0 and " 200 " in r.stdout and "sni site" in r.stdout
           and "end clean" in r.stdout, (r.stdout + r.stderr)[-400:])

    # An idle client (handshake done, no request) when SIGTERM comes.
    idle = subprocess.Popen(["timeout", "30", "ip", "netns", "exec", site.ns, "/usr/bin/python3",
                             client, "a.test", ca_a, "", "hold"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    RUN.procs.append(idle)
    first = idle.stdout.readline()
    time.sleep(0.3)
    site.proc.send_signal(signal.SIGTERM)
    try:
        rc = site.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = None
    rest = idle.communicate(timeout=20)[0]
    report("sigterm", first.startswith("connected TLSv1.3") and "end clean" in rest and rc == 0
           and "drained" in site.text(),
           f"rc={rc} client: {first.strip()} {rest.strip()[-200:]}")
    if rc != 0:
        print(site.text()[-2000:], flush=True)


def lcores_instance():
    """Three lcores (--lcores "(0-2)@(0-1)": this machine may have two CPUs): TLS queues 1 and 2 on their own lcores, the
    control queue 0 on the main one; net_tap has no rte_flow, so the control
    lcore dispatches every frame. Many parallel fetches, each checked by
    hash; both TLS lcores must have served some; the key log must hold the
    secrets openssl s_client logged on its side; SIGINT drains."""
    site = Site(2)
    body_sha = write_random(os.path.join(site.www, "body.bin"), 1000 * 1000)
    keylog = os.path.join(TMP, "lcores-keys.log")
    site.start_backend()
    site.start_offload(["--tls-queues", "1,2", "--control-queue", "0", "--keylog", keylog,
                        "--stats-interval", "0", "--no-telemetry"], cwd=TMP,
                       eal_args=("--lcores", "(0-2)@(0-1)"))
    report("lcores-up", "2 TLS lcores" in site.text() and "WARNING: writing the TLS secrets"
           in site.text(), site.text()[-600:])
    ca = os.path.join(TMP, "l45-offload-pki", "ca.pem")
    n = 16
    curl = (f"curl -sS --max-time 60 --cacert {ca} --resolve localhost:443:{L45_IP} "
            "https://localhost/body.bin | sha256sum")
    r = sh(site.ns, " & ".join(f"({curl}) > {TMP}/lcores-{i}.sha" for i in range(n)) + "; wait",
           timeout=120)
    got = []
    for i in range(n):
        with open(f"{TMP}/lcores-{i}.sha") as f:
            words = f.read().split()
        got.append(words[0] if words else "")
    report("lcores-fetches", r.returncode == 0 and all(g == body_sha for g in got),
           f"rc={r.returncode} {sum(g == body_sha for g in got)}/{n} intact")

    client_keys = os.path.join(TMP, "lcores-client-keys.log")
    r = sh(site.ns, f"openssl s_client -connect {L45_IP}:443 -servername localhost -CAfile {ca} "
                    f"-tls1_3 -keylogfile {client_keys} </dev/null", timeout=30)
    try:
        with open(client_keys) as f:
            theirs = [x for x in f.read().splitlines() if x and not x.startswith("#")]
        with open(keylog) as f:
            ours = set(f.read().splitlines())
        mode = stat.S_IMODE(os.stat(keylog).st_mode)
        ok = r.returncode == 0 and len(theirs) == 5 and all(x in ours for x in theirs) \
            and mode == 0o600
        detail = f"{len(theirs)} client lines, {len(ours)} in the key log, mode {oct(mode)}"
    except OSError as e:
        ok, detail = False, str(e)
    report("lcores-keylog", ok, detail)

    site.proc.send_signal(signal.SIGINT)
    try:
        rc = site.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    per_lcore = re.findall(r"l45-offload: lcore \d+ \(queue (\d)\): connections (\d+)",
                           site.text())
    report("lcores-spread", len(per_lcore) == 2 and all(int(c) > 0 for _, c in per_lcore),
           " ".join(f"queue {q}: {c}" for q, c in per_lcore))
    report("lcores-exit", rc == 0 and "drained, exiting" in site.text(),
           f"rc={rc} {site.text()[-800:]}")


def main():
    for step in (first_instance, second_instance, lcores_instance):
        try:
            step()
        except Exception as e:  # noqa: BLE001 - one failed step must not hide the next
            report(step.__name__, False, f"{type(e).__name__}: {e}")
    return RUN.summary()


if __name__ == "__main__":
    sys.exit(main())
