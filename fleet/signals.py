"""Signals of the fleet app: what the apps above it (booking, jobs) react to.

Fleet never imports those apps; they connect receivers in their AppConfig.ready(). Both signals
are sent inside the transaction of the change, so what a receiver writes commits with it.
"""

from __future__ import annotations

from enum import StrEnum

from django.dispatch import Signal


class NodeChange(StrEnum):
    """What happened to a node (the values are the audit log's action names)."""

    ADD = "add"
    EDIT = "edit"
    DELETE = "delete"
    KEY_ACCEPT = "key_accept"
    KEY_REFUSE = "key_refuse"


# A node was registered, edited, deleted, or its host key accepted or refused. Arguments:
# action (NodeChange), actor (a user, None for automatic actions), node, summary (one line),
# changes ({field: (before, after)}, secrets already hidden). Sent before a deleted node goes.
node_changed = Signal()

# A probe's outcome was recorded. Arguments: node, was_answering (before this probe),
# health_before ({card id: health} before this probe), cards (the node's Card rows now),
# answered (False after a probe that did not reach the node). The sender runs receivers in a
# savepoint and logs their errors: a broken receiver never loses the probe's record.
probe_recorded = Signal()
