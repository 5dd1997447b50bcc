"""Jobs models: jobs, their logs, deployments, node images and the container policy's data."""

from .job import Deployment, Job, LogChunk, NodeImage
from .policy import AllowedImagePrefix, PolicyException

__all__ = [
    "AllowedImagePrefix",
    "Deployment",
    "Job",
    "LogChunk",
    "NodeImage",
    "PolicyException",
]
