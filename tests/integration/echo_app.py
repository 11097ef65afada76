#!/usr/bin/python3
"""l45-echo as a program, against the Linux kernel through net_tap.

Runs the README's example (`l45-echo --no-pci --vdev net_tap0,iface=l45t0 --
--ip 198.18.0.2/24`), moves the tap's kernel end into a namespace of its own
with 198.18.0.1/24 once the port is up, and checks, one line per case:
  ping        the kernel's ping is answered
  tcp-echo    nc to port 7 gets back exactly what it sent (SHA-256)
  tcp-discard nc to port 9 delivers everything and closes cleanly
  tcp-client  a second l45-echo with --connect streams to a kernel `nc -l`,
              and both ends agree on the SHA-256
Everything it creates (processes, namespaces, files) is removed at exit,
also when a case fails. Usage: echo_app.py BUILD_ROOT
"""
import hashlib
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import l45_harness  # noqa: E402

BUILD = sys.argv[1]
ECHO = os.path.join(BUILD, "apps", "l45-echo")
RUN = l45_harness.Run("l45-echo-test.")
TMP = RUN.tmp
procs = RUN.procs
report = RUN.report
attach = l45_harness.attach
in_ns = l45_harness.in_ns


def start_echo(iface, log_name, extra=()):
    return RUN.start_echo(ECHO, iface, log_name, extra=extra)


def new_ns():
    return RUN.new_ns("l45-echo")


def main():
    # --- the README example, as a server ---
    server, server_log = start_echo("l45t0", "server.log")
    ns = new_ns()
    attach(ns, "l45t0")
    r = in_ns(ns, "ping -c 5 -i 0.2 -W 2 198.18.0.2", text=True)
    report("ping", r.returncode == 0 and " 5 received" in r.stdout, r.stdout[-200:])

    data = os.urandom(4 << 20)
    src = os.path.join(TMP, "echo.in")
    with open(src, "wb") as f:
        f.write(data)
    r = in_ns(ns, f"nc -N 198.18.0.2 7 < {src}")
    same = hashlib.sha256(r.stdout).hexdigest() == hashlib.sha256(data).hexdigest()
    report("tcp-echo", r.returncode == 0 and same,
           f"rc={r.returncode} sent={len(data)} got={len(r.stdout)}")

    r = in_ns(ns, "head -c 33554432 /dev/zero | nc -N 198.18.0.2 9")
    report("tcp-discard", r.returncode == 0, r.stderr.decode()[-200:])

    # Short connections: each opens, echoes 32 bytes and closes. Afterwards
    # the kernel holds nothing but TIME-WAIT (it closed first), and l45 has
    # closed every one of them.
    n_short = int(os.environ.get("L45_SHORT_CONNECTIONS", "10000"))
    script = (
        "import socket,sys\n"
        "bad=0\n"
        f"for i in range({n_short}):\n"
        "    s=socket.create_connection(('198.18.0.2',7),timeout=5)\n"
        "    msg=b'%031d\\n'%i\n"
        "    s.sendall(msg); s.shutdown(socket.SHUT_WR)\n"
        "    got=b''\n"
        "    while True:\n"
        "        b=s.recv(64)\n"
        "        if not b: break\n"
        "        got+=b\n"
        "    bad+=got!=msg\n"
        "    s.close()\n"
        "print('bad',bad)\n")
    t0 = time.time()
    r = in_ns(ns, f"/usr/bin/python3 -c \"{script}\"", text=True)
    elapsed = time.time() - t0
    report("tcp-short-connections", r.returncode == 0 and "bad 0" in r.stdout,
           f"{n_short} in {elapsed:.1f} s; {r.stdout.strip()} {r.stderr.strip()[-300:]}")
    left = l45_harness.open_tcp_states(ns)
    report("kernel-no-open-state", left == "", left[-300:])

    server.send_signal(signal.SIGINT)
    server.wait(timeout=10)
    server_log.seek(0)
    text = server_log.read()
    m = re.search(r"tcp echoed (\d+) discarded (\d+)", text)
    report("server-counters", m is not None and int(m.group(1)) == len(data) + 32 * n_short
           and int(m.group(2)) == 32 << 20, m.group(0) if m else text[-500:])
    m = re.search(r"closed (\d+) open (\d+)", text)
    report("l45-no-open-state", m is not None and int(m.group(1)) == n_short + 2
           and int(m.group(2)) == 0, m.group(0) if m else text[-500:])

    # --- l45 as the client of a kernel server ---
    # The kernel listens before l45 exists, so l45's SYN (retransmitted until
    # the interface has moved) always finds the listener.
    n_bytes = 64 << 20
    ns2 = new_ns()
    sink = subprocess.Popen(["timeout", "120", "ip", "netns", "exec", ns2, "sh", "-c",
                             "nc -l -N 5001 | sha256sum"],
                            stdout=subprocess.PIPE, text=True)
    procs.append(sink)
    client, client_log = start_echo("l45t1", "client.log",
                                    ["--connect", "198.18.0.1:5001", "--bytes", str(n_bytes),
                                     "--bulk"])
    attach(ns2, "l45t1")
    try:
        rc = client.wait(timeout=120)
    except subprocess.TimeoutExpired:
        rc = None
    kernel_hash = sink.communicate(timeout=30)[0].split()[0] if rc is not None else ""
    client_log.seek(0)
    text = client_log.read()
    m = re.search(r"client normal: sent (\d+) bytes sha256 ([0-9a-f]+)", text)
    report("tcp-client", rc == 0 and m is not None and int(m.group(1)) == n_bytes
           and m.group(2) == kernel_hash,
           f"rc={rc} l45={m.group(2) if m else None} kernel={kernel_hash}")
    bulk = re.search(r"bulk ([0-9.]+) Gbit/s", text)
    if bulk:
        print(f"info: l45 client -> kernel: {bulk.group(1)} Gbit/s", flush=True)

    return RUN.summary()


if __name__ == "__main__":
    sys.exit(main())
