#include "apps/l45-echo/tcp_services.h"

#include <algorithm>
#include <array>

namespace l45::apps {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
}
Sha256::~Sha256() {
    EVP_MD_CTX_free(ctx_);
}
void Sha256::update(ByteSpan data) {
    if (!data.empty()) EVP_DigestUpdate(ctx_, data.data(), data.size());
}
std::string Sha256::hex_digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md.data(), &len);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 0xf];
    }
    return out;
}

TcpServices::TcpServices(std::uint32_t max_connections)
    : roles_(max_connections, Role::none), chunk_(64 * 1024) {}

TcpServices::~TcpServices() = default;

Result<void, std::string> TcpServices::listen_echo_and_discard() {
    for (std::uint16_t port : {kEchoPort, kDiscardPort}) {
        if (auto r = stack_->listen(port, 128); !r)
            return unexpected("listen " + std::to_string(port) + ": " + tcp::to_string(r.error()));
    }
    return {};
}

Result<void, std::string> TcpServices::start_client(Instant now, const ClientPlan& plan) {
    plan_ = plan;
    pattern_ = std::make_unique<SeededRandom>(plan.seed);
    chunk_off_ = chunk_.size();  // nothing generated yet
    auto id = stack_->connect(now, plan.dst, plan.port);
    if (!id) return unexpected(std::string("connect: ") + tcp::to_string(id.error()));
    client_id_ = *id;
    role(client_id_) = Role::client;
    started_ = now;
    return {};
}

void TcpServices::on_accept(tcp::ConnId id, std::uint16_t listen_port) {
    role(id) = listen_port == kEchoPort ? Role::echo : Role::discard;
}

void TcpServices::on_connected(tcp::ConnId id) {
    report_.connected = true;
    client_send(id);
}

void TcpServices::on_readable(tcp::ConnId id) {
    switch (role(id)) {
        case Role::echo:
            return serve_echo(id);
        case Role::discard:
            return serve_discard(id);
        case Role::client:
            return client_receive(id);
        case Role::none:
            return;
    }
}

void TcpServices::on_writable(tcp::ConnId id) {
    switch (role(id)) {
        case Role::echo:
            return serve_echo(id);  // the backlog of received bytes
        case Role::client:
            return client_send(id);
        case Role::discard:
        case Role::none:
            return;
    }
}

void TcpServices::on_closed(tcp::ConnId id, tcp::CloseReason reason) {
    ++closed_;
    if (role(id) == Role::client && id == client_id_) {
        report_.done = true;
        report_.reason = reason;
        report_.elapsed = now_ - started_;
        report_.sent_sha256 = sent_hash_.hex_digest();
        report_.received_sha256 = received_hash_.hex_digest();
    }
    role(id) = Role::none;
}

// RFC 862: whatever arrives goes back. Received bytes stay in the receive
// queue until the send buffer takes them, so a slow reader slows the writer
// through the advertised window rather than through a buffer of ours.
void TcpServices::serve_echo(tcp::ConnId id) {
    for (;;) {
        const ByteSpan data = stack_->peek(id);
        if (data.empty()) break;
        const std::uint32_t n = stack_->send(id, data);
        stack_->consume(id, n);
        echoed_ += n;
        if (n < data.size()) return;  // on_writable resumes
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished()) stack_->close(id);
}

// RFC 863: read and throw away.
void TcpServices::serve_discard(tcp::ConnId id) {
    for (ByteSpan data = stack_->peek(id); !data.empty(); data = stack_->peek(id)) {
        discarded_ += data.size();
        stack_->consume(id, static_cast<std::uint32_t>(data.size()));
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished()) stack_->close(id);
}

void TcpServices::client_send(tcp::ConnId id) {
    while (report_.sent < plan_.send_len) {
        if (chunk_off_ == chunk_.size()) {
            pattern_->fill(chunk_);
            chunk_off_ = 0;
        }
        const std::size_t want = static_cast<std::size_t>(
            std::min<std::uint64_t>(chunk_.size() - chunk_off_, plan_.send_len - report_.sent));
        const ByteSpan piece(chunk_.data() + chunk_off_, want);
        const std::uint32_t n = stack_->send(id, piece);
        sent_hash_.update(piece.first(n));
        report_.sent += n;
        chunk_off_ += n;
        if (n < want) return;  // send buffer full: on_writable resumes
    }
    if (!fin_sent_) {
        fin_sent_ = true;
        stack_->shutdown(id);  // half-close: the peer still sends its part
    }
}

void TcpServices::client_receive(tcp::ConnId id) {
    for (ByteSpan data = stack_->peek(id); !data.empty(); data = stack_->peek(id)) {
        received_hash_.update(data);
        report_.received += data.size();
        stack_->consume(id, static_cast<std::uint32_t>(data.size()));
    }
    const tcp::Connection* c = stack_->find(id);
    if (c != nullptr && c->recv_finished() && fin_sent_) stack_->close(id);
}

}  // namespace l45::apps
