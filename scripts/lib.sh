# Shared by scripts/run and scripts/test: install what is missing, build.
# Sourced, not run.

L45_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian 12 packages l45 builds, tests and benchmarks with.
L45_PACKAGES=(
    g++ clang libclang-rt-14-dev meson ninja-build pkg-config
    libdpdk-dev dpdk libipsec-mb-dev libssl-dev openssl
    libgtest-dev libgmock-dev nlohmann-json3-dev libtomlplusplus-dev libfmt-dev libcli11-dev
    iproute2 iputils-ping iputils-arping nftables netcat-openbsd iperf3 curl
    gnutls-bin python3-scapy procps
)

l45_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

l45_need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "l45: this needs root (DPDK, tap devices, network namespaces)." >&2
        exit 1
    fi
}

# Idempotent: quiet when everything is there; one apt-get update otherwise.
l45_install_deps() {
    local missing=()
    for p in "${L45_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    l45_log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# l45_build DIR [meson options...]: configure once, then build.
l45_build() {
    local dir=$1; shift
    if [ ! -f "$L45_ROOT/$dir/build.ninja" ]; then
        l45_log "configuring $dir $*"
        meson setup "$L45_ROOT/$dir" "$L45_ROOT" "$@" >/dev/null
    fi
    l45_log "building $dir"
    ninja -C "$L45_ROOT/$dir" -j"$(nproc)" >/dev/null || ninja -C "$L45_ROOT/$dir" -j1
}
