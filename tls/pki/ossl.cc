#include "tls/pki/ossl.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>

namespace l45::tls::pki::ossl {

void Free::operator()(EVP_PKEY* p) const {
    EVP_PKEY_free(p);
}
void Free::operator()(EVP_PKEY_CTX* p) const {
    EVP_PKEY_CTX_free(p);
}
void Free::operator()(EVP_MD_CTX* p) const {
    EVP_MD_CTX_free(p);
}
void Free::operator()(X509* p) const {
    X509_free(p);
}
void Free::operator()(X509_STORE* p) const {
    X509_STORE_free(p);
}
void Free::operator()(X509_STORE_CTX* p) const {
    X509_STORE_CTX_free(p);
}
void Free::operator()(BIO* p) const {
    BIO_free_all(p);
}
// Scalars are private keys: clear them on the way out.
void Free::operator()(BIGNUM* p) const {
    BN_clear_free(p);
}
void Free::operator()(BN_CTX* p) const {
    BN_CTX_free(p);
}
void Free::operator()(EC_GROUP* p) const {
    EC_GROUP_free(p);
}
void Free::operator()(EC_POINT* p) const {
    EC_POINT_clear_free(p);
}
void Free::operator()(OSSL_PARAM_BLD* p) const {
    OSSL_PARAM_BLD_free(p);
}
void Free::operator()(OSSL_PARAM* p) const {
    OSSL_PARAM_free(p);
}
void Free::operator()(X509_NAME* p) const {
    X509_NAME_free(p);
}
void Free::operator()(X509_EXTENSION* p) const {
    X509_EXTENSION_free(p);
}
void Free::operator()(ASN1_INTEGER* p) const {
    ASN1_INTEGER_free(p);
}
void Free::operator()(GENERAL_NAMES* p) const {
    GENERAL_NAMES_free(p);
}
void Free::operator()(STACK_OF(X509) * p) const {
    sk_X509_pop_free(p, X509_free);
}

PkeyPtr up_ref(EVP_PKEY* key) {
    if (key == nullptr || EVP_PKEY_up_ref(key) != 1) return nullptr;
    return PkeyPtr(key);
}

X509Ptr up_ref(X509* cert) {
    if (cert == nullptr || X509_up_ref(cert) != 1) return nullptr;
    return X509Ptr(cert);
}

void clear_errors() {
    ERR_clear_error();
}

}  // namespace l45::tls::pki::ossl
