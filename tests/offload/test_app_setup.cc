// l45-offload's start-up pieces: Config -> ProxyOptions, the generated PKI
// of the embedded default (made once, reused, regenerated when unusable,
// key mode 0600), loading configured certificates, and the stats line.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "apps/l45-offload/config.h"
#include "apps/l45-offload/config_to_options.h"
#include "apps/l45-offload/credentials.h"
#include "apps/l45-offload/stats.h"
#include "tls/pki/certificate.h"

namespace l45::offload {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "l45-offload-setup.XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    [[nodiscard]] const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// --- config_to_options ---

TEST(ConfigToOptions, EmbeddedDefault) {
    const Config c;
    const ProxyOptions o = config_to_options(c, 1);
    EXPECT_EQ(o.https_port, 443);
    EXPECT_EQ(o.http_port, 80);
    ASSERT_EQ(o.backends.size(), 1u);
    EXPECT_EQ(o.backends[0].addr, net::Ipv4Addr::from_octets(198, 18, 0, 1));
    EXPECT_EQ(o.backends[0].port, 8000);
    EXPECT_EQ(o.backend_down_interval, std::chrono::duration_cast<Duration>(5000ms));
    // 65536 connections would be 25 GB of session buffers: capped.
    EXPECT_EQ(o.max_sessions, kMaxSessionsPerLcore);
    EXPECT_EQ(o.credentials, nullptr);
    EXPECT_EQ(o.random, nullptr);
}

TEST(ConfigToOptions, EveryMappedField) {
    Config c;
    c.https_port = 8443;
    c.http_port = 0;
    c.backends = {{net::Ipv4Addr::from_octets(10, 0, 0, 1), 81},
                  {net::Ipv4Addr::from_octets(10, 0, 0, 2), 82}};
    c.mark_down_ms = 1234;
    c.max_connections = 30;
    const ProxyOptions o = config_to_options(c, 1);
    EXPECT_EQ(o.https_port, 8443);
    EXPECT_EQ(o.http_port, 0);
    ASSERT_EQ(o.backends.size(), 2u);
    EXPECT_EQ(o.backends[1].addr, net::Ipv4Addr::from_octets(10, 0, 0, 2));
    EXPECT_EQ(o.backends[1].port, 82);
    EXPECT_EQ(o.backend_down_interval, std::chrono::duration_cast<Duration>(1234ms));
    EXPECT_EQ(o.max_sessions, 30u);
    EXPECT_EQ(o.max_http_connections, 30u);
}

TEST(ConfigToOptions, ConnectionsAreSharedOverLcores) {
    Config c;
    c.max_connections = 10;
    EXPECT_EQ(config_to_options(c, 3).max_sessions, 4u);   // rounded up
    EXPECT_EQ(config_to_options(c, 0).max_sessions, 10u);  // 0 lcores: as one
    c.max_connections = 1;
    EXPECT_EQ(config_to_options(c, 8).max_sessions, 1u);  // never 0
    c.max_connections = 4 * kMaxSessionsPerLcore;
    EXPECT_EQ(config_to_options(c, 2).max_sessions, kMaxSessionsPerLcore);
}

TEST(ConfigToOptions, TcpTableHoldsBothLegsAndRedirects) {
    Config c;
    c.max_connections = 10;
    const ProxyOptions o = config_to_options(c, 1);
    EXPECT_GE(tcp_connections_for(o), 2 * o.max_sessions + o.max_http_connections);
}

// --- generated PKI ---

TEST(GeneratedPki, MadeOnceThenReused) {
    TempDir tmp;
    const std::string dir = (tmp.path() / "pki").string();
    auto first = ensure_generated_pki(dir, {"localhost", "www.example.test"});
    ASSERT_TRUE(first) << first.error();
    EXPECT_TRUE(first->created);
    EXPECT_EQ(first->ca_path, dir + "/ca.pem");
    struct stat st {};
    ASSERT_EQ(::stat(first->key_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(fs::exists(dir + "/server.key.tmp"));

    // The server chain verifies against the CA for both names, and the key
    // is the leaf's.
    auto cred = tls::pki::Credential::from_pem_files(first->cert_path, first->key_path);
    ASSERT_TRUE(cred);
    auto verifier = tls::pki::CertificateVerifier::from_ca_file(first->ca_path);
    ASSERT_TRUE(verifier);
    std::vector<ByteSpan> chain;
    for (std::size_t i = 0; i < cred->chain.num_certs(); ++i)
        chain.push_back(cred->chain.der(i));
    EXPECT_TRUE(verifier->verify(chain, "localhost"));
    EXPECT_TRUE(verifier->verify(chain, "www.example.test"));
    EXPECT_FALSE(verifier->verify(chain, "other.test"));

    const std::string ca = read_file(first->ca_path);
    auto second = ensure_generated_pki(dir, {"localhost", "www.example.test"});
    ASSERT_TRUE(second) << second.error();
    EXPECT_FALSE(second->created);
    EXPECT_EQ(read_file(second->ca_path), ca);
}

TEST(GeneratedPki, RegeneratedWhenNamesChangeOrFilesAreBroken) {
    TempDir tmp;
    const std::string dir = (tmp.path() / "pki").string();
    auto first = ensure_generated_pki(dir, {"localhost"});
    ASSERT_TRUE(first);
    const std::string ca = read_file(first->ca_path);

    auto renamed = ensure_generated_pki(dir, {"localhost", "new.test"});
    ASSERT_TRUE(renamed);
    EXPECT_TRUE(renamed->created);
    EXPECT_NE(read_file(renamed->ca_path), ca);

    std::ofstream(renamed->key_path, std::ios::trunc) << "not a key\n";
    auto repaired = ensure_generated_pki(dir, {"localhost"});
    ASSERT_TRUE(repaired);
    EXPECT_TRUE(repaired->created);
    EXPECT_TRUE(tls::pki::Credential::from_pem_files(repaired->cert_path, repaired->key_path));
}

TEST(GeneratedPki, DirectoryThatCannotBeMadeIsAnError) {
    // Below a regular file: no directory can be made there, even by root.
    TempDir tmp;
    const fs::path file = tmp.path() / "file";
    std::ofstream(file) << "x";
    auto r = ensure_generated_pki((file / "pki").string(), {"localhost"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("file/pki"), std::string::npos) << r.error();
}

// --- load_credentials ---

// Two certificates from two generated PKIs, as a configuration names them.
TEST(LoadCredentials, ConfiguredCertificatesByName) {
    TempDir tmp;
    auto a = ensure_generated_pki((tmp.path() / "a").string(), {"a.test"});
    auto b = ensure_generated_pki((tmp.path() / "b").string(), {"b.test"});
    ASSERT_TRUE(a && b);
    Config c;
    c.certificates = {{{"a.test"}, a->cert_path, a->key_path},
                      {{"b.test"}, b->cert_path, b->key_path}};
    c.default_certificate = 1;
    auto sel = load_credentials(c, nullptr);
    ASSERT_TRUE(sel) << sel.error();
    ASSERT_EQ((*sel)->size(), 2u);
    EXPECT_EQ((*sel)->select("a.test"), &(*sel)->at(0));
    EXPECT_EQ((*sel)->select("b.test"), &(*sel)->at(1));
    EXPECT_EQ((*sel)->select(std::nullopt), &(*sel)->at(1));  // the default

    // A configured name the certificate does not cover is an error.
    c.certificates[0].server_names = {"c.test"};
    auto bad = load_credentials(c, nullptr);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("c.test"), std::string::npos) << bad.error();
}

TEST(LoadCredentials, GeneratedOne) {
    TempDir tmp;
    auto g = ensure_generated_pki((tmp.path() / "g").string(), {"localhost"});
    ASSERT_TRUE(g);
    auto sel = load_credentials(Config{}, &*g);
    ASSERT_TRUE(sel) << sel.error();
    EXPECT_EQ((*sel)->size(), 1u);
    EXPECT_TRUE((*sel)->at(0).chain.matches_host("localhost"));
}

// --- stats ---

TEST(Stats, LineRatesOverTheInterval) {
    StatsSample a, b;
    a.at = Instant{} + 10s;
    b.at = a.at + 2s;
    a.handshakes = 10;
    b.handshakes = 30;
    b.connections = 31;
    b.active = 3;
    a.tls_bytes_in = 0;
    b.tls_bytes_in = 250'000'000;  // 1 Gbit/s over 2 s
    b.tls_bytes_out = 500'000'000;
    b.drops = 7;
    EXPECT_EQ(stats_line(a, b),
              "l45-offload: stats connections 31 active 3 handshakes 30 (10.0/s) failed 0 in "
              "1.000 Gbit/s out 2.000 Gbit/s drops 7");
}

TEST(Stats, DropsSumTheirSources) {
    ProxyCounters p;
    tcp::TcpCounters t;
    net::Counters n;
    drivers::PortCounters port;
    EXPECT_EQ(drops(p, t, n, port), 0u);
    p.sessions_exhausted = 1;
    t.table_full = 2;
    n.tx_queue_full = 4;
    port.tx_dropped = 8;
    EXPECT_EQ(drops(p, t, n, port), 15u);
    p.handshakes_ok = 5;
    EXPECT_EQ(sample(Instant{}, p, t, n, port).handshakes, 5u);
}

TEST(Stats, BoardPublishesEveryCounterByName) {
    StatsBoard board;
    ProxyCounters p;
    p.redirects = 42;
    tcp::TcpCounters t;
    t.retransmits = 9;
    net::Counters n;
    n.rx_frames = 5;
    drivers::PortCounters port;
    port.tx_dropped = 3;
    board.publish(p, t, n, port);
    const auto value = [](const StatsBoard::Group& g, const std::string& name) -> std::int64_t {
        for (std::size_t i = 0; i < g.names.size(); ++i)
            if (g.names[i] == name) return static_cast<std::int64_t>(g.values[i].load());
        return -1;
    };
    EXPECT_EQ(value(board.offload(), "redirects"), 42);
    EXPECT_EQ(value(board.offload(), "handshakes_ok"), 0);
    EXPECT_EQ(value(board.tcp(), "retransmits"), 9);
    EXPECT_EQ(value(board.tcp(), "keepalive_probes"), 0);
    EXPECT_EQ(value(board.net(), "rx_frames"), 5);
    EXPECT_EQ(value(board.net(), "port_tx_dropped"), 3);
}

}  // namespace
}  // namespace l45::offload
