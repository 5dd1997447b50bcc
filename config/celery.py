"""Celery application; tasks carry only ids, state lives in the database."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("npufleet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
