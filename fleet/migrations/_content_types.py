"""Shared by the migrations that moved models between apps (its name starts with _: no migration).

Relabelling a moved model's content type keeps admin permissions (fleet.change_team becomes
booking.change_team) and the admin log pointing at the same rows. If a row under the new label
already exists (the content types were created before the migration ran), what points at the
stale row moves to it and the stale row goes.
"""

from django.conf import settings
from django.db import migrations


def relabel(apps, schema_editor, old: str, new: str, models: tuple[str, ...]) -> None:
    """Move `models`' content types from app label `old` to `new`, keeping what points at them."""
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    GroupPermission = apps.get_model("auth", "Group").permissions.through
    UserPermission = apps.get_model(settings.AUTH_USER_MODEL).user_permissions.through
    types = ContentType.objects.using(db)
    for model in models:
        stale = types.filter(app_label=old, model=model).first()
        if stale is None:
            continue
        current = types.filter(app_label=new, model=model).first()
        if current is None:
            stale.app_label = new
            stale.save(update_fields=["app_label"])
            continue
        LogEntry.objects.using(db).filter(content_type=stale).update(content_type=current)
        for perm in Permission.objects.using(db).filter(content_type=stale):
            twin = (
                Permission.objects.using(db)
                .filter(content_type=current, codename=perm.codename)
                .first()
            )
            if twin is None:
                perm.content_type = current
                perm.save(update_fields=["content_type"])
                continue
            for link in GroupPermission.objects.using(db).filter(permission=perm):
                GroupPermission.objects.using(db).get_or_create(
                    group_id=link.group_id, permission=twin
                )
            for link in UserPermission.objects.using(db).filter(permission=perm):
                UserPermission.objects.using(db).get_or_create(
                    user_id=link.user_id, permission=twin
                )
            perm.delete()
        stale.delete()
    ContentType.objects.clear_cache()


def relabel_operation(old: str, new: str, models: tuple[str, ...]) -> migrations.RunPython:
    """A reversible RunPython that relabels `models` from `old` to `new`."""

    def forward(apps, schema_editor) -> None:
        relabel(apps, schema_editor, old, new, models)

    def backward(apps, schema_editor) -> None:
        relabel(apps, schema_editor, new, old, models)

    return migrations.RunPython(forward, backward)
