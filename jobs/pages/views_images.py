"""Image pages: each node's images with the deployments using them, and the build form."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from fleet.booking import permissions
from fleet.booking.models import Team
from fleet.errors import DomainError, Invalid, NotAllowed
from fleet.models import Node
from fleet.remote import RemoteError
from jobs.build_templates import TEMPLATES, all_templates, template
from jobs.choices import LIVE_DEPLOYMENT_STATUSES
from jobs.models import NodeImage
from jobs.services import images

PAGE_SIZE = 100


def job_page(job_id: int) -> str:
    """The job page, where the build's steps and live log show."""
    return f"/jobs/{job_id}/"


def _may_build(user: Any) -> bool:
    return permissions.in_any_team(user)


class BuildForm(forms.Form):
    """Where and what to build; build arguments and files come as repeated inputs."""

    node = forms.ModelChoiceField(queryset=Node.objects.none())
    team = forms.ModelChoiceField(queryset=Team.objects.none(), help_text="Who the build is for.")
    tag = forms.CharField(
        max_length=300, help_text="Image name on the node, e.g. my-team/qwen2-vllm:0.6.0"
    )
    template = forms.ChoiceField(
        required=False,
        choices=[("", "— none —"), *((t.key, t.title) for t in TEMPLATES)],
        label="Start from a template",
    )
    dockerfile = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 20, "spellcheck": "false"}),
        help_text="Written here and sent with the uploaded files; or left empty to use the "
        "Dockerfile of the folder below.",
    )
    context_path = forms.CharField(
        required=False,
        label="Or build a folder on the node",
        help_text="Absolute path on the node, e.g. /root/AscendCloud-upload; uploaded files are "
        "then not used.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nodes = Node.objects.visible_to(user).order_by("name")
        cast(forms.ModelChoiceField, self.fields["node"]).queryset = nodes
        teams = Team.objects.of_user(user).order_by("name")
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams


def _build_args(request: HttpRequest) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The argument rows as typed (to show again) and as a mapping (empty names skipped)."""
    names = request.POST.getlist("arg_name")
    values = request.POST.getlist("arg_value")
    rows = list(zip(names, values, strict=False))
    return rows, {n.strip(): v for n, v in rows if n.strip()}


def _files(request: HttpRequest) -> dict[str, bytes]:
    """Uploaded files, refusing oversized ones before reading them."""
    found: dict[str, bytes] = {}
    for upload in request.FILES.getlist("files"):
        if upload.size and upload.size > images.MAX_FILE_BYTES:
            raise Invalid(
                f"{upload.name} is {upload.size} bytes; files are limited to "
                f"{images.MAX_FILE_BYTES} bytes: put large files in a folder on the node",
                field="files",
            )
        found[upload.name or ""] = upload.read()
    return found


@login_required
def image_build(request: HttpRequest) -> HttpResponse:
    """The build form; a queued build opens its job page."""
    if not _may_build(request.user):
        raise PermissionDenied("only site admins and team members may build images")
    chosen = template(request.GET.get("template", ""))
    initial: dict[str, Any] = {"node": request.GET.get("node")}
    teams = list(Team.objects.of_user(request.user)[:2])
    if len(teams) == 1:
        initial["team"] = teams[0].pk
    rows: list[tuple[str, str]] = [("", "")]
    if chosen is not None:
        initial.update(template=chosen.key, tag=chosen.tag, dockerfile=chosen.dockerfile)
        rows = list(chosen.build_args.items()) or rows
    form = BuildForm(request.POST or None, user=request.user, initial=initial)
    problems: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        status = 400
        rows, args = _build_args(request)
        rows = rows or [("", "")]
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = images.start_build(
                    request.user,
                    node=data["node"],
                    team=data["team"],
                    tag=data["tag"],
                    dockerfile=data["dockerfile"],
                    files=_files(request),
                    build_args=args,
                    context_path=data["context_path"],
                )
            except DomainError as exc:
                if exc.field in ("build_args", "files"):
                    problems[exc.field] = exc.message
                else:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, f"Build of {job.params['tag']} queued as job {job.pk}.")
                return redirect(job_page(job.pk))
    context = {
        "form": form,
        "rows": rows,
        "problems": problems,
        "templates": all_templates(),
        "max_file_bytes": images.MAX_FILE_BYTES,
    }
    return render(request, "images/build.html", context, status=status)


@login_required
def image_list(request: HttpRequest) -> HttpResponse:
    """One node's images: tag, size, created, the build job and the deployments using each."""
    nodes = list(Node.objects.visible_to(request.user).only("pk", "name").order_by("name"))
    ref = request.GET.get("node", "")
    node = next((n for n in nodes if str(n.pk) == ref), nodes[0] if nodes else None)
    rows = NodeImage.objects.filter(node=node).select_related("build_job").order_by("tag")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    listed = images.usage_for(request.user, page.object_list)
    for image in listed:
        image.live_users = [d for d in image.used_by if d.status in LIVE_DEPLOYMENT_STATUSES]
    context = {
        "nodes": nodes,
        "node": node,
        "page": page,
        "rows": listed,
        "can_build": _may_build(request.user),
        "can_remove": request.user.is_superuser,
    }
    return render(request, "images/list.html", context)


@login_required
@require_POST
def image_refresh(request: HttpRequest, node_pk: int) -> HttpResponse:
    """Read `docker images` on the node now."""
    node = get_object_or_404(Node.objects.visible_to(request.user), pk=node_pk)
    try:
        rows = images.refresh_images(node, actor=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except RemoteError as exc:
        messages.error(request, f"{node.name}: {exc}")
    else:
        messages.success(request, f"{node.name}: {len(rows)} images.")
    return redirect(f"{reverse('images')}?node={node.pk}")


@login_required
@require_POST
def image_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue removal of an unused image (site admins); its job page follows it."""
    image = get_object_or_404(NodeImage.objects.select_related("node"), pk=pk)
    try:
        job = images.remove_image(request.user, image)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('images')}?node={image.node_id}")
    return redirect(job_page(job.pk))
