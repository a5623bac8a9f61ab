"""Helpers of the app_deploy role's tests (tests/integration/test_role_app_deploy.py, test_awx_runner.py):
free 127.0.0.1 ports, one HTTP GET, and the removal of everything an application made."""

from __future__ import annotations

import random
import re
import socket
import subprocess
import urllib.error
import urllib.request


def free_base_port(replicas, tries=50):
    """A base port B such that B+1 .. B+replicas are free on 127.0.0.1."""
    for _attempt in range(tries):
        base = random.randrange(20000, 45000)
        socks = []
        try:
            for port in range(base + 1, base + replicas + 1):
                sock = socket.socket()
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no %d free consecutive ports on 127.0.0.1" % replicas)


def get(port, timeout=1.0):
    """(status, body) of GET http://127.0.0.1:<port>/; status None when nothing answered."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (OSError, ValueError):
        return None, ""


def recap(stdout):
    """The PLAY RECAP counters of localhost from ansible-playbook's output."""
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", stdout)
    assert match, stdout[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


def remove_app(name):
    """Remove every container labelled with the application (replicas, and any a replacement left)
    and its images (the current one and those a content change left), whatever state a test left them in."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", "label=io.virtcloud.app=" + name],
                         capture_output=True, text=True, check=False).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f"] + ids, capture_output=True, check=False)
    images = subprocess.run(["docker", "images", "-q", "--filter", "label=io.virtcloud.app=" + name],
                            capture_output=True, text=True, check=False).stdout.split()
    subprocess.run(["docker", "rmi", "-f", "local/%s:current" % name] + sorted(set(images)),
                   capture_output=True, check=False)
