// X.509 with OpenSSL 3 libcrypto (RFC 8446 §4.4.2, RFC 5280, RFC 6125). See
// certificate.h.
#include "tls/pki/certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <climits>
#include <filesystem>
#include <system_error>

namespace l45::tls::pki {
namespace {

[[nodiscard]] Unexpected<TlsError> internal() {
    ossl::clear_errors();
    return fail(Alert::internal_error, ErrorOrigin::internal);
}
[[nodiscard]] Unexpected<TlsError> peer_fault(Alert alert) {
    ossl::clear_errors();
    return fail(alert);
}

int no_passphrase(char*, int, int, void*) {
    return -1;
}

[[nodiscard]] ossl::BioPtr memory_bio(std::string_view text) {
    if (text.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
    return ossl::BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Every CERTIFICATE block of a PEM stream, in order. False when a block is
// malformed; an empty result when there is none.
[[nodiscard]] bool read_pem_certs(BIO* bio, std::vector<ossl::X509Ptr>& out) {
    if (bio == nullptr) return false;
    for (;;) {
        ossl::X509Ptr cert(PEM_read_bio_X509(bio, nullptr, no_passphrase, nullptr));
        if (cert) {
            out.push_back(std::move(cert));
            continue;
        }
        // Running out of PEM blocks is reported as "no start line".
        const unsigned long err = ERR_peek_last_error();
        const bool at_end =
            ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
        ossl::clear_errors();
        return at_end;
    }
}

[[nodiscard]] bool to_der(X509* cert, std::vector<std::uint8_t>& out) {
    const int len = i2d_X509(cert, nullptr);
    if (len <= 0) return false;
    out.resize(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    return i2d_X509(cert, &p) == len;
}

// One CertificateEntry.cert_data: exactly one DER certificate, nothing after.
[[nodiscard]] ossl::X509Ptr parse_der(ByteSpan der) {
    if (der.empty() || der.size() > static_cast<std::size_t>(LONG_MAX)) return nullptr;
    const unsigned char* p = der.data();
    ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert || p != der.data() + der.size()) return nullptr;
    return cert;
}

// X509_check_host flags for RFC 6125: the wildcard must be the whole
// left-most label, and only the SAN counts (never the subject CN).
constexpr unsigned kHostFlags =
    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;

[[nodiscard]] bool leaf_matches(X509* leaf, std::string_view name, bool allow_wildcard) {
    if (name.empty()) return false;
    const unsigned flags = kHostFlags | (allow_wildcard ? 0u : X509_CHECK_FLAG_NO_WILDCARDS);
    const int rc = X509_check_host(leaf, name.data(), name.size(), flags, nullptr);
    ossl::clear_errors();
    return rc == 1;
}

// X509_STORE_CTX error -> the alert of RFC 8446 §6.2.
[[nodiscard]] Alert alert_for(int verify_error) {
    switch (verify_error) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return Alert::certificate_expired;

        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_UNTRUSTED:
            return Alert::unknown_ca;

        // Wrong purpose (keyUsage / extendedKeyUsage does not allow TLS
        // server or client authentication): the certificate is fine, just
        // not of a kind we can use.
        case X509_V_ERR_INVALID_PURPOSE:
        case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
            return Alert::unsupported_certificate;

        case X509_V_ERR_CERT_REVOKED:
            return Alert::certificate_revoked;

        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
        case X509_V_ERR_EMAIL_MISMATCH:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
        case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
        case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
        case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
        case X509_V_ERR_INVALID_CA:
        case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        case X509_V_ERR_INVALID_EXTENSION:
        case X509_V_ERR_CERT_REJECTED:
        case X509_V_ERR_EE_KEY_TOO_SMALL:
        case X509_V_ERR_CA_KEY_TOO_SMALL:
        case X509_V_ERR_CA_MD_TOO_WEAK:
            return Alert::bad_certificate;

        case X509_V_ERR_OUT_OF_MEM:
            return Alert::internal_error;
        default:
            return Alert::certificate_unknown;
    }
}

}  // namespace

// --- CertificateChain ---

TlsResult<CertificateChain> CertificateChain::from_pem(std::string_view pem) {
    ossl::BioPtr bio = memory_bio(pem);
    CertificateChain chain;
    if (!read_pem_certs(bio.get(), chain.certs_) || chain.certs_.empty()) return internal();
    chain.der_.resize(chain.certs_.size());
    for (std::size_t i = 0; i < chain.certs_.size(); ++i)
        if (!to_der(chain.certs_[i].get(), chain.der_[i])) return internal();
    return chain;
}

TlsResult<CertificateChain> CertificateChain::from_pem_file(const std::string& path) {
    ossl::BioPtr bio(BIO_new_file(path.c_str(), "r"));
    CertificateChain chain;
    if (!read_pem_certs(bio.get(), chain.certs_) || chain.certs_.empty()) return internal();
    chain.der_.resize(chain.certs_.size());
    for (std::size_t i = 0; i < chain.certs_.size(); ++i)
        if (!to_der(chain.certs_[i].get(), chain.der_[i])) return internal();
    return chain;
}

PublicKey CertificateChain::leaf_public_key() const {
    return PublicKey(X509_get0_pubkey(leaf()));
}

TlsResult<void> CertificateChain::check_private_key(const PrivateKey& key) const {
    EVP_PKEY* cert_key = X509_get0_pubkey(leaf());
    if (cert_key == nullptr || key.get() == nullptr || EVP_PKEY_eq(cert_key, key.get()) != 1)
        return internal();
    return {};
}

bool CertificateChain::matches_host(std::string_view host_name) const {
    return leaf_matches(leaf(), host_name, true);
}

TlsResult<Credential> Credential::from_pem(std::string_view chain_pem, std::string_view key_pem) {
    auto chain = CertificateChain::from_pem(chain_pem);
    if (!chain) return unexpected(chain.error());
    auto key = PrivateKey::from_pem(key_pem);
    if (!key) return unexpected(key.error());
    if (auto ok = chain->check_private_key(*key); !ok) return unexpected(ok.error());
    return Credential{std::move(*chain), std::move(*key)};
}

TlsResult<Credential> Credential::from_pem_files(const std::string& chain_path,
                                                 const std::string& key_path) {
    auto chain = CertificateChain::from_pem_file(chain_path);
    if (!chain) return unexpected(chain.error());
    auto key = PrivateKey::from_pem_file(key_path);
    if (!key) return unexpected(key.error());
    if (auto ok = chain->check_private_key(*key); !ok) return unexpected(ok.error());
    return Credential{std::move(*chain), std::move(*key)};
}

// --- CredentialSelector ---

std::size_t CredentialSelector::add(Credential credential) {
    credentials_.push_back(std::move(credential));
    return credentials_.size() - 1;
}

const Credential* CredentialSelector::select(std::optional<std::string_view> server_name) const {
    if (credentials_.empty()) return nullptr;
    const Credential* fallback =
        &credentials_[default_index_ < credentials_.size() ? default_index_ : 0];
    if (!server_name || server_name->empty()) return fallback;
    // An exact SAN entry beats a wildcard one, whatever the order they were
    // configured in.
    for (const Credential& c : credentials_)
        if (leaf_matches(c.chain.leaf(), *server_name, false)) return &c;
    for (const Credential& c : credentials_)
        if (leaf_matches(c.chain.leaf(), *server_name, true)) return &c;
    return fallback;
}

// --- CertificateVerifier ---

TlsResult<CertificateVerifier> CertificateVerifier::from_ca_file(const std::string& path) {
    CertificateVerifier v;
    v.store_.reset(X509_STORE_new());
    if (!v.store_ || X509_STORE_load_file(v.store_.get(), path.c_str()) != 1) return internal();
    return v;
}

TlsResult<CertificateVerifier> CertificateVerifier::from_ca_dir(const std::string& path) {
    // The hashed directory is searched lazily at verify time; check that it
    // exists now so a typo fails at start-up.
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) return internal();
    CertificateVerifier v;
    v.store_.reset(X509_STORE_new());
    if (!v.store_ || X509_STORE_load_path(v.store_.get(), path.c_str()) != 1) return internal();
    return v;
}

TlsResult<CertificateVerifier> CertificateVerifier::from_ca_pem(std::string_view pem) {
    ossl::BioPtr bio = memory_bio(pem);
    std::vector<ossl::X509Ptr> certs;
    if (!read_pem_certs(bio.get(), certs) || certs.empty()) return internal();
    CertificateVerifier v;
    v.store_.reset(X509_STORE_new());
    if (!v.store_) return internal();
    for (const ossl::X509Ptr& cert : certs)
        if (X509_STORE_add_cert(v.store_.get(), cert.get()) != 1) return internal();
    return v;
}

TlsResult<CertificateVerifier> CertificateVerifier::from_system_default() {
    CertificateVerifier v;
    v.store_.reset(X509_STORE_new());
    if (!v.store_ || X509_STORE_set_default_paths(v.store_.get()) != 1) return internal();
    return v;
}

CertificateVerifier CertificateVerifier::insecure_skip_verify() {
    CertificateVerifier v;
    v.insecure_ = true;
    return v;
}

TlsResult<PublicKey> CertificateVerifier::verify(std::span<const ByteSpan> chain,
                                                 std::string_view host) const {
    // §4.4.2.4: a server must send a certificate; an empty list from a
    // client is the caller's decision (certificate_required), not ours.
    if (chain.empty()) return fail(Alert::decode_error);
    ossl::X509Ptr leaf = parse_der(chain[0]);
    if (!leaf) return peer_fault(Alert::decode_error);
    ossl::Ptr<STACK_OF(X509)> untrusted(sk_X509_new_null());
    if (!untrusted) return internal();
    for (std::size_t i = 1; i < chain.size(); ++i) {
        ossl::X509Ptr cert = parse_der(chain[i]);
        if (!cert) return peer_fault(Alert::decode_error);
        if (sk_X509_push(untrusted.get(), cert.get()) <= 0) return internal();
        static_cast<void>(cert.release());  // now owned by the stack
    }

    if (!insecure_) {
        if (!store_) return internal();
        ossl::StoreCtxPtr ctx(X509_STORE_CTX_new());
        if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), leaf.get(), untrusted.get()) != 1)
            return internal();
        // The "ssl_server" defaults (as libssl's client uses): purpose
        // X509_PURPOSE_SSL_SERVER, i.e. keyUsage and EKU serverAuth.
        if (X509_STORE_CTX_set_default(
                ctx.get(), role_ == PeerRole::server ? "ssl_server" : "ssl_client") != 1)
            return internal();
        X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
        X509_VERIFY_PARAM_set_auth_level(param, auth_level_);
        if (time_) X509_VERIFY_PARAM_set_time(param, *time_);
        if (!host.empty()) {
            // The name we dialled is our own input; an embedded NUL would
            // make the C-string IP parser see a different name.
            if (host.find('\0') != std::string_view::npos) return internal();
            const std::string host_z(host);  // the IP parser wants a C string
            ossl::Ptr<ASN1_OCTET_STRING> ip(a2i_IPADDRESS(host_z.c_str()));
            ossl::clear_errors();
            if (ip) {
                if (X509_VERIFY_PARAM_set1_ip(
                        param, ASN1_STRING_get0_data(ip.get()),
                        static_cast<std::size_t>(ASN1_STRING_length(ip.get()))) != 1)
                    return internal();
            } else {
                X509_VERIFY_PARAM_set_hostflags(param, kHostFlags);
                if (X509_VERIFY_PARAM_set1_host(param, host.data(), host.size()) != 1)
                    return internal();
            }
        }
        if (X509_verify_cert(ctx.get()) != 1) {
            const Alert alert = alert_for(X509_STORE_CTX_get_error(ctx.get()));
            ossl::clear_errors();
            return fail(
                alert, alert == Alert::internal_error ? ErrorOrigin::internal : ErrorOrigin::local);
        }
    }

    EVP_PKEY* key = X509_get0_pubkey(leaf.get());
    if (key == nullptr) return peer_fault(Alert::unsupported_certificate);
    return PublicKey(key);
}

// --- generate_self_signed ---

namespace {

constexpr long kSecondsPerDay = 86400;

[[nodiscard]] ossl::PkeyPtr new_p256_key() {
    return ossl::PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
}

[[nodiscard]] bool is_ip_literal(const std::string& name) {
    ossl::Ptr<ASN1_OCTET_STRING> ip(a2i_IPADDRESS(name.c_str()));
    ossl::clear_errors();
    return ip != nullptr;
}

// A DNS name we are willing to put in a SAN: LDH labels, an optional leading
// "*." wildcard, nothing that could be misread.
[[nodiscard]] bool plausible_dns_name(const std::string& name) {
    if (name.empty() || name.size() > 253) return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*' || c == '_';
        if (!ok) return false;
    }
    return true;
}

[[nodiscard]] bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ossl::Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

[[nodiscard]] bool add_san(X509* cert, const std::vector<std::string>& names) {
    ossl::Ptr<GENERAL_NAMES> gens(sk_GENERAL_NAME_new_null());
    if (!gens) return false;
    for (const std::string& name : names) {
        ossl::Ptr<ASN1_OCTET_STRING> ip(a2i_IPADDRESS(name.c_str()));
        ossl::clear_errors();
        GENERAL_NAME* gen = GENERAL_NAME_new();
        if (gen == nullptr) return false;
        if (ip) {
            GENERAL_NAME_set0_value(gen, GEN_IPADD, ip.release());
        } else {
            ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
            if (dns == nullptr ||
                ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size())) != 1) {
                ASN1_IA5STRING_free(dns);
                GENERAL_NAME_free(gen);
                return false;
            }
            GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
        }
        if (sk_GENERAL_NAME_push(gens.get(), gen) <= 0) {
            GENERAL_NAME_free(gen);
            return false;
        }
    }
    return X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

struct Extension {
    int nid;
    const char* value;
};

// A certificate for `key` named `common_name`, issued by issuer/issuer_key
// (self-signed when issuer is nullptr), valid [not_before, not_after].
[[nodiscard]] ossl::X509Ptr make_cert(const std::string& common_name, EVP_PKEY* key, X509* issuer,
                                      EVP_PKEY* issuer_key, std::time_t not_before,
                                      std::time_t not_after, std::span<const Extension> extensions,
                                      const std::vector<std::string>* san) {
    ossl::X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return nullptr;

    // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 127 random
    // bits from OpenSSL's DRBG make collisions irrelevant.
    std::uint8_t serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) return nullptr;
    serial[0] &= 0x7f;
    serial[0] |= 0x01;  // never zero, never a leading zero octet
    ossl::Ptr<BIGNUM> serial_bn(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!serial_bn ||
        BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get())) == nullptr)
        return nullptr;

    X509_NAME* subject = X509_get_subject_name(cert.get());
    const std::string cn = common_name.size() <= 64 ? common_name : std::string("l45 server");
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) != 1)
        return nullptr;
    X509* signer = issuer != nullptr ? issuer : cert.get();
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) return nullptr;
    if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) == nullptr ||
        ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) == nullptr)
        return nullptr;
    if (X509_set_pubkey(cert.get(), key) != 1) return nullptr;

    for (const Extension& ext : extensions)
        if (!add_ext(cert.get(), signer, ext.nid, ext.value)) return nullptr;
    if (san != nullptr && !add_san(cert.get(), *san)) return nullptr;

    if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0)
        return nullptr;
    return cert;
}

[[nodiscard]] bool cert_pem(X509* cert, std::string& out) {
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return false;
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    if (len <= 0 || data == nullptr) return false;
    out.append(data, static_cast<std::size_t>(len));
    return true;
}

[[nodiscard]] bool key_pem(EVP_PKEY* key, std::string& out) {
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    // PKCS#8, unencrypted: the caller decides where it may be stored.
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return false;
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    if (len <= 0 || data == nullptr) return false;
    out.append(data, static_cast<std::size_t>(len));
    return true;
}

}  // namespace

TlsResult<SelfSignedPki> generate_self_signed(const SelfSignedOptions& options) {
    if (options.names.empty() || options.validity_days <= 0) return internal();
    for (const std::string& name : options.names)
        if (!is_ip_literal(name) && !plausible_dns_name(name)) return internal();

    // Back-dated by an hour by default so a peer whose clock is slightly
    // behind still accepts a certificate made a moment ago.
    const std::time_t not_before =
        options.not_before ? *options.not_before : std::time(nullptr) - 3600;
    const std::time_t leaf_not_after =
        not_before + static_cast<std::time_t>(options.validity_days) * kSecondsPerDay;
    // The CAs outlive the leaf, so an expired-leaf test is about the leaf.
    const std::time_t ca_not_after = leaf_not_after + 9 * 365 * kSecondsPerDay;

    static constexpr Extension kRootExts[] = {
        {NID_basic_constraints, "critical,CA:TRUE"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"},
    };
    static constexpr Extension kIntermediateExts[] = {
        {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
    };
    const Extension leaf_exts[] = {
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_key_usage, "critical,digitalSignature"},
        {NID_ext_key_usage, options.server_auth ? "serverAuth" : "clientAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid:always"},
    };

    ossl::PkeyPtr ca_key = new_p256_key();
    ossl::PkeyPtr leaf_key = new_p256_key();
    if (!ca_key || !leaf_key) return internal();
    ossl::X509Ptr ca = make_cert(options.ca_common_name, ca_key.get(), nullptr, nullptr, not_before,
                                 ca_not_after, kRootExts, nullptr);
    if (!ca) return internal();

    SelfSignedPki out;
    X509* leaf_issuer = ca.get();
    EVP_PKEY* leaf_issuer_key = ca_key.get();
    ossl::PkeyPtr mid_key;
    ossl::X509Ptr mid;
    if (options.intermediate) {
        mid_key = new_p256_key();
        if (!mid_key) return internal();
        mid = make_cert(options.ca_common_name + " intermediate", mid_key.get(), ca.get(),
                        ca_key.get(), not_before, ca_not_after, kIntermediateExts, nullptr);
        if (!mid) return internal();
        leaf_issuer = mid.get();
        leaf_issuer_key = mid_key.get();
    }
    ossl::X509Ptr leaf =
        make_cert(options.names.front(), leaf_key.get(), leaf_issuer, leaf_issuer_key, not_before,
                  leaf_not_after, leaf_exts, &options.names);
    if (!leaf) return internal();

    if (!cert_pem(ca.get(), out.ca_cert_pem) || !key_pem(ca_key.get(), out.ca_key_pem) ||
        !cert_pem(leaf.get(), out.chain_pem) || !key_pem(leaf_key.get(), out.key_pem))
        return internal();
    if (mid &&
        (!cert_pem(mid.get(), out.intermediate_cert_pem) || !cert_pem(mid.get(), out.chain_pem)))
        return internal();
    return out;
}

}  // namespace l45::tls::pki
