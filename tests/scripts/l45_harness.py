"""What every kernel-facing test script of l45 needs: a temp dir, the child
processes and namespaces it made (all removed at exit, also on SIGTERM or a
failed case), and PASS/FAIL lines ending in `N passed, N failed`; plus the
pieces the l45-echo scripts share: starting l45-echo on a net_tap, moving the
tap's kernel end into a namespace, running commands there, kernel-side loss
with nftables, and l45-echo's seeded byte pattern (to check what arrived)."""
import atexit
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


class Run:
    def __init__(self, tmp_prefix):
        self.tmp = tempfile.mkdtemp(prefix=tmp_prefix)
        self.procs = []        # subprocess.Popen: SIGINT, then kill, at exit
        self.namespaces = []   # names: `ip netns del` at exit (with their nft tables)
        self.cases = 0
        self.failures = 0
        atexit.register(self.cleanup)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", self.tmp])

    def report(self, name, ok, detail=""):
        self.cases += 1
        print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.failures += 1

    def summary(self):
        print(f"{self.cases - self.failures} passed, {self.failures} failed", flush=True)
        return 1 if self.failures else 0

    # --- namespaces and l45-echo on a tap ---

    def new_ns(self, prefix):
        ns = f"{prefix}-{os.getpid()}-{len(self.namespaces)}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        self.namespaces.append(ns)
        return ns

    def start_echo(self, echo, iface, log_name, ip="198.18.0.2/24", extra=()):
        """Starts l45-echo on a new tap `iface`; returns (process, log file)
        once it printed `l45-echo: up`."""
        log = open(os.path.join(self.tmp, log_name), "w+")
        p = subprocess.Popen([echo, "--no-pci", "--vdev", f"net_tap0,iface={iface}", "--",
                              "--ip", ip, "--stats-interval", "0", *extra],
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        for _ in range(200):
            log.seek(0)
            if "l45-echo: up" in log.read():
                return p, log
            if p.poll() is not None:
                break
            time.sleep(0.1)
        log.seek(0)
        raise RuntimeError(f"l45-echo did not come up:\n{log.read()}")


def make_cert(dir_, name):
    """A CA of its own and an ECDSA P-256 leaf for `name` issued by it."""
    ca_key, ca, key, csr, crt = (os.path.join(dir_, f"{name}.{x}")
                                 for x in ("ca.key", "ca.pem", "key", "csr", "pem"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
                    "-subj", f"/CN={name} test CA"], check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", *ec, "-keyout", key, "-out", csr,
                    "-subj", f"/CN={name}"], check=True, capture_output=True)
    ext = os.path.join(dir_, f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n")
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt],
                   check=True, capture_output=True)
    return ca, crt, key


def attach(ns, iface, cidr="198.18.0.1/24"):
    """Moves the tap's kernel end into `ns` with `cidr`. Only once the DPDK
    port has started may the interface move."""
    subprocess.run(["ip", "link", "set", iface, "netns", ns], check=True)
    subprocess.run(["ip", "-n", ns, "addr", "add", cidr, "dev", iface], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", iface, "up"], check=True)


def in_ns(ns, cmd, timeout=120, **kw):
    """Runs the shell command `cmd` in `ns` (killed after `timeout` s)."""
    return subprocess.run(["timeout", str(timeout), "ip", "netns", "exec", ns, "sh", "-c", cmd],
                          capture_output=True, **kw)


def popen_ns(run, ns, cmd, timeout=300, **kw):
    """Starts the shell command `cmd` in `ns` in the background (stdout piped)."""
    p = subprocess.Popen(["timeout", str(timeout), "ip", "netns", "exec", ns, "sh", "-c", cmd],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    run.procs.append(p)
    return p


def add_loss(ns, iface, percent):
    """Drops `percent`% of the packets entering and leaving `iface` inside
    `ns`, at random (nftables numgen). The table lives in the namespace, so
    it goes with it; remove_loss() takes it away earlier."""
    rules = f"""table inet l45loss {{
  chain in {{ type filter hook input priority 0; policy accept;
    iifname "{iface}" counter
    iifname "{iface}" numgen random mod 100 < {percent} counter drop; }}
  chain out {{ type filter hook output priority 0; policy accept;
    oifname "{iface}" counter
    oifname "{iface}" numgen random mod 100 < {percent} counter drop; }}
}}
"""
    subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules.encode(),
                   check=True)
    # Linux TCP always builds GSO packets (up to 64 KiB, segmented only at
    # the device, after the output hook), whatever ethtool says: one drop
    # would take dozens of segments, and 5% of packets would be far fewer
    # than 5% of segments. One segment per packet for connections from now on:
    subprocess.run(["ip", "-n", ns, "link", "set", iface, "gso_max_segs", "1"], check=True)


def loss_counters(ns):
    """Packets the loss rules saw and dropped: ("in", dropped, of), ("out", ...)."""
    r = subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "table", "inet", "l45loss"],
                       capture_output=True, text=True)
    n = [int(x) for x in re.findall(r"counter packets (\d+)", r.stdout)]
    if len(n) != 4:
        return None
    return (("in", n[1], n[0]), ("out", n[3], n[2]))


def remove_loss(ns):
    subprocess.run(["ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "l45loss"],
                   check=True)


def open_tcp_states(ns):
    """Kernel TCP sockets in `ns` in any state but LISTEN, CLOSED and
    TIME-WAIT (the side that closed first keeps TIME-WAIT by design)."""
    r = in_ns(ns, "ss -Htan state established state syn-sent state syn-recv state fin-wait-1 "
                  "state fin-wait-2 state close-wait state last-ack state closing", text=True)
    return r.stdout.strip() if r.returncode == 0 else f"ss failed: {r.stderr}"


# --- l45-echo's byte pattern (apps/l45-echo/pattern.h) ---

def pattern_chunks(seed, length, words_per_chunk=1 << 20):
    """SeededRandom(seed)'s splitmix64 words, little-endian, `length` bytes."""
    import numpy as np
    gamma = np.uint64(0x9E3779B97F4A7C15)
    m1 = np.uint64(0xBF58476D1CE4E5B9)
    m2 = np.uint64(0x94D049BB133111EB)
    total_words = (length + 7) // 8
    left = length
    with np.errstate(over="ignore"):
        for first in range(0, total_words, words_per_chunk):
            k = np.arange(first + 1, min(total_words, first + words_per_chunk) + 1,
                          dtype=np.uint64)
            z = np.uint64(seed) + k * gamma
            z = (z ^ (z >> np.uint64(30))) * m1
            z = (z ^ (z >> np.uint64(27))) * m2
            z = z ^ (z >> np.uint64(31))
            data = z.astype("<u8").tobytes()[:left]
            left -= len(data)
            yield data


def pattern_sha256(seed, length):
    h = hashlib.sha256()
    for chunk in pattern_chunks(seed, length):
        h.update(chunk)
    return h.hexdigest()


def write_random_file(path, length):
    """`length` random bytes into `path`; returns their SHA-256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = length
        while left:
            block = os.urandom(min(left, 1 << 20))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()
