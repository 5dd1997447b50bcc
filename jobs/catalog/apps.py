"""App configuration."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """The catalog: the manuals' tables, recipes, planning and rendering."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs.catalog"
    label = "catalog"
