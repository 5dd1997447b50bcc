"""Relabel the content types of the moved models (jobs -> catalog).

Admin permissions (jobs.change_recipe becomes catalog.change_recipe) and the admin log keep
pointing at the same rows. If a catalog row already exists (the content types were created before
this ran), what points at the stale jobs row moves to it and the stale row goes.
"""

from django.conf import settings
from django.db import migrations

from fleet.migrations._content_types import relabel_operation

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


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("jobs", "0006_catalog_models_moved"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [relabel_operation(OLD, NEW, MODELS)]
