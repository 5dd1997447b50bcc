"""Image builds, node images (with the deployments using them) and build templates over REST."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from fleet.api.fields import as_id
from fleet.api.schema import reaches_node
from fleet.booking.models import Team
from fleet.errors import Invalid
from fleet.models import Node
from jobs.api.jobs import JobSerializer
from jobs.build_templates import all_templates, template
from jobs.choices import LIVE_DEPLOYMENT_STATUSES, JobKind
from jobs.models import Deployment, Job, NodeImage
from jobs.services import images


class BuildSerializer(serializers.Serializer):
    node = serializers.PrimaryKeyRelatedField(queryset=Node.objects.all())
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), help_text="The team the build belongs to (yours)."
    )
    tag = serializers.CharField(help_text="Image name, e.g. my-team/qwen2-vllm:0.6.0.")
    dockerfile = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, default=""
    )
    build_args = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=dict,
        help_text="--build-arg NAME=value, e.g. {'BASE_IMAGE': '...'}.",
    )
    files = serializers.DictField(
        child=serializers.CharField(trim_whitespace=False),
        required=False,
        default=dict,
        help_text="Files next to the Dockerfile: {name: base64 content}.",
    )
    context_path = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Build from this folder on the node instead of uploaded files.",
    )

    def validate_files(self, value: dict[str, str]) -> dict[str, bytes]:
        decoded = {}
        for name, text in value.items():
            try:
                decoded[name] = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise serializers.ValidationError(f"{name} is not base64 content") from None
        return decoded


class UserSerializer(serializers.ModelSerializer):
    recipe = serializers.CharField(source="recipe_version.recipe.name")
    team_name = serializers.CharField(source="team.name")
    live = serializers.SerializerMethodField()

    class Meta:
        model = Deployment
        fields = ["id", "status", "live", "container_name", "recipe", "team", "team_name"]

    def get_live(self, deployment: Deployment) -> bool:
        return deployment.status in LIVE_DEPLOYMENT_STATUSES


class NodeImageSerializer(serializers.ModelSerializer):
    node_name = serializers.CharField(source="node.name", read_only=True)
    used_by = UserSerializer(
        source="shown_users",
        many=True,
        read_only=True,
        help_text="Deployments of your teams using the image (every team's for site admins).",
    )
    other_teams = serializers.IntegerField(
        read_only=True,
        help_text="How many deployments of other teams use the image (counted, not listed).",
    )
    in_use = serializers.SerializerMethodField()

    class Meta:
        model = NodeImage
        fields = [
            "id",
            "node",
            "node_name",
            "tag",
            "image_id",
            "size_bytes",
            "created",
            "build_job",
            "seen_at",
            "used_by",
            "other_teams",
            "in_use",
        ]
        read_only_fields = fields

    def get_in_use(self, image: NodeImage) -> bool:
        """Whether a live deployment uses it (then it cannot be removed)."""
        return any(d.status in LIVE_DEPLOYMENT_STATUSES for d in image.used_by)


class BuildViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Image builds: POST queues one (202 + job); GET lists the build jobs you may see."""

    serializer_class = JobSerializer
    filterset_fields = ["status", "node", "team"]

    def get_queryset(self):
        return (
            Job.objects.visible_to(self.request.user)
            .filter(kind=JobKind.BUILD)
            .select_related("requested_by", "team")
        )

    @extend_schema(request=BuildSerializer, responses={202: JobSerializer})
    def create(self, request):
        """Queue a build on the node; members of `team` and site admins."""
        try:
            sent = request.data
        except RequestDataTooBig:
            raise Invalid(
                f"the request is over {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes with its "
                "base64 files; put large files in a folder on the node and build from it",
                field="files",
            ) from None
        body = BuildSerializer(data=sent)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job = images.start_build(
            request.user,
            node=data["node"],
            team=data["team"],
            tag=data["tag"],
            dockerfile=data["dockerfile"],
            files=data["files"],
            build_args=data["build_args"],
            context_path=data["context_path"],
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ImageViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Images on nodes with the deployments using them; site admins remove unused ones."""

    serializer_class = NodeImageSerializer
    filterset_fields = ["node", "tag"]

    def get_queryset(self):
        nodes = Node.objects.visible_to(self.request.user)
        return NodeImage.objects.filter(node__in=nodes).select_related("node")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = images.usage_for(request.user, page or [])
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        (image,) = images.usage_for(request.user, [self.get_object()])
        return Response(self.get_serializer(image).data)

    @extend_schema(responses={202: JobSerializer})
    def destroy(self, request, *args, **kwargs):
        """Queue removal from the node (site admins; refused while a live deployment uses it)."""
        job = images.remove_image(request.user, self.get_object())
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("node", int, required=True)],
        responses=NodeImageSerializer(many=True),
    )
    @reaches_node
    @action(detail=False, methods=["post"])
    def refresh(self, request):
        """Read `docker images` on the node now and sync the list (admins and team members)."""
        ref = request.query_params.get("node", "")
        nodes = Node.objects.visible_to(request.user)
        pk = as_id(ref)
        node = nodes.filter(pk=pk).first() if pk is not None else None
        if node is None:
            raise Invalid("give ?node=<id> of a node you can see", field="node")
        rows = images.usage_for(request.user, images.refresh_images(node, actor=request.user))
        return Response(self.get_serializer(rows, many=True).data)


class ProvenanceSerializer(serializers.Serializer):
    seed = serializers.CharField()
    section = serializers.CharField()
    quote = serializers.CharField(help_text="The manuals' command, as printed.")
    notes = serializers.ListField(child=serializers.CharField())


class BuildTemplateSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    dockerfile = serializers.CharField()
    build_args = serializers.DictField(child=serializers.CharField())
    tag = serializers.CharField()
    context_path_hint = serializers.CharField()
    provenance = ProvenanceSerializer(allow_null=True)


class BuildTemplateViewSet(viewsets.ViewSet):
    """Starting points for builds: the manuals' inference image (with provenance) and a demo."""

    lookup_value_regex = "[a-z0-9-]+"

    @extend_schema(responses=BuildTemplateSerializer(many=True))
    def list(self, request):
        return Response(BuildTemplateSerializer(all_templates(), many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="Its key.")],
        responses=BuildTemplateSerializer,
    )
    def retrieve(self, request, pk=None):
        found = template(pk or "")
        if found is None:
            raise NotFound(f"no build template {pk!r}")
        return Response(BuildTemplateSerializer(found.as_dict()).data)
