"""Each way of failing to reach dockerd becomes one clear message naming docker_host."""

from __future__ import annotations

import pytest
import requests
from docker.errors import APIError, DockerException

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, BackendUnavailable
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import DockerService

HOST = "unix:///var/run/docker.sock"


@pytest.fixture
def service():
    return DockerService({"docker_host": HOST, "timeout": 5})


def test_permission_denied(service):
    error = service.translate(PermissionError(13, "Permission denied"))
    assert isinstance(error, BackendUnavailable)
    assert "permission denied on the Docker socket %s (docker_host)" % HOST in error.msg


def test_daemon_down(service):
    error = service.translate(DockerException("Error while fetching server API version: Connection refused"))
    assert isinstance(error, BackendUnavailable)
    assert error.msg.startswith("cannot connect to the Docker daemon at %s (docker_host)" % HOST)
    assert isinstance(service.translate(requests.exceptions.ConnectionError("refused")), BackendUnavailable)


def _wrapped():
    """What the docker SDK raises for a missing socket: it wraps requests, which wraps urllib3, which
    wraps the socket's error."""
    system = FileNotFoundError(2, "No such file or directory")
    connection = requests.exceptions.ConnectionError(("Connection aborted.", system))
    connection.__cause__ = system
    sdk = DockerException("Error while fetching server API version: %s" % connection)
    sdk.__cause__ = connection
    return sdk


def test_daemon_down_says_what_the_system_said_without_the_wrappers(service):
    error = service.translate(_wrapped())
    assert error.msg == ("cannot connect to the Docker daemon at %s (docker_host): No such file or directory. "
                         "Start dockerd on that host (for example systemctl start docker) or point docker_host "
                         "at a running daemon" % HOST)


def test_timeout(service):
    error = service.translate(requests.exceptions.ReadTimeout("read timed out"))
    assert isinstance(error, BackendError) and "within 5s (timeout)" in error.msg


def test_api_refusal_keeps_docker_explanation(service):
    response = requests.Response()
    response.status_code = 409
    error = service.translate(APIError("409 Conflict", response=response, explanation="name already in use"))
    assert isinstance(error, BackendError)
    assert error.msg == "Docker refused the request: name already in use"
    assert error.details["status_code"] == 409


def test_foreign_exceptions_are_not_swallowed(service):
    assert service.translate(ValueError("bug")) is None
