// l45-tls: the l45 TLS 1.3 module (tls/) over kernel TCP sockets, as a
// client and a server, for demos and interop tests against OpenSSL, GnuTLS
// and curl. Not the data path: that runs the same tls::Connection over l45's
// own TCP.
//
//   l45-tls server --listen 127.0.0.1:4433 --cert leaf.pem --key leaf.key [--www]
//   l45-tls client --connect localhost:4433 --cafile ca.pem
//
// Exit codes (see kExit* below and docs/tls.md): 0 ok, 1 usage or
// configuration, 2 network, 3 handshake failed, 4 server certificate
// rejected, 5 connection failed after the handshake (alert or truncation),
// 6 timeout, 130 interrupted (client).
#include <sys/socket.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/l45-tls/names.h"
#include "apps/l45-tls/net.h"
#include "apps/l45-tls/session.h"
#include "stack/base/random.h"
#include "tls/handshake/config.h"
#include "tls/handshake/connection.h"
#include "tls/msg/extensions.h"
#include "tls/pki/certificate.h"
#include "tls/pki/key_share.h"
#include "tls/record/aead.h"

namespace {

using namespace l45;
using namespace l45::apps::tls_cli;
namespace pki = l45::tls::pki;

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitNetwork = 2;
constexpr int kExitHandshake = 3;
constexpr int kExitCertificate = 4;
constexpr int kExitConnection = 5;
constexpr int kExitTimeout = 6;
constexpr int kExitInterrupted = 130;

void log(const std::string& text) {
    std::fprintf(stderr, "l45-tls: %s\n", text.c_str());
    std::fflush(stderr);
}

// Options both roles share.
struct CommonOptions {
    std::string keylog_path;
    std::string alpn;
    std::string suites;
    std::string groups;
};

void add_common(CLI::App& cmd, CommonOptions& o) {
    cmd.add_option("--keylog", o.keylog_path,
                   "append NSS key-log lines (SECRETS: for Wireshark only) to this file");
    cmd.add_option("--alpn", o.alpn, "ALPN protocols in preference order, e.g. h2,http/1.1");
    cmd.add_option("--suites", o.suites,
                   "cipher suites in preference order, e.g. "
                   "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
    cmd.add_option("--groups", o.groups,
                   "key exchange groups in preference order, e.g. "
                   "x25519,P-256");
}

// The key-log file: opened once, 0600, one line per secret.
class KeyLogFile {
  public:
    bool open(const std::string& path) {
        const mode_t old = ::umask(077);
        file_ = std::fopen(path.c_str(), "a");
        ::umask(old);
        return file_ != nullptr;
    }
    ~KeyLogFile() {
        if (file_ != nullptr) std::fclose(file_);
    }
    void write(std::string_view line) {
        if (file_ == nullptr) return;
        std::fwrite(line.data(), 1, line.size(), file_);
        std::fputc('\n', file_);
        std::fflush(file_);
    }

  private:
    std::FILE* file_ = nullptr;
};

// Fills the parts of the Config that both roles share; false (logged) on a
// bad name.
bool apply_common(const CommonOptions& o, tls::Config& config, KeyLogFile& keylog) {
    if (!o.suites.empty()) {
        config.cipher_suites.clear();
        for (const auto& name : split_list(o.suites)) {
            const auto suite = parse_suite(name);
            if (!suite) {
                log("unknown cipher suite '" + name +
                    "' (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, "
                    "TLS_CHACHA20_POLY1305_SHA256)");
                return false;
            }
            config.cipher_suites.push_back(*suite);
        }
    }
    if (!o.groups.empty()) {
        config.groups.clear();
        for (const auto& name : split_list(o.groups)) {
            const auto group = parse_group(name);
            if (!group || !tls::pki::key_share_supported(*group)) {
                log("unknown group '" + name + "' (x25519, P-256, P-384)");
                return false;
            }
            config.groups.push_back(*group);
        }
    }
    if (!o.alpn.empty()) {
        for (const auto& proto : split_list(o.alpn)) {
            if (proto.size() > 255) {
                log("ALPN protocol name longer than 255 bytes");
                return false;
            }
            config.alpn.push_back(proto);
        }
    }
    if (!o.keylog_path.empty()) {
        if (!keylog.open(o.keylog_path)) {
            log("cannot open key-log file " + o.keylog_path);
            return false;
        }
        config.key_log = [&keylog](std::string_view line) { keylog.write(line); };
    }
    return true;
}

bool is_certificate_alert(tls::Alert alert) {
    switch (alert) {
        case tls::Alert::bad_certificate:
        case tls::Alert::unsupported_certificate:
        case tls::Alert::certificate_revoked:
        case tls::Alert::certificate_expired:
        case tls::Alert::certificate_unknown:
        case tls::Alert::unknown_ca:
            return true;
        default:
            return false;
    }
}

// --- server ---

struct ServerOptions {
    CommonOptions common;
    std::string listen = "127.0.0.1:4433";
    std::vector<std::string> certs;
    std::vector<std::string> keys;
    std::string ephemeral_ca_out;
    std::vector<std::string> ephemeral_names = {"localhost", "127.0.0.1"};
    bool www = false;
    int handshake_timeout_s = 10;
    int idle_timeout_s = 60;
};

int run_server(const ServerOptions& o) {
    tls::Config config;
    config.role = tls::Role::server;
    KeyLogFile keylog;
    if (!apply_common(o.common, config, keylog)) return kExitUsage;

    pki::CredentialSelector credentials;
    if (o.certs.size() != o.keys.size()) {
        log("give one --key per --cert (" + std::to_string(o.certs.size()) + " certs, " +
            std::to_string(o.keys.size()) + " keys)");
        return kExitUsage;
    }
    for (std::size_t i = 0; i < o.certs.size(); ++i) {
        auto cred = pki::Credential::from_pem_files(o.certs[i], o.keys[i]);
        if (!cred) {
            log("cannot load certificate " + o.certs[i] + " with key " + o.keys[i] +
                " (missing, not PEM, or the key does not match)");
            return kExitUsage;
        }
        credentials.add(std::move(*cred));
    }
    if (o.certs.empty()) {
        pki::SelfSignedOptions self;
        self.names = o.ephemeral_names;
        self.ca_common_name = "l45-tls ephemeral CA";
        auto pki_result = pki::generate_self_signed(self);
        if (!pki_result) {
            log("cannot generate a self-signed certificate");
            return kExitUsage;
        }
        auto cred = pki::Credential::from_pem(pki_result->chain_pem, pki_result->key_pem);
        if (!cred) {
            log("cannot load the generated certificate");
            return kExitUsage;
        }
        credentials.add(std::move(*cred));
        std::string names;
        for (const auto& n : o.ephemeral_names)
            names += (names.empty() ? "" : ", ") + n;
        log("no --cert/--key given: using an EPHEMERAL self-signed ECDSA P-256 certificate for " +
            names + " (issued by a throw-away CA" +
            (o.ephemeral_ca_out.empty() ? "; --ephemeral-ca-out saves it" : "") + ")");
        if (!o.ephemeral_ca_out.empty()) {
            std::FILE* f = std::fopen(o.ephemeral_ca_out.c_str(), "w");
            if (f == nullptr ||
                std::fwrite(pki_result->ca_cert_pem.data(), 1, pki_result->ca_cert_pem.size(), f) !=
                    pki_result->ca_cert_pem.size()) {
                if (f != nullptr) std::fclose(f);
                log("cannot write " + o.ephemeral_ca_out);
                return kExitUsage;
            }
            std::fclose(f);
            log("wrote the ephemeral CA certificate to " + o.ephemeral_ca_out);
        }
    }
    config.credentials = &credentials;

    SystemRandom random;
    config.random = &random;
    auto engine = tls::CryptoEngine::create();
    if (!engine) {
        log("cannot initialise the IPsec-MB engine");
        return kExitUsage;
    }

    const auto where = parse_host_port(o.listen);
    if (!where) {
        log("--listen wants IP:PORT, got '" + o.listen + "'");
        return kExitUsage;
    }
    install_signal_handling();
    std::string error;
    Fd listener = listen_tcp(*where, error);
    if (!listener.valid()) {
        log(error);
        return kExitNetwork;
    }
    log("listening on " + o.listen + (o.www ? " (www)" : " (echo)"));

    SessionOptions session_options;
    session_options.mode = o.www ? SessionMode::server_www : SessionMode::server_echo;
    session_options.handshake_timeout_ms = o.handshake_timeout_s * 1000;
    session_options.idle_timeout_ms = o.idle_timeout_s * 1000;

    std::uint64_t num_ok = 0, num_failed = 0;
    // One connection after another, until SIGINT/SIGTERM. Nothing a client
    // does ends this loop: every failure is logged and the next one served.
    while (!stop_requested()) {
        WaitFd w{listener.get()};
        const Ready ready = wait_fds(&w, 1, -1);
        if (ready == Ready::stop) break;
        if (ready != Ready::fd || !w.readable) continue;
        Fd sock{::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC)};
        if (!sock.valid()) continue;  // ECONNABORTED, EMFILE...: try the next one
        const std::string peer = peer_name(sock.get());

        auto conn = tls::Connection::create(config, **engine);
        if (!conn) {
            log(peer + ": cannot create the connection: " + describe_error(conn.error()));
            ++num_failed;
            continue;
        }
        const SessionResult r =
            run_session(**conn, sock.get(), session_options, [&](const tls::Connection& c) {
                log(peer + ": handshake ok: " + describe_negotiated(c.negotiated()));
            });
        const std::string stage = r.handshake_complete ? "connection" : "handshake";
        switch (r.outcome) {
            case SessionOutcome::ok:
                ++num_ok;
                log(peer + ": closed" + (r.detail.empty() ? "" : " (" + r.detail + ")"));
                break;
            case SessionOutcome::tls_error:
                ++num_failed;
                log(peer + ": " + stage + " failed: " +
                    (r.error ? describe_error(*r.error) : std::string("unknown error")));
                break;
            case SessionOutcome::stopped:
                log(peer + ": interrupted");
                break;
            default:
                ++num_failed;
                log(peer + ": " + stage + " failed: " + r.detail);
                break;
        }
    }
    log("stopping (" + std::to_string(num_ok) + " connections ok, " + std::to_string(num_failed) +
        " failed)");
    return kExitOk;
}

// --- client ---

struct ClientOptions {
    CommonOptions common;
    std::string connect;
    std::string cafile;
    std::string capath;
    std::string servername;
    bool no_sni = false;
    bool insecure = false;
    int handshake_timeout_s = 10;
};

int run_client(const ClientOptions& o) {
    tls::Config config;
    config.role = tls::Role::client;
    KeyLogFile keylog;
    if (!apply_common(o.common, config, keylog)) return kExitUsage;

    const auto where = parse_host_port(o.connect);
    if (!where) {
        log("--connect wants HOST:PORT, got '" + o.connect + "'");
        return kExitUsage;
    }
    config.server_name = o.servername.empty() ? where->host : o.servername;

    std::optional<pki::CertificateVerifier> verifier;
    if (o.insecure) {
        std::fprintf(stderr,
                     "\n"
                     "l45-tls: ***************************************************************\n"
                     "l45-tls: *** WARNING: --insecure: the server certificate is NOT      ***\n"
                     "l45-tls: *** verified. Anyone on the path can impersonate the server ***\n"
                     "l45-tls: *** and read everything. Lab debugging only.                ***\n"
                     "l45-tls: ***************************************************************\n"
                     "\n");
        verifier.emplace(pki::CertificateVerifier::insecure_skip_verify());
        config.insecure_skip_verify_DANGEROUS = true;
    } else {
        auto v = !o.cafile.empty()   ? pki::CertificateVerifier::from_ca_file(o.cafile)
                 : !o.capath.empty() ? pki::CertificateVerifier::from_ca_dir(o.capath)
                                     : pki::CertificateVerifier::from_system_default();
        if (!v) {
            log(!o.cafile.empty()   ? "cannot load CA file " + o.cafile
                : !o.capath.empty() ? "cannot load CA directory " + o.capath
                                    : std::string("cannot load the system trust store"));
            return kExitUsage;
        }
        verifier.emplace(std::move(*v));
    }
    config.verifier = &*verifier;

    SystemRandom random;
    config.random = &random;
    auto engine = tls::CryptoEngine::create();
    if (!engine) {
        log("cannot initialise the IPsec-MB engine");
        return kExitUsage;
    }

    // connect() blocks: until it returns, SIGINT keeps its default action
    // (a blocked signal would otherwise wait out the kernel's SYN timeout).
    std::string error;
    Fd sock = connect_tcp(*where, error);
    if (!sock.valid()) {
        log("cannot connect to " + o.connect + ": " + error);
        return kExitNetwork;
    }
    install_signal_handling();
    auto conn = tls::Connection::create(config, **engine);
    if (!conn) {
        log("cannot create the connection: " + describe_error(conn.error()));
        return kExitUsage;
    }

    SessionOptions session_options;
    session_options.mode = SessionMode::client_stdio;
    session_options.handshake_timeout_ms = o.handshake_timeout_s * 1000;
    const SessionResult r =
        run_session(**conn, sock.get(), session_options, [&](const tls::Connection& c) {
            log("connected to " + o.connect + ": " +
                describe_negotiated(c.negotiated(),
                                    tls::msg::is_valid_sni_host_name(config.server_name)
                                        ? std::string_view(config.server_name)
                                        : std::string_view("-")) +
                (o.insecure ? " (certificate NOT verified)" : " (certificate verified)"));
        });

    const std::string stage = r.handshake_complete ? "connection" : "handshake";
    switch (r.outcome) {
        case SessionOutcome::ok:
            if (!r.detail.empty()) log("closed (" + r.detail + ")");
            return kExitOk;
        case SessionOutcome::tls_error: {
            if (!r.error) {
                log(stage + " failed");
                return r.handshake_complete ? kExitConnection : kExitHandshake;
            }
            log(stage + " failed: " + describe_error(*r.error));
            if (r.handshake_complete) return kExitConnection;
            if (r.error->origin == tls::ErrorOrigin::local &&
                is_certificate_alert(r.error->alert)) {
                log("the server certificate was rejected (server name '" + config.server_name +
                    "')");
                return kExitCertificate;
            }
            return kExitHandshake;
        }
        case SessionOutcome::io_error:
            log(stage + " failed: " + r.detail);
            return r.handshake_complete ? kExitNetwork : kExitHandshake;
        case SessionOutcome::truncated:
            log("connection failed: " + r.detail + " (the data may be truncated)");
            return kExitConnection;
        case SessionOutcome::timeout:
            log(stage + " failed: " + r.detail);
            return kExitTimeout;
        case SessionOutcome::stopped:
            log("interrupted");
            return kExitInterrupted;
    }
    return kExitConnection;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"l45-tls: TLS 1.3 client and server (l45 tls/ over kernel sockets)"};
    app.require_subcommand(1);

    ServerOptions server;
    auto* srv = app.add_subcommand("server", "serve TLS connections one after another");
    srv->add_option("--listen", server.listen, "IP:PORT to listen on")->capture_default_str();
    srv->add_option("--cert", server.certs,
                    "PEM certificate chain, leaf first (repeat with --key for SNI)");
    srv->add_option("--key", server.keys, "PEM private key of the matching --cert");
    srv->add_flag("--www", server.www, "answer HTTP GET with a status page instead of echoing");
    srv->add_option("--ephemeral-names", server.ephemeral_names,
                    "SAN names of the generated certificate when no --cert is given")
        ->capture_default_str();
    srv->add_option("--ephemeral-ca-out", server.ephemeral_ca_out,
                    "write the generated CA certificate (PEM) to this file");
    srv->add_option("--handshake-timeout", server.handshake_timeout_s, "seconds")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    srv->add_option("--idle-timeout", server.idle_timeout_s, "seconds (0: none)")
        ->capture_default_str()
        ->check(CLI::Range(0, 86400));
    add_common(*srv, server.common);

    ClientOptions client;
    auto* cli = app.add_subcommand("client", "connect, then copy stdin <-> the connection");
    cli->add_option("--connect", client.connect, "HOST:PORT")->required();
    auto* cafile = cli->add_option("--cafile", client.cafile, "PEM bundle of trusted CAs");
    auto* capath =
        cli->add_option("--capath", client.capath, "directory of hashed CA certificates");
    cafile->excludes(capath);
    cli->add_option("--servername", client.servername,
                    "SNI and the name to verify (default: the --connect host)");
    auto* insecure = cli->add_flag("--insecure", client.insecure,
                                   "DO NOT verify the server certificate (lab debugging only)");
    insecure->excludes(cafile)->excludes(capath);
    cli->add_option("--handshake-timeout", client.handshake_timeout_s, "seconds")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    add_common(*cli, client.common);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? kExitOk : kExitUsage;
    }

    if (srv->parsed()) return run_server(server);
    return run_client(client);
}
