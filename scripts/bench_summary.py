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
    # "busy": per busy CPU-second (l45: CPU time x the share of poll
    # iterations that moved a frame; the peer's threads and the in-memory
    # baselines sleep or never wait, so their CPU time is their busy time).
    raw = p("bulk", 0, "ipsec_mb_gcm_seal", "baseline")
    rec = p("bulk", 0, "l45_record_seal", "baseline")
    peer_cpu = p("bulk", 1, "goodput_per_server_cpu")
    peer_wall = p("bulk", 1, "goodput")
    print("Bulk, 16 KiB records, AES-128-GCM (Gbit/s; per CPU-s = per CPU-second of the "
          "server thread / proxy lcore; busy = per busy CPU-second, ratios on busy)\n")
    print("| what | Gbit/s wall | Gbit per server CPU-s | per busy CPU-s | busy share "
          "| / raw IPsec-MB | / OpenSSL peer |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| raw IPsec-MB AES-128-GCM seal, 16 KiB (baseline) | - | {fmt(raw)} | {fmt(raw)} "
          f"| - | 1 | - |")
    print(f"| l45 RecordSealer::seal, 16 KiB, in memory | - | {fmt(rec)} | {fmt(rec)} | - | "
          f"{fmt(ratio(rec, raw))} | - |")
    print(f"| OpenSSL peer: Linux TCP + libssl, server sends | {fmt(peer_wall)} | "
          f"{fmt(peer_cpu)} | {fmt(peer_cpu)} | - | {fmt(ratio(peer_cpu, raw), 3)} | 1 |")
    rows = [("bulk", 2, "l45 proxy, 2 lcores, echo through the proxy"),
            ("download", 2, "l45 proxy, 2 lcores, download (backend -> proxy seals -> client)"),
            ("bulk", 1, "l45 echo, everything on 1 lcore"),
            ("download", 1, "l45 download, everything on 1 lcore")]
    dat = [("raw IPsec-MB GCM", raw, raw), ("l45 record seal", rec, rec),
           ("OpenSSL peer", peer_cpu, peer_cpu)]
    for w, lc, label in rows:
        wall, cpu = l(w, 1, lc, "goodput"), l(w, 1, lc, "goodput_per_server_cpu")
        busy, share = l(w, 1, lc, "goodput_per_server_busy_cpu"), l(w, 1, lc, "server_busy_share")
        if wall is None:
            continue
        print(f"| {label} | {fmt(wall)} | {fmt(cpu)} | {fmt(busy)} | {fmt(share)} | "
              f"{fmt(ratio(busy, raw), 3)} | {fmt(ratio(busy, peer_cpu))} |")
        dat.append((f"l45 {w} {lc} lcore{'s' if lc == 2 else ''}", cpu, busy))
    print("\nTargets: l45 >= 0.5 x raw AES-GCM per core, >= 3 x the OpenSSL peer.\n")
    with (d / "bulk.dat").open("w") as f:
        for label, v, b in dat:
            f.write(f'"{label}" {v if v else 0} {b if b else 0}\n')

    # ---- handshakes ----
    bound = p("handshake", 0, "server_asym_bound", "baseline")
    hconns = sorted({int(k[2]) for k in peer if k[1] == "handshake" and k[0] == "peer"}
                    | {int(k[1]) for k in l45 if k[0] == "handshake"})
    hc = hconns[0] if hconns else 32
    peer_h_cpu, peer_h = p("handshake", hc, "handshakes_per_server_cpu"), p("handshake", hc,
                                                                         "handshakes")
    print(f"Full handshakes (X25519, ECDSA P-256, TLS_AES_128_GCM_SHA256), {hc} in flight "
          "(ratios on busy)\n")
    print("| what | handshakes/s wall | per server CPU-s | per busy CPU-s | busy share "
          "| / asym bound | / OpenSSL peer |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| bound: server keygen + derive + sign (baseline) | - | {fmt(bound)} | {fmt(bound)} "
          f"| - | 1 | - |")
    print(f"| OpenSSL peer | {fmt(peer_h)} | {fmt(peer_h_cpu)} | {fmt(peer_h_cpu)} | - | "
          f"{fmt(ratio(peer_h_cpu, bound))} | 1 |")
    hdat = [("asym bound", bound, bound), ("OpenSSL peer", peer_h_cpu, peer_h_cpu)]
    for lc, label in [(2, "l45 proxy, 2 lcores"), (1, "l45, everything on 1 lcore")]:
        wall = l("handshake", hc, lc, "handshakes")
        cpu = l("handshake", hc, lc, "handshakes_per_server_cpu")
        busy = l("handshake", hc, lc, "handshakes_per_server_busy_cpu")
        share = l("handshake", hc, lc, "server_busy_share")
        print(f"| {label} | {fmt(wall)} | {fmt(cpu)} | {fmt(busy)} | {fmt(share)} | "
              f"{fmt(ratio(busy, bound))} | {fmt(ratio(busy, peer_h_cpu))} |")
        hdat.append((f"l45 {lc} lcore{'s' if lc == 2 else ''}", cpu, busy))
    print("\nTargets: l45 >= 0.9 x the asymmetric bound, >= 2 x the OpenSSL peer.\n")
    with (d / "handshake.dat").open("w") as f:
        for label, v, b in hdat:
            f.write(f'"{label}" {v if v else 0} {b if b else 0}\n')

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
    print("\nrequests per server CPU-s / per busy CPU-s: " + "; ".join(
        f"{c} conn: peer {fmt(p('rr', c, 'requests_per_server_cpu'))}, "
        f"l45 2 lcores {fmt(l('rr', c, 2, 'requests_per_server_cpu'))} / "
        f"{fmt(l('rr', c, 2, 'requests_per_server_busy_cpu'))}, "
        f"1 lcore {fmt(l('rr', c, 1, 'requests_per_server_cpu'))} / "
        f"{fmt(l('rr', c, 1, 'requests_per_server_busy_cpu'))}" for c in conns))


if __name__ == "__main__":
    main()
