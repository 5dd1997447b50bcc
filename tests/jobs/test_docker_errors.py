"""The Docker seam names a lost node as unreachable, whatever layer noticed it first."""

import pytest
from docker.errors import DockerException

from fleet.remote import ErrorKind
from jobs.docker_api import classify


@pytest.mark.parametrize(
    "text",
    [
        "Error while fetching server API version: Unable to open channel.",
        "Error while fetching server API version: 'NoneType' object has no attribute 'settimeout'",
        "Error while fetching server API version: ('Connection aborted.', RemoteDisconnected())",
        "SSH session not active",
    ],
)
def test_a_transport_lost_under_the_sdk_is_unreachable(text):
    error = classify(DockerException(text), "node-a")
    assert error.kind == ErrorKind.UNREACHABLE
    assert error.node == "node-a"
    assert str(error).startswith("unreachable: docker on node-a: connection lost")


def test_other_sdk_errors_stay_command_failures():
    error = classify(DockerException("Error while fetching server API version: bad JSON"), "n1")
    assert error.kind == ErrorKind.COMMAND_FAILED
    assert "docker on n1" in str(error)
