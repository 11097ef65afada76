// The TCP side of l45-echo: echo (RFC 862) on port 7, discard (RFC 863) on
// port 9, and a client that streams a seeded byte pattern to a server and
// hashes both what it sent and what came back, so a test can compare the
// SHA-256 of each direction with what the peer saw.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/base/result.h"
#include "stack/tcp/stack.h"

namespace l45::apps {

inline constexpr std::uint16_t kEchoPort = 7;
inline constexpr std::uint16_t kDiscardPort = 9;

struct ClientPlan {
    net::Ipv4Addr dst;
    std::uint16_t port = 0;
    std::uint64_t send_len = 0;  // bytes of pattern to send, then FIN
    std::uint64_t seed = 1;      // the pattern: SeededRandom(seed) bytes
};

struct ClientReport {
    bool done = false;
    bool connected = false;
    tcp::CloseReason reason = tcp::CloseReason::kNormal;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::string sent_sha256;
    std::string received_sha256;
    Duration elapsed{};  // connect to close
};

// Incremental SHA-256 (OpenSSL EVP) printed as hex.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(ByteSpan data);
    [[nodiscard]] std::string hex_digest();

  private:
    EVP_MD_CTX* ctx_;
};

class TcpServices final : public tcp::TcpHandler {
  public:
    explicit TcpServices(std::uint32_t max_connections);
    ~TcpServices() override;

    // The stack calls back into this handler; attach once it exists.
    void attach(tcp::TcpStack& stack) { stack_ = &stack; }
    [[nodiscard]] Result<void, std::string> listen_echo_and_discard();
    [[nodiscard]] Result<void, std::string> start_client(Instant now, const ClientPlan& plan);

    [[nodiscard]] const ClientReport& client() const { return report_; }
    [[nodiscard]] std::uint64_t echoed_bytes() const { return echoed_; }
    [[nodiscard]] std::uint64_t discarded_bytes() const { return discarded_; }
    [[nodiscard]] std::uint64_t connections_closed() const { return closed_; }

    // Set by the loop before it runs the stack, for the client's timing.
    void set_now(Instant now) { now_ = now; }

    void on_accept(tcp::ConnId id, std::uint16_t listen_port) override;
    void on_connected(tcp::ConnId id) override;
    void on_readable(tcp::ConnId id) override;
    void on_writable(tcp::ConnId id) override;
    void on_closed(tcp::ConnId id, tcp::CloseReason reason) override;

  private:
    enum class Role : std::uint8_t { none, echo, discard, client };

    void serve_echo(tcp::ConnId id);
    void serve_discard(tcp::ConnId id);
    void client_send(tcp::ConnId id);
    void client_receive(tcp::ConnId id);
    [[nodiscard]] Role& role(tcp::ConnId id) { return roles_[id.index]; }

    tcp::TcpStack* stack_ = nullptr;
    std::vector<Role> roles_;  // by ConnId::index, sized at start-up
    std::uint64_t echoed_ = 0;
    std::uint64_t discarded_ = 0;
    std::uint64_t closed_ = 0;
    Instant now_{};

    // The client (at most one).
    ClientPlan plan_{};
    ClientReport report_{};
    tcp::ConnId client_id_{};
    std::unique_ptr<SeededRandom> pattern_;
    std::vector<std::uint8_t> chunk_;  // pattern bytes generated, not yet all sent
    std::size_t chunk_off_ = 0;
    bool fin_sent_ = false;
    Instant started_{};
    Sha256 sent_hash_;
    Sha256 received_hash_;
};

}  // namespace l45::apps
