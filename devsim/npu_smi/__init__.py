"""Simulated Huawei npu-smi (stdlib only; copied into each fleet and run by every node)."""

from .cli import main, run
from .node import CliError, Node

__all__ = ["CliError", "Node", "main", "run"]
