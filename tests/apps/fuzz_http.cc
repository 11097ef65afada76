// libFuzzer target: arbitrary bytes as what a client sends l45-echo's HTTP
// server and as what a server answers its GET client. The first byte picks
// the piece size the input is fed in, so heads split at every position are
// covered; responses are drained with sends of that size.
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true -Db_lundef=false
//   ninja -C build-fuzz tests/apps/fuzz_http && build-fuzz/tests/apps/fuzz_http
#include <cstddef>
#include <cstdint>
#include <string>

#include "apps/l45-echo/http_sessions.h"

namespace {

class NullSink final : public l45::apps::BodySink {
  public:
    void body(l45::ByteSpan data) override { total += data.size(); }
    std::uint64_t total = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = 1 + data[0] % 64;
    const l45::ByteSpan in(data + 1, size - 1);

    static l45::apps::HttpServerSession server(1, 256);
    server.reset();
    std::size_t off = 0;
    for (int guard = 0; off < in.size() && guard < 100000; ++guard) {
        const auto chunk = in.subspan(off, std::min(piece, in.size() - off));
        off += server.on_input(chunk);
        // Bounded drain: /bytes/N may ask for a lot; take at most 64 KiB.
        std::size_t drained = 0;
        for (auto out = server.pending_output(); !out.empty() && drained < 65536;
             out = server.pending_output()) {
            const std::size_t n = std::min(piece, out.size());
            server.output_sent(n);
            drained += n;
        }
        if (server.should_close() || server.responding()) break;
    }

    l45::apps::HttpGetClient client("h", "/");
    NullSink sink;
    for (off = 0; off < in.size();) {
        auto r = client.on_input(in.subspan(off, std::min(piece, in.size() - off)), sink);
        if (!r) break;
        if (*r == 0) break;
        off += *r;
    }
    (void)client.on_peer_closed();
    return 0;
}
