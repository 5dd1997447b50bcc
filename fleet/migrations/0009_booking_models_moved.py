"""Teams, memberships, bookings, booked cards, notifications and the audit log moved to the
`booking` app (booking 0001 takes them over in the state).

State only: the tables (fleet_team, fleet_booking, …) stay where they are, with their rows.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("fleet", "0008_audit_objects"),
        ("booking", "0001_initial"),
        # The jobs foreign keys point at the booking models before these leave the state.
        ("jobs", "0005_booking_models_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="bookedcard", name="booking"),
                migrations.RemoveField(model_name="bookedcard", name="card"),
                migrations.RemoveField(model_name="booking", name="created_by"),
                migrations.RemoveField(model_name="booking", name="node"),
                migrations.RemoveField(model_name="booking", name="team"),
                migrations.RemoveField(model_name="notification", name="booking"),
                migrations.RemoveField(model_name="membership", name="team"),
                migrations.RemoveField(model_name="membership", name="user"),
                migrations.RemoveField(model_name="notification", name="team"),
                migrations.DeleteModel(name="AuditEntry"),
                migrations.DeleteModel(name="BookedCard"),
                migrations.DeleteModel(name="Booking"),
                migrations.DeleteModel(name="Membership"),
                migrations.DeleteModel(name="Notification"),
                migrations.DeleteModel(name="Team"),
            ],
            database_operations=[],
        ),
    ]
