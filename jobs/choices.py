"""Choices and constants of the jobs app: the job engine."""

from __future__ import annotations

from django.db import models

# The catalog's choices (recipes, the vLLM launch, the manuals' tables, the container name
# prefix) are in jobs.catalog.choices.

# The job engine.
JOB_LABEL = "npufleet.job"
DEPLOYMENT_LABEL = "npufleet.deployment"
BOOKING_LABEL = "npufleet.booking"


class JobKind(models.TextChoices):
    BUILD = "build", "Build image"
    DEPLOY = "deploy", "Deploy recipe"
    STOP = "stop", "Stop deployment"
    RESTART = "restart", "Restart deployment"
    REMOVE = "remove", "Remove deployment"
    REMOVE_IMAGE = "remove_image", "Remove image"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_JOB_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class DeploymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    STARTING = "starting", "Starting"
    RUNNING = "running", "Running"
    EXITED = "exited", "Exited"
    STOPPED = "stopped", "Stopped"
    FAILED = "failed", "Failed"
    REMOVED = "removed", "Removed"


# Deployments in these states hold their cards.
LIVE_DEPLOYMENT_STATUSES = (
    DeploymentStatus.PENDING,
    DeploymentStatus.STARTING,
    DeploymentStatus.RUNNING,
)

# The latencies a deployment's smoke request records, in the order pages list them.
LATENCY_KEYS = (
    "prefill_latency",
    "model_prefill_latency",
    "avg_decode_latency",
    "time_in_queue",
    "request_latency",
)
