// libFuzzer target: client_hello parse -> serialise -> parse round trip.
#include "tests/tls_msg/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace l45::tls;
    msg::fuzz::roundtrip_message(HandshakeType::client_hello, l45::ByteSpan(data, size));
    return 0;
}
