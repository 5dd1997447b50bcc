"""Relabel the content types of the moved models (jobs -> catalog).

Admin permissions (jobs.change_recipe becomes catalog.change_recipe) and the admin log keep
pointing at the same rows. If a catalog row already exists (the content types were created before
this ran), what points at the stale jobs row moves to it and the stale row goes.
"""

from django.conf import settings
from django.db import migrations

OLD, NEW = "jobs", "catalog"
MODELS = (
    "vllmversion",
    "cardrequirement",
    "modelsupport",
    "modelalias",
    "baseimage",
    "softwarestack",
    "ascendspeedsetting",
    "llamafactorysetting",
    "recipe",
    "recipeversion",
)


def relabel(apps, schema_editor, old: str, new: str) -> None:
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    GroupPermission = apps.get_model("auth", "Group").permissions.through
    UserPermission = apps.get_model(settings.AUTH_USER_MODEL).user_permissions.through
    types = ContentType.objects.using(db)
    for model in MODELS:
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
            twin = Permission.objects.using(db).filter(
                content_type=current, codename=perm.codename
            ).first()
            if twin is None:
                perm.content_type = current
                perm.save(update_fields=["content_type"])
                continue
            for link in GroupPermission.objects.using(db).filter(permission=perm):
                GroupPermission.objects.using(db).get_or_create(
                    group_id=link.group_id, permission=twin
                )
            for link in UserPermission.objects.using(db).filter(permission=perm):
                UserPermission.objects.using(db).get_or_create(user_id=link.user_id, permission=twin)
            perm.delete()
        stale.delete()
    ContentType.objects.clear_cache()


def forward(apps, schema_editor) -> None:
    relabel(apps, schema_editor, OLD, NEW)


def backward(apps, schema_editor) -> None:
    relabel(apps, schema_editor, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("jobs", "0006_catalog_models_moved"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forward, backward)]
