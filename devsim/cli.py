"""Command line: python -m devsim up|down|status|onboard|ssh|demo|setup-demo|fault|...

setup-demo needs the dashboard's settings and database (it registers the demo fleet there).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from devsim.chips import CHIPS, HEALTH_WORDS
from devsim.fleet import Fleet
from devsim.nodes import NodeSpec, ssh_command
from devsim.onboard import print_onboarding
from devsim.sshd import SshdError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devsim", description="Simulated Ascend DevServer fleet (sshd + npu-smi)."
    )
    parser.add_argument(
        "--dir", default=None, help="fleet folder (default: $DEVSIM_DIR, else ./.devsim)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="create/start nodes (idempotent)")
    up.add_argument("--nodes", type=int, default=None, help="ensure node-1..node-N exist")
    up.add_argument("--node", action="append", default=[], help="bring up this node (repeatable)")
    up.add_argument("--chip", choices=sorted(CHIPS), default=None)
    up.add_argument("--cards", type=int, default=None)
    up.add_argument("--driver", default=None, help="driver version (default 23.0.6)")
    up.add_argument("--firmware", default=None)
    up.add_argument(
        "--password-user",
        action="store_true",
        help="also allow password login as user 'devsim' (password 'devsim'); creates the user",
    )

    down = sub.add_parser("down", help="stop all sshd, the watcher and the fleet's containers")
    down.add_argument("--keep-containers", action="store_true")
    down.add_argument("--purge", action="store_true", help="also delete the fleet folder")

    status = sub.add_parser("status", help="table of nodes and their onboarding form values")
    status.add_argument("--brief", action="store_true", help="the table only")
    onboard = sub.add_parser(
        "onboard",
        help="register NODE in the dashboard (as the onboarding form does) and accept its key",
    )
    onboard.add_argument("node")
    onboard.add_argument("--name", default=None, help="name in the dashboard (default: NODE)")
    onboard.add_argument(
        "--admin", default=None, help="site admin acting (default: the first site admin)"
    )
    onboard.add_argument("--no-probe", action="store_true", help="do not probe it right away")
    ssh = sub.add_parser("ssh", help="print the ssh command line that logs into NODE")
    ssh.add_argument("node")
    sub.add_parser("demo", help="bring up the demo fleet (node-a, node-b, node-c)")
    setup = sub.add_parser(
        "setup-demo",
        help="create the demo accounts (passwords kept in .demo/passwords, shown on every run) "
        "and register the demo fleet's nodes in the dashboard, pinning their host keys",
    )
    setup.add_argument("--secrets-dir", type=Path, default=Path(".demo"))
    sub.add_parser("image", help="build the local busybox test image (idempotent)")
    serving = sub.add_parser(
        "serving-image", help="build the stand-in vLLM serving image npufleet/vllm-sim:local"
    )
    serving.add_argument("--force", action="store_true", help="rebuild even when up to date")

    fault = sub.add_parser("fault", help="flip a fault switch on a node")
    fault.add_argument("node")
    kinds = fault.add_subparsers(dest="kind", required=True)
    kinds.add_parser("down", help="stop the node's sshd (port kept)")
    kinds.add_parser("up", help="start the node's sshd again")
    health = kinds.add_parser("card-health", help="make a card report a health word")
    health.add_argument("card", type=int)
    health.add_argument("health", choices=HEALTH_WORDS)
    foreign = kinds.add_parser("foreign-process", help="a non-dashboard process on a card")
    foreign.add_argument("card", type=int)
    foreign.add_argument("--clear", action="store_true")
    foreign.add_argument("--pid", type=int, default=None)
    foreign.add_argument("--name", default="python3")
    foreign.add_argument("--hbm-mb", type=int, default=12288)
    smi = kinds.add_parser("npu-smi", help="npu-smi fail | slow SECONDS | ok")
    smi.add_argument("mode", choices=("fail", "slow", "ok"))
    smi.add_argument("seconds", type=float, nargs="?", default=5.0)
    return parser


def _up_specs(fleet: Fleet, args: argparse.Namespace) -> list[NodeSpec]:
    names = list(args.node)
    if args.nodes is not None:
        names += [f"node-{i}" for i in range(1, args.nodes + 1)]
    if not names:
        names = fleet.names() or [f"node-{i}" for i in range(1, 4)]
    seen = dict.fromkeys(names)
    return [NodeSpec(n, args.chip, args.cards, args.driver, args.firmware) for n in seen]


def print_status(fleet: Fleet, values: list[str] | None = None) -> None:
    """Print the node table, then the onboarding form values of the named nodes."""
    rows = fleet.status()
    header = ("NAME", "PORT", "STATE", "CHIP", "CARDS", "FAULTS")
    table = [header] + [
        (r.name, str(r.port or "-"), r.state, r.chip, str(r.cards), r.faults) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    pid = fleet.watcher_pid()
    print(f"\nfleet: {fleet.root}  watcher: {'pid ' + str(pid) if pid else 'not running'}")
    for name in values or []:
        print_onboarding(fleet.meta(name), sys.stdout)


def _django() -> None:
    """Django with the dashboard's settings (the CLI runs outside manage.py)."""
    import os

    from django.conf import settings

    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        raise RuntimeError(f"the dashboard's settings: {exc}") from None


def _onboard(fleet: Fleet, args: argparse.Namespace) -> int:
    meta = fleet.meta(args.node)
    _django()
    from django.contrib.auth import get_user_model

    from devsim.onboard import register
    from fleet.errors import DomainError

    admins = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk")
    actor = admins.filter(username=args.admin).first() if args.admin else admins.first()
    if actor is None:
        who = f"site admin {args.admin!r}" if args.admin else "site admin"
        raise RuntimeError(
            f"no {who} in the dashboard's database: run python manage.py createsuperuser "
            "(or make demo), or pass --admin USERNAME"
        )
    try:
        node = register(meta, actor, name=args.name, update=False, probe=not args.no_probe)
    except DomainError as exc:
        raise ValueError(f"{args.name or args.node}: {exc.message}") from None
    print(
        f"node {node.name} registered as {actor.get_username()}: {node.host}:{node.port}, "
        f"host key {node.host_key_fingerprint} accepted ({node.status}, "
        f"{node.cards.count()} cards)"
    )
    return 0


def _setup_demo(fleet: Fleet, args: argparse.Namespace) -> int:
    _django()
    from devsim.demo_setup import DemoSetup

    DemoSetup().run(fleet.root, args.secrets_dir)
    return 0


def _fault(fleet: Fleet, args: argparse.Namespace) -> None:
    kind = args.kind
    if kind in ("down", "up"):
        fleet.set_down(args.node, kind == "down")
    elif kind == "card-health":
        fleet.set_health(args.node, args.card, args.health)
    elif kind == "foreign-process":
        proc = fleet.set_foreign(
            args.node, args.card, clear=args.clear, pid=args.pid, proc_name=args.name,
            hbm_mb=args.hbm_mb,
        )  # fmt: skip
        if proc:
            print(f"foreign process pid {proc['pid']} ({proc['name']}) on card {args.card}")
    else:
        fleet.set_npu_smi(args.node, args.mode, args.seconds)
    print(f"{args.node}: {kind} applied")


def run(args: argparse.Namespace) -> int:
    """Execute a parsed command."""
    fleet = Fleet(args.dir)
    cmd = args.command
    if cmd == "up":
        metas = fleet.up(_up_specs(fleet, args), password_user=args.password_user)
        print_status(fleet, [m["name"] for m in metas])
    elif cmd == "demo":
        fleet.demo()
        try:
            from devsim.image import ensure_image

            print(f"test image: {ensure_image()}")
        except Exception as exc:  # the fleet works without docker; containers just can't start
            print(f"warning: no test image ({exc}); run scripts/ensure-docker.sh", file=sys.stderr)
        print_status(fleet)
    elif cmd == "down":
        stopped = fleet.down(remove_containers=not args.keep_containers, purge=args.purge)
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    elif cmd == "status":
        print_status(fleet, [] if args.brief else fleet.names())
    elif cmd == "onboard":
        return _onboard(fleet, args)
    elif cmd == "setup-demo":
        return _setup_demo(fleet, args)
    elif cmd == "ssh":
        print(ssh_command(fleet.paths, fleet.meta(args.node)))
    elif cmd == "image":
        from devsim.image import IMAGE, ensure_image

        print(f"{IMAGE} {ensure_image()}")
    elif cmd == "serving-image":
        from devsim.serving_image import IMAGE as SERVING_IMAGE
        from devsim.serving_image import ensure_serving_image

        print(f"{SERVING_IMAGE} {ensure_serving_image(force=args.force)}")
    elif cmd == "fault":
        _fault(fleet, args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m devsim`."""
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except (SshdError, ValueError, RuntimeError) as exc:
        print(f"devsim: error: {exc}", file=sys.stderr)
        return 1
