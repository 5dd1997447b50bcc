"""Recipes: a stable identity (name, team, creator) and immutable numbered versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from jobs.catalog import choices
from jobs.catalog.choices import Dtype, Entrypoint, RecipeKind


class RecipeQuerySet(models.QuerySet):
    def visible_to(self, user) -> RecipeQuerySet:
        """Everyone signed in reads every recipe; anonymous users read none."""
        if not user.is_authenticated:
            return self.none()
        return self

    def active(self) -> RecipeQuerySet:
        """Recipes not archived."""
        return self.filter(archived=False)


class Recipe(models.Model):
    """A named recipe owned by a team; its content lives in numbered versions."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=RecipeKind.choices, default=RecipeKind.INFERENCE)
    team = models.ForeignKey("booking.Team", on_delete=models.PROTECT, related_name="recipes")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_version = models.ForeignKey(
        "RecipeVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RecipeQuerySet.as_manager()

    class Meta:
        db_table = "jobs_recipe"
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], condition=Q(archived=False), name="recipe_name_per_team"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RecipeVersionQuerySet(models.QuerySet):
    def visible_to(self, user) -> RecipeVersionQuerySet:
        """Versions of the recipes the user may read."""
        return self.filter(recipe__in=Recipe.objects.visible_to(user))

    def referenced(self) -> RecipeVersionQuerySet:
        """Versions something else points at (jobs, deployments): they must never change."""
        condition = Q()
        for rel in self.model._meta.related_objects:
            if rel.related_model is not Recipe:
                condition |= Q(**{f"{rel.name}__isnull": False})
        return self.filter(condition).distinct() if condition else self.none()


class RecipeVersion(models.Model):
    """One immutable state of a recipe; whatever ran refers to the exact version it ran."""

    recipe = models.ForeignKey(Recipe, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    change_note = models.CharField(max_length=300, blank=True)

    model = models.CharField(max_length=100, help_text="Model name as the catalog lists it.")
    weights_path = models.CharField(max_length=255, blank=True, help_text="Weights on the node.")
    image = models.CharField(max_length=400)
    vllm_version = models.CharField(max_length=20, blank=True)
    entrypoint = models.CharField(
        max_length=80, choices=Entrypoint.choices, default=Entrypoint.OPENAI_API_SERVER
    )
    tensor_parallel_size = models.PositiveSmallIntegerField(null=True, blank=True)
    max_model_len = models.PositiveIntegerField(default=choices.DEFAULT_MAX_MODEL_LEN)
    max_num_seqs = models.PositiveIntegerField(default=choices.DEFAULT_MAX_NUM_SEQS)
    max_num_batched_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="Blank: the same as max-model-len."
    )
    gpu_memory_utilization = models.FloatField(default=choices.DEFAULT_GPU_MEMORY_UTILIZATION)
    dtype = models.CharField(max_length=10, choices=Dtype.choices, default=Dtype.FLOAT16)
    block_size = models.PositiveIntegerField(default=choices.DEFAULT_BLOCK_SIZE)
    quantization = models.CharField(max_length=20, blank=True)
    kv_cache_dtype = models.CharField(max_length=10, blank=True)
    quantization_param_path = models.CharField(max_length=255, blank=True)
    served_model_name = models.CharField(max_length=200, blank=True)
    port = models.PositiveIntegerField(default=choices.DEFAULT_PORT)
    trust_remote_code = models.BooleanField(default=True)
    env = models.JSONField(default=dict, blank=True)
    extra_args = models.JSONField(default=list, blank=True)
    mounts = models.JSONField(default=list, blank=True)

    framework = models.CharField(max_length=20, blank=True)
    strategy = models.CharField(max_length=20, blank=True)
    seq_len = models.PositiveIntegerField(null=True, blank=True)
    nodes = models.PositiveSmallIntegerField(default=1)
    cards_per_node = models.PositiveSmallIntegerField(null=True, blank=True)
    pipeline_parallel_size = models.PositiveSmallIntegerField(null=True, blank=True)
    micro_batch_size = models.PositiveSmallIntegerField(null=True, blank=True)
    gradient_accumulation_steps = models.PositiveIntegerField(null=True, blank=True)
    deepspeed = models.CharField(max_length=20, blank=True)

    objects = RecipeVersionQuerySet.as_manager()

    class Meta:
        db_table = "jobs_recipeversion"
        ordering = ["recipe", "number"]
        constraints = [
            models.UniqueConstraint(fields=["recipe", "number"], name="recipe_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.recipe.name} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        """Insert only: a version that exists never changes (edit the recipe instead)."""
        if not self._state.adding:
            raise ValueError("recipe versions are immutable; edit the recipe to make a new one")
        super().save(*args, **kwargs)

    def content(self) -> dict[str, object]:
        """The recipe fields of this version (what a new version is compared against)."""
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


CONTENT_FIELDS: tuple[str, ...] = tuple(
    f.name
    for f in RecipeVersion._meta.concrete_fields
    if f.name not in ("id", "recipe", "number", "created_by", "created_at", "change_note")
)
TRAINING_ONLY: tuple[str, ...] = (
    "framework",
    "strategy",
    "seq_len",
    "nodes",
    "cards_per_node",
    "pipeline_parallel_size",
    "micro_batch_size",
    "gradient_accumulation_steps",
    "deepspeed",
)
INFERENCE_FIELDS: tuple[str, ...] = tuple(f for f in CONTENT_FIELDS if f not in TRAINING_ONLY)
TRAINING_FIELDS: tuple[str, ...] = (
    "model",
    "weights_path",
    "image",
    "env",
    "mounts",
    "tensor_parallel_size",
    *TRAINING_ONLY,
)
# The fields only an inference recipe has (the vLLM launch); the rest are shared.
INFERENCE_ONLY: tuple[str, ...] = tuple(f for f in CONTENT_FIELDS if f not in TRAINING_FIELDS)
