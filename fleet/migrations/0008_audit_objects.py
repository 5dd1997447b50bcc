# Every audit entry names its object (type, id, readable label), so the log can be filtered by it.

from django.db import migrations, models

# Entries written before these fields existed: their object is the most specific link they have.
LINKS = (("booking", "booking_id"), ("card", "card_id"), ("node", "node_id"), ("team", "team_id"))


def name_objects(apps, schema_editor):
    AuditEntry = apps.get_model("fleet", "AuditEntry")
    for entry in AuditEntry.objects.filter(object_type="").select_related(
        "booking", "card", "node", "team"
    ):
        if entry.action == "policy":
            entry.object_type, entry.object_label = "policy", "container policy"
        else:
            for kind, attr in LINKS:
                pk = getattr(entry, attr)
                if pk is not None:
                    entry.object_type, entry.object_id = kind, str(pk)
                    entry.object_label = _label(entry, kind)
                    break
            else:
                continue
        entry.save(update_fields=["object_type", "object_id", "object_label"])


def _label(entry, kind: str) -> str:
    if kind == "booking":
        return f"booking {entry.booking_id}"
    if kind == "card":
        return f"{entry.node.name if entry.node else 'node'} davinci{entry.card.device}"
    if kind == "node":
        return entry.node.name
    return entry.team.name


def nothing(apps, schema_editor):
    """The fields go away with the reverse of AddField."""


class Migration(migrations.Migration):

    dependencies = [
        ('fleet', '0007_health_notifications'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='object_id',
            field=models.CharField(blank=True, help_text="The object's id (a token's public id).", max_length=64),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='object_label',
            field=models.CharField(blank=True, help_text='A readable name, kept after the object is gone.', max_length=200),
        ),
        migrations.AddField(
            model_name='auditentry',
            name='object_type',
            field=models.CharField(blank=True, choices=[('booking', 'Booking'), ('team', 'Team'), ('node', 'Node'), ('card', 'Card'), ('policy', 'Container policy'), ('recipe', 'Recipe'), ('catalog', 'Catalog row'), ('deployment', 'Deployment'), ('job', 'Job'), ('image', 'Image'), ('token', 'API token')], db_index=True, max_length=20),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('create', 'Booked'), ('change', 'Changed'), ('extend', 'Extended'), ('cancel', 'Cancelled'), ('override', 'Quota overridden'), ('cordon', 'Cordoned'), ('uncordon', 'Uncordoned'), ('release', 'Released automatically'), ('stop', 'Containers stopped'), ('team', 'Team settings changed'), ('policy', 'Container policy changed'), ('add', 'Created'), ('edit', 'Edited'), ('delete', 'Deleted'), ('archive', 'Archived'), ('key_accept', 'Host key accepted'), ('key_refuse', 'Host key refused'), ('deploy', 'Deployed'), ('restart', 'Restarted'), ('remove', 'Removed'), ('retry', 'Retried'), ('build', 'Image build started'), ('token_new', 'API token created'), ('token_del', 'API token revoked')], max_length=20),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['object_type', 'object_id'], name='audit_object_idx'),
        ),
        migrations.RunPython(name_objects, nothing),
    ]
