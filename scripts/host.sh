#!/usr/bin/env bash
# Development / CI host bootstrap for virtcloud.core.
#
#   scripts/host.sh packages   install the Debian packages the collection and its tests need
#   scripts/host.sh venv       create .venv (newest ansible-core for this Python + requirements)
#   scripts/host.sh venv-oldest  create .venv-X.Y: the oldest ansible-core meta/runtime.yml claims
#                              (requires_ansible ">=X.Y.Z"), requirements.txt and pytest (make test-oldest)
#   scripts/host.sh oldest-core  print that X.Y
#   scripts/host.sh up         start dockerd, libvirtd+virtlogd, LXD and Open vSwitch if not running
#   scripts/host.sh down       stop exactly the daemons that `up` started (by pidfile), nothing else
#   scripts/host.sh status     say which daemons answer
#   scripts/host.sh all        packages + venv + up (idempotent: a second run does nothing)
#
# Every address pool it configures lies in 198.18.0.0/15.  Where systemd is PID 1 the daemons are
# started through systemd; elsewhere (containers, CI sandboxes) they are started directly, with
# their pids kept in $VIRTCLOUD_STATE so that `down` stops only what `up` started.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${VIRTCLOUD_STATE:-/run/virtcloud}
LOGS=$STATE/log
VENV=${VIRTCLOUD_VENV:-$ROOT/.venv}

DOCKER_BIP=198.18.0.1/24
DOCKER_POOL=198.18.64.0/18
# dockerd takes its bridge address and address pools from daemon.json, the file the container_host role
# (roles/container_host) manages with the same values; dockerd refuses to start when a flag repeats a key of it.
DOCKER_DAEMON_JSON=${VIRTCLOUD_DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}
LXD_BRIDGE_ADDR=198.18.10.1/24

# ifupdown + bridge-utils apply, and libnm (gir1.2-nm-1.0 via python3-gi) reads, what net/persist.py
# writes in tests/integration/test_persist_apply.py; no NetworkManager daemon is installed.
PACKAGES=(
  docker.io containerd runc iptables
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-driver-lxc libvirt-clients
  libvirt-dev pkg-config gcc python3-dev dnsmasq-base qemu-system-x86 qemu-utils
  lxc lxc-dev lxd lxd-client openvswitch-switch busybox-static cpio openssh-server
  syslinux mtools dosfstools ifupdown bridge-utils libxml2-utils curl rsync git
  python3-gi gir1.2-nm-1.0
)

say() { printf '\033[1m[host]\033[0m %s\n' "$*"; }
die() { printf '[host] ERROR: %s\n' "$*" >&2; exit 1; }

# Every failing step says what failed and what to do; the script never exits silently.
STEP="start"
HINT="rerun the same command; if it fails again, the output above says why"
step() { STEP=$1; HINT=$2; }
on_error() {
  local rc=$? cmd=$1 line=$2
  trap - ERR
  printf '[host] ERROR: step "%s" failed: `%s` (exit %s, scripts/host.sh line %s)\n[host] what to do: %s\n' \
    "$STEP" "$cmd" "$rc" "$line" "$HINT" >&2
  exit "$rc"
}
trap 'on_error "$BASH_COMMAND" "$LINENO"' ERR

require_root_debian() {
  if [ "$(id -u)" -ne 0 ]; then
    die "must run as root (it installs packages and starts system daemons). Run: sudo make $1"
  fi
  if ! command -v apt-get >/dev/null 2>&1 || [ ! -f /etc/debian_version ]; then
    die "this bootstrap supports Debian-family hosts only. Elsewhere install the equivalents of:
  ${PACKAGES[*]}
start docker, libvirtd, virtlogd, lxd and openvswitch with your init system, then run 'scripts/host.sh venv'."
  fi
}

have_systemd() { [ "$(ps -o comm= -p 1 2>/dev/null)" = systemd ]; }

# ---------------------------------------------------------------- packages
PRC=${VIRTCLOUD_POLICY_RC_D:-/usr/sbin/policy-rc.d}
PRC_SAVED=""
install_policy_rc_d() {
  step "policy-rc.d" "make $(dirname "$PRC") writable for root, then rerun"
  if [ -e "$PRC" ] || [ -L "$PRC" ]; then
    PRC_SAVED=$(mktemp "$PRC.virtcloud-saved.XXXXXX")
    mv -f "$PRC" "$PRC_SAVED"
  fi
  trap restore_policy_rc_d EXIT
  printf '#!/bin/sh\n# virtcloud: no service starts while packages install\nexit 101\n' >"$PRC"
  chmod 0755 "$PRC"
}
restore_policy_rc_d() {
  rm -f "$PRC"
  if [ -n "$PRC_SAVED" ]; then mv -f "$PRC_SAVED" "$PRC"; PRC_SAVED=""; fi
  trap - EXIT
}

cmd_packages() {
  require_root_debian packages
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "packages: all ${#PACKAGES[@]} present"
    return
  fi
  say "packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start daemons on their own (no stock libvirt network, no docker
  # with a default 172.17 bridge): a policy-rc.d that refuses every service start stands in for
  # the install. One that the machine already has (container images ship one) is put aside and
  # put back exactly as it was, also when the install fails.
  install_policy_rc_d
  step "apt-get update" "check that the Debian package mirrors answer (/etc/apt/sources.list*), then rerun"
  apt-get update -q
  step "apt-get install" "read apt's message above (a held or broken package, a full disk, a lock held by another apt), fix it, then rerun"
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  restore_policy_rc_d
}

# ---------------------------------------------------------------- venv
pick_python() {
  # The venv needs a Python with venv + headers (libvirt-python compiles); prefer the one on PATH.
  local py
  for py in "${PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$py" ] || continue
    if "$py" -c 'import venv, ensurepip, sysconfig, os; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' 2>/dev/null; then
      command -v "$py"; return
    fi
  done
  die "no Python 3 with venv, ensurepip and headers found (Debian: apt-get install python3-venv python3-dev)"
}

cmd_venv() {
  local stamp="$VENV/.virtcloud-stamp" want
  want=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -c1-16)
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "venv: $VENV up to date"
  else
    if [ ! -x "$VENV/bin/python" ]; then
      local py; py=$(pick_python)
      say "venv: creating $VENV with $py"
      step "venv" "remove $VENV and rerun; python3-venv must be installed"
      "$py" -m venv "$VENV"
    fi
    say "venv: installing requirements (ansible-core newest for this Python)"
    step "pip install" "check that PyPI answers and that libvirt-dev, pkg-config, gcc and python3-dev are installed (libvirt-python compiles), then rerun"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements.txt" -r "$ROOT/requirements-dev.txt"
    echo "$want" >"$stamp"
  fi
  # The work tree *is* the collection: expose it as ansible_collections/virtcloud/core so that
  # ansible finds it (ansible.cfg points collections_path here) and edits are live.
  mkdir -p "$ROOT/.collections/ansible_collections/virtcloud"
  ln -sfn ../../.. "$ROOT/.collections/ansible_collections/virtcloud/core"
}

# The oldest ansible-core that meta/runtime.yml claims: "2.17" from requires_ansible: ">=2.17.0".
oldest_core() {
  sed -nE "s/^requires_ansible: *[\"']?>= *([0-9]+)\.([0-9]+)(\.[0-9]+)?[\"']? *(#.*)?\$/\1.\2/p" "$ROOT/meta/runtime.yml"
}

cmd_venv_oldest() {
  local minor venv stamp want pins py line
  minor=$(oldest_core)
  [ -n "$minor" ] || die "meta/runtime.yml has no requires_ansible: \">=X.Y.Z\" line to take the oldest ansible-core from"
  venv=${VIRTCLOUD_OLDEST_VENV:-$ROOT/.venv-$minor}
  # newest patch release of that minor; the test runner as requirements-dev.txt pins it
  pins=("ansible-core>=$minor,<${minor%.*}.$((${minor#*.} + 1))")
  while read -r line; do pins+=("$line"); done < <(sed -nE 's/^(pytest[a-z-]*[<>=!~][^ #]*).*/\1/p' "$ROOT/requirements-dev.txt")
  stamp="$venv/.virtcloud-stamp"
  want=$( (printf '%s\n' "${pins[@]}"; cat "$ROOT/requirements.txt") | sha256sum | cut -c1-16)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say "venv-oldest: $venv (ansible-core $minor) up to date"
    return
  fi
  if [ ! -x "$venv/bin/python" ]; then
    py=$(pick_python)
    say "venv-oldest: creating $venv with $py"
    step "venv-oldest" "remove $venv and rerun; python3-venv must be installed"
    "$py" -m venv "$venv"
  fi
  say "venv-oldest: installing ${pins[*]} and requirements.txt"
  step "pip install (oldest ansible-core)" "check that PyPI answers; if pip says ansible-core $minor does not support this Python, rerun with PYTHON=python3.N of a version it supports (remove $venv first)"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "${pins[@]}" -r "$ROOT/requirements.txt"
  echo "$want" >"$stamp"
}

# ---------------------------------------------------------------- daemons
pid_alive() { # pidfile -> true when the pid in it is a live process running the expected binary
  local f=$1 exe=$2 pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [ -d "/proc/$pid" ] || return 1
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$exe")" ]
}

wait_for() { # description, seconds, command...
  local what=$1 secs=${VIRTCLOUD_READY_SECS:-$2}; shift 2
  local i
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "$what did not become ready within ${secs}s; what to do: $HINT"
}

# Readiness probes: silent, true when the daemon answers on its API socket.
docker_ok() { curl -sf --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; }
libvirt_ok() { virsh -c qemu:///system version >/dev/null 2>&1; }
lxd_ok() { curl -sf --unix-socket /var/lib/lxd/unix.socket http://lxd/1.0 >/dev/null 2>&1; }
ovs_ok() { ovs-vsctl --timeout=2 show >/dev/null 2>&1; }

start_bg() { # name, binary, args... : start a daemon in its own session, record its pid
  local name=$1 bin=$2; shift 2
  setsid "$bin" "$@" </dev/null >>"$LOGS/$name.log" 2>&1 &
  echo $! >"$STATE/$name.pid"
}

# daemon.json as the container_host role writes it by default (to_nice_json: sorted keys, indent 4), so that
# the role converges a host set up here without a change (tests/unit/test_host_docker_config.py checks it).
docker_config() {
  printf '{\n    "bip": "%s",\n    "default-address-pools": [\n        {\n            "base": "%s",\n            "size": 24\n        }\n    ]\n}\n' \
    "$DOCKER_BIP" "$DOCKER_POOL"
}

docker_json_has() { grep -qs "\"$1\"" "$DOCKER_DAEMON_JSON"; }

up_docker() {
  step "dockerd" "read $LOGS/dockerd.log (or 'journalctl -u docker' under systemd), then rerun"
  if docker_ok; then say "docker: running"; return; fi
  # A daemon.json of the machine's own is kept; one is written only where there is none.
  if [ ! -e "$DOCKER_DAEMON_JSON" ]; then
    say "docker: writing $DOCKER_DAEMON_JSON (bridge $DOCKER_BIP, pool $DOCKER_POOL)"
    mkdir -p "$(dirname "$DOCKER_DAEMON_JSON")"
    docker_config >"$DOCKER_DAEMON_JSON"
  fi
  if have_systemd; then systemctl start docker; wait_for dockerd 60 docker_ok; return; fi
  # flags only for what that file does not say (dockerd refuses a flag that repeats a key of it)
  local flags=(--config-file "$DOCKER_DAEMON_JSON")
  docker_json_has bip || flags+=(--bip "$DOCKER_BIP")
  docker_json_has default-address-pools || flags+=(--default-address-pool "base=$DOCKER_POOL,size=24")
  say "docker: starting dockerd (${flags[*]})"
  start_bg dockerd /usr/sbin/dockerd "${flags[@]}" --pidfile "$STATE/dockerd.own.pid"
  wait_for dockerd 60 docker_ok
}

up_libvirt() {
  # libvirtd autostarts every network marked autostart; never let it bring up the stock
  # 'default' network (a private range outside 198.18.0.0/15) on a dev/CI host.
  step "libvirtd" "read $LOGS/libvirtd.log and $LOGS/virtlogd.log (or 'journalctl -u libvirtd' under systemd), then rerun"
  rm -f /etc/libvirt/qemu/networks/autostart/default.xml
  if libvirt_ok; then say "libvirt: running"; return; fi
  if have_systemd; then systemctl start virtlogd libvirtd; wait_for libvirtd 60 libvirt_ok; return; fi
  say "libvirt: starting virtlogd + libvirtd"
  mkdir -p /var/log/libvirt
  getent group kvm >/dev/null || groupadd -r kvm
  getent group libvirt >/dev/null || groupadd -r libvirt
  getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
  id libvirt-qemu >/dev/null 2>&1 ||
    useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  # Inside a container there is no usable security driver and no qemu user mapping.
  if ! grep -qs '^# virtcloud-dev' /etc/libvirt/qemu.conf; then
    printf '# virtcloud-dev\nuser = "root"\ngroup = "root"\nsecurity_driver = "none"\n' >>/etc/libvirt/qemu.conf
  fi
  pid_alive "$STATE/virtlogd.pid" /usr/sbin/virtlogd || start_bg virtlogd /usr/sbin/virtlogd
  start_bg libvirtd /usr/sbin/libvirtd
  wait_for libvirtd 60 libvirt_ok
}

up_lxd() {
  step "lxd" "read $LOGS/lxd.log and $LOGS/lxd.daemon.log (or 'journalctl -u lxd'), then rerun"
  if ! lxd_ok; then
    if have_systemd; then
      systemctl start lxd
    else
      say "lxd: starting"
      start_bg lxd /usr/bin/lxd --group root --logfile "$LOGS/lxd.daemon.log"
    fi
    wait_for lxd 90 lxd_ok
  else
    say "lxd: running"
  fi
  # Preseed once (never `lxd init --auto`: it would pick a private range on its own).
  if ! lxc storage show default >/dev/null 2>&1; then
    say "lxd: preseeding bridge lxdbr0 $LXD_BRIDGE_ADDR and dir pool 'default'"
    lxd init --preseed <<EOF
networks:
- name: lxdbr0
  type: bridge
  config: {ipv4.address: $LXD_BRIDGE_ADDR, ipv4.nat: "true", ipv6.address: none}
storage_pools:
- {name: default, driver: dir}
profiles:
- name: default
  devices:
    root: {path: /, pool: default, type: disk}
    eth0: {name: eth0, network: lxdbr0, type: nic}
EOF
  fi
}

up_ovs() {
  step "openvswitch" "read $LOGS/ovs.log and $LOGS/ovs-vswitchd.log, then rerun"
  if ovs_ok; then say "ovs: running"; return; fi
  if have_systemd; then systemctl start openvswitch-switch; wait_for ovs 60 ovs_ok; return; fi
  say "ovs: starting ovsdb-server + ovs-vswitchd (userspace datapath)"
  /usr/share/openvswitch/scripts/ovs-ctl --no-ovs-vswitchd --no-monitor start >>"$LOGS/ovs.log" 2>&1
  cp /var/run/openvswitch/ovsdb-server.pid "$STATE/ovsdb-server.pid"
  ovs-vswitchd --pidfile="$STATE/ovs-vswitchd.pid" --detach --log-file="$LOGS/ovs-vswitchd.log" >>"$LOGS/ovs.log" 2>&1
  wait_for ovs 60 ovs_ok
}

cmd_up() {
  require_root_debian up
  mkdir -p "$STATE" "$LOGS"
  up_docker
  up_libvirt
  up_lxd
  up_ovs
}

running() { # pid -> true while the process exists and has not exited (a zombie has)
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_pidfile() { # name: stop the process whose pid we recorded, wait for it, drop the pidfile
  local f="$STATE/$1.pid" pid i
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if running "$pid"; then
    say "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 120; i++)); do running "$pid" || break; sleep 0.25; done
    if running "$pid"; then say "$1 ignored SIGTERM for 30s, sending SIGKILL"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$f"
}

cmd_down() {
  # Reverse order of `up`; only pids recorded by `up` are touched.
  local n
  for n in ovs-vswitchd ovsdb-server lxd libvirtd virtlogd dockerd; do stop_pidfile "$n"; done
}

cmd_status() {
  local n
  for n in docker libvirt lxd ovs; do
    if "${n}_ok" >/dev/null 2>&1; then echo "$n: up"; else echo "$n: down"; fi
  done
}

# Sourced (tests/unit/test_host_docker_config.py), it only defines the functions.
if [ "${BASH_SOURCE[0]:-$0}" = "$0" ]; then
  case "${1:-all}" in
    packages) cmd_packages ;;
    venv) cmd_venv ;;
    venv-oldest) cmd_venv_oldest ;;
    oldest-core) oldest_core ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    all) cmd_packages; cmd_venv; cmd_up ;;
    *) die "usage: $0 packages|venv|venv-oldest|oldest-core|up|down|status|all" ;;
  esac
fi
