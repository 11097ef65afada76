// libFuzzer: a server fed an arbitrary client flight, split at points the
// input chooses. Must never crash, leak or hang; errors are fine.
#include <cstddef>
#include <cstdint>

#include "tests/tls_handshake/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    l45::tls::fuzz::run(l45::tls::Role::server, data, size);
    return 0;
}
