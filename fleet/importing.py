"""Reading node lists from CSV files and Ansible inventories (INI or YAML)."""

from __future__ import annotations

import csv
import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Ansible host variables → node fields.
ANSIBLE_VARS = {
    "ansible_host": "host",
    "ansible_ssh_host": "host",
    "ansible_port": "port",
    "ansible_ssh_port": "port",
    "ansible_user": "username",
    "ansible_ssh_user": "username",
    "ansible_password": "password",
    "ansible_ssh_pass": "password",
    "ansible_ssh_private_key_file": "private_key_file",
    "ansible_private_key_file": "private_key_file",
    "npufleet_jump_host": "jump_host",
    "npufleet_npu_smi_path": "npu_smi_path",
    "npufleet_driver_dir": "driver_dir",
    "npufleet_device_dir": "device_dir",
    "npufleet_weights_dir": "weights_dir",
    "npufleet_workspace_root": "workspace_root",
    "npufleet_expected_cards": "expected_cards",
    "npufleet_notes": "notes",
}
CSV_COLUMNS = {
    "name",
    "host",
    "port",
    "username",
    "user",
    "auth_method",
    "private_key_file",
    "password",
    "passphrase",
    "jump_host",
    "labels",
    "notes",
    "device_dir",
    "driver_dir",
    "npu_smi_path",
    "install_info_path",
    "weights_dir",
    "workspace_root",
    "expected_cards",
}


class ImportFormatError(ValueError):
    """The file cannot be read; the message names the line."""


@dataclass
class NodeRow:
    """One node read from a file, with where it came from."""

    where: str
    values: dict[str, Any] = field(default_factory=dict)


def detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yml", ".yaml"):
        return "yaml"
    if suffix in (".ini", ".cfg", ".hosts") or text.lstrip().startswith("["):
        return "ini"
    raise ImportFormatError(
        f"{path.name}: cannot tell the format; name the file .csv, .ini or .yaml, or pass --format"
    )


def read_rows(path: Path, fmt: str | None = None) -> list[NodeRow]:
    """Rows of a CSV, Ansible INI or Ansible YAML inventory file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{path}: cannot be read ({exc})") from None
    fmt = fmt or detect_format(path, text)
    rows = {"csv": _csv, "ini": _ini, "yaml": _yaml}[fmt](text, path.name)
    base = path.parent
    for row in rows:
        _finish(row, base)
    return rows


def _finish(row: NodeRow, base: Path) -> None:
    values = row.values
    if "user" in values:
        values.setdefault("username", values.pop("user"))
    for number in ("port", "expected_cards"):
        if number in values and values[number] not in (None, ""):
            try:
                values[number] = int(values[number])
            except (TypeError, ValueError):
                raise ImportFormatError(
                    f"{row.where}: {number} {values[number]!r} is not a whole number"
                ) from None
    key_file = values.pop("private_key_file", "")
    if key_file:
        key_path = (base / Path(str(key_file)).expanduser()).resolve()
        try:
            values["private_key"] = key_path.read_text()
        except OSError as exc:
            raise ImportFormatError(
                f"{row.where}: private key {key_file}: {exc.strerror}"
            ) from None
        values.setdefault("auth_method", "key")
    elif values.get("password"):
        values.setdefault("auth_method", "password")
    values = {k: v for k, v in values.items() if v not in (None, "")}
    row.values = values


def _csv(text: str, name: str) -> list[NodeRow]:
    reader = csv.DictReader(io.StringIO(text))
    unknown = set(reader.fieldnames or []) - CSV_COLUMNS
    if not reader.fieldnames or "name" not in reader.fieldnames:
        raise ImportFormatError(f"{name} line 1: the header must have a 'name' column")
    if unknown:
        raise ImportFormatError(
            f"{name} line 1: unknown column(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(CSV_COLUMNS))}"
        )
    rows = []
    for record in reader:
        values = {k: (v or "").strip() for k, v in record.items() if k}
        if "labels" in values:
            values["labels"] = [
                x.strip() for x in values["labels"].replace(";", ",").split(",") if x.strip()
            ]
        rows.append(NodeRow(f"{name} line {reader.line_num}", values))
    return rows


def _host_values(name: str, variables: dict[str, Any], where: str) -> NodeRow:
    values: dict[str, Any] = {"name": name}
    for key, value in variables.items():
        if key in ANSIBLE_VARS:
            values[ANSIBLE_VARS[key]] = value
    values.setdefault("host", name)
    return NodeRow(where, values)


def _ini(text: str, name: str) -> list[NodeRow]:
    hosts: dict[str, tuple[str, dict[str, Any], set[str]]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    children: dict[str, set[str]] = {}
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        line = re.split(r"\s+#", line, maxsplit=1)[0]
        if line.startswith("["):
            if not line.endswith("]"):
                raise ImportFormatError(f"{name} line {number}: unclosed section {line!r}")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            continue
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            raise ImportFormatError(f"{name} line {number}: {exc}") from None
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise ImportFormatError(f"{name} line {number}: expected key=value")
            group_vars.setdefault(section, {})[key.strip()] = value.strip()
        elif kind == "children":
            children.setdefault(section, set()).add(tokens[0])
        else:
            host_vars = {}
            for token in tokens[1:]:
                key, sep, value = token.partition("=")
                if not sep:
                    raise ImportFormatError(
                        f"{name} line {number}: expected key=value, got {token!r}"
                    )
                host_vars[key] = value
            entry = hosts.setdefault(tokens[0], (f"{name} line {number}", {}, set()))
            entry[1].update(host_vars)
            if section != "ungrouped":
                entry[2].add(section)
    rows = []
    for host, (where, host_vars, groups) in hosts.items():
        all_groups = set(groups)
        for parent, kids in children.items():
            if all_groups & kids:
                all_groups.add(parent)
        merged: dict[str, Any] = dict(group_vars.get("all", {}))
        for group in sorted(all_groups):
            merged.update(group_vars.get(group, {}))
        merged.update(host_vars)
        row = _host_values(host, merged, where)
        row.values["labels"] = sorted(all_groups)
        rows.append(row)
    return rows


def _yaml(text: str, name: str) -> list[NodeRow]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ImportFormatError(
            f"{name}{where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if not isinstance(data, dict):
        raise ImportFormatError(
            f"{name}: expected an Ansible inventory mapping (e.g. 'all: hosts: ...')"
        )
    found: dict[str, tuple[dict[str, Any], set[str]]] = {}

    def walk(group: str, body: Any, inherited: dict[str, Any], path: list[str]) -> None:
        if body is None:
            return
        if not isinstance(body, dict):
            raise ImportFormatError(f"{name}: group {group!r} must be a mapping")
        variables = {**inherited, **(body.get("vars") or {})}
        labels = [g for g in [*path, group] if g != "all"]
        for host, host_vars in (body.get("hosts") or {}).items():
            entry = found.setdefault(str(host), ({}, set()))
            entry[0].update({**variables, **(host_vars or {})})
            entry[1].update(labels)
        for child, child_body in (body.get("children") or {}).items():
            walk(str(child), child_body, variables, [*path, group])

    for group, body in data.items():
        walk(str(group), body, {}, [])
    rows = []
    for host, (variables, labels) in found.items():
        row = _host_values(host, variables, f"{name} host {host}")
        row.values["labels"] = sorted(labels)
        rows.append(row)
    return rows
