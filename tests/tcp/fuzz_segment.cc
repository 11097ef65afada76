// libFuzzer target: arbitrary bytes as TCP segments, fed to a listening
// TcpStack and to an ESTABLISHED connection.
//
// Build: CXX=clang++ meson setup build-tcp-fuzz -Dfuzz=true -Db_lundef=false
//        ninja -C build-tcp-fuzz tests/tcp/fuzz_segment
//        ./build-tcp-fuzz/tests/tcp/fuzz_segment -max_total_time=60
// Input: byte 0 picks the target and whether checksums/ports are fixed up
// (so that segments get past the checksum to the state machine); the rest is
// a sequence of [u16 length][segment bytes] records, each delivered 1 ms
// after the previous. test_fuzz_smoke.cc runs this same body under gtest.
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "stack/base/bytes.h"
#include "stack/base/random.h"
#include "stack/tcp/connection.h"
#include "stack/tcp/stack.h"

namespace l45::tcp::fuzz {

inline rte_mempool* g_fuzz_pool = nullptr;

class DropSink final : public SegmentSink {
  public:
    void send_segment(Instant, net::Ipv4Addr, net::Ipv4Addr, MbufPtr m) override {
        // Parse what we send: emitted segments must always be well formed.
        auto r = TcpRepr::parse_header(first_segment(m.get()), m->pkt_len);
        if (!r) __builtin_trap();
        ++count;
    }
    std::uint64_t count = 0;
};

inline const net::Ipv4Addr kA = net::Ipv4Addr::from_octets(198, 18, 0, 1);
inline const net::Ipv4Addr kB = net::Ipv4Addr::from_octets(198, 18, 0, 2);

inline MbufPtr make_mbuf(ByteSpan bytes, bool fix_checksum, bool fix_ports, std::uint16_t sport,
                         std::uint16_t dport) {
    MbufPtr m(rte_pktmbuf_alloc(g_fuzz_pool));
    if (!m || bytes.size() > rte_pktmbuf_tailroom(m.get())) return MbufPtr();
    auto* p = reinterpret_cast<std::uint8_t*>(
        rte_pktmbuf_append(m.get(), static_cast<std::uint16_t>(bytes.size())));
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    if (fix_ports && bytes.size() >= 4) {
        store_be16(p, sport);
        store_be16(p + 2, dport);
    }
    if (fix_checksum && bytes.size() >= kTcpMinHeaderLen) {
        store_be16(p + kTcpChecksumOffset, 0);
        store_be16(p + kTcpChecksumOffset, tcp_checksum(kA, kB, m.get()));
    }
    return m;
}

class NullHandler final : public TcpHandler {
  public:
    TcpStack* stack = nullptr;
    void on_readable(ConnId id) override {
        std::uint8_t buf[512];
        while (stack->recv(id, buf) > 0) {
        }
    }
    void on_accept(ConnId id, std::uint16_t) override {
        static const std::uint8_t hello[100] = {};
        (void)stack->send(id, hello);
    }
};

inline int run_one(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || g_fuzz_pool == nullptr) return 0;
    const std::uint8_t mode = data[0];
    const bool to_connection = mode & 1;
    const bool fix_checksum = mode & 2;
    const bool fix_ports = mode & 4;
    Reader in(ByteSpan(data + 1, size - 1));
    Instant now = Instant{} + std::chrono::seconds(1000);
    DropSink sink;
    TcpCounters counters;
    ChallengeAckLimiter limiter;
    SeededRandom random(mode);

    if (to_connection) {
        TcpConfig cfg;
        cfg.rx_queue_slots = 64;
        cfg.tx_queue_slots = 64;
        IsnGenerator isn(random);
        TcpEnv env{&cfg, &sink, g_fuzz_pool, &isn, &counters, &limiter};
        auto conn = std::make_unique<Connection>(env);
        conn->set_iss_for_test(1000);
        conn->listen(Endpoint{kB, 80});
        auto feed = [&](ByteSpan bytes, bool fix_sum, bool ports) {
            MbufPtr m = make_mbuf(bytes, fix_sum, ports, 1234, 80);
            if (!m) return;
            auto r = TcpRepr::parse_header(first_segment(m.get()), m->pkt_len);
            if (!r) return;
            if (!tcp_checksum_ok(kA, kB, m.get())) return;
            const auto off = static_cast<std::uint32_t>(r->header_len());
            conn->on_segment(now, kA, kB, *r, std::move(m), off);
        };
        // Handshake: SYN (with every option), then the ACK.
        {
            TcpRepr syn;
            syn.src_port = 1234;
            syn.dst_port = 80;
            syn.flags = flags::kSyn;
            syn.seq = SeqNum(5000);
            syn.window = 65535;
            syn.options.mss = 1460;
            syn.options.window_scale = 7;
            syn.options.sack_permitted = true;
            syn.options.timestamps = Timestamps{100, 0};
            std::uint8_t buf[60];
            Writer w(buf);
            if (!syn.emit(w)) __builtin_trap();
            feed(w.result(), true, false);
            TcpRepr ack;
            ack.src_port = 1234;
            ack.dst_port = 80;
            ack.flags = flags::kAck;
            ack.seq = SeqNum(5001);
            ack.ack = SeqNum(1001);
            ack.window = 1000;
            ack.options.timestamps = Timestamps{101, 0};
            Writer w2(buf);
            if (!ack.emit(w2)) __builtin_trap();
            feed(w2.result(), true, false);
        }
        static const std::uint8_t payload[3000] = {};
        (void)conn->send(payload);
        std::uint16_t len = 0;
        while (in.u16(len)) {
            ByteSpan bytes;
            if (!in.bytes(len, bytes)) bytes = in.rest(), (void)in.skip(in.remaining());
            feed(bytes, fix_checksum, fix_ports);
            now += std::chrono::milliseconds(1 + (len & 0x3ff));
            conn->poll(now);
            std::uint8_t buf[256];
            (void)conn->recv(buf);
        }
        return 0;
    }

    TcpStackConfig cfg;
    cfg.local_addr = kB;
    cfg.max_connections = 4;
    cfg.max_listeners = 2;
    cfg.tcp.rx_queue_slots = 32;
    cfg.tcp.tx_queue_slots = 32;
    NullHandler handler;
    TcpStack stack(cfg, sink, g_fuzz_pool, random, handler);
    handler.stack = &stack;
    if (!stack.listen(80, 2)) return 0;
    std::uint16_t len = 0;
    std::uint16_t sport = 1000;
    while (in.u16(len)) {
        ByteSpan bytes;
        if (!in.bytes(len, bytes)) bytes = in.rest(), (void)in.skip(in.remaining());
        MbufPtr m = make_mbuf(bytes, fix_checksum, fix_ports, sport, 80);
        if (len & 0x8000) ++sport;
        if (m) stack.on_segment(now, kA, kB, std::move(m));
        now += std::chrono::milliseconds(1 + (len & 0x7ff));
        stack.poll(now);
    }
    return 0;
}

}  // namespace l45::tcp::fuzz

#ifndef L45_FUZZ_SMOKE
#include <string>
#include <vector>

#include "drivers/eal.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const std::vector<std::string> args = {"fuzz_segment", "--no-pci", "--log-level=*:error"};
    auto r = l45::drivers::eal_init(args);
    if (!r) __builtin_trap();
    l45::tcp::fuzz::g_fuzz_pool =
        rte_pktmbuf_pool_create("fuzz_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (l45::tcp::fuzz::g_fuzz_pool == nullptr) __builtin_trap();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int rc = l45::tcp::fuzz::run_one(data, size);
    // Every mbuf must be back in the pool: no leak on any input.
    if (rte_mempool_in_use_count(l45::tcp::fuzz::g_fuzz_pool) != 0) __builtin_trap();
    return rc;
}
#endif
