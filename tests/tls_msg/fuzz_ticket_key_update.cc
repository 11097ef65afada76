// libFuzzer target: NewSessionTicket, KeyUpdate or EndOfEarlyData (first
// byte mod 3).
#include "tests/tls_msg/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace l45::tls;
    if (size < 1) return 0;
    const l45::ByteSpan rest(data + 1, size - 1);
    static constexpr HandshakeType kTypes[] = {HandshakeType::new_session_ticket,
                                               HandshakeType::key_update,
                                               HandshakeType::end_of_early_data};
    msg::fuzz::roundtrip_message(kTypes[data[0] % 3], rest);
    return 0;
}
