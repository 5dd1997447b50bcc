import logging
import pytest
from jobs.models import LogChunk
from jobs.services import deployments
from jobs.tasks import run_job
from tests.jobs_engine.conftest import *  # noqa
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

def test_x(booking, recipe, member_user, caplog):
    caplog.set_level(logging.DEBUG, logger="jobs")
    d = deployments.deploy(actor=member_user, recipe_version=recipe.current_version, booking=booking)
    job = d.jobs.get()
    print("RESULT", run_job(job.pk))
    text = "".join(LogChunk.objects.filter(job=job).order_by("seq").values_list("text", flat=True))
    print("READY" , "Application startup complete." in text, "lines", text.count("\n"))
    for r in caplog.records:
        if r.name.startswith("jobs"): print("LOG", r.name, r.levelname, r.getMessage()[:300])
