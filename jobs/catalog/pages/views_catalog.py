"""Catalog pages: the browser (everyone signed in) and the editor (site admins)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from fleet.errors import DomainError
from fleet.validators import as_id
from jobs.catalog.models import (
    AscendSpeedSetting,
    BaseImage,
    CardRequirement,
    LlamaFactorySetting,
    ModelSupport,
    SoftwareStack,
    VllmVersion,
)
from jobs.catalog.pages.forms import CardRowForm, SupportRowForm, VersionForm
from jobs.catalog.services import catalog_edits
from jobs.catalog.services.catalog import DbCatalog, catalog_lines

TABS = (
    ("models", "Inference models"),
    ("ascendspeed", "AscendSpeed"),
    ("llamafactory", "LLaMA-Factory"),
    ("images", "Images & software"),
)
QUANT_FILTERS = (
    ("fp16_bf16", "fp16/bf16"),
    ("W4A16", "W4A16"),
    ("W8A8", "W8A8"),
    ("W8A16", "W8A16"),
    ("kv_cache_int8", "kv-cache-int8"),
)
# (model, form) per table; the two models share no typed base with `version` and `model`.
ROW_FORMS: dict[str, tuple[Any, type[CardRowForm] | type[SupportRowForm]]] = {
    "card": (CardRequirement, CardRowForm),
    "support": (ModelSupport, SupportRowForm),
}
View = Callable[..., HttpResponse]


def admin_only(view: View) -> View:
    """Signed-in site admins only; everyone else gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_superuser:
            raise PermissionDenied("only site admins may change the catalog")
        return view(request, *args, **kwargs)

    return wrapper


def _int(value: str | None) -> int | None:
    return as_id(value) if value else None


@login_required
def catalog_browser(request: HttpRequest) -> HttpResponse:
    """The tables from the manuals, the inference models filterable."""
    tab = request.GET.get("tab", "models")
    tab = tab if tab in dict(TABS) else "models"
    source = DbCatalog()
    versions = source.vllm_versions()
    version = request.GET.get("vllm_version") or "0.6.0"
    version = version if version in versions else versions[-1]
    filters: dict[str, Any] = {
        "card_gb": _int(request.GET.get("card_gb"))
        if request.GET.get("card_gb") in ("32", "64")
        else None,
        "cards": _int(request.GET.get("cards")),
        "quantization": request.GET.get("quantization") or None,
        "search": request.GET.get("search", "").strip(),
    }
    if filters["quantization"] not in dict(QUANT_FILTERS):
        filters["quantization"] = None
    context: dict[str, Any] = {
        "tab": tab,
        "tabs": TABS,
        "versions": versions,
        "version": version,
        "filters": filters,
        "quant_filters": QUANT_FILTERS,
    }
    if tab == "models":
        context["lines"] = catalog_lines(source, version, **filters)
        row = VllmVersion.objects.filter(version=version).first()
        context["version_row"] = row
    elif tab == "ascendspeed":
        rows: QuerySet[Any] = AscendSpeedSetting.objects.all()
        if filters["search"]:
            rows = rows.filter(model__icontains=filters["search"])
        context["rows"] = rows
    elif tab == "llamafactory":
        rows = LlamaFactorySetting.objects.all()
        if filters["search"]:
            rows = rows.filter(model__icontains=filters["search"])
        context["rows"] = rows
    else:
        context["images"] = BaseImage.objects.all()
        context["software"] = SoftwareStack.objects.all()
    return render(request, "recipes/catalog.html", context)


@admin_only
def catalog_editor(request: HttpRequest) -> HttpResponse:
    """Add a vLLM version (optionally a copy), and the rows of one version to edit."""
    versions = list(VllmVersion.objects.all())
    chosen = request.GET.get("version") or (versions[0].version if versions else "")
    version = next((v for v in versions if v.version == chosen), None)
    form = VersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = catalog_edits.add_vllm_version(request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"vLLM {new.version} added.")
            return redirect(f"{reverse('catalog-edit')}?version={new.version}")
    context = {
        "versions": versions,
        "version": version,
        "form": form,
        "card_rows": version.card_rows.select_related("edited_by") if version else [],
        "support_rows": version.support_rows.select_related("edited_by") if version else [],
    }
    return render(request, "recipes/catalog_edit.html", context, status=400 if form.errors else 200)


@admin_only
def catalog_row(request: HttpRequest, table: str, pk: int | None = None) -> HttpResponse:
    """Add or edit one row of the card table or the supported-model table."""
    if table not in ROW_FORMS:
        raise Http404("no such table")
    model, form_class = ROW_FORMS[table]
    row = get_object_or_404(model.objects.select_related("version"), pk=pk) if pk else None
    if row is not None:
        version = row.version
    else:
        version = get_object_or_404(VllmVersion, version=request.GET.get("version", ""))
    form = form_class(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        try:
            if row is None:
                catalog_edits.add_row(request.user, table, {**values, "version": version})
            else:
                catalog_edits.update_row(request.user, row, values)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"{values['model']} saved in vLLM {version.version}.")
            return redirect(f"{reverse('catalog-edit')}?version={version.version}")
    context = {"form": form, "row": row, "table": table, "version": version}
    return render(request, "recipes/catalog_row.html", context, status=400 if form.errors else 200)


@admin_only
@require_POST
def catalog_row_delete(request: HttpRequest, table: str, pk: int) -> HttpResponse:
    """Delete one row of the card table or the supported-model table."""
    if table not in ROW_FORMS:
        raise Http404("no such table")
    row = get_object_or_404(ROW_FORMS[table][0].objects.select_related("version"), pk=pk)
    catalog_edits.delete_row(request.user, row)
    messages.success(request, f"{row.model} deleted from vLLM {row.version.version}.")
    return redirect(f"{reverse('catalog-edit')}?version={row.version.version}")
