"""What booking needs from the job engine: "is something deployed?" and "stop it".

Both start from the cards' last probe:

- a *deployment* on a booking is a container the dashboard manages (`managed` true) holding one
  of the booking's cards, seen in `Card.processes` (an NPU process inside a container) or
  `Card.containers` (a container started with the card's /dev/davinciN); this is the answer
  until the job engine registers its own;
- *stopping* runs `docker stop` on the booking's node for the names of those containers, through
  the stopper the job engine registers (over its Docker seam). There is no default: without a
  registered stopper, stopping raises NoStopper (the lifecycle logs it and tries again next tick).

An entry may carry `booking` (the booking's id, from the container label `npufleet.booking`):
then it counts for that booking only. An untagged container on a card that another live booking
holds now is left alone, so the next team's fresh deployment is never stopped.

The job engine plugs in with::

    from fleet.booking import hooks
    hooks.register(deployment_check=jobs_has_deployment, container_stopper=jobs_stop)

where `deployment_check(booking) -> bool` and `container_stopper(node, names) -> list[str]`
(the names really stopped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone

from fleet.booking.models import BookedCard, Booking
from fleet.models import Node

DeploymentCheck = Callable[[Booking], bool]
ContainerStopper = Callable[[Node, Sequence[str]], list[str]]

_deployment_check: DeploymentCheck | None = None
_container_stopper: ContainerStopper | None = None


def register(
    *,
    deployment_check: DeploymentCheck | None = None,
    container_stopper: ContainerStopper | None = None,
) -> None:
    """Install the job engine's answers (None restores the default for that hook)."""
    global _deployment_check, _container_stopper
    _deployment_check = deployment_check
    _container_stopper = container_stopper


def registered() -> tuple[DeploymentCheck | None, ContainerStopper | None]:
    """The hooks installed now (None: the default of that hook)."""
    return _deployment_check, _container_stopper


@contextmanager
def overridden(
    *,
    deployment_check: DeploymentCheck | None = None,
    container_stopper: ContainerStopper | None = None,
) -> Iterator[None]:
    """Other answers for the length of a block (tests); what was registered before comes back."""
    before = registered()
    register(deployment_check=deployment_check, container_stopper=container_stopper)
    try:
        yield
    finally:
        register(deployment_check=before[0], container_stopper=before[1])


def _claims(entry: dict, booking: Booking) -> bool:
    tag = entry.get("booking")
    return tag in (None, "") or str(tag) == str(booking.pk)


def managed_containers(booking: Booking, now: datetime | None = None) -> list[str]:
    """Names of managed containers on the booking's cards that belong to this booking."""
    rows = BookedCard.objects.filter(booking=booking).select_related("card")
    cards = [row.card for row in rows]
    now = now or timezone.now()
    taken_now = set(
        BookedCard.objects.holding()
        .filter(card__in=cards, start__lte=now, end__gt=now)
        .exclude(booking=booking)
        .values_list("card_id", flat=True)
    )
    names: list[str] = []
    for card in cards:
        # A process names its container under "container"; a container entry under "name".
        entries = [(p.get("container"), p) for p in card.processes]
        entries += [(c.get("name"), c) for c in getattr(card, "containers", None) or []]
        for name, entry in entries:
            if not (entry.get("managed") and name and _claims(entry, booking)):
                continue
            if card.pk in taken_now and str(entry.get("booking", "")) != str(booking.pk):
                continue
            if name not in names:
                names.append(name)
    return names


def has_deployment(booking: Booking, now: datetime | None = None) -> bool:
    """Whether a dashboard deployment runs on the booking's cards."""
    if _deployment_check is not None:
        return _deployment_check(booking)
    return bool(managed_containers(booking, now))


class NoStopper(RuntimeError):
    """Nothing can stop containers: the job engine has not registered its stopper."""


def stop_managed_containers(
    booking: Booking, *, stopper: ContainerStopper | None = None, now: datetime | None = None
) -> list[str]:
    """Stop the dashboard's containers on the booking's cards; returns the names stopped."""
    names = managed_containers(booking, now)
    if not names:
        return []
    stop = stopper or _container_stopper
    if stop is None:
        # The lifecycle logs this and hands the booking back for the next tick.
        raise NoStopper(
            f"cannot stop {', '.join(names)} on {booking.node.name}: no container stopper is "
            "registered (the job engine registers one in JobsConfig.ready)"
        )
    return stop(booking.node, names)
