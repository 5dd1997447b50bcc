"""App configuration."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The jobs app."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"

    def ready(self) -> None:
        from fleet.booking import hooks
        from fleet.pages.panels import register_delete_panel
        from fleet.schedules import register_schedule
        from jobs import dispatch, tasks  # noqa: F401  tasks: registers the names dispatch uses
        from jobs.pages.panels import node_delete_deployments
        from jobs.services import booking_hooks

        # Bookings ask the job engine whether something is deployed, and have it stop containers.
        hooks.register(
            deployment_check=booking_hooks.has_deployment,
            container_stopper=booking_hooks.stop_containers,
        )
        # The node delete page names the deployments still live on the node.
        register_delete_panel("jobs-deployments", node_delete_deployments, order=20)
        # Every 30 s: jobs, deployments and log followers checked against what really runs.
        register_schedule(
            "jobs: reconcile jobs, deployments and log followers", dispatch.RECONCILE, 30
        )
