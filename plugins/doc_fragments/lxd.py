# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every LXD module."""

    DOCUMENTATION = r"""
options:
  url:
    description:
      - Where the LXD daemon listens. C(unix:/path/to/unix.socket) for a local daemon, or
        C(https://host:8443) for a remote one (then O(client_cert) and O(client_key) are required).
      - When not set, the local socket of the Debian/Ubuntu package (C(/var/lib/lxd/unix.socket)) or,
        when that does not exist, of the snap (C(/var/snap/lxd/common/lxd/unix.socket)).
      - Set it once for all LXD modules with C(module_defaults) and the action group
        C(group/virtcloud.core.lxd).
    type: str
    aliases: [lxd_url]
  client_cert:
    description:
      - Path of the PEM client certificate a remote LXD knows this client by.
    type: path
    aliases: [cert_file]
  client_key:
    description: Path of the PEM private key of O(client_cert).
    type: path
    aliases: [key_file]
  server_cert:
    description:
      - Path of the remote LXD's own (usually self-signed) PEM certificate, a copy of its C(server.crt).
        The server must present exactly this certificate; it is pinned instead of checked against
        certificate authorities.
    type: path
  validate_certs:
    description:
      - Whether to check a remote LXD's certificate. With O(server_cert) (or O(trust_token)) the certificate
        is pinned; without them, it must be signed by an authority this host trusts and name the host of
        O(url), which LXD's self-signed certificate is not.
      - Set to V(false) only on a network you trust.
    type: bool
    default: true
  trust_password:
    description:
      - The remote LXD's C(core.trust_password). When the daemon does not trust O(client_cert) yet,
        the certificate is added to its trust store with this password.
    type: str
  trust_token:
    description:
      - A join token made on the remote LXD (C(lxc config trust add --name NAME)), used like
        O(trust_password). A token is good for one client certificate, once.
      - The token names the server's certificate fingerprint; when O(server_cert) is not set, the server
        must present that certificate, so that the token goes to that server only.
    type: str
  project:
    description:
      - The LXD project; the daemon's C(default) project when not set. A project that does not exist is
        an error.
    type: str
  timeout:
    description: Seconds to wait for one answer of LXD, and for one background operation to finish.
    type: int
    default: 120
notes:
  - Talks to LXD through its REST API (the unix socket or https), never by parsing C(lxc) CLI output.
  - Needs only the Python standard library on the managed host.
"""
