"""Import nodes from a CSV file or an Ansible inventory (INI or YAML)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from fleet.errors import DomainError
from fleet.importing import ImportFormatError, read_rows
from fleet.models import Node
from fleet.services import nodes


class Command(BaseCommand):
    help = (
        "Onboard nodes from FILE: CSV (header with name,host,port,username,private_key_file,...) "
        "or an Ansible inventory in INI or YAML form (ansible_host, ansible_port, ansible_user, "
        "ansible_ssh_private_key_file, ansible_password; groups become labels). Every row is "
        "checked first; if any is wrong nothing is saved."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["csv", "ini", "yaml"])
        parser.add_argument("--dry-run", action="store_true", help="Check only, save nothing.")
        parser.add_argument(
            "--no-scan", action="store_true", help="Do not read the host keys after saving."
        )
        parser.add_argument(
            "--skip-existing", action="store_true", help="Leave nodes whose name exists alone."
        )

    def handle(self, *args, **options) -> None:
        try:
            rows = read_rows(options["file"], options["format"])
        except ImportFormatError as exc:
            raise CommandError(str(exc)) from None
        if not rows:
            raise CommandError(f"{options['file']}: no hosts found")
        existing = set(Node.objects.values_list("name", flat=True))
        errors, todo, seen = [], [], set()
        for row in rows:
            name = row.values.get("name")
            if name in existing and options["skip_existing"]:
                self.stdout.write(f"skip   {name} (exists)")
                continue
            if name in existing or name in seen:
                errors.append(f"{row.where}: a node named {name!r} exists already")
                continue
            seen.add(name)
            try:
                nodes.validate_node_values(dict(row.values))
            except DomainError as exc:
                errors.append(f"{row.where}: {exc.field or 'value'}: {exc.message}")
                continue
            todo.append(row)
        if errors:
            raise CommandError("nothing imported:\n  " + "\n  ".join(errors))
        if options["dry_run"]:
            self.stdout.write(f"{len(todo)} node(s) would be imported")
            return
        with transaction.atomic():
            created = [
                nodes.register_node(actor=None, values=row.values, scan=False) for row in todo
            ]
        for node in created:
            self.stdout.write(f"added  {node.name} ({node.host}:{node.port})")
            if not options["no_scan"]:
                nodes.scan_host_key(node)
                if node.seen_host_key_fingerprint:
                    self.stdout.write(
                        f"       host key {node.seen_host_key_fingerprint}: accept it in the UI "
                        "or the API before the node is probed"
                    )
                else:
                    self.stdout.write(f"       host key not read: {node.last_error}")
        self.stdout.write(self.style.SUCCESS(f"{len(created)} node(s) imported"))
