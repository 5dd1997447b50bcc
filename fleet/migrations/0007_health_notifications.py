from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0006_container_policy"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("warning", "Ending soon"),
                    ("released", "Released"),
                    ("ended", "Ended"),
                    ("cancelled", "Cancelled"),
                    ("cordon", "Cordon"),
                    ("card_fault", "Card unhealthy"),
                    ("node_down", "Node unreachable"),
                    ("recovered", "Recovered"),
                ],
                max_length=10,
            ),
        ),
    ]
