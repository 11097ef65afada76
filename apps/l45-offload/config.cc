#include "apps/l45-offload/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "apps/common/cli.h"

namespace l45::offload {
namespace {

namespace fs = std::filesystem;

// rte_ethdev's RTE_MAX_QUEUES_PER_PORT (not included here: no DPDK in config).
constexpr std::int64_t kMaxQueues = 1024;
constexpr std::int64_t kMaxConnections = 1 << 24;
constexpr std::int64_t kMaxHandshakesPerPoll = 1024;
constexpr std::int64_t kMaxMarkDownMs = 24LL * 3600 * 1000;
constexpr double kMaxStatsInterval = 24.0 * 3600;

const char* type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::date:
        case toml::node_type::time:
        case toml::node_type::date_time:
            return "a date/time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

// The keys each table may hold (a typo is an error, not a silent default).
const std::map<std::string, std::set<std::string>>& known_keys() {
    static const std::map<std::string, std::set<std::string>> keys = {
        {"listen", {"https_port", "http_port"}},
        {"network", {"port", "vdev", "ip", "gateway"}},
        {"queues", {"tls", "control", "steering"}},
        {"tls", {"keylog_file", "generated_dir", "generated_names"}},
        {"certificates", {"names", "cert", "key", "default"}},
        {"backends", {"servers", "balance"}},
        {"health", {"mark_down_ms"}},
        {"limits", {"max_connections", "handshakes_per_poll"}},
        {"stats", {"interval_s", "telemetry"}},
    };
    return keys;
}

// SNI names (RFC 6066 3: a DNS hostname, no trailing dot), lower-cased; a
// leading "*." label is a wildcard. Returns the reason when not valid.
std::string check_server_name(std::string& name) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view rest = name;
    if (rest.starts_with("*.")) rest.remove_prefix(2);
    if (rest.empty() || rest.size() > 253) return "is not a host name";
    std::size_t start = 0;
    while (start <= rest.size()) {
        const std::size_t dot = std::min(rest.find('.', start), rest.size());
        const std::string_view label = rest.substr(start, dot - start);
        if (label.empty() || label.size() > 63) return "is not a host name (empty or long label)";
        if (label.front() == '-' || label.back() == '-')
            return "is not a host name (a label starts or ends with '-')";
        for (char c : label) {
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
                return c == '*' ? "is not a host name (a wildcard is only \"*.\" in front)"
                                : "is not a host name";
            }
        }
        start = dot + 1;
    }
    return {};
}

std::optional<BackendConfig> parse_backend(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto addr = net::Ipv4Addr::parse(text.substr(0, colon));
    const std::string_view port = text.substr(colon + 1);
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (!addr || port.empty() || ec != std::errc() || p != port.data() + port.size() || v == 0 ||
        v > 65535) {
        return std::nullopt;
    }
    return BackendConfig{*addr, static_cast<std::uint16_t>(v)};
}

std::string backend_string(const BackendConfig& b) {
    return b.addr.to_string() + ":" + std::to_string(b.port);
}

// Reads the file at `path` or says why not.
std::string check_readable_file(const std::string& path) {
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) return path + ": no such file";
    if (!fs::is_regular_file(st)) return path + ": not a regular file";
    std::ifstream in(path, std::ios::binary);
    if (!in) return path + ": cannot be read (" + std::strerror(errno) + ")";
    return {};
}

class Loader {
  public:
    Loader(std::string source, std::string base_dir)
        : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

    Config config;

    void parse(const toml::table& root) {
        for (auto&& [key, node] : root) {
            const std::string k(key.str());
            if (!known_keys().contains(k)) {
                error(at(node), k, "unknown section");
                continue;
            }
            if (k == "certificates") {
                parse_certificates(node);
                continue;
            }
            const toml::table* tbl = node.as_table();
            if (tbl == nullptr) {
                error(at(node), k, std::string("expected a table, got ") + type_name(node.type()));
                continue;
            }
            check_keys(*tbl, k);
        }
        const auto sec = [&](const char* name) { return root[name].as_table(); };
        if (const auto* t = sec("listen")) {
            get_uint(*t, "listen", "https_port", 0, 65535, config.https_port);
            get_uint(*t, "listen", "http_port", 0, 65535, config.http_port);
        }
        if (const auto* t = sec("network")) {
            get_string(*t, "network", "port", config.port_name);
            get_string(*t, "network", "vdev", config.vdev);
            std::string text;
            if (get_string(*t, "network", "ip", text)) set_ip(text, "network.ip");
            if (get_string(*t, "network", "gateway", text)) set_gateway(text, "network.gateway");
        }
        if (const auto* t = sec("queues")) {
            get_uint_list(*t, "queues", "tls", 0, kMaxQueues - 1, config.tls_queues);
            get_uint(*t, "queues", "control", 0, kMaxQueues - 1, config.control_queue);
            std::string text;
            if (get_string(*t, "queues", "steering", text)) set_steering(text, "queues.steering");
        }
        if (const auto* t = sec("tls")) {
            std::string path;
            if (get_string(*t, "tls", "keylog_file", path))
                config.keylog_file = path.empty() ? path : resolve(path);
            if (get_string(*t, "tls", "generated_dir", path)) config.generated_dir = resolve(path);
            get_string_list(*t, "tls", "generated_names", config.generated_names);
        }
        if (const auto* t = sec("backends")) {
            std::vector<std::string> servers;
            if (get_string_list(*t, "backends", "servers", servers)) set_backends(servers);
            std::string text;
            if (get_string(*t, "backends", "balance", text)) {
                if (text != "round-robin") {
                    error(where("backends.balance"), "backends.balance",
                          "'" + text + "' is not a balancing method (round-robin)");
                }
            }
        }
        if (const auto* t = sec("health"))
            get_uint(*t, "health", "mark_down_ms", 1, kMaxMarkDownMs, config.mark_down_ms);
        if (const auto* t = sec("limits")) {
            get_uint(*t, "limits", "max_connections", 1, kMaxConnections, config.max_connections);
            get_uint(*t, "limits", "handshakes_per_poll", 0, kMaxHandshakesPerPoll,
                     config.handshakes_per_poll);
        }
        if (const auto* t = sec("stats")) {
            get_number(*t, "stats", "interval_s", config.stats_interval_s);
            get_bool(*t, "stats", "telemetry", config.telemetry);
        }
    }

    void apply(const CliOverrides& cli) {
        // A flag that sets a field the file may also set: errors about the
        // value then name the flag instead of the file's line.
        const auto take = [&](const auto& flag_value, auto& field, const char* key,
                              const char* flag) {
            if (!flag_value) return;
            field = *flag_value;
            where_[key] = flag;
        };
        take(cli.https_port, config.https_port, "listen.https_port", "--https-port");
        take(cli.http_port, config.http_port, "listen.http_port", "--http-port");
        if (cli.port_name) config.port_name = *cli.port_name;
        if (cli.vdev) config.vdev = *cli.vdev;
        if (cli.ip) {
            where_["network.ip"] = "--ip";
            set_ip(*cli.ip, "network.ip");
        }
        if (cli.gateway) {
            where_["network.gateway"] = "--gw";
            set_gateway(*cli.gateway, "network.gateway");
        }
        take(cli.tls_queues, config.tls_queues, "queues.tls", "--tls-queues");
        take(cli.control_queue, config.control_queue, "queues.control", "--control-queue");
        if (cli.steering) {
            where_["queues.steering"] = "--steering";
            set_steering(*cli.steering, "queues.steering");
        }
        if (cli.cert_path || cli.key_path) {
            where_["certificates[0].cert"] = "--cert";
            where_["certificates[0].key"] = "--key";
            where_["certificates[0].names"] = "--cert";
            if (!cli.cert_path || !cli.key_path) {
                error("--cert/--key", "certificates", "give both --cert and --key");
            } else {
                config.certificates = {CertificateConfig{{}, *cli.cert_path, *cli.key_path}};
                config.default_certificate = 0;
                cert_default_marks_ = 1;
            }
        }
        if (cli.backends) {
            where_["backends.servers"] = "--backend";
            set_backends(*cli.backends);
        }
        take(cli.max_connections, config.max_connections, "limits.max_connections",
             "--max-connections");
        take(cli.stats_interval_s, config.stats_interval_s, "stats.interval_s", "--stats-interval");
        if (cli.telemetry) config.telemetry = *cli.telemetry;
        take(cli.keylog_file, config.keylog_file, "tls.keylog_file", "--keylog");
    }

    // Checks across fields, and the files.
    void validate() {
        Config& c = config;
        if (c.https_port == 0)
            error(where("listen.https_port"), "listen.https_port", "0 is not a port (1..65535)");
        if (c.http_port != 0 && c.http_port == c.https_port) {
            error(where("listen.http_port"), "listen.http_port",
                  std::to_string(c.http_port) + " is also the https port");
        }
        if (c.gateway) {
            const std::uint32_t mask = net::prefix_mask(c.prefix_len);
            if ((c.gateway->value & mask) != (c.ip.value & mask)) {
                error(where("network.gateway"), "network.gateway",
                      c.gateway->to_string() + " is not in " + c.ip.to_string() + "/" +
                          std::to_string(c.prefix_len));
            } else if (*c.gateway == c.ip) {
                error(where("network.gateway"), "network.gateway",
                      c.gateway->to_string() + " is the local address");
            }
        }
        if (c.tls_queues.empty()) error(where("queues.tls"), "queues.tls", "no TLS queue");
        std::set<std::uint16_t> queues;
        for (std::uint16_t q : c.tls_queues) {
            if (q >= kMaxQueues) {
                error(where("queues.tls"), "queues.tls",
                      "queue " + std::to_string(q) + " is out of range (0..1023)");
            }
            if (!queues.insert(q).second) {
                error(where("queues.tls"), "queues.tls",
                      "queue " + std::to_string(q) + " is given twice");
            }
        }
        if (c.control_queue >= kMaxQueues) {
            error(where("queues.control"), "queues.control",
                  "queue " + std::to_string(c.control_queue) + " is out of range (0..1023)");
        }
        validate_certificates();
        if (c.backends.empty()) error(where("backends.servers"), "backends.servers", "no backend");
        for (std::size_t i = 0; i < c.backends.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (c.backends[i] == c.backends[j]) {
                    error(where("backends.servers"), "backends.servers",
                          backend_string(c.backends[i]) + " is given twice");
                }
            }
        }
        if (c.max_connections == 0 || c.max_connections > kMaxConnections) {
            error(where("limits.max_connections"), "limits.max_connections",
                  std::to_string(c.max_connections) + " is out of range (1.." +
                      std::to_string(kMaxConnections) + ")");
        }
        if (!(c.stats_interval_s >= 0 && c.stats_interval_s <= kMaxStatsInterval)) {
            std::ostringstream v;
            v << c.stats_interval_s;
            error(where("stats.interval_s"), "stats.interval_s",
                  v.str() + " is out of range (0..86400 seconds, 0: off)");
        }
        if (!c.keylog_file.empty()) {
            const fs::path parent = fs::path(c.keylog_file).parent_path();
            std::error_code ec;
            if (!parent.empty() && !fs::is_directory(parent, ec)) {
                error(where("tls.keylog_file"), "tls.keylog_file",
                      parent.string() + ": no such directory");
            }
        }
    }

    [[nodiscard]] Result<Config, std::string> result() const {
        if (errors_.empty()) return config;
        std::string all;
        for (const std::string& e : errors_)
            all += e + "\n";
        all.pop_back();
        return unexpected(all);
    }

    void error(const std::string& where_text, const std::string& key, const std::string& what) {
        if (where_text.starts_with("--")) {
            errors_.push_back(where_text + ": " + what);
        } else {
            errors_.push_back(where_text + ": " + key + ": " + what);
        }
    }

  private:
    [[nodiscard]] std::string at(const toml::node& node) const {
        return source_ + ":" + std::to_string(node.source().begin.line);
    }
    [[nodiscard]] std::string where(const std::string& key) const {
        auto it = where_.find(key);
        return it == where_.end() ? "(default)" : it->second;
    }
    [[nodiscard]] std::string resolve(const std::string& path) const {
        if (path.empty() || fs::path(path).is_absolute() || base_dir_.empty()) return path;
        return (fs::path(base_dir_) / path).lexically_normal().string();
    }

    void check_keys(const toml::table& tbl, const std::string& section) {
        const auto& allowed = known_keys().at(section);
        for (auto&& [key, node] : tbl) {
            if (!allowed.contains(std::string(key.str())))
                error(at(node), section + "." + std::string(key.str()), "unknown key");
        }
    }

    // Each getter: false when the key is absent or wrong (the error is noted).
    template <class T>
    bool get_uint(const toml::table& t, const std::string& section, const char* name,
                  std::int64_t min, std::int64_t max, T& out) {
        const toml::node* node = t.get(name);
        if (node == nullptr) return false;
        const std::string key = section + "." + name;
        where_[key] = at(*node);
        const auto v = node->value_exact<std::int64_t>();
        if (!v) {
            error(at(*node), key,
                  std::string("expected an integer, got ") + type_name(node->type()));
            return false;
        }
        if (*v < min || *v > max) {
            error(at(*node), key,
                  std::to_string(*v) + " is out of range (" + std::to_string(min) + ".." +
                      std::to_string(max) + ")");
            return false;
        }
        out = static_cast<T>(*v);
        return true;
    }
    bool get_number(const toml::table& t, const std::string& section, const char* name,
                    double& out) {
        const toml::node* node = t.get(name);
        if (node == nullptr) return false;
        const std::string key = section + "." + name;
        where_[key] = at(*node);
        if (!node->is_number()) {
            error(at(*node), key, std::string("expected a number, got ") + type_name(node->type()));
            return false;
        }
        out = node->is_integer() ? static_cast<double>(*node->value_exact<std::int64_t>())
                                 : *node->value_exact<double>();
        return true;
    }
    bool get_bool(const toml::table& t, const std::string& section, const char* name, bool& out) {
        const toml::node* node = t.get(name);
        if (node == nullptr) return false;
        const std::string key = section + "." + name;
        where_[key] = at(*node);
        const auto v = node->value_exact<bool>();
        if (!v) {
            error(at(*node), key,
                  std::string("expected true or false, got ") + type_name(node->type()));
            return false;
        }
        out = *v;
        return true;
    }
    bool get_string(const toml::table& t, const std::string& section, const char* name,
                    std::string& out) {
        const toml::node* node = t.get(name);
        if (node == nullptr) return false;
        const std::string key = section + "." + name;
        where_[key] = at(*node);
        const auto v = node->value_exact<std::string>();
        if (!v) {
            error(at(*node), key, std::string("expected a string, got ") + type_name(node->type()));
            return false;
        }
        out = *v;
        return true;
    }
    bool get_string_list(const toml::table& t, const std::string& section, const char* name,
                         std::vector<std::string>& out) {
        const toml::node* node = t.get(name);
        if (node == nullptr) return false;
        const std::string key = section + "." + name;
        where_[key] = at(*node);
        const toml::array* arr = node->as_array();
        if (arr == nullptr) {
            error(at(*node), key,
                  std::string("expected an array of strings, got ") + type_name(node->type()));
            return false;
        }
        std::vector<std::string> values;
        bool ok = true;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const auto v = (*arr)[i].value_exact<std::string>();
            if (!v) {
                error(at((*arr)[i]), key + "[" + std::to_string(i) + "]",
                      std::string("expected a string, got ") + type_name((*arr)[i].type()));
                ok = false;
                continue;
            }
            values.push_back(*v);
        }
        if (ok) out = std::move(values);
        return ok;
    }
    template <class T>
    bool get_uint_list(const toml::table& t, const std::string& section, const char* name,
                       std::int64_t min, std::int64_t max, std::vector<T>& out) {
        const toml::node* node = t.get(name);
        if (node == nullptr) return false;
        const std::string key = section + "." + name;
        where_[key] = at(*node);
        const toml::array* arr = node->as_array();
        if (arr == nullptr) {
            error(at(*node), key,
                  std::string("expected an array of integers, got ") + type_name(node->type()));
            return false;
        }
        std::vector<T> values;
        bool ok = true;
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const toml::node& el = (*arr)[i];
            const auto v = el.value_exact<std::int64_t>();
            const std::string el_key = key + "[" + std::to_string(i) + "]";
            if (!v) {
                error(at(el), el_key,
                      std::string("expected an integer, got ") + type_name(el.type()));
                ok = false;
            } else if (*v < min || *v > max) {
                error(at(el), el_key,
                      std::to_string(*v) + " is out of range (" + std::to_string(min) + ".." +
                          std::to_string(max) + ")");
                ok = false;
            } else {
                values.push_back(static_cast<T>(*v));
            }
        }
        if (ok) out = std::move(values);
        return ok;
    }

    void set_ip(const std::string& text, const std::string& key) {
        const auto prefix = apps::parse_ipv4_prefix(text);
        if (!prefix) {
            error(where(key), key, "'" + text + "' is not an address/prefix (198.18.0.2/24)");
            return;
        }
        config.ip = prefix->addr;
        config.prefix_len = prefix->prefix_len;
    }
    void set_gateway(const std::string& text, const std::string& key) {
        if (text.empty()) {
            config.gateway.reset();
            return;
        }
        const auto gw = net::Ipv4Addr::parse(text);
        if (!gw) {
            error(where(key), key, "'" + text + "' is not an IPv4 address");
            return;
        }
        config.gateway = *gw;
    }
    void set_steering(const std::string& text, const std::string& key) {
        if (text == "auto") {
            config.steering = SteeringChoice::automatic;
        } else if (text == "software") {
            config.steering = SteeringChoice::software;
        } else {
            error(where(key), key, "'" + text + "' is not a steering mode (auto, software)");
        }
    }
    void set_backends(const std::vector<std::string>& servers) {
        std::vector<BackendConfig> out;
        for (const std::string& s : servers) {
            const auto b = parse_backend(s);
            if (!b) {
                error(where("backends.servers"), "backends.servers",
                      "'" + s + "' is not IP:PORT (198.18.0.1:8000)");
                return;
            }
            out.push_back(*b);
        }
        config.backends = std::move(out);
    }

    void parse_certificates(const toml::node& node) {
        const toml::array* arr = node.as_array();
        if (arr == nullptr || !arr->is_array_of_tables()) {
            error(at(node), "certificates",
                  "expected an array of tables ([[certificates]]), got " +
                      std::string(type_name(node.type())));
            return;
        }
        config.certificates.clear();
        for (std::size_t i = 0; i < arr->size(); ++i) {
            const toml::table& t = *(*arr)[i].as_table();
            const std::string section = "certificates[" + std::to_string(i) + "]";
            where_[section] = at(t);
            for (auto&& [key, value] : t) {
                if (!known_keys().at("certificates").contains(std::string(key.str())))
                    error(at(value), section + "." + std::string(key.str()), "unknown key");
            }
            CertificateConfig cert;
            get_string_list(t, section, "names", cert.server_names);
            if (get_string(t, section, "cert", cert.cert_path))
                cert.cert_path = resolve(cert.cert_path);
            if (get_string(t, section, "key", cert.key_path))
                cert.key_path = resolve(cert.key_path);
            bool is_default = false;
            if (get_bool(t, section, "default", is_default) && is_default) {
                if (cert_default_marks_++ == 0) {
                    config.default_certificate = i;
                } else {
                    error(where(section + ".default"), section + ".default",
                          "certificates[" + std::to_string(config.default_certificate) +
                              "] is already the default");
                }
            }
            config.certificates.push_back(std::move(cert));
        }
    }

    void validate_certificates() {
        Config& c = config;
        if (c.generate_certificates()) {
            if (c.generated_names.empty()) {
                error(where("tls.generated_names"), "tls.generated_names",
                      "the generated certificate needs a name");
            }
            for (std::string& name : c.generated_names) {
                if (std::string why = check_server_name(name); !why.empty())
                    error(where("tls.generated_names"), "tls.generated_names",
                          "'" + name + "' " + why);
            }
            if (c.generated_dir.empty()) {
                error(where("tls.generated_dir"), "tls.generated_dir",
                      "empty (where should the CA go?)");
            }
            return;
        }
        if (c.default_certificate >= c.certificates.size()) c.default_certificate = 0;
        std::map<std::string, std::size_t> owner;  // name -> certificate
        for (std::size_t i = 0; i < c.certificates.size(); ++i) {
            CertificateConfig& cert = c.certificates[i];
            const std::string section = "certificates[" + std::to_string(i) + "]";
            const std::string names_key = section + ".names";
            if (cert.server_names.empty() && i != c.default_certificate) {
                error(where(names_key) == "(default)" ? where(section) : where(names_key),
                      names_key, "only the default certificate may have no names");
            }
            for (std::string& name : cert.server_names) {
                if (std::string why = check_server_name(name); !why.empty()) {
                    error(where(names_key), names_key, "'" + name + "' " + why);
                    continue;
                }
                auto [it, inserted] = owner.emplace(name, i);
                if (!inserted) {
                    error(where(names_key), names_key,
                          "'" + name + "' is also served by certificates[" +
                              std::to_string(it->second) + "] (" +
                              where("certificates[" + std::to_string(it->second) + "].names") +
                              ")");
                }
            }
            for (const auto& [field, path] :
                 {std::pair{"cert", &cert.cert_path}, std::pair{"key", &cert.key_path}}) {
                const std::string key = section + "." + field;
                if (path->empty()) {
                    error(where(section), key, "missing");
                } else if (std::string why = check_readable_file(*path); !why.empty()) {
                    error(where(key), key, why);
                }
            }
        }
    }

    std::string source_;
    std::string base_dir_;
    std::map<std::string, std::string> where_;  // key -> "file:line" or "--flag"
    std::vector<std::string> errors_;
    unsigned cert_default_marks_ = 0;
};

}  // namespace

const char* to_string(SteeringChoice steering) {
    switch (steering) {
        case SteeringChoice::automatic:
            return "auto";
        case SteeringChoice::software:
            return "software";
    }
    return "?";
}

drivers::SteeringConfig steering_config(const Config& config) {
    drivers::SteeringConfig s;
    s.tls_ports = {config.https_port};
    if (config.http_port != 0) s.tls_ports.push_back(config.http_port);
    s.tls_queues = config.tls_queues;
    s.control_queue = config.control_queue;
    s.local_ip = config.ip;
    return s;
}

Result<Config, std::string> parse_config(std::string_view toml_text, std::string_view source_name,
                                         std::string_view base_dir, const CliOverrides& cli) {
    Loader loader{std::string(source_name), std::string(base_dir)};
    try {
        const toml::table root = toml::parse(toml_text, source_name);
        loader.parse(root);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return unexpected(std::string(source_name) + ":" + std::to_string(where.line) + ":" +
                          std::to_string(where.column) + ": " + std::string(e.description()));
    }
    loader.apply(cli);
    loader.validate();
    return loader.result();
}

Result<Config, std::string> load_config(const CliOverrides& cli) {
    if (cli.config_path.empty()) return parse_config("", "(no file)", "", cli);
    std::ifstream in(cli.config_path, std::ios::binary);
    if (!in) {
        return unexpected(cli.config_path + ": cannot open the configuration (" +
                          std::strerror(errno) + ")");
    }
    std::ostringstream text;
    text << in.rdbuf();
    const std::string base = fs::path(cli.config_path).parent_path().string();
    return parse_config(text.str(), cli.config_path, base.empty() ? "." : base, cli);
}

namespace {

// A flag that, when given, overrides the file's value (the file is read
// after parsing, so the flag only records what was asked).
template <class T>
CLI::Option* override_option(CLI::App& app, const char* name, std::optional<T>& field,
                             const char* help) {
    return app.add_option_function<T>(
        name, [&field](const T& v) { field = v; }, help);
}

}  // namespace

void add_cli_options(CLI::App& app, CliOverrides& out) {
    app.add_option("-c,--config", out.config_path, "configuration file (TOML)");
    override_option(app, "--https-port", out.https_port, "TLS listen port (443)");
    override_option(app, "--http-port", out.http_port,
                    "plain HTTP port answered with a redirect to https (80; 0: off)");
    override_option(app, "--port", out.port_name, "DPDK port name (default: the first port)");
    override_option(app, "--vdev", out.vdev,
                    "vdev to create when the EAL has no port (net_tap0,iface=l45o0; \"\": never)");
    override_option(app, "--ip", out.ip, "local address and prefix (198.18.0.2/24)");
    override_option(app, "--gw", out.gateway, "default gateway (198.18.0.1; \"\": none)");
    override_option(app, "--tls-queues", out.tls_queues, "rx queues serving TLS, e.g. 1,2,3")
        ->delimiter(',');
    override_option(app, "--control-queue", out.control_queue, "rx queue for everything else (0)");
    override_option(app, "--steering", out.steering,
                    "auto (rte_flow when the NIC takes it) or software");
    override_option(app, "--cert", out.cert_path,
                    "certificate chain (PEM); with --key, the only certificate");
    override_option(app, "--key", out.key_path, "private key (PEM)");
    override_option(app, "--backend", out.backends,
                    "backend IP:PORT (repeatable; replaces the file's list)");
    override_option(app, "--max-connections", out.max_connections, "connection limit");
    override_option(app, "--stats-interval", out.stats_interval_s,
                    "seconds between stats lines (0: off)");
    app.add_flag_function(
        "--telemetry,!--no-telemetry", [&out](std::int64_t n) { out.telemetry = n > 0; },
        "expose counters through rte_telemetry");
    override_option(app, "--keylog", out.keylog_file, "NSS key log file (for Wireshark)");
}

}  // namespace l45::offload
