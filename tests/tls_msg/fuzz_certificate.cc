// libFuzzer target: Certificate (first byte even) or CertificateRequest.
#include "tests/tls_msg/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace l45::tls;
    if (size < 1) return 0;
    const l45::ByteSpan rest(data + 1, size - 1);
    msg::fuzz::roundtrip_message(
        (data[0] & 1) ? HandshakeType::certificate_request : HandshakeType::certificate, rest);
    return 0;
}
