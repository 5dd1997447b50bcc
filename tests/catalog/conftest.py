"""Recipe fixtures: nodes with cards made directly, and recipes made through the services."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.models import Card, Node
from jobs.catalog.models import Recipe
from jobs.catalog.services import recipes

IMAGE = "npufleet/vllm-sim:local"
QWEN_ENV = {"USE_PFA_HIGH_PRECISION_MODE": "1"}


def make_node(name: str, chip: str = "910B3", hbm_mb: int = 65536, cards: int = 8) -> Node:
    """A probed node with `cards` idle cards of one chip model."""
    node = Node.objects.create(
        name=name,
        host="127.0.0.1",
        facts={"chip_name": chip, "hbm_total_mb": hbm_mb},
        npu_smi_path="/usr/local/bin/npu-smi",
    )
    Card.objects.bulk_create(
        Card(node=node, npu_id=d, device=d, chip_name=chip, hbm_total_mb=hbm_mb, health="OK")
        for d in range(cards)
    )
    return node


def inference(**values: Any) -> dict[str, Any]:
    """Values of a valid llama2-13b recipe (2 cards fit 32 GB and 64 GB nodes)."""
    return {"model": "llama2-13b", "image": IMAGE, "tensor_parallel_size": 2, **values}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Cheap password hashing: the personas are created for every test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def node64(db) -> Node:
    return make_node("gy1-b3", "910B3", 65536)


@pytest.fixture
def node32(db) -> Node:
    return make_node("gy1-b4", "910B4", 32768)


@pytest.fixture
def recipe(member_user, team) -> Recipe:
    """A team recipe at version 1, made by the member."""
    return recipes.create_recipe(
        member_user,
        team=team,
        name="llama2-13b-tp2",
        values=inference(weights_path="/data/models/Llama-2-13b-chat-hf"),
    )
