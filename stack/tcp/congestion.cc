// NewReno window growth. See congestion.h.
#include "stack/tcp/congestion.h"

#include <algorithm>
#include <cmath>

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

// --- CUBIC (RFC 9438) ---

void Cubic::reduce(CcState& s) {
    const double cwnd_seg = static_cast<double>(s.cwnd) / s.mss;
    // §4.7 fast convergence: release bandwidth when W_max shrinks.
    if (cwnd_seg < w_last_max_)
        w_max_ = cwnd_seg * (1.0 + kBeta) / 2.0;
    else
        w_max_ = cwnd_seg;
    w_last_max_ = cwnd_seg;
    // §4.6: ssthresh = cwnd * beta_cubic (at least 2 segments).
    const auto ss = static_cast<std::uint32_t>(cwnd_seg * kBeta * s.mss);
    s.ssthresh = std::max(ss, 2 * s.mss);
    in_epoch_ = false;
}

void Cubic::on_loss(CcState& s, Instant, std::uint32_t) {
    reduce(s);
}

void Cubic::on_rto(CcState& s, Instant, std::uint32_t) {
    reduce(s);
    s.cwnd = s.mss;  // §4.8: as RFC 5681
}

void Cubic::on_recovery_exit(CcState&, Instant) {
    in_epoch_ = false;
}

void Cubic::on_ack(CcState& s, Instant now, std::uint32_t acked_len, Duration srtt) {
    if (s.cwnd < s.ssthresh) {
        s.cwnd += std::min(acked_len, 2 * s.mss);  // slow start (RFC 5681, 3465)
        return;
    }
    const double mss = s.mss;
    const double cwnd_seg = s.cwnd / mss;
    if (!in_epoch_) {
        // §4.2: a new congestion-avoidance epoch.
        in_epoch_ = true;
        epoch_start_ = now;
        if (w_max_ < cwnd_seg) w_max_ = cwnd_seg;  // no loss yet: start at the plateau
        k_ = std::cbrt(w_max_ * (1.0 - kBeta) / kC);
        w_est_ = cwnd_seg;
    }
    const double t = std::chrono::duration<double>(now - epoch_start_).count();
    const double rtt = std::chrono::duration<double>(srtt).count();
    // §4.2: the target is W_cubic one RTT ahead, clamped to [cwnd, 1.5 cwnd].
    const double dt = t + rtt - k_;
    double target = kC * dt * dt * dt + w_max_;
    target = std::clamp(target, cwnd_seg, 1.5 * cwnd_seg);
    // §4.3: Reno-friendly estimate, alpha = 3 (1-beta)/(1+beta).
    const double alpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);
    w_est_ += alpha * (acked_len / mss) / cwnd_seg;
    double grow_seg;
    if (w_est_ > target)
        grow_seg = (w_est_ - cwnd_seg) * (acked_len / mss) / cwnd_seg;
    else
        grow_seg = (target - cwnd_seg) * (acked_len / mss) / cwnd_seg;  // §4.4/4.5
    cwnd_frac_ += std::max(0.0, grow_seg) * mss;
    if (cwnd_frac_ >= 1.0) {
        const auto add = static_cast<std::uint32_t>(cwnd_frac_);
        s.cwnd += add;
        cwnd_frac_ -= add;
    }
}

}  // namespace l45::tcp
