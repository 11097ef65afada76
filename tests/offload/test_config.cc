// l45-offload's configuration: the example file as shipped, the embedded
// default, CLI overrides, and every validation error with its file:line.
#include "apps/l45-offload/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace l45::offload {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

// 1-based line of the first line of `text` containing `needle`.
int line_of(const std::string& text, const std::string& needle) {
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.find(needle) != std::string::npos) return n;
    }
    ADD_FAILURE() << "no line with " << needle;
    return 0;
}

fs::path example_path() {
    const char* p = std::getenv("L45_OFFLOAD_EXAMPLE");
    return fs::path(p != nullptr ? p : L45_OFFLOAD_EXAMPLE_DEFAULT);
}

// Parses argv (after the program name) as l45-offload's flags.
CliOverrides parse_flags(std::vector<std::string> args) {
    CLI::App app;
    CliOverrides out;
    add_cli_options(app, out);
    args.insert(args.begin(), "l45-offload");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return out;
}

class ConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "l45-offload-config-XXXXXX").string();
        ASSERT_NE(mkdtemp(templ.data()), nullptr);
        dir_ = templ;
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Parses `toml` as if read from dir_/t.toml.
    Result<Config, std::string> parse(const std::string& toml, const CliOverrides& cli = {}) {
        return parse_config(toml, "t.toml", dir_.string(), cli);
    }
    // The error text of a configuration that must fail.
    std::string error_of(const std::string& toml, const CliOverrides& cli = {}) {
        auto c = parse(toml, cli);
        EXPECT_FALSE(c) << toml;
        return c ? std::string() : c.error();
    }
    // A certificate section whose files exist.
    std::string cert(const std::string& names, const std::string& stem, bool is_default = false) {
        write_file(dir_ / (stem + ".pem"), "-----BEGIN CERTIFICATE-----\n");
        write_file(dir_ / (stem + ".key"), "-----BEGIN PRIVATE KEY-----\n");
        return "[[certificates]]\nnames = [" + names + "]\ncert = \"" + stem + ".pem\"\nkey = \"" +
               stem + ".key\"\n" + (is_default ? "default = true\n" : "");
    }

    fs::path dir_;
};

// ----------------------------------------------------------------- defaults

TEST_F(ConfigTest, NoFileNoFlagsIsTheEmbeddedDefault) {
    auto c = load_config({});
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->https_port, 443);
    EXPECT_EQ(c->http_port, 80);
    EXPECT_EQ(c->port_name, "");
    EXPECT_EQ(c->vdev, "net_tap0,iface=l45o0");
    EXPECT_EQ(c->ip.to_string(), "198.18.0.2");
    EXPECT_EQ(c->prefix_len, 24);
    ASSERT_TRUE(c->gateway);
    EXPECT_EQ(c->gateway->to_string(), "198.18.0.1");
    EXPECT_EQ(c->tls_queues, (std::vector<std::uint16_t>{0}));
    EXPECT_EQ(c->control_queue, 0);
    EXPECT_EQ(c->steering, SteeringChoice::automatic);
    EXPECT_TRUE(c->generate_certificates());
    EXPECT_EQ(c->generated_dir, "l45-offload-pki");
    EXPECT_EQ(c->generated_names, (std::vector<std::string>{"localhost"}));
    EXPECT_EQ(c->keylog_file, "");
    ASSERT_EQ(c->backends.size(), 1u);
    EXPECT_EQ(c->backends[0].addr.to_string(), "198.18.0.1");
    EXPECT_EQ(c->backends[0].port, 8000);
    EXPECT_EQ(c->balance, Balance::round_robin);
    EXPECT_EQ(c->mark_down_ms, 5000u);
    EXPECT_EQ(c->max_connections, 65536u);
    EXPECT_EQ(c->handshakes_per_poll, 2u);
    EXPECT_EQ(c->stats_interval_s, 10);
    EXPECT_TRUE(c->telemetry);
}

TEST_F(ConfigTest, AnEmptyFileIsTheEmbeddedDefaultToo) {
    auto empty = parse("# nothing\n");
    auto none = load_config({});
    ASSERT_TRUE(empty) << empty.error();
    ASSERT_TRUE(none) << none.error();
    EXPECT_EQ(empty->https_port, none->https_port);
    EXPECT_EQ(empty->vdev, none->vdev);
    EXPECT_EQ(empty->backends, none->backends);
    EXPECT_EQ(empty->tls_queues, none->tls_queues);
    EXPECT_TRUE(empty->generate_certificates());
}

// ----------------------------------------------------------- the example file

TEST_F(ConfigTest, ExampleFileInPlaceReportsOnlyItsMissingCertificatesWithLines) {
    const fs::path example = example_path();
    const std::string text = read_file(example);
    ASSERT_FALSE(text.empty()) << example;
    CliOverrides cli;
    cli.config_path = example.string();
    auto c = load_config(cli);
    ASSERT_FALSE(c) << "the example's certificates are not in the repository";
    const std::string dir = example.parent_path().string();
    const std::string want =
        example.string() + ":" + std::to_string(line_of(text, "cert = \"pki/example.com.pem")) +
        ": certificates[0].cert: " + dir + "/pki/example.com.pem: no such file\n" +
        example.string() + ":" + std::to_string(line_of(text, "key = \"pki/example.com.key")) +
        ": certificates[0].key: " + dir + "/pki/example.com.key: no such file\n" +
        example.string() + ":" + std::to_string(line_of(text, "cert = \"pki/api.example.net.pem")) +
        ": certificates[1].cert: " + dir + "/pki/api.example.net.pem: no such file\n" +
        example.string() + ":" + std::to_string(line_of(text, "key = \"pki/api.example.net.key")) +
        ": certificates[1].key: " + dir + "/pki/api.example.net.key: no such file";
    EXPECT_EQ(c.error(), want);
}

TEST_F(ConfigTest, ExampleFileWithItsCertificatesLoadsEveryKey) {
    fs::copy_file(example_path(), dir_ / "offload.toml");
    for (const char* f : {"pki/example.com.pem", "pki/example.com.key", "pki/api.example.net.pem",
                          "pki/api.example.net.key"})
        write_file(dir_ / f, "PEM\n");
    CliOverrides cli;
    cli.config_path = (dir_ / "offload.toml").string();
    auto c = load_config(cli);
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->https_port, 443);
    EXPECT_EQ(c->http_port, 80);
    EXPECT_EQ(c->port_name, "0000:3b:00.0");
    EXPECT_EQ(c->vdev, "");
    EXPECT_EQ(c->ip.to_string(), "203.0.113.10");
    EXPECT_EQ(c->prefix_len, 24);
    ASSERT_TRUE(c->gateway);
    EXPECT_EQ(c->gateway->to_string(), "203.0.113.1");
    EXPECT_EQ(c->tls_queues, (std::vector<std::uint16_t>{1, 2, 3, 4}));
    EXPECT_EQ(c->control_queue, 0);
    EXPECT_EQ(c->steering, SteeringChoice::automatic);
    EXPECT_EQ(c->keylog_file, "");
    EXPECT_EQ(c->generated_dir, (dir_ / "l45-offload-pki").string());
    ASSERT_FALSE(c->generate_certificates());
    ASSERT_EQ(c->certificates.size(), 2u);
    EXPECT_EQ(c->default_certificate, 0u);
    EXPECT_EQ(c->certificates[0].server_names,
              (std::vector<std::string>{"example.com", "www.example.com"}));
    EXPECT_EQ(c->certificates[0].cert_path, (dir_ / "pki/example.com.pem").string());
    EXPECT_EQ(c->certificates[0].key_path, (dir_ / "pki/example.com.key").string());
    EXPECT_EQ(c->certificates[1].server_names, (std::vector<std::string>{"*.api.example.net"}));
    EXPECT_EQ(c->certificates[1].cert_path, (dir_ / "pki/api.example.net.pem").string());
    ASSERT_EQ(c->backends.size(), 2u);
    EXPECT_EQ(c->backends[0].addr.to_string(), "10.0.0.11");
    EXPECT_EQ(c->backends[0].port, 8080);
    EXPECT_EQ(c->backends[1].addr.to_string(), "10.0.0.12");
    EXPECT_EQ(c->balance, Balance::round_robin);
    EXPECT_EQ(c->mark_down_ms, 3000u);
    EXPECT_EQ(c->max_connections, 200000u);
    EXPECT_EQ(c->handshakes_per_poll, 2u);
    EXPECT_EQ(c->stats_interval_s, 5);
    EXPECT_TRUE(c->telemetry);
}

// -------------------------------------------------------------- CLI overrides

TEST_F(ConfigTest, FlagsOverrideTheFileAndKeepTheRest) {
    const std::string toml = "[listen]\nhttps_port = 8443\n[queues]\ntls = [1, 2]\ncontrol = 0\n" +
                             cert("\"a.example\"", "a") + "[stats]\ninterval_s = 2.5\n";
    write_file(dir_ / "c.toml", toml);
    const CliOverrides cli = parse_flags({"--config",
                                          (dir_ / "c.toml").string(),
                                          "--https-port",
                                          "9443",
                                          "--http-port",
                                          "0",
                                          "--tls-queues",
                                          "3,4,5",
                                          "--control-queue",
                                          "1",
                                          "--backend",
                                          "10.0.0.1:80",
                                          "--backend",
                                          "10.0.0.2:81",
                                          "--no-telemetry",
                                          "--steering",
                                          "software",
                                          "--ip",
                                          "10.1.0.2/16",
                                          "--gw",
                                          "10.1.200.1",
                                          "--max-connections",
                                          "10",
                                          "--port",
                                          "net_tap1"});
    auto c = load_config(cli);
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->https_port, 9443);
    EXPECT_EQ(c->http_port, 0);
    EXPECT_EQ(c->tls_queues, (std::vector<std::uint16_t>{3, 4, 5}));
    EXPECT_EQ(c->control_queue, 1);
    ASSERT_EQ(c->backends.size(), 2u);
    EXPECT_EQ(c->backends[1].addr.to_string(), "10.0.0.2");
    EXPECT_EQ(c->backends[1].port, 81);
    EXPECT_FALSE(c->telemetry);
    EXPECT_EQ(c->steering, SteeringChoice::software);
    EXPECT_EQ(c->ip.to_string(), "10.1.0.2");
    EXPECT_EQ(c->prefix_len, 16);
    EXPECT_EQ(c->gateway->to_string(), "10.1.200.1");
    EXPECT_EQ(c->max_connections, 10u);
    EXPECT_EQ(c->port_name, "net_tap1");
    // From the file, untouched by flags:
    EXPECT_EQ(c->stats_interval_s, 2.5);
    ASSERT_EQ(c->certificates.size(), 1u);
    EXPECT_EQ(c->certificates[0].server_names, (std::vector<std::string>{"a.example"}));
}

TEST_F(ConfigTest, CertAndKeyFlagsMakeTheOnlyDefaultCertificate) {
    write_file(dir_ / "x.pem", "PEM");
    write_file(dir_ / "x.key", "PEM");
    const CliOverrides cli =
        parse_flags({"--cert", (dir_ / "x.pem").string(), "--key", (dir_ / "x.key").string()});
    auto c = parse(cert("\"a.example\"", "a") + cert("\"b.example\"", "b"), cli);
    ASSERT_TRUE(c) << c.error();
    ASSERT_EQ(c->certificates.size(), 1u);
    EXPECT_TRUE(c->certificates[0].server_names.empty()) << "the default serves any name";
    EXPECT_EQ(c->certificates[0].cert_path, (dir_ / "x.pem").string());
    EXPECT_EQ(c->default_certificate, 0u);
}

TEST_F(ConfigTest, FlagErrorsNameTheFlag) {
    EXPECT_EQ(error_of("", parse_flags({"--cert", "x.pem"})),
              "--cert/--key: give both --cert and --key");
    EXPECT_EQ(error_of("", parse_flags({"--ip", "10.0.0.300/24"})),
              "--ip: '10.0.0.300/24' is not an address/prefix (198.18.0.2/24)");
    EXPECT_EQ(error_of("", parse_flags({"--https-port", "0"})),
              "--https-port: 0 is not a port (1..65535)");
    EXPECT_EQ(error_of("", parse_flags({"--backend", "10.0.0.1"})),
              "--backend: '10.0.0.1' is not IP:PORT (198.18.0.1:8000)");
    EXPECT_EQ(error_of("", parse_flags({"--steering", "fast"})),
              "--steering: 'fast' is not a steering mode (auto, software)");
    EXPECT_EQ(error_of("", parse_flags({"--keylog", (dir_ / "no/such/keys.log").string()})),
              "--keylog: " + (dir_ / "no/such").string() + ": no such directory");
    EXPECT_THROW(parse_flags({"--https-port", "70000"}), CLI::ParseError);
}

TEST_F(ConfigTest, MissingConfigFileIsAnError) {
    CliOverrides cli;
    cli.config_path = (dir_ / "absent.toml").string();
    auto c = load_config(cli);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(),
              cli.config_path + ": cannot open the configuration (No such file or directory)");
}

// ----------------------------------------------------------- validation errors

TEST_F(ConfigTest, EveryValidationErrorSaysWhereAndWhat) {
    struct Case {
        std::string toml;
        std::string error;  // the whole message
    };
    const std::vector<Case> cases = {
        {"[listen]\nhttps_port = 70000\n",
         "t.toml:2: listen.https_port: 70000 is out of range (0..65535)"},
        {"[listen]\nhttps_port = 0\n", "t.toml:2: listen.https_port: 0 is not a port (1..65535)"},
        {"[listen]\nhttps_port = \"443\"\n",
         "t.toml:2: listen.https_port: expected an integer, got a string"},
        {"[listen]\nhttp_port = -1\n", "t.toml:2: listen.http_port: -1 is out of range (0..65535)"},
        {"[listen]\nhttps_port = 8443\nhttp_port = 8443\n",
         "t.toml:3: listen.http_port: 8443 is also the https port"},
        {"[listen]\nhtps_port = 1\n", "t.toml:2: listen.htps_port: unknown key"},
        {"[lissen]\nhttps_port = 1\n", "t.toml:1: lissen: unknown section"},
        {"listen = 5\n", "t.toml:1: listen: expected a table, got an integer"},
        {"[network]\nip = \"198.18.0.2/33\"\n",
         "t.toml:2: network.ip: '198.18.0.2/33' is not an address/prefix (198.18.0.2/24)"},
        {"[network]\ngateway = \"10.0.0.1\"\n",
         "t.toml:2: network.gateway: 10.0.0.1 is not in 198.18.0.2/24"},
        {"[network]\ngateway = \"198.18.0.2\"\n",
         "t.toml:2: network.gateway: 198.18.0.2 is the local address"},
        {"[network]\ngateway = \"gw\"\n", "t.toml:2: network.gateway: 'gw' is not an IPv4 address"},
        {"[network]\nport = 1\n", "t.toml:2: network.port: expected a string, got an integer"},
        {"[queues]\ntls = []\n", "t.toml:2: queues.tls: no TLS queue"},
        {"[queues]\ntls = [1, 2, 1]\n", "t.toml:2: queues.tls: queue 1 is given twice"},
        {"[queues]\ntls = [1,\n  2000]\n",
         "t.toml:3: queues.tls[1]: 2000 is out of range (0..1023)"},
        {"[queues]\ntls = [1, \"2\"]\n",
         "t.toml:2: queues.tls[1]: expected an integer, got a string"},
        {"[queues]\ntls = 1\n",
         "t.toml:2: queues.tls: expected an array of integers, got an integer"},
        {"[queues]\ncontrol = 1024\n", "t.toml:2: queues.control: 1024 is out of range (0..1023)"},
        {"[queues]\nsteering = \"hw\"\n",
         "t.toml:2: queues.steering: 'hw' is not a steering mode (auto, software)"},
        {"[backends]\nservers = []\n", "t.toml:2: backends.servers: no backend"},
        {"[backends]\nservers = [\"10.0.0.1\"]\n",
         "t.toml:2: backends.servers: '10.0.0.1' is not IP:PORT (198.18.0.1:8000)"},
        {"[backends]\nservers = [\"10.0.0.1:0\"]\n",
         "t.toml:2: backends.servers: '10.0.0.1:0' is not IP:PORT (198.18.0.1:8000)"},
        {"[backends]\nservers = [\"10.0.0.1:80\", \"10.0.0.1:80\"]\n",
         "t.toml:2: backends.servers: 10.0.0.1:80 is given twice"},
        {"[backends]\nbalance = \"random\"\n",
         "t.toml:2: backends.balance: 'random' is not a balancing method (round-robin)"},
        {"[health]\nmark_down_ms = 0\n",
         "t.toml:2: health.mark_down_ms: 0 is out of range (1..86400000)"},
        {"[limits]\nhandshakes_per_poll = 1025\n",
         "t.toml:2: limits.handshakes_per_poll: 1025 is out of range (0..1024)"},
        {"[limits]\nmax_connections = 0\n",
         "t.toml:2: limits.max_connections: 0 is out of range (1..16777216)"},
        {"[stats]\ninterval_s = -1\n",
         "t.toml:2: stats.interval_s: -1 is out of range (0..86400 seconds, 0: off)"},
        {"[stats]\ninterval_s = \"5\"\n",
         "t.toml:2: stats.interval_s: expected a number, got a string"},
        {"[stats]\ntelemetry = 1\n",
         "t.toml:2: stats.telemetry: expected true or false, got an integer"},
        {"[tls]\nkeylog_file = \"no/such/dir/keys.log\"\n",
         "t.toml:2: tls.keylog_file: " + (dir_ / "no/such/dir").string() + ": no such directory"},
        {"[tls]\ngenerated_names = [\"bad name\"]\n",
         "t.toml:2: tls.generated_names: 'bad name' is not a host name"},
        {"[tls]\ngenerated_names = []\n",
         "t.toml:2: tls.generated_names: the generated certificate needs a name"},
        {"[listen\nhttps_port = 1\n", "t.toml:1:8: "},  // the parser's own message follows
        {"certificates = 3\n",
         "t.toml:1: certificates: expected an array of tables ([[certificates]]), got an integer"},
    };
    for (const Case& k : cases) {
        const std::string got = error_of(k.toml);
        if (k.error.ends_with(": ")) {
            EXPECT_TRUE(got.starts_with(k.error)) << k.toml << "\n -> " << got;
        } else {
            EXPECT_EQ(got, k.error) << k.toml;
        }
    }
}

TEST_F(ConfigTest, CertificateErrors) {
    // Duplicate SNI, case-insensitively, with both locations.
    std::string toml = cert("\"example.com\", \"www.example.com\"", "a") +
                       cert("\"b.example\", \"WWW.Example.COM\"", "b");
    EXPECT_EQ(error_of(toml),
              "t.toml:6: certificates[1].names: 'www.example.com' is also served "
              "by certificates[0] (t.toml:2)");

    EXPECT_EQ(error_of(cert("\"exa_mple.com\"", "a")),
              "t.toml:2: certificates[0].names: 'exa_mple.com' is not a host name");
    EXPECT_EQ(error_of(cert("\"a.*.example\"", "a")),
              "t.toml:2: certificates[0].names: 'a.*.example' is not a host name (a wildcard is "
              "only \"*.\" in front)");
    EXPECT_EQ(error_of(cert("\"-a.example\"", "a")),
              "t.toml:2: certificates[0].names: '-a.example' is not a host name (a label starts "
              "or ends with '-')");
    EXPECT_EQ(error_of(cert("\"a..example\"", "a")),
              "t.toml:2: certificates[0].names: 'a..example' is not a host name (empty or long "
              "label)");

    // Two defaults.
    toml = cert("\"a.example\"", "a", true) + cert("\"b.example\"", "b", true);
    EXPECT_EQ(error_of(toml),
              "t.toml:10: certificates[1].default: certificates[0] is already the default");

    // Only the default may serve no name (the first is the default if none says so).
    toml = cert("\"a.example\"", "a") + cert("", "b");
    EXPECT_EQ(error_of(toml),
              "t.toml:6: certificates[1].names: only the default certificate may have no names");
    toml = cert("\"a.example\"", "a") + cert("", "b", true);
    auto ok = parse(toml);
    ASSERT_TRUE(ok) << ok.error();
    EXPECT_EQ(ok->default_certificate, 1u);

    // A key not given, a file missing, a directory instead of a file.
    EXPECT_EQ(error_of("[[certificates]]\nnames = [\"a.example\"]\ncert = \"none.pem\"\n"),
              "t.toml:3: certificates[0].cert: " + (dir_ / "none.pem").string() +
                  ": no such file\nt.toml:1: certificates[0].key: missing");
    fs::create_directories(dir_ / "d.key");
    write_file(dir_ / "d.pem", "PEM");
    EXPECT_EQ(
        error_of("[[certificates]]\ncert = \"d.pem\"\nkey = \"d.key\"\n"),
        "t.toml:3: certificates[0].key: " + (dir_ / "d.key").string() + ": not a regular file");
    EXPECT_EQ(error_of("[[certificates]]\ncert = \"d.pem\"\nkey = \"d.pem\"\ncolour = 1\n"),
              "t.toml:4: certificates[0].colour: unknown key");
}

TEST_F(ConfigTest, AllErrorsAreReportedAtOnce) {
    const std::string got =
        error_of("[listen]\nhttps_port = 0\n[queues]\ntls = [1, 1]\n[backends]\nservers = []\n");
    EXPECT_EQ(got,
              "t.toml:2: listen.https_port: 0 is not a port (1..65535)\n"
              "t.toml:4: queues.tls: queue 1 is given twice\n"
              "t.toml:6: backends.servers: no backend");
}

TEST_F(ConfigTest, NamesAreLowerCasedAndAbsolutePathsKept) {
    write_file(dir_ / "abs.pem", "PEM");
    write_file(dir_ / "abs.key", "PEM");
    auto c =
        parse("[[certificates]]\nnames = [\"Example.COM\"]\ncert = \"" +
              (dir_ / "abs.pem").string() + "\"\nkey = \"" + (dir_ / "abs.key").string() + "\"\n");
    ASSERT_TRUE(c) << c.error();
    EXPECT_EQ(c->certificates[0].server_names, (std::vector<std::string>{"example.com"}));
    EXPECT_EQ(c->certificates[0].cert_path, (dir_ / "abs.pem").string());
}

TEST_F(ConfigTest, SteeringConfigServesHttpsAndTheRedirectPort) {
    auto c = parse(
        "[listen]\nhttps_port = 8443\nhttp_port = 8080\n[queues]\ntls = [2, 3]\n"
        "control = 1\n[network]\nip = \"10.0.0.5/8\"\ngateway = \"\"\n");
    ASSERT_TRUE(c) << c.error();
    EXPECT_FALSE(c->gateway);
    drivers::SteeringConfig s = steering_config(*c);
    EXPECT_EQ(s.tls_ports, (std::vector<std::uint16_t>{8443, 8080}));
    EXPECT_EQ(s.tls_queues, (std::vector<std::uint16_t>{2, 3}));
    EXPECT_EQ(s.control_queue, 1);
    ASSERT_TRUE(s.local_ip);
    EXPECT_EQ(s.local_ip->to_string(), "10.0.0.5");
    c->http_port = 0;
    EXPECT_EQ(steering_config(*c).tls_ports, (std::vector<std::uint16_t>{8443}));
}

}  // namespace
}  // namespace l45::offload
