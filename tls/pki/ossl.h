// RAII owners for the OpenSSL 3 libcrypto objects used in tls/pki.
//
// Every EVP_PKEY, X509, BIO, ... that pki/ creates is held by one of these
// unique_ptrs from the line it is made, so an early `return fail(...)` can
// never leak it. Only libcrypto is used here, never libssl.
#pragma once

#include <openssl/ec.h>
#include <openssl/types.h>
#include <openssl/x509v3.h>

#include <memory>

namespace l45::tls::pki::ossl {

struct Free {
    void operator()(EVP_PKEY* p) const;
    void operator()(EVP_PKEY_CTX* p) const;
    void operator()(EVP_MD_CTX* p) const;
    void operator()(X509* p) const;
    void operator()(X509_STORE* p) const;
    void operator()(X509_STORE_CTX* p) const;
    void operator()(BIO* p) const;
    void operator()(BIGNUM* p) const;
    void operator()(BN_CTX* p) const;
    void operator()(EC_GROUP* p) const;
    void operator()(EC_POINT* p) const;
    void operator()(OSSL_PARAM_BLD* p) const;
    void operator()(OSSL_PARAM* p) const;
    void operator()(X509_NAME* p) const;
    void operator()(X509_EXTENSION* p) const;
    void operator()(ASN1_INTEGER* p) const;
    void operator()(GENERAL_NAMES* p) const;
    // Owns its certificates: frees them with sk_X509_pop_free.
    void operator()(STACK_OF(X509) * p) const;
};

template <class T>
using Ptr = std::unique_ptr<T, Free>;

using PkeyPtr = Ptr<EVP_PKEY>;
using PkeyCtxPtr = Ptr<EVP_PKEY_CTX>;
using MdCtxPtr = Ptr<EVP_MD_CTX>;
using X509Ptr = Ptr<X509>;
using StorePtr = Ptr<X509_STORE>;
using StoreCtxPtr = Ptr<X509_STORE_CTX>;
using BioPtr = Ptr<BIO>;

// Shares ownership of an EVP_PKEY (EVP_PKEY_up_ref); nullptr stays nullptr.
[[nodiscard]] PkeyPtr up_ref(EVP_PKEY* key);
// Shares ownership of an X509 (X509_up_ref).
[[nodiscard]] X509Ptr up_ref(X509* cert);

// Drops whatever sits on OpenSSL's per-thread error queue, so a failure we
// mapped to an alert does not surface later in an unrelated caller.
void clear_errors();

}  // namespace l45::tls::pki::ossl
