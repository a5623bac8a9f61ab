"""A throwaway Linux kernel to run the host_* modules in: Debian's cloud kernel (802.1Q and bridge VLAN
filtering, which this host's kernel lacks) booted under QEMU (TCG) with no network device at all.

The initramfs holds busybox, Debian's python3.11 with its standard library, iproute2's ``ip`` and
``bridge`` (an independent view: ``ip -j -d``, ``bridge -j vlan show``) and the kernel modules
bridge, stp, llc, 802.1Q (mrp, garp) and veth, which its init loads. It is cached like
lib.guest's assets (``ova.cached``: a directory named after a hash of the recipe, a lock file, an
atomic rename). The code under test is NOT in it: every boot appends a second gzip'd cpio archive
(the kernel unpacks concatenated archives) with the collection's plugins/ from the checkout the
test runs from and ansible's module_utils from the running interpreter's ansible, so what runs
is always the current code. Modification times are kept (cpio newc) and the archive carries
.pyc files compiled on this side by the same Python minor version, so the guest, which
is slow under TCG, imports without compiling.

An agent in the guest answers JSON lines on its second serial port (/dev/ttyS1, raw), a unix
socket here; the kernel console (ttyS0) goes to a log file, whose tail a boot that does not reach
the agent reports.

    with Guest() as guest:
        guest.sh("ip link add vc0 type veth peer name vc1")
        result = guest.module("host_vlan", {"name": "vc0.5", "parent": "vc0", "vlan_id": 5})
        guest.json("ip -j -d link show vc0.5")
"""

from __future__ import annotations

import compileall
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import ansible  # the running interpreter's own, as the tests on this host use

try:
    from lib.guest import KERNEL_PACKAGE, _kernel_deb, _run
    from lib.ova import cached
except ImportError:      # run as a script: python tests/lib/netlab.py
    from guest import KERNEL_PACKAGE, _kernel_deb, _run  # type: ignore[no-redef]
    from ova import cached  # type: ignore[no-redef]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3.11"
STDLIB = "/usr/lib/python3.11"
STDLIB_LEFT_OUT = {"test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip", "pydoc_data",
                   "dist-packages", "site-packages"}
TOOLS = ["/sbin/ip", "/sbin/bridge"]
# Load order matters: dependencies first (modinfo -F depends).
MODULES = ["net/llc/llc.ko", "net/802/stp.ko", "net/bridge/bridge.ko", "net/802/mrp.ko", "net/802/garp.ko",
           "net/8021q/8021q.ko", "drivers/net/veth.ko"]
COLLECTION = "vct/ansible_collections/virtcloud/core"
MARKER = "VCT-NETLAB-UP"

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/usr/sbin:/usr/bin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
for m in %(modules)s; do insmod /modules/$m || echo "VCT-INSMOD-FAILED $m"; done
ip link set lo up
echo %(marker)s
python3 /agent.py
echo "VCT-AGENT-EXIT $?"
poweroff -f
"""

# The guest side: one request per JSON line on /dev/ttyS1, one answer line with the same id.
#   {"id": N, "argv": [...], "files": {path: text}, "env": {...}, "timeout": s}
#       -> {"id": N, "rc": int, "stdout": str, "stderr": str, "seconds": float}
#   {"id": N, "op": "ping"} -> {"id": N, "rc": 0}
#   {"id": N, "op": "poweroff"} -> {"id": N, "rc": 0} and the guest powers off
AGENT = r'''
import json, os, subprocess, time, tty

fd = os.open("/dev/ttyS1", os.O_RDWR | os.O_NOCTTY)
tty.setraw(fd)


def send(answer):
    data = (json.dumps(answer) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def handle(req):
    if req.get("op") == "ping":
        send({"id": req["id"], "rc": 0})
        return
    if req.get("op") == "poweroff":
        send({"id": req["id"], "rc": 0})
        os.system("poweroff -f")
        return
    for path, text in req.get("files", {}).items():
        with open(path, "w") as handle:
            handle.write(text)
    env = dict(os.environ, PATH="/sbin:/usr/sbin:/usr/bin:/bin", **req.get("env", {}))
    start = time.monotonic()
    try:
        proc = subprocess.run(req["argv"], capture_output=True, env=env, cwd="/", timeout=req.get("timeout", 60))
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = -9, exc.stdout or b"", (exc.stderr or b"") + b"\nagent: timed out"
    except OSError as exc:
        rc, out, err = 127, b"", str(exc).encode()
    send({"id": req["id"], "rc": rc, "stdout": out.decode("utf-8", "replace"),
          "stderr": err.decode("utf-8", "replace"), "seconds": round(time.monotonic() - start, 3)})


buf = b""
while True:
    buf += os.read(fd, 65536)
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        try:
            req = json.loads(line)
        except ValueError:
            continue        # line noise before the host side connected
        handle(req)
'''


def _ldd(paths):
    """The shared libraries (and the loader) that `paths` need, as ldd names them."""
    libs = set()
    for path in paths:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            words = line.split()
            if "=>" in words and len(words) > words.index("=>") + 1 and words[words.index("=>") + 1].startswith("/"):
                libs.add(words[words.index("=>") + 1])
            elif words and words[0].startswith("/"):
                libs.add(words[0])
    return libs


def _stdlib_files():
    files = []
    for top, dirs, names in os.walk(STDLIB):
        if top == STDLIB:
            dirs[:] = [d for d in dirs if d not in STDLIB_LEFT_OUT and not d.startswith("config-")]
        files += [os.path.join(top, n) for n in names]
    return files


def _with_parents(paths):
    """Relative names for cpio, run from /, every parent directory first."""
    names = set()
    for path in paths:
        rel = os.path.relpath(path, "/")
        while rel and rel != ".":
            names.add(rel)
            rel = os.path.dirname(rel)
    return sorted(names)


def _cpio_gz(names, cwd, dest, follow=False):
    """Append gzip'd cpio (newc: keeps modification times) of `names` (relative to cwd) to dest."""
    argv = "cpio -o -H newc --quiet %s | gzip -1 >> %s" % ("-L" if follow else "", dest)
    subprocess.run(argv, shell=True, cwd=cwd, input="\n".join(names) + "\n", text=True, check=True)


def _recipe():
    versions = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version}\n", "busybox", "busybox-static",
                               "iproute2", "python3.11-minimal", "libpython3.11-stdlib"],
                              capture_output=True, text=True, check=False).stdout
    return "\n".join(["netlab v1", KERNEL_PACKAGE, versions, *MODULES, INIT, AGENT, *sorted(STDLIB_LEFT_OUT)])


def _build(staging):
    work = tempfile.mkdtemp(prefix="vct-netlab-build-")
    try:
        tree = os.path.join(work, "x")
        _run(["dpkg-deb", "-x", _kernel_deb(work), tree])
        shutil.copy(glob.glob(os.path.join(tree, "boot", "vmlinuz-*"))[0], os.path.join(staging, "vmlinuz"))
        moddir = glob.glob(os.path.join(tree, "lib", "modules", "*", "kernel"))[0]
        initrd = os.path.join(staging, "initrd.gz")

        # this machine's files, at their own paths (symbolic links followed)
        stdlib = _stdlib_files()
        dynload = [f for f in stdlib if f.endswith(".so")]
        _cpio_gz(_with_parents([PYTHON, *TOOLS, *stdlib, *_ldd([PYTHON, *TOOLS, *dynload])]), "/", initrd, True)

        root = os.path.join(work, "root")
        for sub in ("bin", "proc", "sys", "dev", "modules", "tmp", "usr/bin"):
            os.makedirs(os.path.join(root, sub))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        os.symlink("python3.11", os.path.join(root, "usr", "bin", "python3"))
        for module in MODULES:
            shutil.copy(os.path.join(moddir, module), os.path.join(root, "modules"))
        with open(os.path.join(root, "init"), "w") as handle:
            handle.write(INIT % {"modules": " ".join(os.path.basename(m) for m in MODULES), "marker": MARKER})
        os.chmod(os.path.join(root, "init"), 0o755)
        with open(os.path.join(root, "agent.py"), "w") as handle:
            handle.write(AGENT)
        names = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True, check=True).stdout.split()
        _cpio_gz(names, root, initrd)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def netlab_assets():
    """(kernel path, initrd path) of the cached guest, built on first use."""
    final = cached("netlab", _recipe(), _build)
    return os.path.join(final, "vmlinuz"), os.path.join(final, "initrd.gz")


def code_archive(dest, root=ROOT):
    """Append to dest the gzip'd cpio of the code under test: root's plugins/ (its module_utils and
    modules) and ansible's __init__, release, _vendor and module_utils, under /vct, with .pyc files."""
    work = tempfile.mkdtemp(prefix="vct-netlab-code-")
    try:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for sub in ("module_utils", "modules"):
            shutil.copytree(os.path.join(root, "plugins", sub), os.path.join(work, COLLECTION, "plugins", sub),
                            ignore=ignore)
        source = os.path.dirname(ansible.__file__)
        for sub in ("_vendor", "module_utils"):
            shutil.copytree(os.path.join(source, sub), os.path.join(work, "vct", "ansible", sub), ignore=ignore)
        for name in ("__init__.py", "release.py"):
            shutil.copy2(os.path.join(source, name), os.path.join(work, "vct", "ansible", name))
        # same magic number as the guest's python3.11; the source times are kept, so the guest takes them
        compileall.compile_dir(os.path.join(work, "vct"), quiet=2, workers=0, ddir="/vct")
        names = subprocess.run(["find", "."], cwd=work, capture_output=True, text=True, check=True).stdout.split()
        _cpio_gz(names, work, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class GuestError(AssertionError):
    pass


class Guest:
    """One boot of the netlab kernel under QEMU (TCG, 512 MiB, no NIC); a context manager."""

    def __init__(self, root=ROOT, boot_timeout=120, memory=512):
        self.root, self.boot_timeout, self.memory = root, boot_timeout, memory
        self.dir = self.proc = self.sock = None
        self.buf = b""
        self.next_id = 0
        self.timings = {}

    # ------------------------------------------------------------ lifecycle
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        start = time.monotonic()
        kernel, base = netlab_assets()
        self.timings["assets"] = time.monotonic() - start
        self.dir = tempfile.mkdtemp(prefix="vct-netlab-")
        initrd = os.path.join(self.dir, "initrd.gz")
        shutil.copy(base, initrd)
        code_archive(initrd, self.root)
        self.timings["code"] = time.monotonic() - start - self.timings["assets"]
        path = os.path.join(self.dir, "agent.sock")
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(self.memory), "-display", "none",
                "-no-reboot", "-nic", "none", "-monitor", "none", "-nodefaults",
                "-kernel", kernel, "-initrd", initrd,
                "-append", "console=ttyS0 panic=-1 quiet loglevel=4",
                "-serial", "file:" + self.console_path,
                "-chardev", "socket,id=agent,path=%s,server=on,wait=off" % path, "-serial", "chardev:agent"]
        booted = time.monotonic()
        with open(os.path.join(self.dir, "qemu.log"), "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = booted + self.boot_timeout
        while self.sock is None:
            self._alive("starting")
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(path)
                self.sock = sock
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise GuestError("QEMU made no agent socket in %ss\n%s" % (self.boot_timeout, self.console()))
                time.sleep(0.1)
        # the agent may not read yet: ask again every second until it answers
        while True:
            self._alive("booting")
            if time.monotonic() > deadline:
                raise GuestError("the guest agent did not answer in %ss; console:\n%s"
                                 % (self.boot_timeout, self.console()))
            try:
                self.request({"op": "ping"}, timeout=1)
                break
            except TimeoutError:
                continue
        self.timings["boot"] = time.monotonic() - booted

    def stop(self, timeout=10):
        """Power the guest off; kill its QEMU (only that pid) if it does not go in `timeout` s."""
        if self.proc is not None and self.proc.poll() is None:
            if self.sock is not None:
                try:
                    self._send({"id": -1, "op": "poweroff"})
                except OSError:
                    pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    @property
    def console_path(self):
        return os.path.join(self.dir, "console.log")

    def console(self, lines=40):
        """The tail of the guest's kernel console."""
        try:
            with open(self.console_path, errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return "(no console log)"

    def _alive(self, what):
        if self.proc.poll() is not None:
            raise GuestError("QEMU exited (rc %s) while %s; console:\n%s" % (self.proc.returncode, what, self.console()))

    # ------------------------------------------------------------ requests
    def _send(self, req):
        self.sock.sendall((json.dumps(req) + "\n").encode())

    def request(self, req, timeout=60):
        """Send one request to the agent and return its answer (bounded by timeout + 10 s)."""
        self.next_id += 1
        req = {**req, "id": self.next_id, "timeout": timeout}
        self._send(req)
        deadline = time.monotonic() + timeout + (10 if timeout > 1 else 0)
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                try:
                    answer = json.loads(line)
                except ValueError:
                    continue
                if answer.get("id") == req["id"] and "rc" in answer:  # not an echo of the request
                    return answer
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer to %s in %ss" % (req.get("argv"), timeout))
            self.sock.settimeout(min(left, 1))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                self._alive("waiting for %s" % req.get("argv"))
                continue
            if not chunk:
                raise GuestError("the agent socket closed; console:\n%s" % self.console())
            self.buf += chunk

    def sh(self, cmd, timeout=60):
        """(rc, stdout, stderr) of `sh -c cmd` in the guest; `ip` and `bridge` there are iproute2's."""
        # busybox sh runs its own applets before anything on PATH; shell functions come first
        prelude = "ip() { /sbin/ip \"$@\"; }; bridge() { /sbin/bridge \"$@\"; }; "
        answer = self.request({"argv": ["sh", "-c", prelude + cmd]}, timeout)
        return answer["rc"], answer["stdout"], answer["stderr"]

    def json(self, cmd, timeout=60):
        """The JSON that `cmd` prints in the guest; it must succeed."""
        rc, out, err = self.sh(cmd, timeout)
        assert rc == 0, "%s failed (rc %s): %s %s" % (cmd, rc, out, err)
        return json.loads(out)

    def module(self, name, args, check=False, diff=False, timeout=120):
        """The result of virtcloud.core.<name> run in the guest with `args` (a failure is a result too)."""
        path = "/tmp/args-%d.json" % (self.next_id + 1)
        body = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check, "_ansible_diff": diff}}
        answer = self.request({"argv": ["python3", "/%s/plugins/modules/%s.py" % (COLLECTION, name), path],
                               "files": {path: json.dumps(body)}, "env": {"PYTHONPATH": "/vct"}}, timeout)
        try:
            return json.loads(answer["stdout"])
        except ValueError:
            raise GuestError("module %s printed no JSON (rc %s):\nstdout: %s\nstderr: %s"
                             % (name, answer["rc"], answer["stdout"][-3000:], answer["stderr"][-3000:])) from None


if __name__ == "__main__":
    with Guest() as lab:
        print(lab.timings)
        print(lab.sh("uname -r; ip -V; lsmod")[1])
