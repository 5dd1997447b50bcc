"""`manage.py import_nodes`: CSV and Ansible inventories; all rows checked before any is saved."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from fleet.models import Node

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path = tmp_path / "id_ed25519"
    path.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run(path: Path, *args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("import_nodes", str(path), "--no-scan", *args, stdout=out)
    return out.getvalue()


def test_csv_import(tmp_path, key_file):
    path = write(
        tmp_path,
        "nodes.csv",
        f"""
        name,host,port,username,private_key_file,labels,npu_smi_path
        gy1-01,10.0.0.11,22,root,{key_file},region=gy1;rack=3,/usr/local/bin/npu-smi
        gy1-02,10.0.0.12,2222,root,{key_file.name},region=gy1,
    """,
    )
    assert "2 node(s) imported" in run(path)
    first, second = Node.objects.order_by("name")
    assert (first.host, first.port, first.labels) == ("10.0.0.11", 22, ["rack=3", "region=gy1"])
    assert first.npu_smi_path == "/usr/local/bin/npu-smi"
    assert second.port == 2222 and second.npu_smi_path == "/usr/local/sbin/npu-smi"
    assert "OPENSSH PRIVATE KEY" in second.private_key


def test_ansible_ini_inventory_with_groups_and_vars(tmp_path, key_file):
    path = write(
        tmp_path,
        "hosts.ini",
        f"""
        # DevServers in Guiyang
        [guiyang]
        dev-a ansible_host=10.1.0.1 ansible_port=2201
        dev-b ansible_host=10.1.0.2

        [guiyang:vars]
        ansible_user=root
        ansible_ssh_private_key_file={key_file}

        [ascend:children]
        guiyang

        [pw]
        dev-c ansible_host=10.1.0.3 ansible_user=ops ansible_password="s3cret pass"
    """,
    )
    assert "3 node(s) imported" in run(path)
    a = Node.objects.get(name="dev-a")
    assert (a.host, a.port, a.username, a.auth_method) == ("10.1.0.1", 2201, "root", "key")
    assert a.labels == ["ascend", "guiyang"]
    c = Node.objects.get(name="dev-c")
    assert (c.auth_method, c.username, c.password) == ("password", "ops", "s3cret pass")


def test_ansible_yaml_inventory(tmp_path, key_file):
    path = write(
        tmp_path,
        "inventory.yaml",
        f"""
        all:
          vars:
            ansible_user: root
            ansible_ssh_private_key_file: {key_file}
          children:
            ascend:
              hosts:
                dev-y1:
                  ansible_host: 10.2.0.1
                dev-y2:
                  ansible_host: 10.2.0.2
                  ansible_port: 2202
    """,
    )
    assert "2 node(s) imported" in run(path)
    y2 = Node.objects.get(name="dev-y2")
    assert (y2.host, y2.port, y2.labels) == ("10.2.0.2", 2202, ["ascend"])


def test_one_bad_row_imports_nothing_and_names_the_line(tmp_path, key_file):
    path = write(
        tmp_path,
        "nodes.csv",
        f"""
        name,host,port,private_key_file
        good-1,10.0.0.1,22,{key_file}
        Bad_Name,10.0.0.2,22,{key_file}
        good-3,10.0.0.3,99999,{key_file}
    """,
    )
    with pytest.raises(CommandError) as caught:
        run(path)
    message = str(caught.value)
    assert "nothing imported" in message
    assert "nodes.csv line 3: name" in message
    assert "nodes.csv line 4: port" in message
    assert Node.objects.count() == 0


def test_missing_key_file_and_unknown_column_are_clear(tmp_path):
    missing = write(tmp_path, "a.csv", "name,host,private_key_file\nn1,10.0.0.1,/nope/key\n")
    with pytest.raises(CommandError, match=r"a\.csv line 2: private key /nope/key"):
        run(missing)
    unknown = write(tmp_path, "b.csv", "name,hostname\nn1,10.0.0.1\n")
    with pytest.raises(CommandError, match="unknown column"):
        run(unknown)
    broken = write(tmp_path, "c.yaml", "all:\n  hosts: [unclosed\n")
    with pytest.raises(CommandError, match="not valid YAML"):
        run(broken)
    assert Node.objects.count() == 0


def test_existing_names_conflict_unless_skipped(tmp_path, key_file):
    path = write(tmp_path, "nodes.csv", f"name,host,private_key_file\nn1,10.0.0.1,{key_file}\n")
    run(path)
    with pytest.raises(CommandError, match="exists already"):
        run(path)
    assert "skip   n1" in run(path, "--skip-existing")
    assert Node.objects.count() == 1


def test_dry_run_saves_nothing(tmp_path, key_file):
    path = write(tmp_path, "nodes.csv", f"name,host,private_key_file\nn1,10.0.0.1,{key_file}\n")
    assert "1 node(s) would be imported" in run(path, "--dry-run")
    assert Node.objects.count() == 0
