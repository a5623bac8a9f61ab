# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to dockerd through the docker SDK's low-level API, shared by every Docker module."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Service
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
)

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout

    DOCKER_IMPORT_ERROR = None
except ImportError as exc:  # reported by the engine before anything is touched
    docker = APIError = DockerException = NotFound = None
    RequestsConnectionError = ReadTimeout = None
    DOCKER_IMPORT_ERROR = exc

DEFAULT_HOST = "unix:///var/run/docker.sock"

# Label put on everything the collection creates; batch modules remove only what carries it.
MANAGED_LABEL = "io.virtcloud.managed-by"
MANAGED_VALUE = "virtcloud.core"

CONNECTION = {
    "docker_host": Opt(default=DEFAULT_HOST, aliases=["docker_url"], fallback=(env_fallback, ["DOCKER_HOST"])),
    "timeout": Opt(type="int", default=60),
}


class DockerService(Service):
    """Base of the Docker services: connection options, client, error translation."""

    connection = CONNECTION
    requirements = (("docker", "docker>=7.0", DOCKER_IMPORT_ERROR),)

    def connect(self):
        self.api = docker.APIClient(base_url=self.params["docker_host"], version="auto",
                                    timeout=self.params["timeout"])

    def share_connection(self, other):
        self.api = other.api  # one client (and its pool of connections) for every item of a batch

    def translate(self, exc):
        host = self.params.get("docker_host")
        if APIError is not None and isinstance(exc, APIError):
            return BackendError("Docker refused the request: %s" % (exc.explanation or exc),
                                status_code=exc.status_code)
        if isinstance(exc, PermissionError) or "Permission denied" in str(exc):
            return BackendUnavailable(
                "permission denied on the Docker socket %s (docker_host): run as root or as a "
                "member of the 'docker' group" % host)
        if ReadTimeout is not None and isinstance(exc, ReadTimeout):
            return BackendError("dockerd at %s did not answer within %ss (timeout)"
                                % (host, self.params.get("timeout")))
        connection_errors = tuple(e for e in (DockerException, RequestsConnectionError) if e)
        if connection_errors and isinstance(exc, connection_errors):
            return BackendUnavailable(
                "cannot connect to the Docker daemon at %s (docker_host): %s. Start dockerd on that host "
                "(for example systemctl start docker) or point docker_host at a running daemon" % (host, exc))
        return None

    def inspect(self, kind, ident):
        """inspect_<kind>(ident), or None when it does not exist."""
        try:
            return getattr(self.api, "inspect_" + kind)(ident)
        except NotFound:
            return None
