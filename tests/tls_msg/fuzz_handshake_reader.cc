// libFuzzer target: the handshake deframer. The input (after two control
// bytes) is fed in chunks whose sizes derive from the control bytes; the
// messages must equal those of one whole feed, and each is round-tripped
// through its parser.
#include <algorithm>
#include <vector>

#include "tests/tls_msg/fuzz_common.h"
#include "tls/msg/handshake_reader.h"

namespace {

using namespace l45::tls;
using l45::ByteSpan;

struct Out {
    std::vector<std::vector<std::uint8_t>> msgs;
    bool failed = false;
    Alert alert = Alert::close_notify;
};

Out run(ByteSpan in, std::size_t chunk_seed, bool roundtrip) {
    msg::HandshakeReader reader(
        msg::HandshakeReaderLimits{.max_message_len = 4096, .max_small_message_len = 1024});
    Out out;
    std::size_t pos = 0;
    std::size_t k = chunk_seed;
    while (pos < in.size()) {
        std::size_t n = chunk_seed == 0 ? in.size() : 1 + (k % 97);
        k = k * 31 + 7;
        n = std::min({n, in.size() - pos, l45::tls::kMaxPlaintext});
        auto st = reader.feed(in.subspan(pos, n));
        pos += n;
        if (!st) {
            out.failed = true;
            out.alert = st.error().alert;
            return out;
        }
        for (;;) {
            auto m = reader.next();
            if (!m) {
                out.failed = true;
                out.alert = m.error().alert;
                return out;
            }
            if (!m->has_value()) break;
            const msg::HandshakeMessage& hm = **m;
            msg::fuzz::check(hm.full.size() == hm.body.size() + 4);
            msg::fuzz::check(hm.body.size() <= reader.limit_for(hm.type));
            out.msgs.emplace_back(hm.full.begin(), hm.full.end());
            if (roundtrip) msg::fuzz::roundtrip_message(hm.type, hm.body);
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const ByteSpan in(data + 2, size - 2);
    const Out whole = run(in, 0, true);
    const Out chunked = run(in, 1 + data[0] + 256u * data[1], false);
    // Same messages; an oversize header fails the same way. (Whole feeding
    // may fail with record_overflow/unexpected_message on inputs larger than
    // a record where chunked feeding does not, so compare only then.)
    if (!whole.failed) {
        msg::fuzz::check(whole.msgs == chunked.msgs);
        msg::fuzz::check(!chunked.failed);
    } else if (whole.alert == Alert::illegal_parameter) {
        msg::fuzz::check(chunked.failed && chunked.alert == Alert::illegal_parameter);
        msg::fuzz::check(whole.msgs == chunked.msgs);
    }
    return 0;
}
