# Plots of one scripts/bench run: gnuplot -e "dir='DIR'; img='docs/img'" scripts/bench.gp
# (DIR holds bulk.dat, handshake.dat, rr.dat from scripts/bench_summary.py).
set terminal pngcairo size 900,480 font ",10"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set key off
set xtics rotate by -20 left

set output img.'/tls-bench-bulk.png'
set title "TLS bulk, 16 KiB records, AES-128-GCM: Gbit per server CPU-second (log scale)"
set logscale y
set ylabel "Gbit / CPU-s"
set key top right
set style histogram clustered gap 1
plot dir.'/bulk.dat' using 2:xtic(1) title "per CPU-s" lc rgb "#4477aa", \
     '' using 3 title "per busy CPU-s" lc rgb "#ccbb44", \
     '' using ($0-0.17):($2*1.15):(sprintf("%.3g", $2)) with labels font ",8" notitle, \
     '' using ($0+0.17):($3*1.15):(sprintf("%.3g", $3)) with labels font ",8" notitle

set output img.'/tls-bench-handshake.png'
set title "Full TLS 1.3 handshakes (X25519, ECDSA P-256) per server CPU-second"
unset logscale y
set ylabel "handshakes / CPU-s"
set yrange [0:*]
plot dir.'/handshake.dat' using 2:xtic(1) title "per CPU-s" lc rgb "#228833", \
     '' using 3 title "per busy CPU-s" lc rgb "#ccbb44", \
     '' using ($0-0.17):($2*1.03):(sprintf("%.0f", $2)) with labels notitle, \
     '' using ($0+0.17):($3*1.03):(sprintf("%.0f", $3)) with labels notitle

set output img.'/tls-bench-rr.png'
set style histogram
set title "64-byte request/response over TLS: latency vs connections in flight (log scale)"
set style data linespoints
unset xtics
set xtics nomirror
set logscale x 2
set logscale y
set yrange [*:*]
set xlabel "connections"
set ylabel "microseconds"
set key top left
plot dir.'/rr.dat' using 1:2 title "OpenSSL peer p50" lc rgb "#cc6677" pt 7, \
     '' using 1:3 title "OpenSSL peer p99" lc rgb "#cc6677" pt 5 dt 2, \
     '' using 1:5 title "l45 2 lcores p50" lc rgb "#4477aa" pt 7, \
     '' using 1:6 title "l45 2 lcores p99" lc rgb "#4477aa" pt 5 dt 2, \
     '' using 1:8 title "l45 1 lcore p50" lc rgb "#228833" pt 7, \
     '' using 1:9 title "l45 1 lcore p99" lc rgb "#228833" pt 5 dt 2
