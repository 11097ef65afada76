#include <cstdint>

#include "apps/l45-bench/load_generator.h"

namespace l45::loadgen {

TcpDemux::TcpDemux(std::uint32_t max_tcp_connections, tcp::TcpHandler& default_handler)
    : default_(default_handler), owners_(max_tcp_connections) {}

void TcpDemux::route_port(std::uint16_t port, tcp::TcpHandler& handler) {
    for (Route& r : ports_) {
        if (r.port == port) {
            r.handler = &handler;
            return;
        }
    }
    ports_.push_back(Route{port, &handler});
}

void TcpDemux::claim(tcp::ConnId id, tcp::TcpHandler& handler) {
    if (id.index < owners_.size()) owners_[id.index] = Owner{id.generation, &handler};
}

tcp::TcpHandler& TcpDemux::owner(tcp::ConnId id) const {
    if (id.index < owners_.size()) {
        const Owner& o = owners_[id.index];
        if (o.handler != nullptr && o.generation == id.generation) return *o.handler;
    }
    return default_;
}

void TcpDemux::on_accept(tcp::ConnId id, std::uint16_t listen_port) {
    tcp::TcpHandler* handler = &default_;
    for (const Route& r : ports_)
        if (r.port == listen_port) handler = r.handler;
    claim(id, *handler);
    handler->on_accept(id, listen_port);
}

void TcpDemux::on_connected(tcp::ConnId id) {
    owner(id).on_connected(id);
}

void TcpDemux::on_readable(tcp::ConnId id) {
    owner(id).on_readable(id);
}

void TcpDemux::on_writable(tcp::ConnId id) {
    owner(id).on_writable(id);
}

void TcpDemux::on_closed(tcp::ConnId id, tcp::CloseReason reason) {
    tcp::TcpHandler& handler = owner(id);
    if (id.index < owners_.size()) owners_[id.index] = Owner{};
    handler.on_closed(id, reason);
}

}  // namespace l45::loadgen
