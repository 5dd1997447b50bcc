"""Admin changes to the catalog: add, edit and delete rows, add a vLLM version by copying one."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from fleet.booking.choices import AuditAction, AuditObject
from fleet.booking.services import audit
from fleet.errors import Invalid, NotAllowed
from jobs.catalog import seed
from jobs.catalog.models import (
    AscendSpeedSetting,
    BaseImage,
    CardRequirement,
    LlamaFactorySetting,
    ModelAlias,
    ModelSupport,
    SoftwareStack,
    VllmVersion,
)
from jobs.catalog.models.catalog import CatalogRow
from jobs.catalog.tables import db_source

EDITABLE: dict[str, type[CatalogRow]] = {
    "card": CardRequirement,
    "support": ModelSupport,
    "alias": ModelAlias,
    "image": BaseImage,
    "software": SoftwareStack,
    "ascendspeed": AscendSpeedSetting,
    "llamafactory": LlamaFactorySetting,
}


def _require_admin(actor: Any) -> None:
    """Only site admins change the catalog."""
    if not (actor.is_authenticated and actor.is_superuser):
        raise NotAllowed("Only site admins may change the catalog.")


def _stamp(actor: Any) -> str:
    """'alice on 2025-06-01'."""
    return f"{actor.get_username()} on {timezone.localdate():%Y-%m-%d}"


def _invalid(exc: ValidationError) -> Invalid:
    """A model ValidationError as a domain error naming every field."""
    errors = {
        ("row" if k == "__all__" else k): [str(m) for m in v] for k, v in exc.message_dict.items()
    }
    first = next(iter(errors))
    return Invalid(errors[first][0], field=first, **errors)


def _check_cells(row: CatalogRow) -> None:
    """A card-table cell has both numbers or neither ('-')."""
    if not isinstance(row, CardRequirement):
        return
    for gb in (32, 64):
        cards, length = row.cell(gb)
        if (cards is None) != (length is None):
            raise Invalid(
                f"the {gb} GB cell needs both min cards and max-model-len, or neither for '-'",
                field=f"min_cards_{gb}" if cards is None else f"max_model_len_k_{gb}",
            )


def _save(row: CatalogRow) -> None:
    """Validate and save a row, turning model errors into domain errors."""
    _check_cells(row)
    try:
        row.full_clean()
    except ValidationError as exc:
        raise _invalid(exc) from None
    row.save()


def _next_row(model: type[CatalogRow], values: dict[str, Any]) -> int:
    """The next free row number (per vLLM version where the table has versions)."""
    rows: models.QuerySet = model.objects.all()
    if "version" in values:
        rows = rows.filter(version=values["version"])
    return (rows.aggregate(n=models.Max("row"))["n"] or 0) + 1


@transaction.atomic
def add_row(actor: Any, table: str, values: dict[str, Any]) -> CatalogRow:
    """Add a row to a catalog table; its provenance says who added it and when."""
    _require_admin(actor)
    model = EDITABLE[table]
    row = model(**values)
    if hasattr(row, "row") and not values.get("row"):
        row.row = _next_row(model, values)
    row.seed = ""
    row.provenance = f"added by {_stamp(actor)}"
    _save(row)
    _audit(AuditAction.ADD, actor, row, {k: (None, v) for k, v in values.items()})
    return row


@transaction.atomic
def update_row(actor: Any, row: CatalogRow, values: dict[str, Any]) -> CatalogRow:
    """Change a catalog row; its seed provenance stays and the edit is recorded beside it."""
    _require_admin(actor)
    row = type(row).objects.select_for_update().get(pk=row.pk)
    changes = {
        k: (getattr(row, k, None), v) for k, v in values.items() if getattr(row, k, None) != v
    }
    for name, value in values.items():
        setattr(row, name, value)
    row.edited_by = actor
    row.edited_at = timezone.now()
    _save(row)
    _audit(AuditAction.EDIT, actor, row, changes)
    return row


@transaction.atomic
def delete_row(actor: Any, row: CatalogRow) -> None:
    """Remove a catalog row (recipes keep their own copy of the values they ran with)."""
    _require_admin(actor)
    _audit(AuditAction.DELETE, actor, row, {})
    row.delete()


@transaction.atomic
def add_vllm_version(
    actor: Any, version: str, *, copy_from: VllmVersion | None = None, note: str = ""
) -> VllmVersion:
    """A new vLLM version, optionally starting as a copy of another version's rows."""
    _require_admin(actor)
    if VllmVersion.objects.filter(version=version).exists():
        raise Invalid(f"vLLM {version} is already in the catalog", field="version")
    position = (VllmVersion.objects.aggregate(n=models.Max("position"))["n"] or 0) + 1
    new = VllmVersion(version=version, position=position, note=note)
    new.provenance = f"added by {_stamp(actor)}"
    if copy_from is not None:
        new.provenance += f" as a copy of vLLM {copy_from.version}"
        new.card_table_fallback = copy_from.card_table_fallback
        new.quant_table_fallback = copy_from.quant_table_fallback
    _save(new)
    if copy_from is not None:
        for model in (CardRequirement, ModelSupport):
            copies: list[Any] = []  # rows of `model`
            for row in model.objects.filter(version=copy_from).select_related("edited_by"):
                cite = db_source(row, row.row).cite(copy_from.version)
                row.pk, row.version, row.seed = None, new, ""
                row.provenance = f"copied from {cite} by {_stamp(actor)}"[:300]
                row.edited_by = row.edited_at = None
                copies.append(row)
            model.objects.bulk_create(copies)
    copied = f" (a copy of {copy_from.version})" if copy_from is not None else ""
    _audit(AuditAction.ADD, actor, new, {"version": (None, version + copied)})
    return new


def _audit(action: AuditAction, actor: Any, row: models.Model, changes: dict) -> None:
    """One audit entry about a catalog row: its table, id and the row as text."""
    label = f"{row._meta.verbose_name}: {row}"[:200]
    summary = f"Catalog {label}"
    about = (AuditObject.CATALOG, f"{row._meta.model_name}:{row.pk}", label)
    audit.record(action, actor, summary, changes=changes, about=about)


@transaction.atomic
def ensure_seed_catalog() -> bool:
    """Load the manuals' catalog when its tables are empty (a fresh or flushed database)."""
    if VllmVersion.objects.exists():
        return False
    seed.load()
    return True
