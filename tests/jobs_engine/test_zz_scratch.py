import pytest
from tests.jobs_engine.test_builds_devsim import *  # noqa

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.devsim]

def test_show(engine_node, member_user, team, run_id, tmp_path):
    (tmp_path / "Dockerfile").write_text(dockerfile(run_id, "RUN echo before", "RUN exit 3"))
    for src in ({"context_path": str(tmp_path)}, {"dockerfile": dockerfile(run_id, "RUN echo before", "RUN exit 3")}):
        job = images.start_build(member_user, node=engine_node, team=team, tag=f"npufleet-test/x:{run_id}", **src)
        run_job(job.pk)
        job.refresh_from_db()
        print("=====", job.status, job.error, job.steps, job.result)
        print(log_text(job))
