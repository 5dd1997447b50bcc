import pytest
from jobs.models import Job, LogChunk, Deployment
from jobs.services import deployments
from jobs.tasks import run_job
from tests.jobs_engine import conftest as engine
serving_image, fast_jobs, engine_node = engine.serving_image, engine.fast_jobs, engine.engine_node
booking, recipe = engine.booking, engine.recipe
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

def test_x(booking, recipe, member_user):
    d = deployments.deploy(actor=member_user, recipe_version=recipe.current_version, booking=booking)
    job = d.jobs.get()
    print(run_job(job.pk))
    for c in LogChunk.objects.filter(job=job).order_by("seq"):
        print(c.seq, c.created_at.time(), repr(c.text[-300:]))
    print(Deployment.objects.get().log_cursor)
