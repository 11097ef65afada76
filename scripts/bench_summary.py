#!/usr/bin/env python3
"""Summary of one scripts/bench run: reads DIR/{peer,l45,machine}.csv, prints
markdown tables with the ratios against issue 5's targets, and writes the
gnuplot data files DIR/{bulk,handshake,rr}.dat that scripts/bench.gp plots.

    scripts/bench_summary.py DIR
"""
import csv
import sys
from pathlib import Path


def load(path, keys):
    """{tuple(row[k] for k in keys) + (metric,): value} of one CSV."""
    out = {}
    if not path.exists():
        return out
    with path.open() as f:
        for row in csv.DictReader(f):
            out[tuple(row[k] for k in keys) + (row["metric"],)] = float(row["value"])
    return out


def fmt(v, digits=2):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    d = Path(sys.argv[1])
    peer = load(d / "peer.csv", ["section", "workload", "connections"])
    l45 = load(d / "l45.csv", ["workload", "connections", "lcores"])
    machine = {}
    if (d / "machine.csv").exists():
        for line in (d / "machine.csv").read_text().splitlines():
            k, _, v = line.partition(",")
            machine[k] = v

    def p(workload, conns, metric, section="peer"):
        return peer.get((section, workload, str(conns), metric))

    def l(workload, conns, lcores, metric):
        return l45.get((workload, str(conns), str(lcores), metric))

    print(f"Run {machine.get('date_utc', '?')} on {machine.get('cpu', '?')} "
          f"({machine.get('nproc', '?')} CPUs), git {machine.get('git', '?')}; "
          f"load average {machine.get('loadavg_start', '?')} at the start, "
          f"{machine.get('loadavg_end', '?')} at the end.\n")

    # ---- bulk ----
    raw = p("bulk", 0, "ipsec_mb_gcm_seal", "baseline")
    rec = p("bulk", 0, "l45_record_seal", "baseline")
    peer_cpu = p("bulk", 1, "goodput_per_server_cpu")
    peer_wall = p("bulk", 1, "goodput")
    l2_cpu, l2_wall = l("bulk", 1, 2, "goodput_per_server_cpu"), l("bulk", 1, 2, "goodput")
    l1_wall, l1_cpu = l("bulk", 1, 1, "goodput"), l("bulk", 1, 1, "goodput_per_server_cpu")
    print("Bulk, 16 KiB records, AES-128-GCM (Gbit/s; per CPU-s = per CPU-second of the "
          "server thread / proxy lcore)\n")
    print("| what | Gbit/s wall | Gbit per server CPU-s | / raw IPsec-MB | / OpenSSL peer |")
    print("|---|---:|---:|---:|---:|")
    print(f"| raw IPsec-MB AES-128-GCM seal, 16 KiB (baseline) | - | {fmt(raw)} | 1 | - |")
    print(f"| l45 RecordSealer::seal, 16 KiB, in memory | - | {fmt(rec)} | "
          f"{fmt(ratio(rec, raw))} | - |")
    print(f"| OpenSSL peer: Linux TCP + libssl, server sends | {fmt(peer_wall)} | "
          f"{fmt(peer_cpu)} | {fmt(ratio(peer_cpu, raw), 3)} | 1 |")
    print(f"| l45 proxy, 2 lcores (echo through the proxy) | {fmt(l2_wall)} | {fmt(l2_cpu)} | "
          f"{fmt(ratio(l2_cpu, raw), 3)} | {fmt(ratio(l2_cpu, peer_cpu))} |")
    print(f"| l45 proxy and load generator on 1 lcore | {fmt(l1_wall)} | {fmt(l1_cpu)} | "
          f"{fmt(ratio(l1_cpu, raw), 3)} | {fmt(ratio(l1_cpu, peer_cpu))} |")
    print("\nTargets: l45 >= 0.5 x raw AES-GCM per core, >= 3 x the OpenSSL peer.\n")
    with (d / "bulk.dat").open("w") as f:
        for label, v in [("raw IPsec-MB GCM", raw), ("l45 record seal", rec),
                         ("OpenSSL peer", peer_cpu), ("l45 proxy 2 lcores", l2_cpu),
                         ("l45 1 lcore", l1_cpu)]:
            f.write(f'"{label}" {v if v else 0}\n')

    # ---- handshakes ----
    bound = p("handshake", 0, "server_asym_bound", "baseline")
    hconns = sorted({int(k[2]) for k in peer if k[1] == "handshake" and k[0] == "peer"}
                    | {int(k[1]) for k in l45 if k[0] == "handshake"})
    hc = hconns[0] if hconns else 32
    peer_h_cpu, peer_h = p("handshake", hc, "handshakes_per_server_cpu"), p("handshake", hc,
                                                                         "handshakes")
    l2_h_cpu, l2_h = (l("handshake", hc, 2, "handshakes_per_server_cpu"),
                      l("handshake", hc, 2, "handshakes"))
    l1_h, l1_h_cpu = (l("handshake", hc, 1, "handshakes"),
                      l("handshake", hc, 1, "handshakes_per_server_cpu"))
    print(f"Full handshakes (X25519, ECDSA P-256, TLS_AES_128_GCM_SHA256), {hc} in flight\n")
    print("| what | handshakes/s wall | per server CPU-s | / asym bound | / OpenSSL peer |")
    print("|---|---:|---:|---:|---:|")
    print(f"| bound: server keygen + derive + sign (baseline) | - | {fmt(bound)} | 1 | - |")
    print(f"| OpenSSL peer | {fmt(peer_h)} | {fmt(peer_h_cpu)} | "
          f"{fmt(ratio(peer_h_cpu, bound))} | 1 |")
    print(f"| l45 proxy, 2 lcores | {fmt(l2_h)} | {fmt(l2_h_cpu)} | "
          f"{fmt(ratio(l2_h_cpu, bound))} | {fmt(ratio(l2_h_cpu, peer_h_cpu))} |")
    print(f"| l45 proxy and load generator on 1 lcore | {fmt(l1_h)} | {fmt(l1_h_cpu)} | "
          f"{fmt(ratio(l1_h_cpu, bound))} | {fmt(ratio(l1_h_cpu, peer_h_cpu))} |")
    print("\nTargets: l45 >= 0.9 x the asymmetric bound, >= 2 x the OpenSSL peer.\n")
    with (d / "handshake.dat").open("w") as f:
        for label, v in [("asym bound", bound), ("OpenSSL peer", peer_h_cpu),
                         ("l45 proxy 2 lcores", l2_h_cpu), ("l45 1 lcore", l1_h_cpu)]:
            f.write(f'"{label}" {v if v else 0}\n')

    # ---- rr ----
    conns = sorted({int(k[2]) for k in peer if k[1] == "rr" and k[0] == "peer"}
                   | {int(k[1]) for k in l45 if k[0] == "rr"})
    print("64-byte request/response (latency in microseconds; rate in requests/s)\n")
    print("| connections | OpenSSL p50 | p99 | req/s | l45 2 lcores p50 | p99 | req/s "
          "| l45 1 lcore p50 | p99 | req/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with (d / "rr.dat").open("w") as f:
        for c in conns:
            row = [p("rr", c, "p50"), p("rr", c, "p99"), p("rr", c, "requests"),
                   l("rr", c, 2, "p50"), l("rr", c, 2, "p99"), l("rr", c, 2, "requests"),
                   l("rr", c, 1, "p50"), l("rr", c, 1, "p99"), l("rr", c, 1, "requests")]
            print(f"| {c} | " + " | ".join(fmt(v, 1) for v in row) + " |")
            f.write(f"{c} " + " ".join(str(v if v else "NaN") for v in row) + "\n")


if __name__ == "__main__":
    main()
