// libFuzzer: a client (after its ClientHello) fed an arbitrary server flight.
#include <cstddef>
#include <cstdint>

#include "tests/tls_handshake/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    l45::tls::fuzz::run(l45::tls::Role::client, data, size);
    return 0;
}
