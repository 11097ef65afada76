// X.509 certificates for TLS 1.3 (RFC 8446 §4.4.2, §4.4.2.2, §4.4.2.4),
// through OpenSSL 3 libcrypto's X509 / X509_STORE API: path building,
// signature checks, validity, key usage / EKU and the host name check are all
// OpenSSL's; nothing here parses ASN.1 by hand.
//
// Read first: RFC 8446 §4.4.2 (Certificate: leaf first), §4.4.2.2 (server
// certificate selection), §4.4.2.4 (alerts on a bad certificate); RFC 5280
// §6 (path validation); RFC 6125 §6.4 (DNS-ID matching against the SAN,
// wildcard only as the whole left-most label); RFC 6066 §3 (SNI).
//
// Everything here is set-up or once-per-handshake work and may allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "tls/alert.h"
#include "tls/pki/ossl.h"
#include "tls/pki/signature.h"

namespace l45::tls::pki {

// Our own certificate chain, for the Certificate message: DER certificates,
// leaf first, each one a CertificateEntry.cert_data.
class CertificateChain {
  public:
    // Every "CERTIFICATE" block of a PEM bundle, in order (leaf first).
    // internal_error when there is none or one does not parse.
    [[nodiscard]] static TlsResult<CertificateChain> from_pem(std::string_view pem);
    [[nodiscard]] static TlsResult<CertificateChain> from_pem_file(const std::string& path);

    CertificateChain(CertificateChain&&) noexcept = default;
    CertificateChain& operator=(CertificateChain&&) noexcept = default;
    CertificateChain(const CertificateChain&) = delete;
    CertificateChain& operator=(const CertificateChain&) = delete;
    ~CertificateChain() = default;

    [[nodiscard]] std::size_t num_certs() const { return der_.size(); }
    // The i-th certificate's DER (0 = leaf).
    [[nodiscard]] ByteSpan der(std::size_t i) const { return der_[i]; }
    [[nodiscard]] X509* leaf() const { return certs_.front().get(); }
    [[nodiscard]] PublicKey leaf_public_key() const;

    // Whether key is the private half of the leaf's public key
    // (EVP_PKEY_eq); internal_error when not.
    [[nodiscard]] TlsResult<void> check_private_key(const PrivateKey& key) const;

    // RFC 6125 DNS-ID match of `host_name` against the leaf's SAN dNSNames:
    // exact (case-insensitive) or a "*." wildcard covering exactly one label.
    // The subject CN is never consulted.
    [[nodiscard]] bool matches_host(std::string_view host_name) const;

  private:
    CertificateChain() = default;

    std::vector<ossl::X509Ptr> certs_;
    std::vector<std::vector<std::uint8_t>> der_;
};

// A certificate chain and its private key: what a server presents.
struct Credential {
    CertificateChain chain;
    PrivateKey key;

    // Loads both and checks that the key matches the leaf.
    [[nodiscard]] static TlsResult<Credential> from_pem(std::string_view chain_pem,
                                                        std::string_view key_pem);
    [[nodiscard]] static TlsResult<Credential> from_pem_files(const std::string& chain_path,
                                                              const std::string& key_path);
};

// Chooses the server's credential from the client's SNI (RFC 6066 §3,
// RFC 8446 §4.4.2.2). Configured once at start-up.
class CredentialSelector {
  public:
    // The first credential added is the default unless set_default() says
    // otherwise. Returns the credential's index.
    std::size_t add(Credential credential);
    void set_default(std::size_t index) { default_index_ = index; }

    [[nodiscard]] std::size_t size() const { return credentials_.size(); }
    [[nodiscard]] const Credential& at(std::size_t index) const { return credentials_[index]; }

    // The first credential whose leaf SAN matches `server_name` exactly, else
    // the first one that matches it through a one-level wildcard, else the
    // default. No SNI (nullopt or empty) gives the default. nullptr when
    // nothing was added.
    [[nodiscard]] const Credential* select(std::optional<std::string_view> server_name) const;

  private:
    std::vector<Credential> credentials_;
    std::size_t default_index_ = 0;
};

// What the verifier checks the peer's leaf for (X509_PURPOSE_SSL_SERVER /
// _SSL_CLIENT: keyUsage and extendedKeyUsage).
enum class PeerRole : std::uint8_t { server, client };

// Verifies the peer's Certificate message chain against a trust store.
//
// Failures map to alerts (RFC 8446 §6.2):
//   expired / not yet valid                    -> certificate_expired
//   unknown issuer, untrusted self-signed root -> unknown_ca
//   host name or IP address mismatch           -> bad_certificate
//   wrong keyUsage / extendedKeyUsage purpose  -> unsupported_certificate
//   bad signature, weak key, malformed ext.    -> bad_certificate
//   revoked                                    -> certificate_revoked
//   DER that does not parse (or trailing data) -> decode_error
//   empty chain                                -> decode_error
//   anything else                              -> certificate_unknown
class CertificateVerifier {
  public:
    // The trust anchors: a PEM bundle file, a c_rehash'ed directory, PEM text
    // in memory, or OpenSSL's default paths (X509_STORE_set_default_paths).
    // internal_error when nothing could be loaded.
    [[nodiscard]] static TlsResult<CertificateVerifier> from_ca_file(const std::string& path);
    [[nodiscard]] static TlsResult<CertificateVerifier> from_ca_dir(const std::string& path);
    [[nodiscard]] static TlsResult<CertificateVerifier> from_ca_pem(std::string_view pem);
    [[nodiscard]] static TlsResult<CertificateVerifier> from_system_default();

    // INSECURE: no trust anchors, no chain, name, purpose or time check at
    // all. verify() only parses the leaf and returns its key, so anyone can
    // impersonate the peer. For lab debugging only; never the default.
    [[nodiscard]] static CertificateVerifier insecure_skip_verify();

    CertificateVerifier(CertificateVerifier&&) noexcept = default;
    CertificateVerifier& operator=(CertificateVerifier&&) noexcept = default;
    CertificateVerifier(const CertificateVerifier&) = delete;
    CertificateVerifier& operator=(const CertificateVerifier&) = delete;
    ~CertificateVerifier() = default;

    [[nodiscard]] bool insecure() const { return insecure_; }

    // The time validity periods are checked at (seconds since the epoch);
    // unset, the system's wall clock at verify() time.
    void set_time(std::time_t unix_seconds) { time_ = unix_seconds; }
    void use_system_time() { time_.reset(); }

    // Server (default, used by a client) or client (used by a server doing
    // client authentication).
    void set_peer_role(PeerRole role) { role_ = role; }

    // Minimum key strength of the peer chain as an OpenSSL security level
    // (X509_VERIFY_PARAM_set_auth_level). The default 2 requires RSA >= 2048
    // bits and EC >= 224 bits.
    void set_auth_level(int level) { auth_level_ = level; }

    // Verifies chain (CertificateEntry.cert_data values, leaf first; the
    // rest are untrusted intermediates in any order) and, when `host` is not
    // empty, that the leaf is for `host`: an IPv4/IPv6 literal is matched
    // against the SAN iPAddresses, anything else against the SAN dNSNames
    // (RFC 6125, no partial wildcards, never the CN). An empty host skips the
    // name check (client certificates). Returns the leaf's public key, for
    // CertificateVerify.
    [[nodiscard]] TlsResult<PublicKey> verify(std::span<const ByteSpan> chain,
                                              std::string_view host) const;

  private:
    CertificateVerifier() = default;

    ossl::StorePtr store_;
    std::optional<std::time_t> time_;
    PeerRole role_ = PeerRole::server;
    int auth_level_ = 2;
    bool insecure_ = false;
};

// Parameters of generate_self_signed().
struct SelfSignedOptions {
    // SAN entries of the server certificate: IPv4/IPv6 literals become
    // iPAddress, everything else dNSName. The first one is also the CN.
    std::vector<std::string> names;
    // Start of the validity period; unset: now. Lasts validity_days.
    std::optional<std::time_t> not_before;
    int validity_days = 365;
    std::string ca_common_name = "l45 appliance CA";
    // Tests only: false gives the leaf EKU clientAuth instead of serverAuth.
    bool server_auth = true;
    // Also make an intermediate CA between the root and the leaf.
    bool intermediate = false;
};

// A CA and a server certificate it issued, all ECDSA P-256 / SHA-256, as PEM.
struct SelfSignedPki {
    std::string ca_cert_pem;            // the trust anchor to give clients
    std::string ca_key_pem;             // PKCS#8
    std::string chain_pem;              // leaf, then the intermediate if any
    std::string key_pem;                // the leaf's key, PKCS#8
    std::string intermediate_cert_pem;  // empty without an intermediate
};

// Makes a fresh CA (basicConstraints CA:TRUE, keyCertSign) and a leaf for
// options.names (SAN, EKU serverAuth, keyUsage digitalSignature, CA:FALSE).
// Keys and serial numbers come from OpenSSL's DRBG. internal_error on a
// libcrypto failure or when names is empty or holds an empty name.
[[nodiscard]] TlsResult<SelfSignedPki> generate_self_signed(const SelfSignedOptions& options);

}  // namespace l45::tls::pki
