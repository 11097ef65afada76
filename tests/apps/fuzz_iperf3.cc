// libFuzzer target: arbitrary bytes as an iperf3 client's control input to
// l45-echo's server session, and as a server's to its client session (after
// a cookie and parameters that pass, so the later phases are reached too).
// The first byte picks the piece size.
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_lundef=false
//   ninja -C build-fuzz tests/apps/fuzz_iperf3 && build-fuzz/tests/apps/fuzz_iperf3
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "apps/l45-echo/iperf3.h"

namespace {

template <class Session>
void feed(Session& s, l45::ByteSpan in, std::size_t piece) {
    for (std::size_t off = 0; off < in.size();) {
        const std::size_t n = s.on_input(in.subspan(off, std::min(piece, in.size() - off)));
        s.output_sent(s.pending_output().size());
        if (n == 0) {
            // Only kEndRequested stops taking input: let the data side end.
            if constexpr (std::is_same_v<Session, l45::apps::iperf3::ServerControl>)
                s.end_test({1, 0.1, false});
            else
                return;
        }
        off += n;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace l45::apps::iperf3;
    if (size == 0) return 0;
    const std::size_t piece = 1 + data[0] % 64;
    const l45::ByteSpan in(data + 1, size - 1);

    ServerControl server;
    feed(server, in, piece);
    // The same bytes once the stream is up: TEST_END and the results.
    ServerControl running;
    const std::string cookie(kCookieLen, 'c');
    std::string params = R"({"tcp":true,"num":1})";
    std::string framed(4, '\0');
    l45::store_be32(reinterpret_cast<std::uint8_t*>(framed.data()),
                    static_cast<std::uint32_t>(params.size()));
    framed += params;
    (void)running.on_input({reinterpret_cast<const std::uint8_t*>(cookie.data()), cookie.size()});
    (void)running.on_input({reinterpret_cast<const std::uint8_t*>(framed.data()), framed.size()});
    running.stream_connected();
    feed(running, in, piece);

    l45::SeededRandom rng(1);
    TestParams p;
    p.bytes = 1;
    ClientControl client(make_cookie(rng), p);
    feed(client, in, piece);
    return 0;
}
