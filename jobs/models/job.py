"""Jobs (the truth about every piece of remote work), their logs, deployments and node images."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from jobs.choices import DeploymentStatus, JobKind, JobStatus


class JobQuerySet(models.QuerySet):
    def visible_to(self, user) -> JobQuerySet:
        """Admins see every job; others their teams' jobs (teams as they are now, so a removed
        member loses them at once) and the team-less jobs they requested."""
        from fleet.booking.permissions import team_filter

        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        own = models.Q(team__isnull=True, requested_by=user)
        return self.filter(team_filter(user) | own).distinct()


class Job(models.Model):
    """One piece of remote work; Celery carries only its id, this row is the truth."""

    kind = models.CharField(max_length=20, choices=JobKind.choices)
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True
    )
    params = models.JSONField(default=dict, blank=True)
    node = models.ForeignKey(
        "fleet.Node", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    node_name = models.CharField(max_length=63, blank=True, help_text="Kept if the node goes.")
    team = models.ForeignKey(
        "booking.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    booking = models.ForeignKey(
        "booking.Booking", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    recipe_version = models.ForeignKey(
        "catalog.RecipeVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="jobs",
    )
    deployment = models.ForeignKey(
        "jobs.Deployment", on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="jobs"
    )
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    steps = models.JSONField(default=list, blank=True, help_text="[{name, label, status, ...}]")
    result = models.JSONField(default=dict, blank=True)
    log_seq = models.PositiveIntegerField(default=0, help_text="Number of the last log chunk.")

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]

    def __str__(self) -> str:
        return f"job {self.pk} {self.kind} ({self.status})"

    @property
    def progress(self) -> int:
        """Percent of steps done."""
        if not self.steps:
            return 100 if self.status == JobStatus.SUCCEEDED else 0
        done = sum(1 for s in self.steps if s.get("status") == "done")
        return round(100 * done / len(self.steps))


class LogChunk(models.Model):
    """A numbered piece of a job's log; persisted before anyone is told about it."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="log_chunks")
    seq = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="one_chunk_per_seq")]

    def __str__(self) -> str:
        return f"job {self.job_id} chunk {self.seq}"


class DeploymentQuerySet(models.QuerySet):
    def visible_to(self, user) -> DeploymentQuerySet:
        """Admins see all; others their teams' deployments (teams as they are now)."""
        from fleet.booking.permissions import team_filter

        if not user.is_authenticated:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(team_filter(user)).distinct()

    def live(self) -> DeploymentQuerySet:
        from jobs.choices import LIVE_DEPLOYMENT_STATUSES

        return self.filter(status__in=LIVE_DEPLOYMENT_STATUSES)


class Deployment(models.Model):
    """A recipe version running in a container on booked cards of a node."""

    recipe_version = models.ForeignKey(
        "catalog.RecipeVersion", on_delete=models.PROTECT, related_name="deployments"
    )
    node = models.ForeignKey("fleet.Node", on_delete=models.PROTECT, related_name="deployments")
    booking = models.ForeignKey(
        "booking.Booking", on_delete=models.SET_NULL, null=True, related_name="deployments"
    )
    team = models.ForeignKey("booking.Team", on_delete=models.PROTECT, related_name="deployments")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    cards = models.JSONField(default=list, help_text="Physical card ids (davinciN).")
    status = models.CharField(
        max_length=10, choices=DeploymentStatus.choices, default=DeploymentStatus.PENDING
    )
    container_name = models.CharField(max_length=100, blank=True)
    container_id = models.CharField(max_length=80, blank=True)
    network = models.CharField(max_length=10, default="host")
    host_port = models.PositiveIntegerField(null=True, blank=True)
    endpoint_url = models.CharField(max_length=300, blank=True)
    docker_run = models.JSONField(default=list, blank=True, help_text="The argv that ran.")
    launch = models.JSONField(default=list, blank=True)
    latencies = models.JSONField(default=dict, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    last_log_lines = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    log_job = models.ForeignKey(
        Job,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The job whose log receives the container's output.",
    )
    log_cursor = models.CharField(
        max_length=40, blank=True, help_text="Timestamp of the last container log line kept."
    )

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.container_name or f"deployment {self.pk}"

    @property
    def endpoint_live(self) -> bool:
        """Whether endpoint_url answers: only while the container runs (not stopped or gone)."""
        return bool(self.endpoint_url) and self.status == DeploymentStatus.RUNNING


class NodeImage(models.Model):
    """A Docker image present on a node (built by the dashboard or found there)."""

    node = models.ForeignKey("fleet.Node", on_delete=models.CASCADE, related_name="images")
    tag = models.CharField(max_length=300)
    image_id = models.CharField(max_length=80)
    size_bytes = models.BigIntegerField(default=0)
    created = models.DateTimeField(null=True, blank=True)
    build_job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="images"
    )
    seen_at = models.DateTimeField(auto_now=True)

    # Not stored: set by jobs.services.images (attach_usage, usage_for) and the images page.
    used_by: list[Deployment]
    shown_users: list[Deployment]
    other_teams: int
    live_users: list[Deployment]

    class Meta:
        ordering = ["node", "tag"]
        constraints = [models.UniqueConstraint(fields=["node", "tag"], name="one_image_per_tag")]

    def __str__(self) -> str:
        return f"{self.tag} on {self.node_id}"
