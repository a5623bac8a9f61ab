# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options and requirements shared by every Docker module."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - Address of the Docker daemon, as in C(DOCKER_HOST). A local socket (V(unix:///var/run/docker.sock)),
        or V(tcp://host:port) for a remote daemon (port 2376 by convention with TLS, see O(validate_certs)).
      - Set it once for all Docker modules with C(module_defaults) and the action group
        C(group/virtcloud.core.docker).
      - When not set in the task, the environment variable E(DOCKER_HOST) of the managed host is used, then
        the default.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  tls:
    description:
      - Connect to a V(tcp://) O(docker_host) with TLS, without checking the daemon's certificate
        (encryption only). Prefer O(validate_certs), which also checks who answers.
      - O(validate_certs=true) takes precedence.
      - When not set in the task, the environment variable E(DOCKER_TLS) is used (set and not V(0),
        V(false), V(no) or V(off) means true).
      - Ignored for a local socket (V(unix://)), as the Docker CLI ignores it.
    type: bool
    default: false
  validate_certs:
    description:
      - Connect to a V(tcp://) O(docker_host) with TLS and check that the daemon's certificate is signed
        by the CA in O(ca_path) and valid for O(tls_hostname); as C(docker --tlsverify).
      - Needs O(ca_path) (or E(DOCKER_CERT_PATH) holding C(ca.pem)).
      - When not set in the task, the environment variable E(DOCKER_TLS_VERIFY) is used (set and not V(0),
        V(false), V(no) or V(off) means true).
      - Ignored for a local socket (V(unix://)), as the Docker CLI ignores it.
    type: bool
    default: false
    aliases: [tls_verify]
  ca_path:
    description:
      - Path of the PEM certificate of the CA that signed the daemon's certificate (C(docker --tlscacert)).
        It alone is trusted; the system's authorities and E(REQUESTS_CA_BUNDLE) are not.
      - When not set in the task and E(DOCKER_CERT_PATH) is set, its C(ca.pem), if that file exists.
    type: path
    aliases: [ca_cert, tls_ca_cert]
  client_cert:
    description:
      - Path of the PEM client certificate this host presents to a daemon that authenticates its clients
        (dockerd C(--tlsverify)); give O(client_key) with it (C(docker --tlscert)).
      - When not set in the task and E(DOCKER_CERT_PATH) is set, its C(cert.pem), if that file exists.
    type: path
    aliases: [tls_client_cert]
  client_key:
    description:
      - Path of the PEM private key of O(client_cert) (C(docker --tlskey)). A path, not a secret itself;
        keep the file readable by the connecting user only.
      - When not set in the task and E(DOCKER_CERT_PATH) is set, its C(key.pem), if that file exists.
    type: path
    aliases: [tls_client_key]
  tls_hostname:
    description:
      - The name the daemon's certificate must hold, when it differs from the host of O(docker_host)
        (for example an address reached through a tunnel). Only with O(validate_certs=true).
      - When not set in the task, the environment variable E(DOCKER_TLS_HOSTNAME) is used, then the host
        of O(docker_host).
    type: str
  api_version:
    description:
      - The Docker API version to speak, for example V(1.41) (quote it in YAML, where C(1.40) is the
        number 1.4). V(auto) takes the newest version both the Docker SDK and the daemon speak.
      - A version the daemon does not speak fails, naming this option.
      - When not set in the task, the environment variable E(DOCKER_API_VERSION) is used, then the default.
    type: str
    default: auto
    aliases: [docker_api_version]
  timeout:
    description:
      - Seconds to wait for one answer of the Docker API.
      - When not set in the task, the environment variable E(DOCKER_TIMEOUT) is used, then the default.
    type: int
    default: 60
requirements:
  - docker >= 7.0 (the Docker SDK for Python) on the managed host
notes:
  - Talks to dockerd through its API (the Docker SDK), never by parsing C(docker) CLI output.
  - The connection can come from the environment of the managed host as for the Docker CLI
    (E(DOCKER_HOST), E(DOCKER_TLS), E(DOCKER_TLS_VERIFY), E(DOCKER_CERT_PATH), E(DOCKER_TLS_HOSTNAME),
    E(DOCKER_API_VERSION), E(DOCKER_TIMEOUT)); options set in the task, or through C(module_defaults),
    take precedence.
  - Bad connection options (a certificate file that does not exist or is not PEM, O(client_key) without
    O(client_cert), O(validate_certs) without a CA, certificate options while TLS is off, an
    O(api_version) that is not a version) fail before anything is read, naming the option.
"""
