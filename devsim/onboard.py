"""What to type into the onboarding form for a simulated node, and registering it the same way.

`onboarding_rows` is what `python -m devsim up/status` print; `register` is what the demo and
`python -m devsim onboard NODE` run: the node services the form uses, then the host key devsim
generated is accepted (devsim made that key itself, so its fingerprint is known).
"""

from __future__ import annotations

from typing import Any

from devsim.client import DevsimNode

# The simulated nodes share one network namespace: deployments publish ports instead.
NETWORK_MODE = "bridge"
# Labels marking a node registered from devsim (the demo updates only nodes carrying them).
DEVSIM_LABEL = "devsim"


def onboarding_rows(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """(form label, value) pairs for the onboarding form, in the form's order."""
    node = DevsimNode.from_meta(meta)
    values = node.onboarding_values()
    return [
        ("Name", values["name"]),
        ("Host", values["host"]),
        ("Port", str(values["port"])),
        ("User", values["username"]),
        ("Authentication", "Private key"),
        ("Private key file", node.key_path),
        ("Expected cards", str(values["expected_cards"])),
        ("Network mode", "Published port (-p)  [bridge]"),
        ("Device dir", values["device_dir"]),
        ("Driver dir", values["driver_dir"]),
        ("npu-smi", values["npu_smi_path"]),
        ("Install info", values["install_info_path"]),
        ("Weights dir", values["weights_dir"]),
        ("Workspace root", values["workspace_root"]),
        ("Host key (step 2)", node.host_key_fingerprint),
    ]


def print_onboarding(meta: dict[str, Any], out: Any) -> None:
    """Print a node's onboarding values as an aligned block."""
    rows = onboarding_rows(meta)
    width = max(len(label) for label, _ in rows)
    print(f"\n{meta['name']}: paste into Nodes > Onboard a node", file=out)
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}", file=out)
    print(
        f"  (or run: python -m devsim onboard {meta['name']}; upload or paste the private key "
        "file's content)",
        file=out,
    )


def register(
    meta: dict[str, Any],
    actor: Any,
    *,
    name: str | None = None,
    labels: list[str] | None = None,
    update: bool = True,
    probe: bool = True,
) -> Any:
    """Register (or, with update, refresh) the node through the node services, pinning the host
    key devsim generated, then probe it; returns the Node. Raises DomainError from the services."""
    from fleet.choices import HostKeyStatus
    from fleet.models import Node
    from fleet.services import nodes
    from fleet.services.probing import probe_node

    node_name = name or meta["name"]
    values = DevsimNode.from_meta(meta).onboarding_values(
        name=node_name,
        labels=labels if labels is not None else [DEVSIM_LABEL, f"chip={meta['chip']}"],
        network_mode=NETWORK_MODE,
    )
    node = Node.objects.filter(name=node_name).first()
    fingerprint = meta["host_key_fingerprint"]
    if node is None:
        node = nodes.register_node(actor=actor, values=values)
    elif update:
        node = nodes.update_node(node, actor=actor, values=values)
        if node.host_key_fingerprint != fingerprint:
            node = nodes.scan_host_key(node)
    else:
        from fleet.errors import Conflict

        raise Conflict(
            f"a node named {node_name} exists already: pick another name (--name) or delete it",
            field="name",
        )
    if node.host_key_status != HostKeyStatus.ACCEPTED or node.host_key_fingerprint != fingerprint:
        node = nodes.accept_host_key(node, actor=actor, fingerprint=fingerprint)
    if probe:
        node = probe_node(node.pk, full=True) or node
    return node
