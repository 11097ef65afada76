// NewReno window growth. See congestion.h.
#include "stack/tcp/congestion.h"

#include <algorithm>

namespace l45::tcp {

void NewReno::on_ack(CcState& s, Instant, std::uint32_t acked_len, Duration) {
    if (s.cwnd < s.ssthresh) {
        // Slow start: cwnd += min(N, L*SMSS) with L = 2 (RFC 3465 §2.2).
        s.cwnd += std::min(acked_len, 2 * s.mss);
        return;
    }
    // Congestion avoidance: one SMSS per cwnd of acknowledged bytes
    // (RFC 5681 §3.1, the byte-counting variant).
    bytes_acked_ += acked_len;
    if (bytes_acked_ >= s.cwnd) {
        bytes_acked_ -= s.cwnd;
        s.cwnd += s.mss;
    }
}

void NewReno::on_loss(CcState& s, Instant, std::uint32_t flight_len) {
    s.ssthresh = half_flight(flight_len, s.mss);  // RFC 5681 eq. 4
    bytes_acked_ = 0;
}

void NewReno::on_rto(CcState& s, Instant, std::uint32_t flight_len) {
    s.ssthresh = half_flight(flight_len, s.mss);
    s.cwnd = s.mss;  // loss window, RFC 5681 §3.1
    bytes_acked_ = 0;
}

void NewReno::on_recovery_exit(CcState& s, Instant) {
    bytes_acked_ = 0;
    (void)s;
}

}  // namespace l45::tcp
