"""`manage.py catalog export [--json]`: the card table as stored in the database;
`manage.py catalog seed`: load the manuals' tables into empty catalog tables."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jobs.catalog.services.catalog import export_cells
from jobs.catalog.services.catalog_edits import ensure_seed_catalog


def _cell(value: int | None) -> str:
    """'-' for an unsupported cell, as the seed prints it."""
    return "-" if value is None else str(value)


class Command(BaseCommand):
    help = "Export the card-count catalog (one entry per table cell), or seed empty tables."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Print every card-table cell.")
        export.add_argument(
            "--json",
            action="store_true",
            help='A JSON list of {"model", "vllm_version", "card_gb", "min_cards", '
            '"max_model_len_k"}; null where the seed prints "-".',
        )
        sub.add_parser(
            "seed",
            help="Load the manuals' tables (the shipped JSON) when the catalog tables are empty.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seed":
            loaded = ensure_seed_catalog()
            self.stdout.write(
                "Catalog loaded from the manuals' tables."
                if loaded
                else "The catalog already has rows; nothing loaded."
            )
            return
        cells = export_cells()
        if options["json"]:
            self.stdout.write(json.dumps(cells, ensure_ascii=False, indent=1))
            return
        self.stdout.write(f"{'vLLM':<7} {'model':<32} {'card':>5} {'cards':>5} {'max K':>6}")
        for c in cells:
            self.stdout.write(
                f"{c['vllm_version']:<7} {c['model']:<32} {c['card_gb']:>3}GB "
                f"{_cell(c['min_cards']):>5} {_cell(c['max_model_len_k']):>6}"
            )
