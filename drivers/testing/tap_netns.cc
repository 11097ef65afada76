#include "drivers/testing/tap_netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace l45::drivers::testing {
namespace {

constexpr std::size_t kMaxOutput = 1 << 20;
constexpr auto kRunTimeout = std::chrono::seconds(30);

// When this process started (close enough: static initialisation).
const std::time_t g_process_start = std::time(nullptr);

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// posix_spawnp in its own process group, with default signals and an empty
// mask (EAL threads may block signals; children must not inherit that).
Result<pid_t, std::string> spawn_process(const std::vector<std::string>& argv, int out_fd,
                                         int close_fd) {
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    if (close_fd >= 0) posix_spawn_file_actions_addclose(&fa, close_fd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return unexpected("posix_spawnp " + argv[0] + ": " + std::strerror(rc));
    return pid;
}

void kill_group_and_reap(pid_t pid, int* status) {
    ::kill(-pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
        if (waitpid(pid, status, WNOHANG) == pid) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pid, SIGKILL);
    waitpid(pid, status, 0);
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    if (s.size() > kMaxOutput) s.resize(kMaxOutput);
    return s;
}

bool parse_mac(std::string_view s, rte_ether_addr* out) {
    unsigned b[6];
    const std::string str(s);
    if (std::sscanf(str.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) !=
        6)
        return false;
    for (int i = 0; i < 6; ++i)
        out->addr_bytes[i] = static_cast<std::uint8_t>(b[i]);
    return true;
}

std::atomic<unsigned> g_next_instance{0};

}  // namespace

// ------------------------------------------------------------------ running

RunResult run_argv(const std::vector<std::string>& argv) {
    RunResult r;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        r.output = std::string("pipe: ") + std::strerror(errno);
        return r;
    }
    auto pid = spawn_process(argv, fds[1], fds[0]);
    ::close(fds[1]);
    if (!pid) {
        ::close(fds[0]);
        r.output = pid.error();
        return r;
    }
    const auto deadline = std::chrono::steady_clock::now() + kRunTimeout;
    char buf[4096];
    bool timed_out = false;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int pr = ::poll(&p, 1, static_cast<int>(left.count()));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) continue;
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (r.output.size() < kMaxOutput) r.output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    if (timed_out) {
        kill_group_and_reap(*pid, &status);
        r.output += "\n[l45: timed out, killed]\n";
    } else {
        while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    r.exit_status = decode_status(status);
    return r;
}

BackgroundProcess::BackgroundProcess(std::shared_ptr<State> state, std::string output_path)
    : state_(std::move(state)), output_path_(std::move(output_path)) {}

BackgroundProcess::~BackgroundProcess() {
    kill_and_wait();
}

bool BackgroundProcess::running() {
    if (!state_->reaped && waitpid(state_->pid, &state_->status, WNOHANG) == state_->pid) {
        state_->reaped = true;
    }
    if (state_->reaped) {
        finish();
        return false;
    }
    return true;
}

RunResult BackgroundProcess::finish() {
    if (!finished_) {
        finished_ = true;
        result_.exit_status = decode_status(state_->status);
        result_.output = read_file(output_path_);
        ::unlink(output_path_.c_str());
    }
    return result_;
}

std::string BackgroundProcess::output_so_far() const {
    return finished_ ? result_.output : read_file(output_path_);
}

RunResult BackgroundProcess::kill_and_wait() {
    if (!state_->reaped) {
        kill_group_and_reap(state_->pid, &state_->status);
        state_->reaped = true;
    }
    return finish();
}

RunResult BackgroundProcess::wait(Duration timeout) {
    const Instant deadline = MonotonicClock::now() + timeout;
    while (running()) {
        if (MonotonicClock::now() >= deadline) {
            RunResult r;
            r.exit_status = -1;
            r.output = read_file(output_path_);
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return result_;
}

// ----------------------------------------------------------------- TapNetns

Result<Port, std::string> open_tap(std::string_view iface, const PortConfig& config) {
    const std::string name(iface);
    if (name.empty() || name.size() > 15) {
        return unexpected("interface name '" + name + "' must be 1..15 characters");
    }
    return Port::open_vdev("net_tap_" + name, "iface=" + name, config);
}

int TapNetns::cleanup_stale_namespaces() {
    return cleanup_stale_namespaces(g_process_start);
}

int TapNetns::cleanup_stale_namespaces(std::time_t created_before) {
    DIR* d = ::opendir("/run/netns");
    if (d == nullptr) return 0;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        long pid = 0;
        unsigned n = 0;
        char tail = 0;
        if (std::sscanf(name.c_str(), "l45-%ld-%u%c", &pid, &n, &tail) != 2 || pid <= 0) continue;
        if (pid == static_cast<long>(::getpid())) continue;
        // Alive (or not ours to signal): someone's running test, leave it.
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;
        struct stat st {};
        if (::stat(("/run/netns/" + name).c_str(), &st) != 0) continue;
        if (st.st_mtime >= created_before) continue;
        stale.push_back(name);
    }
    ::closedir(d);
    int deleted = 0;
    for (const std::string& name : stale) {
        if (run_argv({"ip", "netns", "delete", name}).exit_status == 0) ++deleted;
    }
    return deleted;
}

Result<std::unique_ptr<TapNetns>, std::string> TapNetns::create(const TapNetnsConfig& config) {
    cleanup_stale_namespaces();
    const unsigned n = ++g_next_instance;
    const long pid = static_cast<long>(::getpid());
    std::unique_ptr<TapNetns> t(new TapNetns());
    t->subnet_ = config.subnet;
    t->ns_ = "l45-" + std::to_string(pid) + "-" + std::to_string(n);
    t->iface_ = config.iface.empty() ? "l45t" + std::to_string(pid) + "_" + std::to_string(n)
                                     : config.iface;
    if (t->iface_.size() > 15) t->iface_.resize(15);

    // 1. The port, started while its interface is still in our namespace.
    auto port = open_tap(t->iface_, config.port);
    if (!port) return unexpected("net_tap: " + port.error());
    t->port_ = std::make_unique<Port>(std::move(*port));

    auto must = [](const RunResult& r, const std::string& what) -> Result<void, std::string> {
        if (r.exit_status != 0) {
            return unexpected(what + " failed (" + std::to_string(r.exit_status) +
                              "): " + r.output);
        }
        return {};
    };
    // 2. The namespace; from here on the destructor deletes it.
    if (auto r = must(run_argv({"ip", "netns", "add", t->ns_}), "ip netns add"); !r) {
        t->ns_.clear();
        return unexpected(r.error());
    }
    // 3. Move the interface in, only now that the port has started.
    if (auto r = must(run_argv({"ip", "link", "set", "dev", t->iface_, "netns", t->ns_}),
                      "ip link set netns");
        !r)
        return unexpected(r.error());
    // 4. An address, link up; no IPv6 so the only traffic is what a test
    //    causes. The kernel side keeps the MAC net_tap gave it (the port's),
    //    exactly as for a user who moves the interface by hand: the l45 side
    //    takes station_mac(port), so the two stations never share an address.
    std::string setup = "set -e; ip link set lo up; ";
    if (config.disable_ipv6) {
        setup += "sysctl -qw net.ipv6.conf." + t->iface_ + ".disable_ipv6=1; ";
    }
    setup += "ip addr add " + t->ns_ip() + "/24 dev " + t->iface_ + "; ip link set " + t->iface_ +
             " up; cat /sys/class/net/" + t->iface_ + "/address";
    const RunResult r = t->run(setup);
    if (auto ok = must(r, "namespace set-up"); !ok) return unexpected(ok.error());
    if (!parse_mac(r.output, &t->ns_mac_)) {
        return unexpected("cannot parse the namespace MAC from '" + r.output + "'");
    }
    return t;
}

TapNetns::~TapNetns() {
    teardown();
}

void TapNetns::teardown() {
    // Stragglers whose BackgroundProcess outlived us or was leaked.
    for (auto& weak : spawned_) {
        if (auto st = weak.lock(); st && !st->reaped) {
            kill_group_and_reap(st->pid, &st->status);
            st->reaped = true;
        }
    }
    spawned_.clear();
    // Closing the port closes the tap fd, which removes the interface.
    port_.reset();
    if (!ns_.empty()) {
        (void)run_argv({"ip", "netns", "delete", ns_});
        ns_.clear();
    }
}

std::string TapNetns::ns_ip() const {
    return "198.18." + std::to_string(subnet_) + ".2";
}

std::string TapNetns::local_ip() const {
    return "198.18." + std::to_string(subnet_) + ".1";
}

RunResult TapNetns::run(std::string_view cmd) {
    return run_argv({"ip", "netns", "exec", ns_, "sh", "-c", std::string(cmd)});
}

Result<std::unique_ptr<BackgroundProcess>, std::string> TapNetns::spawn(std::string_view cmd) {
    char path[] = "/tmp/l45-bg-XXXXXX";
    const int fd = ::mkstemp(path);
    if (fd < 0) return unexpected(std::string("mkstemp: ") + std::strerror(errno));
    auto pid = spawn_process({"ip", "netns", "exec", ns_, "sh", "-c", std::string(cmd)}, fd, -1);
    ::close(fd);
    if (!pid) {
        ::unlink(path);
        return unexpected(pid.error());
    }
    auto state = std::make_shared<BackgroundProcess::State>();
    state->pid = *pid;
    spawned_.push_back(state);
    return std::make_unique<BackgroundProcess>(std::move(state), path);
}

}  // namespace l45::drivers::testing
