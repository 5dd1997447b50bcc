"""Jobs and deployments over REST: thin views over querysets and services."""

from __future__ import annotations

from django.db.models import Max
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from fleet.api.fields import bounded_int
from fleet.booking.models import Booking
from fleet.errors import Invalid
from jobs.catalog.models import RecipeVersion
from jobs.choices import JobStatus
from jobs.models import Deployment, Job, LogChunk
from jobs.services import deployments as deployment_services
from jobs.services import jobs as job_services
from jobs.services import recovery


class JobSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True)
    requested_by = serializers.CharField(
        source="requested_by.username", default=None, allow_null=True
    )
    team_name = serializers.CharField(source="team.name", default=None, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "progress",
            "steps",
            "params",
            "node",
            "node_name",
            "team",
            "team_name",
            "booking",
            "recipe_version",
            "deployment",
            "requested_by",
            "retry_of",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "cancel_requested",
            "error",
            "result",
            "log_seq",
        ]
        read_only_fields = fields


MAX_SEQ = 2**31 - 1  # log chunk numbers are 32-bit in the database
MAX_LOG_CHUNKS = 1000


class LogChunkSerializer(serializers.ModelSerializer):
    class Meta:
        model = LogChunk
        fields = ["seq", "text"]


class LogQuerySerializer(serializers.Serializer):
    after_seq = bounded_int(
        0, MAX_SEQ, default=0, help_text="Only chunks after this number (0: from the start)."
    )
    limit = bounded_int(1, MAX_LOG_CHUNKS, default=500, help_text="At most this many chunks.")


class LogPageSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    chunks = LogChunkSerializer(many=True)
    last_seq = serializers.IntegerField(help_text="The number of the log's last chunk now.")
    more = serializers.BooleanField(help_text="Chunks after these exist: ask again.")


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """Jobs: status, steps (progress) and log. Members see their teams' jobs."""

    serializer_class = JobSerializer
    filterset_fields = ["status", "kind", "node", "deployment", "team"]

    def get_queryset(self):
        return Job.objects.visible_to(self.request.user).select_related("requested_by", "team")

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel; a running job stops its remote work."""
        job = job_services.cancel_job(self.get_object(), actor=request.user)
        return Response(JobSerializer(job).data)

    @extend_schema(request=None, responses={201: JobSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """A new job doing the same work, linked to this one."""
        job = recovery.retry_job(self.get_object(), actor=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[LogQuerySerializer], responses=LogPageSerializer)
    @action(detail=True, methods=["get"])
    def log(self, request, pk=None):
        """Log chunks after `after_seq`, oldest first; `last_seq` says where the log ends now."""
        job = self.get_object()
        query = LogQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after_seq"], query.validated_data["limit"]
        rows = LogChunk.objects.filter(job=job, seq__gt=after).order_by("seq")[:limit]
        chunks = LogChunkSerializer(rows, many=True).data
        last = LogChunk.objects.filter(job=job).aggregate(m=Max("seq"))["m"] or 0
        return Response(
            {
                "job": job.pk,
                "status": job.status,
                "chunks": chunks,
                "last_seq": last,
                "more": bool(chunks) and chunks[-1]["seq"] < last,
            }
        )

    # Named to sort before `log`: the router adds actions in name order, and `log`'s
    # format-suffix route (log.<format>) would otherwise take log.txt as ?format=txt (a 404).
    @extend_schema(responses={(200, "text/plain"): str})
    @action(detail=True, methods=["get"], url_path="log.txt", url_name="log-text")
    def download_log(self, request, pk=None):
        """The whole log as one text file."""
        job = self.get_object()
        text = "".join(
            LogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True)
        )
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="job-{job.pk}.log"'
        return response


class DeploymentSerializer(serializers.ModelSerializer):
    recipe = serializers.CharField(source="recipe_version.recipe.name", read_only=True)
    recipe_version_number = serializers.IntegerField(source="recipe_version.number", read_only=True)
    node_name = serializers.CharField(source="node.name", read_only=True)
    node_reachable = serializers.BooleanField(
        source="node.reachable",
        read_only=True,
        help_text="False while the node does not answer: the status is its last known one.",
    )
    endpoint_live = serializers.BooleanField(
        read_only=True,
        help_text="True only while the container runs; endpoint_url of a stopped, failed or "
        "removed deployment is kept for the record but does not answer.",
    )
    last_job = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = [
            "id",
            "recipe",
            "recipe_version",
            "recipe_version_number",
            "node",
            "node_name",
            "node_reachable",
            "booking",
            "team",
            "cards",
            "status",
            "container_name",
            "container_id",
            "network",
            "host_port",
            "endpoint_url",
            "endpoint_live",
            "docker_run",
            "launch",
            "latencies",
            "exit_code",
            "last_log_lines",
            "error",
            "created_at",
            "ready_at",
            "log_job",
            "last_job",
        ]
        read_only_fields = fields

    def get_last_job(self, deployment: Deployment) -> int | None:
        jobs = getattr(deployment, "prefetched_jobs", None)
        return jobs[0].pk if jobs else None


class DeploySerializer(serializers.Serializer):
    recipe_version = serializers.PrimaryKeyRelatedField(queryset=RecipeVersion.objects.all())
    booking = serializers.PrimaryKeyRelatedField(queryset=Booking.objects.all())
    cards = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        help_text="Physical cards; default: the booking's first ones.",
    )


class DeploymentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Deployments of recipes on booked cards; create, stop, restart, remove."""

    serializer_class = DeploymentSerializer
    filterset_fields = ["status", "node", "booking", "team"]

    def get_queryset(self):
        from django.db.models import Prefetch

        latest = Prefetch("jobs", Job.objects.order_by("-created_at"), to_attr="prefetched_jobs")
        return (
            Deployment.objects.visible_to(self.request.user)
            .select_related("recipe_version__recipe", "node")
            .prefetch_related(latest)
        )

    @extend_schema(request=DeploySerializer, responses={201: DeploymentSerializer})
    def create(self, request, *args, **kwargs):
        body = DeploySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        booking = Booking.objects.visible_to(request.user).filter(pk=data["booking"].pk).first()
        if booking is None:
            raise Invalid(
                f"booking {data['booking'].pk} is not one of your team's", field="booking"
            )
        deployment = deployment_services.deploy(
            actor=request.user,
            recipe_version=data["recipe_version"],
            booking=booking,
            cards=data.get("cards"),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=deployment.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def _operate(self, request, operation) -> Response:
        job = operation(self.get_object(), actor=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """Queue a stop of the container."""
        return self._operate(request, deployment_services.stop)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        """Queue a restart and readiness wait."""
        return self._operate(request, deployment_services.restart)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def remove(self, request, pk=None):
        """Queue removal of the container."""
        return self._operate(request, deployment_services.remove)
