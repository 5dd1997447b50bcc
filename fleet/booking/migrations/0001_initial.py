"""Teams, memberships, bookings, booked cards, notifications and the audit log, taken over
from `fleet` (fleet 0009 drops them from its state).

State only: the tables keep their fleet_* names, their rows, indexes and constraints (including
the booked_card_no_overlap exclusion constraint of fleet 0003).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("fleet", "0008_audit_objects"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Team",
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
                        ("name", models.CharField(max_length=80, unique=True)),
                        ("slug", models.SlugField(max_length=80, unique=True)),
                        (
                            "webhook_url",
                            models.URLField(blank=True, help_text="Notified before bookings end."),
                        ),
                        (
                            "max_cards",
                            models.PositiveIntegerField(
                                default=8, help_text="Most cards booked at once."
                            ),
                        ),
                        ("max_card_hours_per_week", models.PositiveIntegerField(default=1344)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "fleet_team",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="Booking",
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
                        ("start", models.DateTimeField()),
                        ("end", models.DateTimeField()),
                        ("purpose", models.CharField(max_length=200)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("upcoming", "Upcoming"),
                                    ("active", "Active"),
                                    ("ended", "Ended"),
                                    ("cancelled", "Cancelled"),
                                ],
                                default="upcoming",
                                max_length=10,
                            ),
                        ),
                        (
                            "ended_at",
                            models.DateTimeField(
                                blank=True, help_text="When it really ended.", null=True
                            ),
                        ),
                        (
                            "end_reason",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("completed", "Reached its end"),
                                    ("cancelled", "Cancelled"),
                                    ("no_show", "Released: no deployment"),
                                ],
                                max_length=10,
                            ),
                        ),
                        ("allocation_note", models.CharField(blank=True, max_length=300)),
                        ("override_reason", models.CharField(blank=True, max_length=300)),
                        ("deployment_seen_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "warnings_sent",
                            models.JSONField(
                                blank=True, default=list, help_text="Minutes already warned."
                            ),
                        ),
                        ("containers_stopped_at", models.DateTimeField(blank=True, null=True)),
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
                            "node",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="bookings",
                                to="fleet.node",
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="bookings",
                                to="booking.team",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "fleet_booking",
                        "ordering": ["start", "pk"],
                    },
                ),
                migrations.CreateModel(
                    name="Notification",
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
                            "kind",
                            models.CharField(
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
                        ("text", models.CharField(max_length=500)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("read", models.BooleanField(default=False)),
                        ("webhook_status", models.CharField(blank=True, max_length=200)),
                        (
                            "booking",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="booking.booking",
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="booking.team",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "fleet_notification",
                        "ordering": ["-created_at", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="AuditEntry",
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
                        ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("create", "Booked"),
                                    ("change", "Changed"),
                                    ("extend", "Extended"),
                                    ("cancel", "Cancelled"),
                                    ("override", "Quota overridden"),
                                    ("cordon", "Cordoned"),
                                    ("uncordon", "Uncordoned"),
                                    ("release", "Released automatically"),
                                    ("stop", "Containers stopped"),
                                    ("team", "Team settings changed"),
                                    ("policy", "Container policy changed"),
                                    ("add", "Created"),
                                    ("edit", "Edited"),
                                    ("delete", "Deleted"),
                                    ("archive", "Archived"),
                                    ("key_accept", "Host key accepted"),
                                    ("key_refuse", "Host key refused"),
                                    ("deploy", "Deployed"),
                                    ("restart", "Restarted"),
                                    ("remove", "Removed"),
                                    ("retry", "Retried"),
                                    ("build", "Image build started"),
                                    ("token_new", "API token created"),
                                    ("token_del", "API token revoked"),
                                ],
                                max_length=20,
                            ),
                        ),
                        (
                            "object_type",
                            models.CharField(
                                blank=True,
                                choices=[
                                    ("booking", "Booking"),
                                    ("team", "Team"),
                                    ("node", "Node"),
                                    ("card", "Card"),
                                    ("policy", "Container policy"),
                                    ("recipe", "Recipe"),
                                    ("catalog", "Catalog row"),
                                    ("deployment", "Deployment"),
                                    ("job", "Job"),
                                    ("image", "Image"),
                                    ("token", "API token"),
                                ],
                                db_index=True,
                                max_length=20,
                            ),
                        ),
                        (
                            "object_id",
                            models.CharField(
                                blank=True,
                                help_text="The object's id (a token's public id).",
                                max_length=64,
                            ),
                        ),
                        (
                            "object_label",
                            models.CharField(
                                blank=True,
                                help_text="A readable name, kept after the object is gone.",
                                max_length=200,
                            ),
                        ),
                        ("summary", models.CharField(max_length=500)),
                        ("reason", models.TextField(blank=True)),
                        (
                            "changes",
                            models.JSONField(
                                blank=True, default=dict, help_text="field: [before, after]"
                            ),
                        ),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                help_text="Empty for automatic actions.",
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "card",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="fleet.card",
                            ),
                        ),
                        (
                            "node",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="fleet.node",
                            ),
                        ),
                        (
                            "booking",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_entries",
                                to="booking.booking",
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to="booking.team",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "audit entries",
                        "db_table": "fleet_auditentry",
                        "ordering": ["-at", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="BookedCard",
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
                        ("start", models.DateTimeField()),
                        ("end", models.DateTimeField()),
                        (
                            "released",
                            models.BooleanField(
                                default=False, help_text="Cancelled or released early."
                            ),
                        ),
                        (
                            "card",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="booked_cards",
                                to="fleet.card",
                            ),
                        ),
                        (
                            "booking",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="booked_cards",
                                to="booking.booking",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "fleet_bookedcard",
                        "ordering": ["booking", "card__device"],
                        "indexes": [
                            models.Index(fields=["card", "start", "end"], name="booked_card_window")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("booking", "card"), name="one_row_per_booked_card"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("end__gt", models.F("start"))),
                                name="booked_card_end_after_start",
                            ),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Membership",
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
                            "role",
                            models.CharField(
                                choices=[("admin", "Team admin"), ("member", "Member")],
                                default="member",
                                max_length=10,
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "team",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to="booking.team",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "fleet_membership",
                        "constraints": [
                            models.UniqueConstraint(fields=("team", "user"), name="one_membership")
                        ],
                    },
                ),
                migrations.AddIndex(
                    model_name="booking",
                    index=models.Index(fields=["status", "end"], name="booking_status_end"),
                ),
                migrations.AddIndex(
                    model_name="booking",
                    index=models.Index(fields=["team", "start"], name="booking_team_start"),
                ),
                migrations.AddConstraint(
                    model_name="booking",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("end__gt", models.F("start"))),
                        name="booking_end_after_start",
                    ),
                ),
                migrations.AddIndex(
                    model_name="auditentry",
                    index=models.Index(
                        fields=["object_type", "object_id"], name="audit_object_idx"
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
