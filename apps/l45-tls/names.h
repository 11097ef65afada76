// Names of TLS code points on the l45-tls command line and in its output:
// IANA names for suites ("TLS_AES_128_GCM_SHA256", as OpenSSL and GnuTLS
// print them), the usual aliases for groups ("x25519", "P-256",
// "secp256r1", "prime256v1").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/types.h"

namespace l45::apps::tls_cli {

// Splits "a,b:c" on ',' and ':' (OpenSSL writes lists with ':'), dropping
// empty items.
[[nodiscard]] std::vector<std::string> split_list(std::string_view text);

[[nodiscard]] std::optional<tls::CipherSuite> parse_suite(std::string_view name);
[[nodiscard]] std::optional<tls::NamedGroup> parse_group(std::string_view name);

[[nodiscard]] std::string_view suite_name(tls::CipherSuite suite);
[[nodiscard]] std::string_view group_name(tls::NamedGroup group);
[[nodiscard]] std::string_view scheme_name(tls::SignatureScheme scheme);

}  // namespace l45::apps::tls_cli
