"""Helpers shared by tests: onboarding simulated nodes through the real services."""

from __future__ import annotations

from devsim.client import DevsimNode
from fleet.models import Node
from fleet.services import nodes


def node_values(dev: DevsimNode, name: str | None = None, **overrides) -> dict:
    """The values an admin would type to onboard a simulated node."""
    return dev.onboarding_values(name, **overrides)


def onboard(admin, dev: DevsimNode, name: str | None = None, **overrides) -> Node:
    """Register a simulated node and accept the key it offers, as an admin would."""
    node = nodes.register_node(actor=admin, values=node_values(dev, name, **overrides))
    assert node.seen_host_key_fingerprint == dev.host_key_fingerprint, node.last_error
    return nodes.accept_host_key(node, actor=admin, fingerprint=node.seen_host_key_fingerprint)


def tp1_version(member_user, team):
    """The current version of a one-card qwen2-7b recipe on the stand-in image."""
    from jobs.catalog.services.recipes import create_recipe

    return create_recipe(
        member_user,
        team=team,
        name="qwen-tp1",
        values={
            "model": "qwen2-7b",
            "image": "npufleet/vllm-sim:local",
            "weights_path": "/data/models/w",
            "tensor_parallel_size": 1,
            "max_model_len": 4096,
            "max_num_batched_tokens": 4096,
        },
    ).current_version
