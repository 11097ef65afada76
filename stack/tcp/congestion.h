// Congestion control behind a small interface.
//
// Read first: RFC 5681 §3.1 (slow start and congestion avoidance), §3.2 (fast
// retransmit/fast recovery), RFC 6582 (NewReno: partial acks), RFC 6928
// (initial window 10), RFC 3465 (appropriate byte counting, L = 2*SMSS),
// RFC 9438 (CUBIC) for the algorithm to add next.
//
// The connection owns loss detection (dup ACK counting, the RFC 6675
// scoreboard, recovery point, RTO), the recovery-time window inflation of
// RFC 6582 (no SACK) and cwnd = ssthresh on RFC 6675 recovery entry; an
// algorithm only decides how cwnd grows on new ACKs and what ssthresh
// becomes on a loss.
#pragma once

#include <cstdint>

#include "stack/base/clock.h"

namespace l45::tcp {

struct CcState {
    std::uint32_t cwnd = 0;
    std::uint32_t ssthresh = 0xffffffffu;  // "arbitrarily high" (RFC 5681 §3.1)
    std::uint32_t mss = 536;
};

class CongestionControl {
  public:
    virtual ~CongestionControl() = default;
    // New data was acknowledged outside recovery.
    virtual void on_ack(CcState& s, Instant now, std::uint32_t acked_len, Duration srtt) = 0;
    // Entering fast recovery: set ssthresh (the connection then sets cwnd
    // to ssthresh, RFC 6675 §5 step 4.2, or inflates it, RFC 6582).
    virtual void on_loss(CcState& s, Instant now, std::uint32_t flight_len) = 0;
    // The retransmission timer fired (RFC 5681 §3.1 eq. 4; cwnd = 1 SMSS).
    virtual void on_rto(CcState& s, Instant now, std::uint32_t flight_len) = 0;
    // Full acknowledgement ended recovery.
    virtual void on_recovery_exit(CcState& s, Instant now) = 0;
};

// RFC 5681 + RFC 3465 (L = 2*SMSS in slow start).
class NewReno final : public CongestionControl {
  public:
    void on_ack(CcState& s, Instant now, std::uint32_t acked_len, Duration srtt) override;
    void on_loss(CcState& s, Instant now, std::uint32_t flight_len) override;
    void on_rto(CcState& s, Instant now, std::uint32_t flight_len) override;
    void on_recovery_exit(CcState& s, Instant now) override;

  private:
    std::uint32_t bytes_acked_ = 0;  // RFC 5681 §3.1 byte counting in CA
};

// RFC 9438 CUBIC: cwnd follows W_cubic(t) = C*(t-K)^3 + W_max after a
// loss (§4.2), never below the Reno-friendly estimate W_est (§4.3), with
// multiplicative decrease beta = 0.7 (§4.6) and fast convergence (§4.7).
// Slow start is the standard one (HyStart++, RFC 9406, not done).
class Cubic final : public CongestionControl {
  public:
    static constexpr double kC = 0.4;
    static constexpr double kBeta = 0.7;

    void on_ack(CcState& s, Instant now, std::uint32_t acked_len, Duration srtt) override;
    void on_loss(CcState& s, Instant now, std::uint32_t flight_len) override;
    void on_rto(CcState& s, Instant now, std::uint32_t flight_len) override;
    void on_recovery_exit(CcState& s, Instant now) override;

    [[nodiscard]] double w_max_segments() const { return w_max_; }
    [[nodiscard]] double k_seconds() const { return k_; }

  private:
    void reduce(CcState& s);

    bool in_epoch_ = false;
    Instant epoch_start_{};
    double w_max_ = 0;       // segments
    double w_last_max_ = 0;  // for fast convergence
    double k_ = 0;           // seconds
    double w_est_ = 0;       // segments, Reno-friendly estimate
    double cwnd_frac_ = 0;   // sub-segment growth carried between ACKs
};

// RFC 5681 §3.1 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS).
[[nodiscard]] inline std::uint32_t half_flight(std::uint32_t flight_len, std::uint32_t mss) {
    const std::uint32_t half = flight_len / 2;
    return half > 2 * mss ? half : 2 * mss;
}

}  // namespace l45::tcp
