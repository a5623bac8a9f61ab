"""LXD test helpers: a busybox LXD image built offline (no image server is reachable here: a split
image, metadata tarball + rootfs tarball, whose init stops at once on LXD's stop signal, SIGPWR),
the `lxc` CLI as the independent verification path, and this LXD's https listener as a remote."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import time

INIT = b"""#!/bin/sh
# virtcloud test init: mount what busybox tools need, then idle until LXD asks us to stop
mount -t proc proc /proc 2>/dev/null
trap 'exit 0' PWR TERM USR1
echo VIRTCLOUD-LXD-UP > /run/virtcloud-up 2>/dev/null
while :; do sleep 1 & wait $!; done
"""

APPLETS = ("sh", "sleep", "cat", "echo", "ls", "mount", "ip", "ifconfig", "udhcpc", "hostname", "ps", "wc",
           "mkdir", "touch", "rm", "true", "false", "env", "grep", "ping")


def _add(tar, name, data=None, mode=0o644, kind=tarfile.REGTYPE, link=None):
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = 1700000000
    info.type = kind
    if link is not None:
        info.linkname = link
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def build_busybox_image(directory, description="virtcloud busybox"):
    """Write meta.tar.gz and rootfs.tar.gz under `directory`; return their paths."""
    os.makedirs(directory, exist_ok=True)
    meta = os.path.join(directory, "meta.tar.gz")
    rootfs = os.path.join(directory, "rootfs.tar.gz")
    metadata = {
        "architecture": os.uname().machine,
        "creation_date": 1700000000,
        "properties": {"description": description, "os": "busybox", "release": "test"},
        "templates": {},
    }
    with tarfile.open(meta, "w:gz") as tar:
        _add(tar, "metadata.yaml", json.dumps(metadata).encode())  # JSON is YAML
    busybox = shutil.which("busybox") or "/bin/busybox"
    with open(busybox, "rb") as handle:
        binary = handle.read()
    with tarfile.open(rootfs, "w:gz") as tar:
        for name in ("bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root", "var"):
            _add(tar, name, kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "bin/busybox", binary, mode=0o755)
        for applet in APPLETS:
            _add(tar, "bin/" + applet, kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
        _add(tar, "sbin/init", INIT, mode=0o755)
        _add(tar, "etc/hostname", b"busybox\n")
        _add(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        _add(tar, "etc/group", b"root:x:0:\n")
    return meta, rootfs


def lxc(*args, check=True, timeout=120):
    """The LXD CLI (the independent verification path), JSON where it has it."""
    proc = subprocess.run(("lxc",) + args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("lxc %s failed (%s): %s" % (" ".join(args), proc.returncode, proc.stderr))
    return proc


def lxc_json(*args):
    return json.loads(lxc(*(args + ("--format", "json"))).stdout)


def import_image(directory, alias):
    """Import the busybox image under `alias` (replacing an older one); return its fingerprint."""
    meta, rootfs = build_busybox_image(directory)
    lxc("image", "delete", alias, check=False)
    lxc("image", "import", meta, rootfs, "--alias", alias)
    return image_fingerprint(alias)


def image_fingerprint(alias):
    for image in lxc_json("image", "list"):
        if any(a["name"] == alias for a in image.get("aliases") or []):
            return image["fingerprint"]
    return None


def wait_gone(kind, name, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lxc(kind, "show", name, check=False).returncode != 0:
            return True
        time.sleep(0.2)
    return False


class Remote:
    """LXD's https listener on 127.0.0.1, for the remote-connection tests: client certificates made
    with the openssl CLI, the trust password and join tokens. `close` puts everything back as it was
    (core.https_address, core.trust_password, the certificates and tokens it added)."""

    def __init__(self, directory, prefix):
        self.dir = directory
        self.prefix = prefix  # every certificate and token name starts with it
        self.fingerprints = set()
        self.set_address = self.set_password = False
        self.url = self.server_fingerprint = self.server_cert = None

    def open(self):
        """Listen on 127.0.0.1 (unless LXD already listens on https) and note the server certificate."""
        config = json.loads(lxc("query", "/1.0").stdout)["config"]
        if config.get("core.trust_password"):
            raise AssertionError("core.trust_password is already set on this LXD: the remote tests would "
                                 "replace a password they cannot put back")
        address = config.get("core.https_address")
        if not address:
            address = "127.0.0.1:%d" % free_port()
            lxc("config", "set", "core.https_address", address)
            self.set_address = True
        self.url = "https://127.0.0.1:%s" % address.rsplit(":", 1)[1]
        environment = json.loads(lxc("query", "/1.0").stdout)["environment"]
        self.server_fingerprint = environment["certificate_fingerprint"]
        self.server_cert = os.path.join(self.dir, "server.crt")
        with open(self.server_cert, "w") as handle:
            handle.write(environment["certificate"])

    def client(self, name):
        """A new client key and self-signed certificate: {'client_cert', 'client_key'}; `name` its CN."""
        cert, key = os.path.join(self.dir, name + ".crt"), os.path.join(self.dir, name + ".key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + self.prefix + name],
                       check=True, capture_output=True, timeout=60)
        self.fingerprints.add(cert_fingerprint(cert))
        return {"client_cert": cert, "client_key": key}

    def password(self, secret):
        lxc("config", "set", "core.trust_password", secret)
        self.set_password = True

    def token(self, name):
        """A join token for a client named prefix + name, as `lxc config trust add` prints it."""
        out = lxc("config", "trust", "add", "--name", self.prefix + name).stdout
        return out.strip().splitlines()[-1].strip()

    def trusted(self):
        """{fingerprint: name} of the certificates this LXD trusts."""
        return {c["fingerprint"]: c["name"] for c in lxc_json("config", "trust", "list")}

    def tokens(self):
        """Names of the join tokens not used yet."""
        return [t["ClientName"] for t in lxc_json("config", "trust", "list-tokens")]

    def close(self):
        problems = []
        for fingerprint in set(self.trusted()) & self.fingerprints:
            problems += [lxc("config", "trust", "remove", fingerprint, check=False).stderr]
        for name in self.tokens():
            if name.startswith(self.prefix):
                problems += [lxc("config", "trust", "revoke-token", name, check=False).stderr]
        if self.set_password:
            problems += [lxc("config", "unset", "core.trust_password", check=False).stderr]
        if self.set_address:
            problems += [lxc("config", "unset", "core.https_address", check=False).stderr]
        problems = [p for p in problems if p.strip()]
        if problems:
            raise AssertionError("could not put LXD back: %s" % problems)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cert_fingerprint(path):
    """SHA-256 of a PEM certificate's DER bytes, as LXD names certificates."""
    with open(path) as handle:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(handle.read())).hexdigest()
