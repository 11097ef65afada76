// The server's certificates, from the configuration: the [[certificates]]
// files, or (the embedded default, no [[certificates]]) a CA and a server
// certificate generated at first run into tls.generated_dir and reused on
// later runs, so a client that trusted the CA once keeps trusting it.
//
// Start-up code only (files, OpenSSL, allocation).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/l45-offload/config.h"
#include "stack/base/result.h"
#include "tls/pki/certificate.h"

namespace l45::offload {

struct GeneratedPki {
    std::string ca_path;    // dir/ca.pem: give it to clients (curl --cacert)
    std::string cert_path;  // dir/server.pem: leaf, issued by the CA
    std::string key_path;   // dir/server.key: mode 0600
    bool created = false;   // false: the files of an earlier run were reused
};

// Reuses dir/{ca.pem,server.pem,server.key} when they load, the key matches
// the certificate, the certificate is issued by ca.pem and covers every one
// of `names`; otherwise makes a fresh ECDSA P-256 CA and server certificate
// (tls::pki::generate_self_signed) and writes them there (the directory is
// created; the key file is written 0600 and replaced atomically). The CA's
// own key is not kept: nothing else can be issued from it.
[[nodiscard]] Result<GeneratedPki, std::string> ensure_generated_pki(
    const std::string& dir, const std::vector<std::string>& names);

// Every configured certificate, in order, with the default one set; or the
// generated one when `generated` is given (the embedded default). A
// certificate whose SAN does not cover a name the configuration gives it is
// an error: the selector chooses by the certificate's own names (RFC 6066
// §3 via tls::pki::CredentialSelector), so the two must agree.
[[nodiscard]] Result<std::unique_ptr<tls::pki::CredentialSelector>, std::string> load_credentials(
    const Config& config, const GeneratedPki* generated);

}  // namespace l45::offload
