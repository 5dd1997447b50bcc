"""The job engine's panels on fleet pages (registered in JobsConfig.ready())."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from fleet.models import Node
from jobs.models import Deployment


def node_delete_deployments(request: HttpRequest, node: Node) -> str:
    """The node delete page's warning: deployments whose containers keep running."""
    deployments = (
        Deployment.objects.live()
        .filter(node=node)
        .select_related("team", "recipe_version__recipe")
        .order_by("pk")
    )
    context = {"node": node, "deployments": deployments}
    return render_to_string("jobs/_node_delete_deployments.html", context, request=request)
