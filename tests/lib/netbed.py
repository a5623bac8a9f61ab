"""A test bed of N "hosts" on one machine: network namespaces h1..hN on 198.18.<subnet>.0/24 (1, or the
first free one of 101..120 when that is taken, unless told), joined by veth pairs through one Linux bridge in this namespace (198.18.<subnet>.254).
Host i has 198.18.<subnet>.(10+i) on its end, named eth0 inside the namespace, and its own sshd (key
auth only) listening there, so Ansible reaches every host over real SSH. The namespaces share the
filesystem: the venv's Python serves as ansible_python_interpreter on every host.

    with NetBed(state_dir) as bed:           # up() ... down(), also on failure
        bed.inventory                        # group netbed: h1..hN (underlay_ip, bed_index)
        bed.run("h1", "ip", "-j", "link")    # ip netns exec
        bed.ping("h1", bed.address("h2"))
        bed.play(playbook_text_or_path, extra_vars={...})

Everything up() makes is recorded in <state_dir>/state.json before it is made, so down() removes
exactly that, also after a partial up() or from another process after a crash, and does nothing the
second time. sshd is stopped by the pid in its pidfile (checked against its command line), then
whatever else still runs in the bed's namespaces (sessions of that sshd, commands run there).

Command line (with tests/ on sys.path):  python -m lib.netbed up|down|status [--state DIR] [--hosts N]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_STATE = os.path.join(ROOT, "tests", "output", "netbed")
PREFIX = "vcnb"  # netbed: told apart from other tests' vc* objects at a glance
MAX_NAME = 12  # + "h" + index (<= 99) stays within the 15 characters of an interface name
SUBNETS = (1,) + tuple(range(101, 121))  # the third octets a bed picks from when not told
LOCK = "/run/lock/virtcloud-netbed.lock"  # beds of other work trees pick their subnets too


class BedError(RuntimeError):
    pass


class BedExists(BedError):
    """up() where a bed is recorded already: nothing was touched (and down() must not be called for it)."""


def run(*argv, check=True, timeout=60):
    """Run a command (text); raise BedError with its output when check fails."""
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode:
        raise BedError("%s failed (rc %s): %s%s"
                       % (" ".join(map(str, argv)), proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc


def link_exists(name, netns=None):
    prefix = ("ip", "-n", netns) if netns else ("ip",)
    return run(*prefix, "link", "show", "dev", name, check=False).returncode == 0


def netns_exists(name):
    return os.path.exists(os.path.join("/run/netns", name))


def host_addresses():
    """Every IPv4 address of this namespace, as 'a.b.c.d/len'."""
    return ["%s/%s" % (a["local"], a["prefixlen"]) for link in json.loads(run("ip", "-j", "-4", "addr").stdout)
            for a in link.get("addr_info", [])]


# ---------------------------------------------------------------- sshd: the primitives ssh_host() shares
def make_keys(directory):
    """A client key (directory/id) whose public half is the authorized_keys, and a host key."""
    keyfile = os.path.join(directory, "id")
    for path in (keyfile, os.path.join(directory, "hostkey")):
        if not os.path.exists(path):
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "virtcloud-netbed", "-f", path)
    if os.path.exists(keyfile + ".pub"):
        os.replace(keyfile + ".pub", os.path.join(directory, "authorized_keys"))
    return keyfile


def start_sshd(netns, address, directory, pidfile, timeout=10, enter=None):
    """Start sshd inside `netns` listening on `address` only (key auth, the keys of make_keys), and wait
    until it accepts connections. Returns its pid. `enter`: the command that runs it there instead of
    ip netns exec (nsenter into more namespaces than the network one)."""
    os.makedirs("/run/sshd", exist_ok=True)  # its privilege separation directory
    run(*(enter or ("ip", "netns", "exec", netns)), "/usr/sbin/sshd", "-o", "ListenAddress=" + address,
        "-o", "PidFile=" + pidfile, "-o", "HostKey=" + os.path.join(directory, "hostkey"),
        "-o", "AuthorizedKeysFile=" + os.path.join(directory, "authorized_keys"),
        "-o", "PermitRootLogin=prohibit-password", "-o", "PasswordAuthentication=no",
        "-o", "KbdInteractiveAuthentication=no", "-o", "UsePAM=no", "-o", "StrictModes=no",
        "-o", "MaxStartups=50")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = sshd_pid(pidfile)
        if pid:
            with contextlib.suppress(OSError), socket.create_connection((address, 22), timeout=1):
                return pid
        time.sleep(0.05)
    raise BedError("sshd in %s did not answer on %s:22 within %ss" % (netns, address, timeout))


def sshd_pid(pidfile):
    """The pid in `pidfile` when that process is still the sshd that wrote it (its command line names
    the pidfile), else None: a pid reused by another process is never signalled."""
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if "PidFile=" + pidfile in cmdline and alive(pid) else None


def alive(pid):
    """Whether `pid` runs (a zombie, dead and waiting for its parent to reap it, does not)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def stop_pids(pids, timeout=5):
    """SIGTERM, then SIGKILL what is left after `timeout` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(alive(pid) for pid in pids):
            time.sleep(0.02)
        pids = [pid for pid in pids if alive(pid)]
        if not pids:
            return


# ---------------------------------------------------------------- the bed
class Host:
    def __init__(self, bed, index):
        self.index = index
        self.name = "h%d" % index
        self.netns = "%sh%d" % (bed.name, index)
        self.link = self.netns  # the host-side veth end: interface names and netns names do not collide
        self.pidfile = os.path.join(bed.state_dir, "sshd-%s.pid" % self.name)
        self._bed = bed

    @property
    def address(self):
        return "198.18.%d.%d" % (self._bed.subnet, 10 + self.index)

    def __repr__(self):
        return "<Host %s %s %s>" % (self.name, self.netns, self.address)


class NetBed:
    """N hosts (namespaces with sshd) behind one bridge; see the module docstring. `name` (at most 12
    characters, default PREFIX + a random suffix) prefixes the bridge, the namespaces and the veths;
    `subnet` is the third octet of the underlay 198.18.<subnet>.0/24 (None: the first of SUBNETS no
    address here uses, picked by up())."""

    def __init__(self, state_dir=DEFAULT_STATE, hosts=3, name=None, subnet=None):
        self.state_dir = os.path.abspath(state_dir)
        state = self._load()
        if state:  # a bed already recorded there (up, partly up, or crashed): that one
            name, hosts, subnet = state["name"], state["hosts"], state["subnet"]
        name = name or PREFIX + uuid.uuid4().hex[:6]
        if not re.fullmatch(r"[a-z][a-z0-9]{0,%d}" % (MAX_NAME - 1), name):
            raise BedError("name %r: lowercase letters and digits, at most %d characters" % (name, MAX_NAME))
        if not 1 <= int(hosts) <= 99 or not 1 <= int(subnet or 1) <= 254:
            raise BedError("hosts must be 1..99 and subnet 1..254")
        self.name, self.subnet = name, subnet and int(subnet)
        self.bridge = name + "br"
        self.hosts = [Host(self, i) for i in range(1, int(hosts) + 1)]
        self.keyfile = os.path.join(self.state_dir, "id")
        self.inventory = os.path.join(self.state_dir, "inventory.yml")
        self._plays = 0

    # ------------------------------------------------ state
    @property
    def _state_file(self):
        return os.path.join(self.state_dir, "state.json")

    def _load(self):
        with contextlib.suppress(FileNotFoundError):
            with open(self._state_file) as handle:
                return json.load(handle)
        return None

    def _save(self, state):
        tmp = self._state_file + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(state, handle, indent=1)
        os.replace(tmp, self._state_file)

    def _record(self, kind, **item):
        """Record an object before it is made (so a crash in between still has it removed)."""
        state = self._load()
        state["made"].append({"kind": kind, **item})
        self._save(state)

    def _unrecord(self, kind, **item):
        state = self._load()
        state["made"].remove({"kind": kind, **item})
        self._save(state)

    def _make(self, kind, exists, create, **item):
        """Make one object: refuse a name that exists already (not ours), record it, create it; when
        the creation fails and nothing was made, drop the record again."""
        if exists():
            raise BedError("%s %s exists already: not this bed's, left alone" % (kind, item))
        self._record(kind, **item)
        try:
            create()
        except BaseException:
            if not exists():
                self._unrecord(kind, **item)
            raise

    # ------------------------------------------------ lookups
    def host(self, host):
        """A Host from its name ('h1'), index (1) or the Host itself."""
        if isinstance(host, Host):
            return host
        for candidate in self.hosts:
            if host in (candidate.name, candidate.index):
                return candidate
        raise KeyError(host)

    def address(self, host):
        return self.host(host).address

    @property
    def gateway(self):
        """This namespace's address on the bed's bridge."""
        return "198.18.%d.254" % self.subnet

    # ------------------------------------------------ up / down
    def up(self):
        """Make the bed (a bed already up in this state dir raises). On failure what was made stays
        recorded for down(), which the context manager calls."""
        if self._load():
            raise BedExists("a bed is recorded in %s already (%s): down it first" % (self.state_dir, self.name))
        os.makedirs(self.state_dir, exist_ok=True)
        with open(LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # until the bridge has its address: no other bed takes the subnet
            if self.subnet is None:
                self.subnet = free_subnet()
            prefix = "198.18.%d." % self.subnet
            taken = [a for a in host_addresses() if a.startswith(prefix)]
            if taken:
                raise BedError("198.18.%d.0/24 is in use here already (%s): choose another subnet"
                               % (self.subnet, ", ".join(taken)))
            self._save({"name": self.name, "hosts": len(self.hosts), "subnet": self.subnet, "made": []})
            self._make("link", lambda: link_exists(self.bridge), self._bridge_up, name=self.bridge)
        make_keys(self.state_dir)
        # with br_netfilter loaded, frames crossing the bridge go through FORWARD, whose policy Docker sets to DROP
        rule = ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT",
                "-m", "comment", "--comment", "virtcloud netbed " + self.name]
        self._make("iptables", lambda: self._rule_exists(rule),
                   lambda: run("iptables", "-w", "-I", *rule), rule=rule)
        for host in self.hosts:
            self._host_up(host)
        self._write_inventory()
        return self

    def _bridge_up(self):
        run("ip", "link", "add", self.bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
        run("ip", "addr", "add", self.gateway + "/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")

    @staticmethod
    def _rule_exists(rule):
        return run("iptables", "-w", "-C", *rule, check=False).returncode == 0

    def _host_up(self, host):
        self._make("netns", lambda: netns_exists(host.netns),
                   lambda: run("ip", "netns", "add", host.netns), name=host.netns)
        self.add_link(host, host.link, host.address + "/24", inner="eth0", master=self.bridge)
        self.run(host, "ip", "link", "set", "lo", "up")
        self._record("sshd", pidfile=host.pidfile)
        start_sshd(host.netns, host.address, self.state_dir, host.pidfile)

    def add_link(self, host, peer_name, address=None, inner="eth1", master=None):
        """A veth pair: `peer_name` in this namespace (enslaved to `master` when given, up), `inner`
        in the host's namespace (with `address`, a CIDR, when given; up). Removed by down()."""
        host = self.host(host)

        def create():
            run("ip", "link", "add", peer_name, "type", "veth", "peer", "name", inner, "netns", host.netns)
            if master:
                run("ip", "link", "set", peer_name, "master", master)
            run("ip", "link", "set", peer_name, "up")
            if address:
                self.run(host, "ip", "addr", "add", address, "dev", inner)
            self.run(host, "ip", "link", "set", inner, "up")

        self._make("link", lambda: link_exists(peer_name), create, name=peer_name)
        return peer_name

    def down(self):
        """Remove what the state dir records, then the state dir's own files. A second call (or one
        with nothing recorded) does nothing."""
        state = self._load()
        if not state:
            return
        errors = []
        # first what runs, while the links still carry the sessions' goodbyes to the SSH control masters
        for item in state["made"]:
            try:
                self._stop(item)
            except (BedError, OSError, subprocess.TimeoutExpired) as exc:
                errors.append("%s: %s" % (item, exc))
        self._exit_masters()
        for item in reversed(state["made"]):
            try:
                self._remove(item)
            except (BedError, OSError, subprocess.TimeoutExpired) as exc:
                errors.append("%s: %s" % (item, exc))
        if errors:
            raise BedError("down left these (state kept in %s):\n%s" % (self.state_dir, "\n".join(errors)))
        shutil.rmtree(os.path.join(self.state_dir, "cp"), ignore_errors=True)
        for pattern in ("id", "hostkey", "hostkey.pub", "authorized_keys", "inventory.yml", "sshd-*.pid",
                        "play-*.yml", "state.json"):
            for path in glob.glob(os.path.join(self.state_dir, pattern)):
                os.unlink(path)

    @staticmethod
    def _stop(item):
        if item["kind"] == "sshd":
            pid = sshd_pid(item["pidfile"])
            if pid:
                stop_pids([pid])
        elif item["kind"] == "netns" and netns_exists(item["name"]):
            # what still runs there was started in the bed (sshd sessions, commands run there): it would
            # keep the namespace alive after `ip netns del`
            pids = run("ip", "netns", "pids", item["name"], check=False).stdout.split()
            stop_pids([int(pid) for pid in pids])

    def _exit_masters(self):
        """The SSH control masters Ansible left (ControlPersist) for this bed's hosts, by their sockets."""
        for path in glob.glob(os.path.join(self.state_dir, "cp", "*")):
            run("ssh", "-O", "exit", "-o", "ControlPath=" + path, "netbed", check=False, timeout=10)

    @staticmethod
    def _remove(item):
        kind = item["kind"]
        if kind == "netns" and netns_exists(item["name"]):
            run("ip", "netns", "del", item["name"])
        elif kind == "link" and link_exists(item["name"]):
            run("ip", "link", "del", item["name"])
        elif kind == "iptables":
            for _attempt in range(10):  # bounded: one rule was inserted
                if not NetBed._rule_exists(item["rule"]):
                    break
                run("iptables", "-w", "-D", *item["rule"])

    def status(self):
        """{'name', 'state_dir', 'inventory', 'objects': [{kind, name|pidfile|rule, present}]} or None."""
        state = self._load()
        if not state:
            return None
        present = {"sshd": lambda item: sshd_pid(item["pidfile"]) is not None,
                   "netns": lambda item: netns_exists(item["name"]),
                   "link": lambda item: link_exists(item["name"]),
                   "iptables": lambda item: self._rule_exists(item["rule"])}
        return {"name": state["name"], "state_dir": self.state_dir,
                "inventory": self.inventory if os.path.exists(self.inventory) else None,
                "objects": [{**item, "present": present[item["kind"]](item)} for item in state["made"]]}

    def __enter__(self):
        try:
            return self.up()
        except BedExists:
            raise
        except BaseException:
            self.down()
            raise

    def __exit__(self, *exc):
        self.down()

    # ------------------------------------------------ inventory and helpers for tests
    def _write_inventory(self):
        hosts = {host.name: {"ansible_host": host.address, "underlay_ip": host.address, "bed_index": host.index}
                 for host in self.hosts}
        inventory = {"netbed": {"hosts": hosts, "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": self.keyfile,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            # the bed's own control sockets: a master of an earlier bed at the same address is never reused
            "ansible_control_path_dir": os.path.join(self.state_dir, "cp"),
            "ansible_python_interpreter": sys.executable,
            "ansible_pipelining": True}}}  # modules go through the SSH session's stdin: a few round trips less
        with open(self.inventory, "w") as handle:
            json.dump(inventory, handle, indent=1)  # JSON is YAML

    def run(self, host, *argv, check=True, timeout=60):
        """`argv` inside the host's namespace (ip netns exec)."""
        return run("ip", "netns", "exec", self.host(host).netns, *argv, check=check, timeout=timeout)

    def ping(self, src_host, address, count=1, timeout=2):
        """Whether `address` answers ICMP echo from `src_host` (busybox ping: no other ping here)."""
        return self.run(src_host, "busybox", "ping", "-c", count, "-W", timeout, address,
                        check=False, timeout=timeout * count + 10).returncode == 0

    def env(self):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"), ANSIBLE_HOST_KEY_CHECKING="False")
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        return env

    def play(self, playbook, extra_vars=None, check=True, extra_args=(), timeout=600):
        """ansible-playbook against the bed's inventory; `playbook` is a path or the playbook's text.
        Returns the CompletedProcess, with `.recap` = {host: {ok, changed, failed, ...}}."""
        if not os.path.exists(playbook):
            self._plays += 1
            path = os.path.join(self.state_dir, "play-%d.yml" % self._plays)
            with open(path, "w") as handle:
                handle.write(playbook)
            playbook = path
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", self.inventory, playbook,
                "-e", json.dumps(extra_vars or {})] + list(extra_args)
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env(), cwd=ROOT, timeout=timeout,
                              check=False)
        proc.recap = recap(proc.stdout)
        if check and proc.returncode:
            raise AssertionError("ansible-playbook %s failed (rc %s):\n%s\n%s"
                                 % (playbook, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
        return proc


def recap(stdout):
    """PLAY RECAP lines as {host: {ok: n, changed: n, unreachable: n, failed: n, ...}}."""
    found = {}
    for line in stdout.split("PLAY RECAP")[-1].splitlines()[1:]:
        match = re.match(r"(\S+)\s+:\s+(.*)", line)
        if match:
            found[match.group(1)] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found


def free_subnet(candidates=SUBNETS):
    """The first third octet whose 198.18.x.0/24 no address of this namespace uses."""
    used = {int(a.split(".")[2]) for a in host_addresses() if a.startswith("198.18.")}
    for third in candidates:
        if third not in used:
            return third
    raise BedError("no free 198.18.x.0/24 among %s" % (candidates,))


# ---------------------------------------------------------------- command line
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lib.netbed", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--state", default=DEFAULT_STATE, help="state dir (default %(default)s)")
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--name", default=None, help="name prefix (default %s + random)" % PREFIX)
    parser.add_argument("--subnet", type=int, default=None,
                        help="third octet of 198.18.x.0/24 (default: 1, or the first free of 101..120)")
    args = parser.parse_args(argv)
    try:
        bed = NetBed(args.state, hosts=args.hosts, name=args.name, subnet=args.subnet)
        status = bed.status()
        if args.action == "up" and status and all(item["present"] for item in status["objects"]):
            print(bed.inventory)  # up already
        elif args.action == "up":
            bed.__enter__()  # up; what a failed up made is taken down again
            print(bed.inventory)
        elif args.action == "down":
            bed.down()
        elif status:
            missing = [item for item in status["objects"] if not item["present"]]
            print("%s in %s: %s" % (bed.name, bed.state_dir, "partly gone" if missing else "up"))
            for item in status["objects"]:
                print("  %-8s %-9s %s" % ("present" if item["present"] else "MISSING", item["kind"],
                                          item.get("name") or item.get("pidfile") or " ".join(item.get("rule", ()))))
            return 1 if missing else 0
        else:
            print("down (nothing recorded in %s)" % bed.state_dir)
    except BedError as exc:
        print("netbed %s: %s" % (args.action, exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
