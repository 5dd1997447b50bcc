"""The catalog tables and recipes moved to the `catalog` app (catalog 0001 takes them over).

State only: the jobs foreign keys (job and deployment recipe versions, policy exceptions) point
at catalog.RecipeVersion / catalog.Recipe, then the moved models leave jobs' state. The tables
(jobs_recipe, jobs_vllmversion, …) stay where they are, with their rows.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("jobs", "0005_booking_models_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="baseimage",
                    name="edited_by",
                ),
                migrations.RemoveField(
                    model_name="cardrequirement",
                    name="edited_by",
                ),
                migrations.RemoveField(
                    model_name="cardrequirement",
                    name="version",
                ),
                migrations.RemoveField(
                    model_name="llamafactorysetting",
                    name="edited_by",
                ),
                migrations.RemoveField(
                    model_name="modelalias",
                    name="edited_by",
                ),
                migrations.RemoveField(
                    model_name="modelsupport",
                    name="edited_by",
                ),
                migrations.RemoveField(
                    model_name="modelsupport",
                    name="version",
                ),
                migrations.RemoveField(
                    model_name="recipe",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="recipe",
                    name="current_version",
                ),
                migrations.RemoveField(
                    model_name="recipe",
                    name="team",
                ),
                migrations.RemoveField(
                    model_name="recipeversion",
                    name="recipe",
                ),
                migrations.AlterField(
                    model_name="policyexception",
                    name="recipe",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="policy_exceptions",
                        to="catalog.recipe",
                    ),
                ),
                migrations.RemoveField(
                    model_name="recipeversion",
                    name="created_by",
                ),
                migrations.AlterField(
                    model_name="deployment",
                    name="recipe_version",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deployments",
                        to="catalog.recipeversion",
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="recipe_version",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="jobs",
                        to="catalog.recipeversion",
                    ),
                ),
                migrations.RemoveField(
                    model_name="softwarestack",
                    name="edited_by",
                ),
                migrations.RemoveField(
                    model_name="vllmversion",
                    name="card_table_fallback",
                ),
                migrations.RemoveField(
                    model_name="vllmversion",
                    name="edited_by",
                ),
                migrations.RemoveField(
                    model_name="vllmversion",
                    name="quant_table_fallback",
                ),
                migrations.DeleteModel(
                    name="AscendSpeedSetting",
                ),
                migrations.DeleteModel(
                    name="BaseImage",
                ),
                migrations.DeleteModel(
                    name="CardRequirement",
                ),
                migrations.DeleteModel(
                    name="LlamaFactorySetting",
                ),
                migrations.DeleteModel(
                    name="ModelAlias",
                ),
                migrations.DeleteModel(
                    name="ModelSupport",
                ),
                migrations.DeleteModel(
                    name="Recipe",
                ),
                migrations.DeleteModel(
                    name="RecipeVersion",
                ),
                migrations.DeleteModel(
                    name="SoftwareStack",
                ),
                migrations.DeleteModel(
                    name="VllmVersion",
                ),
            ],
            database_operations=[],
        ),
    ]
