"""The catalog tables and recipes, taken over from `jobs` (jobs 0006 drops them from its state).

State only: the tables keep their jobs_* names, their rows (the seeded catalog included),
indexes and constraints.
"""

import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("booking", "0001_initial"),
        # The tables exist (jobs 0001) before this app takes them over.
        ("jobs", "0005_booking_models_moved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BaseImage",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        ("image", models.CharField(max_length=400)),
                        ("repository", models.CharField(max_length=300)),
                        ("tag", models.CharField(max_length=200)),
                        ("purpose", models.CharField(blank=True, max_length=200)),
                        ("versions", models.JSONField(blank=True, default=dict)),
                        ("versions_printed", models.CharField(blank=True, max_length=200)),
                        ("context", models.CharField(blank=True, max_length=300)),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_baseimage",
                        "ordering": ["pk"],
                    },
                ),
                migrations.CreateModel(
                    name="LlamaFactorySetting",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        ("row", models.PositiveIntegerField(unique=True)),
                        ("model", models.CharField(max_length=60)),
                        ("template", models.CharField(max_length=60)),
                        ("size", models.CharField(max_length=20)),
                        ("model_keys", models.JSONField(default=list)),
                        ("strategies", models.JSONField(default=list)),
                        ("cutoff_len", models.JSONField(default=list)),
                        ("gradient_accumulation_steps", models.PositiveIntegerField()),
                        ("deepspeed", models.CharField(max_length=20)),
                        ("zero_stage", models.PositiveSmallIntegerField()),
                        ("offload", models.BooleanField(default=False)),
                        ("nodes", models.PositiveSmallIntegerField()),
                        ("cards_per_node", models.PositiveSmallIntegerField()),
                        ("merged_cells", models.JSONField(blank=True, default=list)),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_llamafactorysetting",
                        "ordering": ["row"],
                    },
                ),
                migrations.CreateModel(
                    name="Recipe",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("inference", "Inference (vLLM)"),
                                    ("training", "Training"),
                                ],
                                default="inference",
                                max_length=20,
                            ),
                        ),
                        ("archived", models.BooleanField(default=False)),
                        ("archived_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="recipes",
                                to="booking.team",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_recipe",
                        "ordering": ["name", "pk"],
                    },
                ),
                migrations.CreateModel(
                    name="RecipeVersion",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("number", models.PositiveIntegerField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("change_note", models.CharField(blank=True, max_length=300)),
                        (
                            "model",
                            models.CharField(
                                help_text="Model name as the catalog lists it.", max_length=100
                            ),
                        ),
                        (
                            "weights_path",
                            models.CharField(
                                blank=True, help_text="Weights on the node.", max_length=255
                            ),
                        ),
                        ("image", models.CharField(max_length=400)),
                        ("vllm_version", models.CharField(blank=True, max_length=20)),
                        (
                            "entrypoint",
                            models.CharField(
                                choices=[
                                    (
                                        "vllm.entrypoints.openai.api_server",
                                        "vLLM OpenAI-compatible API server",
                                    )
                                ],
                                default="vllm.entrypoints.openai.api_server",
                                max_length=80,
                            ),
                        ),
                        (
                            "tensor_parallel_size",
                            models.PositiveSmallIntegerField(blank=True, null=True),
                        ),
                        ("max_model_len", models.PositiveIntegerField(default=4096)),
                        ("max_num_seqs", models.PositiveIntegerField(default=256)),
                        (
                            "max_num_batched_tokens",
                            models.PositiveIntegerField(
                                blank=True, help_text="Blank: the same as max-model-len.", null=True
                            ),
                        ),
                        ("gpu_memory_utilization", models.FloatField(default=0.9)),
                        (
                            "dtype",
                            models.CharField(
                                choices=[
                                    ("float16", "float16 (FP16)"),
                                    ("bfloat16", "bfloat16 (BF16)"),
                                ],
                                default="float16",
                                max_length=10,
                            ),
                        ),
                        ("block_size", models.PositiveIntegerField(default=128)),
                        ("quantization", models.CharField(blank=True, max_length=20)),
                        ("kv_cache_dtype", models.CharField(blank=True, max_length=10)),
                        ("quantization_param_path", models.CharField(blank=True, max_length=255)),
                        ("served_model_name", models.CharField(blank=True, max_length=200)),
                        ("port", models.PositiveIntegerField(default=8080)),
                        ("trust_remote_code", models.BooleanField(default=True)),
                        ("env", models.JSONField(blank=True, default=dict)),
                        ("extra_args", models.JSONField(blank=True, default=list)),
                        ("mounts", models.JSONField(blank=True, default=list)),
                        ("framework", models.CharField(blank=True, max_length=20)),
                        ("strategy", models.CharField(blank=True, max_length=20)),
                        ("seq_len", models.PositiveIntegerField(blank=True, null=True)),
                        ("nodes", models.PositiveSmallIntegerField(default=1)),
                        ("cards_per_node", models.PositiveSmallIntegerField(blank=True, null=True)),
                        (
                            "pipeline_parallel_size",
                            models.PositiveSmallIntegerField(blank=True, null=True),
                        ),
                        (
                            "micro_batch_size",
                            models.PositiveSmallIntegerField(blank=True, null=True),
                        ),
                        (
                            "gradient_accumulation_steps",
                            models.PositiveIntegerField(blank=True, null=True),
                        ),
                        ("deepspeed", models.CharField(blank=True, max_length=20)),
                        (
                            "created_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "recipe",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="versions",
                                to="catalog.recipe",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_recipeversion",
                        "ordering": ["recipe", "number"],
                    },
                ),
                migrations.AddField(
                    model_name="recipe",
                    name="current_version",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="catalog.recipeversion",
                    ),
                ),
                migrations.CreateModel(
                    name="SoftwareStack",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        ("doc", models.CharField(max_length=300)),
                        ("ascendcloud", models.CharField(max_length=40)),
                        ("packages", models.JSONField(blank=True, default=list)),
                        ("vllm", models.CharField(blank=True, max_length=20)),
                        ("cann", models.CharField(blank=True, max_length=40)),
                        ("driver", models.CharField(blank=True, max_length=40)),
                        ("dtypes", models.JSONField(blank=True, default=list)),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_softwarestack",
                        "ordering": ["pk"],
                    },
                ),
                migrations.CreateModel(
                    name="VllmVersion",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "version",
                            models.CharField(
                                max_length=20,
                                unique=True,
                                validators=[
                                    django.core.validators.RegexValidator(
                                        "^[0-9]+\\.[0-9]+(\\.[0-9]+)?$",
                                        "Use a version number like 0.6.3.",
                                    )
                                ],
                            ),
                        ),
                        (
                            "position",
                            models.PositiveIntegerField(
                                default=0, help_text="Order of the card tables."
                            ),
                        ),
                        ("fallback_note", models.TextField(blank=True)),
                        (
                            "card_table_fallback",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="catalog.vllmversion",
                            ),
                        ),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "quant_table_fallback",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="catalog.vllmversion",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_vllmversion",
                        "ordering": ["position", "version"],
                    },
                ),
                migrations.CreateModel(
                    name="ModelSupport",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        ("row", models.PositiveIntegerField()),
                        ("model", models.CharField(max_length=100)),
                        ("fp16_bf16", models.BooleanField(default=True)),
                        ("w4a16", models.BooleanField(default=False)),
                        ("w8a8", models.BooleanField(default=False)),
                        ("w8a16", models.BooleanField(default=False)),
                        ("kv_cache_int8", models.BooleanField(default=False)),
                        ("weights_text", models.TextField(blank=True)),
                        ("weight_urls", models.JSONField(blank=True, default=list)),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "version",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="support_rows",
                                to="catalog.vllmversion",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_modelsupport",
                        "ordering": ["version__position", "row"],
                    },
                ),
                migrations.CreateModel(
                    name="CardRequirement",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        ("row", models.PositiveIntegerField(help_text="序号 in the table.")),
                        (
                            "model",
                            models.CharField(help_text="As the table spells it.", max_length=100),
                        ),
                        ("min_cards_32", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("max_model_len_k_32", models.PositiveIntegerField(blank=True, null=True)),
                        ("min_cards_64", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("max_model_len_k_64", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "version",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="card_rows",
                                to="catalog.vllmversion",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_cardrequirement",
                        "ordering": ["version__position", "row"],
                    },
                ),
                migrations.CreateModel(
                    name="AscendSpeedSetting",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        ("row", models.PositiveIntegerField()),
                        ("sub_row", models.PositiveIntegerField(default=1)),
                        ("family", models.CharField(max_length=60)),
                        ("model", models.CharField(max_length=100)),
                        (
                            "strategy",
                            models.CharField(
                                help_text="pretrain, sft, lora or pretrain/sft.", max_length=40
                            ),
                        ),
                        ("seq_len", models.PositiveIntegerField()),
                        ("tp", models.PositiveSmallIntegerField()),
                        ("pp", models.PositiveSmallIntegerField()),
                        ("mbs", models.PositiveSmallIntegerField()),
                        ("nodes", models.PositiveSmallIntegerField()),
                        ("cards_per_node", models.PositiveSmallIntegerField()),
                        (
                            "inconsistent",
                            models.TextField(
                                blank=True, help_text="Why the seed row cannot be applied."
                            ),
                        ),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_ascendspeedsetting",
                        "ordering": ["row", "sub_row"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("row", "sub_row"), name="ascendspeed_row_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ModelAlias",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "seed",
                            models.CharField(
                                blank=True, help_text="Seed file; blank if added.", max_length=60
                            ),
                        ),
                        ("seed_line", models.PositiveIntegerField(blank=True, null=True)),
                        (
                            "seed_table",
                            models.CharField(
                                blank=True, help_text="Table title as printed.", max_length=200
                            ),
                        ),
                        (
                            "printed",
                            models.TextField(
                                blank=True, help_text="The row as the seed prints it."
                            ),
                        ),
                        (
                            "provenance",
                            models.CharField(
                                help_text="Seed citation or who added it.", max_length=300
                            ),
                        ),
                        ("note", models.TextField(blank=True)),
                        ("edited_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "family",
                            models.CharField(
                                help_text="Canonical key, lower case.", max_length=100
                            ),
                        ),
                        ("spelling", models.CharField(max_length=100)),
                        ("quantization", models.CharField(blank=True, max_length=10)),
                        ("seen_in", models.JSONField(blank=True, default=list)),
                        (
                            "edited_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "model aliases",
                        "db_table": "jobs_modelalias",
                        "ordering": ["family", "spelling"],
                        "constraints": [
                            models.UniqueConstraint(
                                django.db.models.functions.text.Lower("spelling"),
                                name="alias_spelling_unique",
                            )
                        ],
                    },
                ),
                migrations.AddConstraint(
                    model_name="recipeversion",
                    constraint=models.UniqueConstraint(
                        fields=("recipe", "number"), name="recipe_version_number"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="recipe",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("archived", False)),
                        fields=("team", "name"),
                        name="recipe_name_per_team",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="modelsupport",
                    constraint=models.UniqueConstraint(
                        fields=("version", "row"), name="support_row_unique"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="cardrequirement",
                    constraint=models.UniqueConstraint(
                        fields=("version", "row"), name="card_row_unique"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="cardrequirement",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("max_model_len_k_32__isnull", True), ("min_cards_32__isnull", True)
                            ),
                            models.Q(("max_model_len_k_32__gte", 1), ("min_cards_32__gte", 1)),
                            _connector="OR",
                        ),
                        name="card_cell_32_both_or_neither",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="cardrequirement",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("max_model_len_k_64__isnull", True), ("min_cards_64__isnull", True)
                            ),
                            models.Q(("max_model_len_k_64__gte", 1), ("min_cards_64__gte", 1)),
                            _connector="OR",
                        ),
                        name="card_cell_64_both_or_neither",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
