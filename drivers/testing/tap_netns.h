// Test-only: the Linux kernel as a peer, through a net_tap port whose
// interface lives in a private network namespace (root only).
//
// Why it looks like this:
//   - The tap interface is moved into the namespace only after the Port has
//     started: net_tap configures its interface by name (ioctls in the
//     caller's namespace) while starting, and those fail once it has moved.
//   - Nothing is left behind on the host: the kernel side has its address
//     only inside the namespace (198.18.x.2/24; the l45 side is .1), the
//     destructor kills background commands, closes the port (the interface
//     vanishes with the tap fd) and deletes the namespace, even when a test
//     fails or throws. A crashed earlier run is cleaned up on the next
//     create(): namespaces named l45-<pid>-<n> whose pid is dead and that
//     are older than this process are deleted; live processes' ones are not.
//   - Commands run through `ip netns exec` with posix_spawn (no shell
//     quoting games at our level, the command string goes to sh -c).
//   - Expected noise from net_tap: warnings about the multiq qdisc and
//     rte_flow (it tries to set them up for RSS).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/port.h"
#include "stack/base/result.h"

namespace l45::drivers::testing {

struct TapNetnsConfig {
    std::string iface;  // empty: l45t<pid>_<n> (<= 15 chars)
    // The namespace side gets 198.18.<subnet>.2/24, the l45 side is .1.
    std::uint8_t subnet = 1;
    // No IPv6 on the interface: the only traffic is what the test causes.
    bool disable_ipv6 = true;
    PortConfig port{};
};

struct RunResult {
    int exit_status = -1;  // WEXITSTATUS, or 128+signal, or -1 if not run
    std::string output;    // stdout and stderr together
};

// A command running in the background inside the namespace; killed (its
// whole process group) and reaped on destruction.
class BackgroundProcess {
  public:
    // Shared with the TapNetns that spawned it, so whichever of the two
    // reaps first, the other never signals a pid that may have been reused.
    struct State {
        pid_t pid = -1;
        bool reaped = false;
        int status = 0;
    };
    BackgroundProcess(std::shared_ptr<State> state, std::string output_path);
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;
    ~BackgroundProcess();

    [[nodiscard]] pid_t pid() const { return state_->pid; }
    [[nodiscard]] bool running();
    // What it has written so far (stdout and stderr).
    [[nodiscard]] std::string output_so_far() const;
    // SIGTERM (then SIGKILL after a grace period) and reap; returns the status.
    RunResult kill_and_wait();
    // Waits for a normal exit (up to timeout); -1 exit status if still running.
    RunResult wait(Duration timeout);

  private:
    RunResult finish();
    std::shared_ptr<State> state_;
    std::string output_path_;
    bool finished_ = false;
    RunResult result_{};
};

// A started net_tap port whose kernel interface is `iface` (in our namespace);
// the Port owns the vdev "net_tap_<iface>" and removes it on destruction.
[[nodiscard]] Result<Port, std::string> open_tap(std::string_view iface,
                                                 const PortConfig& config = {});

// Host-side helper usable without a namespace: runs argv (no shell), captures output.
[[nodiscard]] RunResult run_argv(const std::vector<std::string>& argv);

class TapNetns {
  public:
    [[nodiscard]] static Result<std::unique_ptr<TapNetns>, std::string> create(
        const TapNetnsConfig& config = {});
    TapNetns(const TapNetns&) = delete;
    TapNetns& operator=(const TapNetns&) = delete;
    ~TapNetns();

    [[nodiscard]] Port& port() { return *port_; }
    [[nodiscard]] const std::string& ns_name() const { return ns_; }
    [[nodiscard]] const std::string& iface() const { return iface_; }
    // "198.18.<subnet>.2": the kernel's address, inside the namespace.
    [[nodiscard]] std::string ns_ip() const;
    // "198.18.<subnet>.1": the address the l45 side should take.
    [[nodiscard]] std::string local_ip() const;
    [[nodiscard]] std::uint8_t subnet() const { return subnet_; }
    // The MAC of the interface inside the namespace (as the kernel sends from).
    [[nodiscard]] const rte_ether_addr& ns_mac() const { return ns_mac_; }

    // Runs `sh -c cmd` inside the namespace and waits for it.
    [[nodiscard]] RunResult run(std::string_view cmd);
    // Starts `sh -c cmd` inside the namespace in the background. Destroy the
    // process before the TapNetns (teardown kills stragglers anyway).
    [[nodiscard]] Result<std::unique_ptr<BackgroundProcess>, std::string> spawn(
        std::string_view cmd);

    // Deletes l45-<pid>-<n> namespaces of dead processes created before
    // this process started (best-effort); returns how many were deleted.
    // Called by create().
    static int cleanup_stale_namespaces();
    // The same with an explicit cut-off (the nsfs inode's time is the
    // namespace's creation time and cannot be changed, so tests use this).
    static int cleanup_stale_namespaces(std::time_t created_before);

  private:
    TapNetns() = default;
    void teardown();

    std::string ns_;
    std::string iface_;
    std::uint8_t subnet_ = 1;
    rte_ether_addr ns_mac_{};
    std::unique_ptr<Port> port_;
    // Spawned process groups, killed in teardown if their owner has not.
    std::vector<std::weak_ptr<BackgroundProcess::State>> spawned_;
};

}  // namespace l45::drivers::testing
