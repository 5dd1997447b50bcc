"""The booking models moved to the `booking` app: point the jobs foreign keys at them.

State only: the tables keep their names (fleet_team, fleet_booking), so nothing changes in the
database.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0001_initial"),
        ("jobs", "0004_container_policy"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="deployment",
                    name="booking",
                    field=models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="deployments",
                        to="booking.booking",
                    ),
                ),
                migrations.AlterField(
                    model_name="deployment",
                    name="team",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deployments",
                        to="booking.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="booking",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="jobs",
                        to="booking.booking",
                    ),
                ),
                migrations.AlterField(
                    model_name="job",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="jobs",
                        to="booking.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="recipe",
                    name="team",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="recipes",
                        to="booking.team",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
