#include "apps/l45-tls/names.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace l45::apps::tls_cli {
namespace {

using tls::CipherSuite;
using tls::NamedGroup;
using tls::SignatureScheme;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

constexpr std::array<std::pair<std::string_view, CipherSuite>, 3> kSuites = {{
    {"TLS_AES_128_GCM_SHA256", CipherSuite::aes_128_gcm_sha256},
    {"TLS_AES_256_GCM_SHA384", CipherSuite::aes_256_gcm_sha384},
    {"TLS_CHACHA20_POLY1305_SHA256", CipherSuite::chacha20_poly1305_sha256},
}};

// The first name of each group is the one printed.
constexpr std::array<std::pair<std::string_view, NamedGroup>, 9> kGroups = {{
    {"x25519", NamedGroup::x25519},
    {"P-256", NamedGroup::secp256r1},
    {"secp256r1", NamedGroup::secp256r1},
    {"prime256v1", NamedGroup::secp256r1},
    {"P-384", NamedGroup::secp384r1},
    {"secp384r1", NamedGroup::secp384r1},
    {"P-521", NamedGroup::secp521r1},
    {"secp521r1", NamedGroup::secp521r1},
    {"x448", NamedGroup::x448},
}};

}  // namespace

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = text.find_first_of(",:", start);
        const auto item =
            text.substr(start, end == std::string_view::npos ? text.npos : end - start);
        if (!item.empty()) out.emplace_back(item);
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return out;
}

std::optional<CipherSuite> parse_suite(std::string_view name) {
    for (const auto& [text, suite] : kSuites)
        if (iequals(text, name)) return suite;
    return std::nullopt;
}

std::optional<NamedGroup> parse_group(std::string_view name) {
    for (const auto& [text, group] : kGroups)
        if (iequals(text, name)) return group;
    return std::nullopt;
}

std::string_view suite_name(CipherSuite suite) {
    for (const auto& [text, s] : kSuites)
        if (s == suite) return text;
    return "unknown";
}

std::string_view group_name(NamedGroup group) {
    for (const auto& [text, g] : kGroups)
        if (g == group) return text;
    return "unknown";
}

std::string_view scheme_name(SignatureScheme scheme) {
    switch (scheme) {
        case SignatureScheme::rsa_pkcs1_sha256:
            return "rsa_pkcs1_sha256";
        case SignatureScheme::rsa_pkcs1_sha384:
            return "rsa_pkcs1_sha384";
        case SignatureScheme::rsa_pkcs1_sha512:
            return "rsa_pkcs1_sha512";
        case SignatureScheme::ecdsa_secp256r1_sha256:
            return "ecdsa_secp256r1_sha256";
        case SignatureScheme::ecdsa_secp384r1_sha384:
            return "ecdsa_secp384r1_sha384";
        case SignatureScheme::ecdsa_secp521r1_sha512:
            return "ecdsa_secp521r1_sha512";
        case SignatureScheme::rsa_pss_rsae_sha256:
            return "rsa_pss_rsae_sha256";
        case SignatureScheme::rsa_pss_rsae_sha384:
            return "rsa_pss_rsae_sha384";
        case SignatureScheme::rsa_pss_rsae_sha512:
            return "rsa_pss_rsae_sha512";
        case SignatureScheme::ed25519:
            return "ed25519";
        case SignatureScheme::ed448:
            return "ed448";
        case SignatureScheme::rsa_pss_pss_sha256:
            return "rsa_pss_pss_sha256";
        case SignatureScheme::rsa_pss_pss_sha384:
            return "rsa_pss_pss_sha384";
        case SignatureScheme::rsa_pss_pss_sha512:
            return "rsa_pss_pss_sha512";
    }
    return "unknown";
}

}  // namespace l45::apps::tls_cli
