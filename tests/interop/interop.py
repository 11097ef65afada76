#!/usr/bin/python3
"""Interop of l45-tls (the l45 TLS 1.3 module over kernel sockets) with
OpenSSL (s_client, s_server), GnuTLS (gnutls-cli, gnutls-serv) and curl.

Everything runs on 127.0.0.1, ports 27400-27499 (below 32768, so the
kernel's ephemeral range never hands them out; each case group has its own
block of ten). The PKI is made with the openssl CLI in a temp dir at start:
one ECDSA P-256 CA, leaves for localhost/127.0.0.1 (ECDSA P-256 and
RSA-2048) and one for alt.example (SNI). Peers verify against that CA and
l45-tls verifies against it too: --insecure is never used.

Every process started here runs in its own session and is killed (the whole
process group) when its case ends, at exit, and on SIGTERM/SIGINT (meson's
timeout). Every external command also runs under timeout(1).

  interop.py --l45 build/apps/l45-tls --group openssl_client [--only TEXT] [-v]

Prints one line per case ("PASS name" / "FAIL name: why"); exits 1 when any
case failed, 0 otherwise. No case is ever skipped: a missing peer tool is a
failure.
"""

import argparse
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
GNUTLS_CIPHER = {
    "TLS_AES_128_GCM_SHA256": "AES-128-GCM",
    "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
    "TLS_CHACHA20_POLY1305_SHA256": "CHACHA20-POLY1305",
}
# (name for l45-tls and OpenSSL -groups, GnuTLS priority group, l45 log name)
GROUPS = [("X25519", "GROUP-X25519", "x25519"), ("P-256", "GROUP-SECP256R1", "P-256")]
CERTS = ["ecdsa", "rsa"]

PORT_BASE = {
    "openssl_client": 27400,
    "gnutls_client": 27410,
    "curl": 27420,
    "openssl_server": 27430,
    "gnutls_server": 27440,
    "server_behaviour": 27450,
}

CMD_TIMEOUT = 20  # seconds, for timeout(1) around every peer command
VERBOSE = False


class CaseFailure(Exception):
    pass


def check(cond, message):
    if not cond:
        raise CaseFailure(message)


# --- processes -------------------------------------------------------------

_PROCS = []


def _kill(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def kill_all():
    while _PROCS:
        _kill(_PROCS.pop())


def _on_signal(signum, _frame):
    kill_all()
    sys.stdout.write("interrupted by signal %d: all peers killed\n" % signum)
    sys.stdout.flush()
    os._exit(1)


def start(cmd, stdout_path=None, stdin=subprocess.DEVNULL):
    """A long-running process (a server), output to a file; killed by kill_all()."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    if VERBOSE:
        print("  start: " + " ".join(cmd))
    proc = subprocess.Popen(["timeout", "-s", "KILL", "240"] + cmd, stdin=stdin, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    if stdout_path:
        out.close()
    _PROCS.append(proc)
    return proc


def stop(proc):
    if proc in _PROCS:
        _PROCS.remove(proc)
    _kill(proc)


def wait_port(port, proc, log_path=None, timeout=10.0):
    """Until something accepts on 127.0.0.1:port (the probe connection is
    closed at once: the servers under test must survive it anyway)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise CaseFailure("server exited with %s before listening%s" %
                              (proc.returncode, tail_of(log_path)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise CaseFailure("nothing listens on port %d after %.0f s%s" % (port, timeout,
                                                                      tail_of(log_path)))


def port_free(port):
    deadline = time.time() + 5
    while time.time() < deadline:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.1)
    raise CaseFailure("port %d is in use by someone else" % port)


def tail_of(path, n=15):
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    return "\n    | " + "\n    | ".join(lines[-n:]) if lines else ""


def converse(cmd, payload, done, timeout=15.0, close_stdin_after=True):
    """Runs a client: writes payload to its stdin, keeps stdin open until
    done(stdout_so_far) is true (clients such as s_client quit at stdin EOF
    without reading the rest), then closes stdin and waits for the exit.
    Returns (returncode, stdout bytes, stderr text)."""
    if VERBOSE:
        print("  run: " + " ".join(cmd))
    proc = subprocess.Popen(["timeout", "-s", "KILL", str(CMD_TIMEOUT)] + cmd,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    _PROCS.append(proc)
    out = bytearray()
    err = bytearray()
    got = threading.Event()

    def reader(stream, buf, watch):
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            buf.extend(chunk)
            if watch and done(bytes(buf)):
                got.set()
        if watch:
            got.set()

    threads = [threading.Thread(target=reader, args=(proc.stdout, out, True), daemon=True),
               threading.Thread(target=reader, args=(proc.stderr, err, False), daemon=True)]
    for t in threads:
        t.start()
    try:
        if payload:
            proc.stdin.write(payload)
            proc.stdin.flush()
        got.wait(timeout)
        if close_stdin_after:
            proc.stdin.close()
        rc = proc.wait(timeout=timeout)
    except (BrokenPipeError, subprocess.TimeoutExpired):
        rc = None
    finally:
        if proc in _PROCS:
            _PROCS.remove(proc)
        _kill(proc)
        for t in threads:
            t.join(timeout=2)
    return rc, bytes(out), err.decode("utf-8", "replace")


def run(cmd, timeout=CMD_TIMEOUT, stdin_data=b""):
    """A short command: (returncode, stdout bytes, stderr text)."""
    if VERBOSE:
        print("  run: " + " ".join(cmd))
    p = subprocess.run(["timeout", "-s", "KILL", str(timeout)] + cmd, input=stdin_data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


# --- PKI -------------------------------------------------------------------


def make_pki(d):
    def openssl(*args):
        rc, _, err = run(["openssl"] + list(args))
        if rc != 0:
            raise SystemExit("openssl %s failed: %s" % (args[0], err))

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", d + "/ca.key", "-out", d + "/ca.pem", "-days", "2",
            "-subj", "/CN=l45 interop CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    # A second, unrelated CA: certificates it signs must be rejected.
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", d + "/other-ca.key", "-out", d + "/other-ca.pem", "-days", "2",
            "-subj", "/CN=some other CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    leaves = {
        "ecdsa": (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                  "DNS:localhost,IP:127.0.0.1", "ca"),
        "rsa": (["-newkey", "rsa:2048"], "DNS:localhost,IP:127.0.0.1", "ca"),
        "alt": (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "DNS:alt.example", "ca"),
        "rogue": (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                  "DNS:localhost,IP:127.0.0.1", "other-ca"),
    }
    for name, (keyargs, san, ca) in leaves.items():
        ext = d + "/" + name + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature%s\nextendedKeyUsage=serverAuth\n" %
                    (san, ",keyEncipherment" if name == "rsa" else ""))
        openssl("req", "-new", *keyargs, "-nodes", "-keyout", d + "/" + name + ".key",
                "-out", d + "/" + name + ".csr", "-subj", "/CN=" + san.split(",")[0][4:])
        openssl("x509", "-req", "-in", d + "/" + name + ".csr", "-CA", d + "/" + ca + ".pem",
                "-CAkey", d + "/" + ca + ".key", "-CAcreateserial", "-days", "2",
                "-out", d + "/" + name + ".pem", "-extfile", ext)


# --- helpers for cases -----------------------------------------------------


def random_payload(n=4096):
    return os.urandom(n)


def text_payload(n=3072):
    """Random bytes, base64 in 64-character lines (for peers whose output
    mixes data with text, or that work on lines)."""
    raw = base64.b64encode(os.urandom(n)).decode()
    return "".join(raw[i:i + 64] + "\n" for i in range(0, len(raw), 64)).encode()


class L45Server:
    """An l45-tls server whose log we can follow per connection."""

    def __init__(self, ctx, port, args, name):
        self.ctx = ctx
        self.port = port
        self.log = os.path.join(ctx.dir, "%s-%d.log" % (name, port))
        port_free(port)
        self.proc = start([ctx.l45, "server", "--listen", "127.0.0.1:%d" % port] + args,
                          stdout_path=self.log)
        wait_port(port, self.proc, self.log)
        self.seen = self._size()

    def _size(self):
        return os.path.getsize(self.log) if os.path.exists(self.log) else 0

    def new_log(self, want=None, timeout=3.0):
        """Log lines written since the last call; waits until `want` (a regex)
        shows up or the timeout passes."""
        deadline = time.time() + timeout
        while True:
            with open(self.log, "rb") as f:
                f.seek(self.seen)
                text = f.read().decode("utf-8", "replace")
            if want is None or re.search(want, text) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.seen += len(text.encode())
        return text

    def alive(self):
        return self.proc.poll() is None

    def terminate(self):
        """SIGTERM to l45-tls itself (the child of timeout(1))."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], stdout=subprocess.PIPE)
        pids = [int(p) for p in out.stdout.split()]
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        return pids


def expect_negotiated(server, suite, group, extra=None):
    log = server.new_log(r"handshake ok|failed")
    m = re.search(r"handshake ok: (.*)", log)
    check(m, "the l45 server logged no completed handshake:" + indent(log))
    line = m.group(1)
    check("suite=" + suite in line, "server negotiated [%s], expected suite %s" % (line, suite))
    if group:
        check("group=" + group in line, "server negotiated [%s], expected group %s" % (line, group))
    for item in extra or []:
        check(item in line, "server negotiated [%s], expected %s" % (line, item))
    return line


def indent(text):
    text = text.strip()
    return ("\n    | " + "\n    | ".join(text.splitlines()[-20:])) if text else " (nothing)"


def s_client_cmd(ctx, port, suite=None, group=None, servername="localhost", extra=None):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3",
           "-CAfile", ctx.dir + "/ca.pem", "-verify_return_error", "-servername", servername,
           "-verify_hostname", servername, "-nocommands"]
    if suite:
        cmd += ["-ciphersuites", suite]
    if group:
        cmd += ["-groups", group]
    cmd += extra or []
    if "-quiet" in cmd:
        cmd.append("-no_ign_eof")  # -quiet implies -ign_eof: we want close_notify at EOF
    return cmd


def gnutls_cli_cmd(ctx, port, suite=None, group=None, extra=None):
    prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
    if suite:
        prio += ":-CIPHER-ALL:+" + GNUTLS_CIPHER[suite]
    if group:
        prio += ":-GROUP-ALL:+" + group
    return ["gnutls-cli", "--x509cafile", ctx.dir + "/ca.pem", "-p", str(port),
            "--priority", prio, "--sni-hostname", "localhost", "--verify-hostname", "localhost",
            "--logfile", ctx.dir + "/gnutls-cli.log"] + (extra or []) + ["127.0.0.1"]


def l45_client_cmd(ctx, port, suite=None, group=None, servername="localhost", extra=None):
    cmd = [ctx.l45, "client", "--connect", "127.0.0.1:%d" % port, "--servername", servername,
           "--cafile", ctx.dir + "/ca.pem"]
    if suite:
        cmd += ["--suites", suite]
    if group:
        cmd += ["--groups", group]
    return cmd + (extra or [])


def echo_check(payload, out, who):
    if out == payload:
        return
    check(False, "%s: echoed %d bytes, expected the %d sent%s" % (
        who, len(out), len(payload),
        "" if len(out) != len(payload) else " (contents differ)"))


def read_keylog(path):
    """{client_random: {label: secret}} from an NSS key-log file."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                out.setdefault(parts[1].lower(), {})[parts[0]] = parts[2].lower()
    return out


NSS_LABELS = ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
              "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"]


def compare_keylogs(one_path, many_path, one_who, many_who):
    """one_path holds exactly one connection (a fresh file); many_path must
    hold the five NSS lines for the same client random, with equal secrets."""
    one = read_keylog(one_path)
    many = read_keylog(many_path)
    check(len(one) == 1, "%s key log has %d client randoms, expected 1" % (one_who, len(one)))
    client_random, secrets = next(iter(one.items()))
    check(set(NSS_LABELS) <= set(secrets), "%s logged only %s" % (one_who, sorted(secrets)))
    check(client_random in many, "%s key log has no line for client random %s..." % (
        many_who, client_random[:16]))
    other = many[client_random]
    for label in NSS_LABELS:
        check(label in other, "%s key log lacks %s for this connection" % (many_who, label))
        check(other[label] == secrets[label],
              "%s differs between %s and %s" % (label, one_who, many_who))


# --- case groups -------------------------------------------------------------


def echo_matrix(ctx, base, label, client_cmd, client_log=lambda: ""):
    """One l45 echo server per certificate (ports base, base+1, ...); for each
    suite x group, the client command (port, suite, GROUPS row) sends a
    random payload that must come back, and the server must report the
    suite and group it negotiated."""
    for i, cert in enumerate(CERTS):
        server = L45Server(ctx, base + i, ["--cert", ctx.dir + "/%s.pem" % cert,
                                           "--key", ctx.dir + "/%s.key" % cert], "l45-server")
        for suite in SUITES:
            for groups in GROUPS:
                def case(suite=suite, groups=groups, server=server):
                    payload = random_payload()
                    rc, out, err = converse(client_cmd(server.port, suite, groups), payload,
                                            lambda o: len(o) >= len(payload))
                    check(server.alive(), "the l45 server died" + tail_of(server.log))
                    echo_check(payload, out, label + indent(err) + client_log())
                    expect_negotiated(server, suite, groups[2])
                ctx.case("%s->l45 %s %s %s" % (label, cert, suite, groups[0]), case)
        ctx.finish_server(server)


def group_openssl_client(ctx):
    """l45 server, openssl s_client: suites x groups x certificates, echo."""
    base = PORT_BASE["openssl_client"]
    echo_matrix(ctx, base, "s_client",
                lambda port, suite, groups: s_client_cmd(ctx, port, suite, groups[0],
                                                         extra=["-quiet"]))

    # HelloRetryRequest: OpenSSL sends one share (its first group, x25519).
    # The l45 server takes any share in its list (RFC 8446 §4.2.8 lets it)
    # and retries only when none is usable, so it gets --groups P-256 alone.
    port = base + 5
    server = L45Server(ctx, port, ["--cert", ctx.dir + "/ecdsa.pem", "--key",
                                   ctx.dir + "/ecdsa.key", "--groups", "P-256"],
                       "l45-server-hrr")

    def hrr():
        payload = text_payload()
        rc, out, err = converse(s_client_cmd(ctx, port, None, "X25519:P-256", extra=["-msg"]),
                                payload, lambda o: payload in o)
        text = out.decode("utf-8", "replace")
        check(payload in out, "payload not echoed through s_client:" + indent(err + text[-2000:]))
        n_hello = len(re.findall(r"<<< TLS 1.3, Handshake \[length [0-9a-f]+\], ServerHello",
                                 text))
        check(n_hello == 2, "s_client saw %d ServerHello messages, expected 2 (HRR + SH)" %
              n_hello)
        check("Server Temp Key: ECDH, prime256v1" in text, "the final key share is not P-256")
        expect_negotiated(server, "TLS_", "P-256", ["hrr=yes"])

    ctx.case("s_client->l45 HelloRetryRequest x25519 share -> P-256", hrr)

    # Key log: the server's --keylog has the five NSS lines for this client
    # random, with the same secrets as s_client's -keylogfile.
    ctx.finish_server(server)
    port = base + 6
    keylog = ctx.dir + "/server-keylog.txt"
    server = L45Server(ctx, port, ["--cert", ctx.dir + "/ecdsa.pem", "--key",
                                   ctx.dir + "/ecdsa.key", "--keylog", keylog], "l45-server-kl")

    def keylog_case():
        theirs = ctx.dir + "/s_client-keylog.txt"
        payload = random_payload(1024)
        rc, out, err = converse(s_client_cmd(ctx, port, "TLS_AES_256_GCM_SHA384", "X25519",
                                             extra=["-quiet", "-keylogfile", theirs]),
                                payload, lambda o: len(o) >= len(payload))
        echo_check(payload, out, "s_client" + indent(err))
        server.new_log(r"closed|failed")
        check(os.path.exists(keylog), "the l45 server wrote no key log")
        mode = os.stat(keylog).st_mode & 0o777
        check(mode & 0o077 == 0, "key log is readable by others (mode %o)" % mode)
        compare_keylogs(theirs, keylog, "s_client", "l45 server")

    ctx.case("s_client->l45 keylog NSS labels match", keylog_case)
    ctx.finish_server(server)

    # SNI: two credentials; the alt.example one verifies only if chosen.
    port = base + 7
    server = L45Server(ctx, port, ["--cert", ctx.dir + "/ecdsa.pem", "--key",
                                   ctx.dir + "/ecdsa.key", "--cert", ctx.dir + "/alt.pem",
                                   "--key", ctx.dir + "/alt.key"], "l45-server-sni")
    for name in ["alt.example", "localhost"]:
        def sni(name=name):
            payload = random_payload(512)
            rc, out, err = converse(s_client_cmd(ctx, port, servername=name, extra=["-quiet"]),
                                    payload, lambda o: len(o) >= len(payload))
            echo_check(payload, out, "s_client (verify %s)" % name + indent(err))
            expect_negotiated(server, "TLS_", None, ["sni=" + name])

        ctx.case("s_client->l45 SNI selects the %s certificate" % name, sni)
    ctx.finish_server(server)


def group_gnutls_client(ctx):
    """l45 server, gnutls-cli: suites x groups x certificates, echo."""
    base = PORT_BASE["gnutls_client"]
    echo_matrix(ctx, base, "gnutls-cli",
                lambda port, suite, groups: gnutls_cli_cmd(ctx, port, suite, groups[1]),
                lambda: tail_of(ctx.dir + "/gnutls-cli.log"))

    # GnuTLS sends both a P-256 and an x25519 share: a server preferring
    # P-256 takes the P-256 one without a HelloRetryRequest.
    port = base + 5
    server = L45Server(ctx, port, ["--cert", ctx.dir + "/ecdsa.pem", "--key",
                                   ctx.dir + "/ecdsa.key", "--groups", "P-256,x25519"],
                       "l45-server-p256")

    def two_shares():
        payload = random_payload()
        rc, out, err = converse(gnutls_cli_cmd(ctx, port), payload,
                                lambda o: len(o) >= len(payload))
        echo_check(payload, out, "gnutls-cli" + indent(err) + tail_of(ctx.dir + "/gnutls-cli.log"))
        expect_negotiated(server, "TLS_", "P-256", ["hrr=no"])

    ctx.case("gnutls-cli->l45 two key shares, server prefers P-256, no HRR", two_shares)
    ctx.finish_server(server)


def group_curl(ctx):
    """l45 server --www, curl fetches the page."""
    base = PORT_BASE["curl"]
    for i, cert in enumerate(CERTS):
        server = L45Server(ctx, base + i, ["--www", "--alpn", "http/1.1",
                                           "--cert", ctx.dir + "/%s.pem" % cert,
                                           "--key", ctx.dir + "/%s.key" % cert], "l45-www")
        for suite in SUITES:
            for ossl_group, _, l45_group in GROUPS:
                curve = "X25519" if ossl_group == "X25519" else "prime256v1"

                def case(suite=suite, curve=curve, l45_group=l45_group, server=server):
                    rc, out, err = run(["curl", "-sS", "--max-time", "10", "--tlsv1.3",
                                        "--tls13-ciphers", suite, "--curves", curve,
                                        "--cacert", ctx.dir + "/ca.pem",
                                        "--resolve", "localhost:%d:127.0.0.1" % server.port,
                                        "-w", "\\nHTTP %{http_code} ALPN-VERSION %{http_version}\\n",
                                        "https://localhost:%d/" % server.port])
                    text = out.decode("utf-8", "replace")
                    check(rc == 0, "curl exited %d: %s%s" % (rc, err.strip(),
                                                             tail_of(server.log)))
                    check("HTTP 200" in text, "no 200 from the l45 server:" + indent(text))
                    check("Cipher is " + suite in text,
                          "the page does not name %s:%s" % (suite, indent(text)))
                    check("ALPN: http/1.1" in text, "ALPN http/1.1 not negotiated:" + indent(text))
                    check("SNI: localhost" in text, "SNI not shown:" + indent(text))
                    expect_negotiated(server, suite, l45_group, ["alpn=http/1.1"])
                ctx.case("curl->l45 --www %s %s %s" % (cert, suite, ossl_group), case)
        ctx.finish_server(server)


def group_openssl_server(ctx):
    """l45 client, openssl s_server."""
    base = PORT_BASE["openssl_server"]
    for i, cert in enumerate(CERTS):
        port = base + i
        port_free(port)
        log = ctx.dir + "/s_server-%d.log" % port
        # -rev: sends each line back reversed; -naccept none: serve forever.
        proc = start(["openssl", "s_server", "-accept", str(port), "-tls1_3",
                      "-cert", ctx.dir + "/%s.pem" % cert, "-key", ctx.dir + "/%s.key" % cert,
                      "-rev", "-quiet"], stdout_path=log)
        wait_port(port, proc, log)
        for suite in SUITES:
            for ossl_group, _, l45_group in GROUPS:
                def case(suite=suite, ossl_group=ossl_group, l45_group=l45_group, port=port,
                         proc=proc, log=log):
                    payload = text_payload()
                    expect = b"".join(line[::-1] + b"\n" for line in payload.splitlines())
                    rc, out, err = converse(l45_client_cmd(ctx, port, suite, ossl_group),
                                            payload, lambda o: len(o) >= len(expect))
                    check(proc.poll() is None, "s_server died" + tail_of(log))
                    check(rc == 0, "l45 client exited %s:%s" % (rc, indent(err)))
                    check(out == expect, "s_server -rev answer differs (%d bytes, expected %d)%s"
                          % (len(out), len(expect), indent(err)))
                    check("suite=" + suite in err and "group=" + l45_group in err,
                          "l45 client reports other parameters:" + indent(err))
                ctx.case("l45->s_server %s %s %s" % (cert, suite, ossl_group), case)
        stop(proc)

    # -www: s_server's page names the suite it negotiated.
    port = base + 5
    port_free(port)
    log = ctx.dir + "/s_server-www.log"
    keylog = ctx.dir + "/s_server-keylog.txt"
    proc = start(["openssl", "s_server", "-accept", str(port), "-tls1_3", "-cert",
                  ctx.dir + "/ecdsa.pem", "-key", ctx.dir + "/ecdsa.key", "-www",
                  "-keylogfile", keylog, "-alpn", "http/1.1"], stdout_path=log)
    wait_port(port, proc, log)
    for suite in SUITES:
        def www(suite=suite):
            ours = ctx.dir + "/l45-client-keylog-%s.txt" % suite
            rc, out, err = converse(
                l45_client_cmd(ctx, port, suite, extra=["--keylog", ours,
                                                        "--alpn", "h2,http/1.1"]),
                b"GET / HTTP/1.0\r\n\r\n", lambda o: b"</HTML>" in o.upper())
            text = out.decode("utf-8", "replace")
            check(rc == 0, "l45 client exited %s:%s" % (rc, indent(err)))
            check("Cipher is " + suite in text, "s_server's page does not show %s:%s" %
                  (suite, indent(text[:1500])))
            check("alpn=http/1.1" in err, "ALPN http/1.1 not reported:" + indent(err))
            compare_keylogs(ours, keylog, "l45 client", "s_server")

        ctx.case("l45->s_server -www %s, ALPN, keylog" % suite, www)

    # HelloRetryRequest at the client: l45 sends one share (x25519, its first
    # group); s_server accepts P-256 only and asks for it.
    port_hrr = base + 6
    port_free(port_hrr)
    log_hrr = ctx.dir + "/s_server-hrr.log"
    proc_hrr = start(["openssl", "s_server", "-accept", str(port_hrr), "-tls1_3", "-cert",
                      ctx.dir + "/ecdsa.pem", "-key", ctx.dir + "/ecdsa.key", "-www",
                      "-groups", "P-256"], stdout_path=log_hrr)
    wait_port(port_hrr, proc_hrr, log_hrr)

    def client_hrr():
        rc, out, err = converse(l45_client_cmd(ctx, port_hrr, group="x25519,P-256"),
                                b"GET / HTTP/1.0\r\n\r\n", lambda o: b"</HTML>" in o.upper())
        text = out.decode("utf-8", "replace")
        check(rc == 0, "l45 client exited %s:%s" % (rc, indent(err)))
        check("hrr=yes" in err and "group=P-256" in err,
              "the client did not report a HelloRetryRequest to P-256:" + indent(err))
        check("Cipher is TLS_" in text, "no s_server page:" + indent(text[:800]))

    ctx.case("l45->s_server HelloRetryRequest x25519 share -> P-256", client_hrr)
    stop(proc_hrr)

    # No common suite: s_server refuses with handshake_failure; the client
    # names the alert it received and exits 3.
    port_ns = base + 7
    port_free(port_ns)
    log_ns = ctx.dir + "/s_server-nosuite.log"
    proc_ns = start(["openssl", "s_server", "-accept", str(port_ns), "-tls1_3", "-cert",
                     ctx.dir + "/ecdsa.pem", "-key", ctx.dir + "/ecdsa.key", "-www",
                     "-ciphersuites", "TLS_AES_256_GCM_SHA384"], stdout_path=log_ns)
    wait_port(port_ns, proc_ns, log_ns)

    def no_common_suite():
        rc, out, err = converse(l45_client_cmd(ctx, port_ns, suite="TLS_AES_128_GCM_SHA256"),
                                b"GET / HTTP/1.0\r\n\r\n", lambda o: False, timeout=5)
        check(rc == 3, "l45 client exited %s, expected 3 (handshake failed):%s" % (rc, indent(err)))
        check("received alert handshake_failure" in err, "the alert is not named:" + indent(err))

    ctx.case("l45->s_server no common suite: exit 3, alert named", no_common_suite)
    stop(proc_ns)

    # Verification failures: a name the certificate does not cover, and a CA
    # we do not trust. The client must refuse (exit 4) and name the alert.
    def wrong_name():
        rc, out, err = converse(l45_client_cmd(ctx, port, servername="wrong.example"),
                                b"GET / HTTP/1.0\r\n\r\n", lambda o: False, timeout=5)
        check(rc == 4, "l45 client exited %s, expected 4 (certificate rejected):%s" %
              (rc, indent(err)))
        check("bad_certificate" in err, "the alert is not named:" + indent(err))
        check(out == b"", "data was delivered from an unverified server")

    ctx.case("l45->s_server rejects a certificate for another name", wrong_name)

    def wrong_ca():
        cmd = l45_client_cmd(ctx, port)
        cmd[cmd.index(ctx.dir + "/ca.pem")] = ctx.dir + "/other-ca.pem"
        rc, out, err = converse(cmd, b"GET / HTTP/1.0\r\n\r\n", lambda o: False, timeout=5)
        check(rc == 4, "l45 client exited %s, expected 4:%s" % (rc, indent(err)))
        check("unknown_ca" in err, "the alert is not named unknown_ca:" + indent(err))
        check(out == b"", "data was delivered from an unverified server")

    ctx.case("l45->s_server rejects an untrusted CA", wrong_ca)
    stop(proc)


def group_gnutls_server(ctx):
    """l45 client, gnutls-serv --echo."""
    base = PORT_BASE["gnutls_server"]
    for i, cert in enumerate(CERTS):
        port = base + i
        port_free(port)
        log = ctx.dir + "/gnutls-serv-%d.log" % port
        # -a: no CertificateRequest (l45 has no client certificates yet).
        proc = start(["gnutls-serv", "-p", str(port), "--echo", "-a",
                      "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3",
                      "--x509certfile", ctx.dir + "/%s.pem" % cert,
                      "--x509keyfile", ctx.dir + "/%s.key" % cert], stdout_path=log)
        wait_port(port, proc, log)
        for suite in SUITES:
            for ossl_group, _, l45_group in GROUPS:
                def case(suite=suite, ossl_group=ossl_group, l45_group=l45_group, port=port,
                         proc=proc, log=log):
                    # gnutls-serv --echo handles text (a NUL ends its string).
                    payload = text_payload()
                    rc, out, err = converse(l45_client_cmd(ctx, port, suite, ossl_group),
                                            payload, lambda o: len(o) >= len(payload))
                    check(proc.poll() is None, "gnutls-serv died" + tail_of(log))
                    check(rc == 0, "l45 client exited %s:%s" % (rc, indent(err)))
                    echo_check(payload, out, "gnutls-serv" + indent(err))
                    check("suite=" + suite in err and "group=" + l45_group in err,
                          "l45 client reports other parameters:" + indent(err))
                ctx.case("l45->gnutls-serv %s %s %s" % (cert, suite, ossl_group), case)
        stop(proc)


def group_server_behaviour(ctx):
    """The l45 server survives bad clients and stops cleanly on SIGTERM."""
    base = PORT_BASE["server_behaviour"]
    port = base
    server = L45Server(ctx, port, ["--cert", ctx.dir + "/ecdsa.pem", "--key",
                                   ctx.dir + "/ecdsa.key", "--handshake-timeout", "2"],
                       "l45-server-beh")
    server.new_log()

    def good_client():
        payload = random_payload(2048)
        rc, out, err = converse(s_client_cmd(ctx, port, extra=["-quiet"]), payload,
                                lambda o: len(o) >= len(payload))
        echo_check(payload, out, "s_client after a bad client" + indent(err))

    def tls12():
        rc, out, err = run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_2",
                            "-CAfile", ctx.dir + "/ca.pem"], timeout=10)
        check(rc != 0, "a TLS 1.2-only client got a connection")
        log = server.new_log(r"failed")
        check(re.search(r"handshake failed: sent alert (protocol_version|handshake_failure)", log),
              "the server did not log the alert:" + indent(log))
        check(server.alive(), "the server died")
        good_client()

    ctx.case("l45 server: TLS 1.2-only client refused, next client served", tls12)

    def plaintext():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                pass
        check(len(data) >= 7 and data[0] == 21,
              "no alert record in answer to plaintext HTTP (got %r)" % data[:16])
        log = server.new_log(r"failed")
        check("handshake failed: sent alert" in log, "the server did not log the alert:" +
              indent(log))
        check(server.alive(), "the server died")
        good_client()

    ctx.case("l45 server: plaintext HTTP gets an alert, next client served", plaintext)

    def silent():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            time.sleep(2.5)  # longer than --handshake-timeout 2
            s.settimeout(3)
            try:
                leftover = s.recv(10)
            except (socket.timeout, ConnectionResetError):
                leftover = b"(timeout)"
        log = server.new_log(r"timeout")
        check("handshake timeout" in log, "no handshake timeout logged:" + indent(log))
        check(leftover == b"", "the silent connection was not closed (%r)" % leftover)
        good_client()

    ctx.case("l45 server: a silent client times out, next client served", silent)

    def sigterm():
        pids = server.terminate()
        check(pids, "could not find the l45-tls process")
        try:
            rc = server.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            raise CaseFailure("the server did not stop within 5 s of SIGTERM")
        check(rc == 0, "the server exited %d on SIGTERM, expected 0%s" % (rc,
                                                                         tail_of(server.log)))

    ctx.case("l45 server: SIGTERM stops it with exit code 0", sigterm)
    stop(server.proc)

    # l45 client against l45 server: a large echo (back-pressure both ways)
    # and an ALPN mismatch (no_application_protocol, named on both sides).
    port = base + 2
    server = L45Server(ctx, port, ["--cert", ctx.dir + "/rsa.pem", "--key", ctx.dir + "/rsa.key",
                                   "--alpn", "h2"], "l45-server-self")

    def big_echo():
        payload = random_payload(1 << 20)
        rc, out, err = converse(l45_client_cmd(ctx, port, extra=["--alpn", "h2"]), payload,
                                lambda o: len(o) >= len(payload), timeout=30)
        check(rc == 0, "l45 client exited %s:%s" % (rc, indent(err)))
        echo_check(payload, out, "l45 server (1 MiB)")
        check("alpn=h2" in err, "ALPN h2 not negotiated:" + indent(err))

    ctx.case("l45->l45 1 MiB echo, ALPN h2", big_echo)

    def alpn_mismatch():
        rc, out, err = converse(l45_client_cmd(ctx, port, extra=["--alpn", "http/1.1"]),
                                b"x", lambda o: False, timeout=5)
        check(rc == 3, "l45 client exited %s, expected 3:%s" % (rc, indent(err)))
        check("received alert no_application_protocol" in err,
              "the client does not name the alert:" + indent(err))
        log = server.new_log(r"failed")
        check("sent alert no_application_protocol" in log,
              "the server does not name the alert:" + indent(log))

    ctx.case("l45->l45 ALPN mismatch: no_application_protocol on both sides", alpn_mismatch)
    ctx.finish_server(server)

    # No --cert: an ephemeral self-signed certificate, announced on stderr.
    port = base + 1
    ca_out = ctx.dir + "/ephemeral-ca.pem"
    server = L45Server(ctx, port, ["--ephemeral-ca-out", ca_out], "l45-server-eph")

    def ephemeral():
        with open(server.log) as f:
            log = f.read()
        check("EPHEMERAL self-signed ECDSA P-256" in log, "not announced:" + indent(log))
        payload = random_payload(1024)
        cmd = s_client_cmd(ctx, port, extra=["-quiet"])
        cmd[cmd.index(ctx.dir + "/ca.pem")] = ca_out
        rc, out, err = converse(cmd, payload, lambda o: len(o) >= len(payload))
        echo_check(payload, out, "s_client with the ephemeral CA" + indent(err))

    ctx.case("l45 server: ephemeral self-signed certificate verifies with its CA", ephemeral)
    ctx.finish_server(server)


GROUP_FUNCS = {
    "openssl_client": group_openssl_client,
    "gnutls_client": group_gnutls_client,
    "curl": group_curl,
    "openssl_server": group_openssl_server,
    "gnutls_server": group_gnutls_server,
    "server_behaviour": group_server_behaviour,
}


class Context:
    def __init__(self, l45, directory, only):
        self.l45 = l45
        self.dir = directory
        self.only = only
        self.passed = 0
        self.failed = []

    def finish_server(self, server):
        """SIGTERM, exit 0 within 5 s, and no sanitizer report in its log (under
        -Db_sanitize the leak check runs at this exit)."""
        def clean_exit():
            if not server.alive():
                raise CaseFailure("the server had already exited" + tail_of(server.log))
            server.terminate()
            try:
                rc = server.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise CaseFailure("no exit within 10 s of SIGTERM")
            with open(server.log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            check("Sanitizer" not in text and "runtime error" not in text,
                  "sanitizer report:" + indent(text[text.find("=="):][:3000]))
            check(rc == 0, "exit code %d after SIGTERM%s" % (rc, tail_of(server.log)))

        self.case("l45 server %s: SIGTERM -> exit 0, no sanitizer report" %
                  os.path.basename(server.log)[:-4], clean_exit)
        stop(server.proc)

    def case(self, name, fn):
        if self.only and self.only not in name:
            return
        t0 = time.time()
        try:
            fn()
            self.passed += 1
            print("PASS %s (%.1f s)" % (name, time.time() - t0))
        except CaseFailure as e:
            self.failed.append(name)
            print("FAIL %s: %s" % (name, e))
        except Exception as e:  # a harness bug must fail the case, loudly
            self.failed.append(name)
            print("FAIL %s: harness error %s: %s" % (name, type(e).__name__, e))
        sys.stdout.flush()


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--l45", required=True, help="path of the l45-tls binary")
    ap.add_argument("--group", action="append", choices=sorted(GROUP_FUNCS),
                    help="case group(s) to run (default: all)")
    ap.add_argument("--only", help="run only cases whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, PKI)")
    args = ap.parse_args()
    VERBOSE = args.verbose

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    missing = [t for t in ["openssl", "gnutls-cli", "gnutls-serv", "curl", "timeout", "pgrep"]
               if shutil.which(t) is None]
    if missing or not os.access(args.l45, os.X_OK):
        print("FAIL setup: missing %s" % (missing or [args.l45]))
        return 1

    directory = tempfile.mkdtemp(prefix="l45-interop-")
    ctx = Context(os.path.abspath(args.l45), directory, args.only)
    try:
        make_pki(directory)
        for g in args.group or sorted(GROUP_FUNCS):
            try:
                GROUP_FUNCS[g](ctx)
            except CaseFailure as e:  # a server that would not start
                ctx.failed.append(g)
                print("FAIL %s (setup): %s" % (g, e))
            finally:
                kill_all()
    finally:
        kill_all()
        if args.keep or ctx.failed:
            print("logs and PKI kept in %s" % directory)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    print("%d passed, %d failed" % (ctx.passed, len(ctx.failed)))
    return 1 if ctx.failed or ctx.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
