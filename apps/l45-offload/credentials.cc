#include "apps/l45-offload/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace l45::offload {
namespace {

namespace fs = std::filesystem;
namespace pki = tls::pki;

// Written to a temporary name in the same directory and renamed over the
// target, so a crash never leaves half a key and a reader never sees one.
Result<void, std::string> write_file(const std::string& path, const std::string& text,
                                     mode_t mode) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return unexpected(tmp + ": " + std::strerror(errno));
    // open()'s mode is filtered by the umask and ignored for a file that
    // already existed; the key's mode must be exactly `mode`.
    bool ok = ::fchmod(fd, mode) == 0;
    std::size_t off = 0;
    while (ok && off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) off += static_cast<std::size_t>(n);
    }
    const int saved = errno;
    ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(ok ? errno : saved);
        ::unlink(tmp.c_str());
        return unexpected(path + ": " + why);
    }
    return {};
}

// True when the three files are a usable set for `names`.
bool reusable(const GeneratedPki& p, const std::vector<std::string>& names) {
    auto cred = pki::Credential::from_pem_files(p.cert_path, p.key_path);
    if (!cred) return false;
    for (const std::string& name : names)
        if (!cred->chain.matches_host(name)) return false;
    auto verifier = pki::CertificateVerifier::from_ca_file(p.ca_path);
    if (!verifier) return false;
    std::vector<ByteSpan> chain;
    for (std::size_t i = 0; i < cred->chain.num_certs(); ++i)
        chain.push_back(cred->chain.der(i));
    return verifier->verify(chain, names.front()).has_value();
}

}  // namespace

Result<GeneratedPki, std::string> ensure_generated_pki(const std::string& dir,
                                                       const std::vector<std::string>& names) {
    if (names.empty()) return unexpected(std::string("tls.generated_names is empty"));
    GeneratedPki out;
    const fs::path d(dir);
    out.ca_path = (d / "ca.pem").string();
    out.cert_path = (d / "server.pem").string();
    out.key_path = (d / "server.key").string();
    if (reusable(out, names)) return out;

    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) return unexpected(dir + ": " + ec.message());
    pki::SelfSignedOptions options;
    options.names = names;
    options.ca_common_name = "l45-offload CA";
    // A lab CA that outlives the leaf; the leaf is renewed whenever it no
    // longer verifies (reusable() checks validity too).
    options.validity_days = 365;
    auto generated = pki::generate_self_signed(options);
    if (!generated)
        return unexpected(std::string("generating the CA and server certificate failed"));
    if (auto r = write_file(out.key_path, generated->key_pem, 0600); !r)
        return unexpected(r.error());
    if (auto r = write_file(out.cert_path, generated->chain_pem, 0644); !r)
        return unexpected(r.error());
    if (auto r = write_file(out.ca_path, generated->ca_cert_pem, 0644); !r)
        return unexpected(r.error());
    out.created = true;
    return out;
}

Result<std::unique_ptr<pki::CredentialSelector>, std::string> load_credentials(
    const Config& config, const GeneratedPki* generated) {
    auto selector = std::make_unique<pki::CredentialSelector>();
    if (generated != nullptr) {
        auto cred = pki::Credential::from_pem_files(generated->cert_path, generated->key_path);
        if (!cred) return unexpected(generated->cert_path + ": does not load with its key");
        selector->add(std::move(*cred));
        return selector;
    }
    for (const CertificateConfig& c : config.certificates) {
        auto cred = pki::Credential::from_pem_files(c.cert_path, c.key_path);
        if (!cred) {
            return unexpected(c.cert_path + ", " + c.key_path +
                              ": not a PEM certificate chain and its private key");
        }
        for (const std::string& name : c.server_names) {
            // A "*.x" name is checked with a label in place of the star.
            const std::string probe =
                name.starts_with("*.") ? "l45-wildcard-probe" + name.substr(1) : name;
            if (!cred->chain.matches_host(probe))
                return unexpected(c.cert_path + ": the certificate is not for '" + name + "'");
        }
        selector->add(std::move(*cred));
    }
    if (selector->size() == 0) return unexpected(std::string("no certificate"));
    selector->set_default(config.default_certificate);
    return selector;
}

}  // namespace l45::offload
