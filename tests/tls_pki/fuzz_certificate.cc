// libFuzzer target: arbitrary bytes as a peer's certificate chain (verified
// against a generated CA, and in the parse-only mode), as an SPKI public key
// with a signature, and as an ECDHE key share for every group. Nothing may
// crash, leak or read out of bounds; every failure must be a TlsError.
//
// Input layout (read with the project's Reader): a sequence of entries
// u16 length || bytes; the first up to 8 form the chain, the first one is
// also tried as a key share and as an SPKI, the second as a signature.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/random.h"
#include "tls/pki/certificate.h"
#include "tls/pki/key_share.h"
#include "tls/pki/signature.h"

namespace {

using namespace l45;
using namespace l45::tls;
using namespace l45::tls::pki;

struct Fixture {
    CertificateVerifier verifier = make_verifier();
    CertificateVerifier insecure = CertificateVerifier::insecure_skip_verify();
    std::vector<KeyShare> shares = make_shares();

    static CertificateVerifier make_verifier() {
        SelfSignedOptions opt;
        opt.names = {"fuzz.l45.test"};
        opt.not_before = 1700000000;
        auto pki = generate_self_signed(opt);
        if (!pki) __builtin_trap();
        auto v = CertificateVerifier::from_ca_pem(pki->ca_cert_pem);
        if (!v) __builtin_trap();
        v->set_time(1700000000 + 86400);
        return std::move(*v);
    }
    static std::vector<KeyShare> make_shares() {
        SeededRandom rng(1);
        std::vector<KeyShare> out;
        for (NamedGroup g : supported_groups()) {
            auto s = KeyShare::generate(g, rng);
            if (!s) __builtin_trap();
            out.push_back(std::move(*s));
        }
        return out;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture fixture;
    Reader in(ByteSpan(data, size));
    ByteSpan entries[8];
    std::size_t num_entries = 0;
    while (num_entries < 8) {
        Reader entry;
        if (!in.u16_prefixed(entry)) break;
        entries[num_entries++] = entry.rest();
    }
    if (num_entries == 0) {
        // The whole input as one certificate.
        entries[0] = ByteSpan(data, size);
        num_entries = 1;
    }
    const std::span<const ByteSpan> chain(entries, num_entries);

    auto verified = fixture.verifier.verify(chain, "fuzz.l45.test");
    auto parsed = fixture.insecure.verify(chain, "");
    // Whatever the strict verifier accepts, the parse-only mode accepts too.
    if (verified && !parsed) __builtin_trap();

    for (const KeyShare& share : fixture.shares) {
        auto secret = share.derive(entries[0]);
        if (!secret && secret.error().alert != Alert::illegal_parameter) __builtin_trap();
        if (secret && secret->empty()) __builtin_trap();
    }

    const ByteSpan signature = num_entries > 1 ? entries[1] : ByteSpan();
    if (auto key = PublicKey::from_spki_der(entries[0])) {
        static constexpr SignatureScheme kSchemes[] = {
            SignatureScheme::ecdsa_secp256r1_sha256, SignatureScheme::rsa_pss_rsae_sha256,
            SignatureScheme::ed25519, SignatureScheme::rsa_pkcs1_sha256};
        const std::uint8_t hash[32] = {};
        for (SignatureScheme s : kSchemes)
            static_cast<void>(verify(*key, s, hash, true, signature));
    }
    if (parsed) {
        const std::uint8_t hash[48] = {};
        static_cast<void>(
            verify(*parsed, SignatureScheme::ecdsa_secp384r1_sha384, hash, false, signature));
    }
    return 0;
}
