"""What every kernel-facing test script of l45 needs: a temp dir, the child
processes and namespaces it made (all removed at exit, also on SIGTERM or a
failed case), and PASS/FAIL lines ending in `N passed, N failed`."""
import atexit
import signal
import subprocess
import sys
import tempfile


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
