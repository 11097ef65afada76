// libFuzzer target: EncryptedExtensions, and (first byte odd) one typed
// extension body chosen by the second byte, each round-tripped.
#include "tests/tls_msg/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace l45::tls;
    if (size < 2) return 0;
    const l45::ByteSpan rest(data + 2, size - 2);
    if (data[0] & 1) {
        msg::fuzz::roundtrip_extension(data[1], rest);
    } else {
        msg::fuzz::roundtrip_message(HandshakeType::encrypted_extensions, rest);
    }
    return 0;
}
