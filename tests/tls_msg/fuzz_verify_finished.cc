// libFuzzer target: CertificateVerify (first byte even) or Finished with a
// SHA-256 or SHA-384 length.
#include "tests/tls_msg/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace l45::tls;
    if (size < 1) return 0;
    const l45::ByteSpan rest(data + 1, size - 1);
    if ((data[0] & 1) == 0) {
        msg::fuzz::roundtrip_message(HandshakeType::certificate_verify, rest);
    } else {
        msg::fuzz::roundtrip_message(HandshakeType::finished, rest, (data[0] & 2) ? 48 : 32);
    }
    return 0;
}
