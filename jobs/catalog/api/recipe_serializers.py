"""Recipe serializers: the shape of recipe values; services judge them against the catalog."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from fleet.booking.models import Team
from jobs.catalog.choices import Dtype, Entrypoint, Framework, KvCacheDtype, RecipeKind, Strategy
from jobs.catalog.models import CONTENT_FIELDS, Recipe, RecipeVersion
from jobs.catalog.services.recipe_checks import LIMITS


def _number(name: str, **kw: Any) -> serializers.IntegerField:
    low, high = LIMITS[name]
    return serializers.IntegerField(min_value=low, max_value=high, required=False, **kw)


class MountSerializer(serializers.Serializer):
    host_path = serializers.CharField(max_length=255, trim_whitespace=False)
    container_path = serializers.CharField(max_length=255, trim_whitespace=False)
    # DRF's metaclass takes declared fields off the class, so this does not shadow Field.read_only.
    read_only = serializers.BooleanField(default=False)  # type: ignore[assignment]


def _text(max_length: int, **kw: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, trim_whitespace=False, **kw
    )


class RecipeValuesSerializer(serializers.Serializer):
    """Recipe content: every field optional (defaults come from the manuals)."""

    model = serializers.CharField(max_length=100, required=False)
    weights_path = _text(255, help_text="Where the weights are on the node (mounted read-only).")
    image = serializers.CharField(max_length=400, required=False)
    vllm_version = serializers.CharField(max_length=20, required=False)
    entrypoint = serializers.ChoiceField(choices=Entrypoint.choices, required=False)
    tensor_parallel_size = _number("tensor_parallel_size", allow_null=True)
    max_model_len = _number("max_model_len")
    max_num_seqs = _number("max_num_seqs")
    max_num_batched_tokens = _number("max_num_batched_tokens", allow_null=True)
    gpu_memory_utilization = serializers.FloatField(min_value=0.01, max_value=1, required=False)
    dtype = serializers.ChoiceField(choices=Dtype.choices, required=False)
    block_size = _number("block_size")
    quantization = _text(20, help_text="W4A16 (awq), W8A8 (smoothquant), W8A16 (gptq) or blank.")
    kv_cache_dtype = serializers.ChoiceField(
        choices=KvCacheDtype.choices, required=False, allow_blank=True
    )
    quantization_param_path = _text(255)
    served_model_name = _text(200)
    port = _number("port")
    trust_remote_code = serializers.BooleanField(required=False)
    env = serializers.DictField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False
    )
    extra_args = serializers.ListField(
        child=serializers.CharField(trim_whitespace=False),
        required=False,
        help_text="One option per item: --flag or --flag=value.",
    )
    mounts = MountSerializer(many=True, required=False)
    framework = serializers.ChoiceField(choices=Framework.choices, required=False)
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False)
    seq_len = _number("seq_len", allow_null=True)
    nodes = _number("nodes")
    cards_per_node = _number("cards_per_node", allow_null=True)
    pipeline_parallel_size = _number("pipeline_parallel_size", allow_null=True)
    micro_batch_size = _number("micro_batch_size", allow_null=True)
    gradient_accumulation_steps = _number("gradient_accumulation_steps", allow_null=True)
    deepspeed = _text(20)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        if "mounts" in values:
            values["mounts"] = [dict(m) for m in values["mounts"]]
        return values


class RecipeCreateSerializer(RecipeValuesSerializer):
    name = serializers.CharField(max_length=100)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    kind = serializers.ChoiceField(choices=RecipeKind.choices, default=RecipeKind.INFERENCE)
    change_note = _text(300)


class RecipeUpdateSerializer(RecipeValuesSerializer):
    name = serializers.CharField(max_length=100, required=False)
    change_note = _text(300)


class DraftSerializer(RecipeValuesSerializer):
    """An unsaved recipe to check (the editor's live validation)."""

    kind = serializers.ChoiceField(choices=RecipeKind.choices, default=RecipeKind.INFERENCE)
    node = serializers.CharField(required=False, allow_blank=True, help_text="Node id or name.")
    cards = serializers.CharField(required=False, allow_blank=True, help_text="e.g. 0,1")


class RecipeVersionSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = RecipeVersion
        fields = (
            "id",
            "recipe",
            "number",
            "created_by",
            "created_at",
            "change_note",
            *CONTENT_FIELDS,
        )
        read_only_fields = fields


class RecipeSerializer(serializers.ModelSerializer):
    team_name = serializers.CharField(source="team.name", read_only=True)
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    current_version = RecipeVersionSerializer(read_only=True)
    version_count = serializers.IntegerField(read_only=True)
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = Recipe
        fields = (
            "id",
            "name",
            "kind",
            "team",
            "team_name",
            "created_by",
            "created_at",
            "updated_at",
            "archived",
            "version_count",
            "can_edit",
            "current_version",
        )
        read_only_fields = fields

    def get_can_edit(self, recipe: Recipe) -> bool:
        """Whether the caller may edit (site admin or member of the owning team)."""
        user = self.context["request"].user
        return user.is_superuser or recipe.team_id in self.context.get("my_teams", ())


class MessageSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["error", "warning"])
    field = serializers.CharField()
    message = serializers.CharField()
    fix = serializers.CharField()


class ReviewSerializer(serializers.Serializer):
    errors = MessageSerializer(many=True)  # type: ignore[assignment]  # a declared field
    warnings = MessageSerializer(many=True)
    node = serializers.CharField(help_text="The node checked against (or the generic one).")
    cards = serializers.ListField(child=serializers.IntegerField())


class CommandSerializer(serializers.Serializer):
    argv = serializers.ListField(child=serializers.CharField())
    shell = serializers.CharField(help_text="The argv quoted for a POSIX shell.")


class RenderSerializer(ReviewSerializer):
    recipe = serializers.IntegerField()
    version = serializers.IntegerField()
    container_name = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())
    docker_run = CommandSerializer()
    launch = CommandSerializer(allow_null=True)
