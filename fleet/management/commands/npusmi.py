"""`manage.py npusmi parse --kind KIND FILE`: print what the npu-smi parsers read, as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.npusmi import PARSERS, ParseError

# Exit status for unreadable or unparseable input, as for a usage error.
EXIT_BAD_INPUT = 2


def _one_line(message: str) -> str:
    return " ".join(message.split())


class Command(BaseCommand):
    """Parse a saved npu-smi output (or stdin) and print the result as JSON."""

    help = "Parse npu-smi output and print it as JSON. FILE may be '-' for stdin."

    def add_arguments(self, parser: CommandParser) -> None:
        """Declare `parse --kind KIND FILE`."""
        parser.add_argument("action", choices=["parse"], help="what to do (only 'parse')")
        parser.add_argument(
            "--kind",
            required=True,
            choices=sorted(PARSERS),
            help="which npu-smi output the file holds",
        )
        parser.add_argument("file", help="path of the saved output, or '-' for stdin")

    def handle(self, *args: Any, **options: Any) -> None:
        """Read, parse, print; bad input ends with one line on stderr and exit status 2."""
        data = self._read(options["file"])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(
                f"{options['file']}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                returncode=EXIT_BAD_INPUT,
            ) from None
        try:
            result = PARSERS[options["kind"]](text)
        except ParseError as exc:
            raise CommandError(
                _one_line(f"{options['file']}: {exc}"), returncode=EXIT_BAD_INPUT
            ) from None
        self.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))

    def _read(self, name: str) -> bytes:
        if name == "-":
            stream = getattr(sys.stdin, "buffer", None)
            return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
        try:
            return Path(name).read_bytes()
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            raise CommandError(
                _one_line(f"cannot read {name}: {reason}"), returncode=EXIT_BAD_INPUT
            ) from None
