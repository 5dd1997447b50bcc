"""npu-smi command line: argument checks, fault switches and dispatch to the renderers."""

from __future__ import annotations

import os
import sys
import time

from .keyvalue import (
    render_board,
    render_common,
    render_health,
    render_list,
    render_mapping,
    render_topo,
    render_usages,
)
from .node import CliError, Node, load_json
from .tables import render_310p, render_910b

DCMI_ERROR = (
    "DrvMngGetConsoleLogLevel failed. (g_conLogLevel=3)\n"
    "dcmi model initialized failed, because the device is used. ret is -8020"
)
USAGE = """\
Usage: npu-smi info [-h | -l | -m | -t type] [Options...]

Commands:
        -h                             Show this help text.
        -l                             Show all device list.
        -m                             Show all chip mapping information.
        -t <type>                      Query information of the given type: board, usages,
                                       common, health, topo.

Options:
        -i %d                          Card ID
        -c %d                          Chip ID
"""


def node_dir(explicit: str | None) -> str:
    """The node folder: given by the launcher, else $DEVSIM_NODE_DIR, else from argv[0]."""
    here = os.path.dirname(os.path.abspath(sys.argv[0]))  # <node>/usr/local/sbin
    guess = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    for candidate in (explicit, os.environ.get("DEVSIM_NODE_DIR"), guess):
        if candidate and os.path.isfile(os.path.join(candidate, "state.json")):
            return candidate
    print(DCMI_ERROR)
    sys.exit(1)


def parse_info(args: list[str]) -> dict[str, str]:
    """Parse the options after `info`; raise CliError on anything npu-smi would refuse."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(args):
        tok = args[i]
        if tok in ("-l", "-m", "-h"):
            opts[tok] = ""
            i += 1
        elif tok in ("-t", "-i", "-c") and i + 1 < len(args):
            opts[tok] = args[i + 1]
            i += 2
        else:
            raise CliError(f"Invalid parameter: {tok}.")
    for key in ("-i", "-c"):
        if key in opts and not opts[key].isdigit():
            raise CliError(f"The parameter {key} value {opts[key]} is invalid.")
    return opts


def run(argv: list[str], node: Node) -> list[str]:
    """Dispatch a command line to its renderer."""
    if not argv or argv[0] != "info":
        raise CliError(f"Invalid parameter: {argv[0]}." if argv else "Missing command.")
    opts = parse_info(argv[1:])
    if "-h" in opts:
        return USAGE.rstrip("\n").splitlines()
    if "-l" in opts:
        return render_list(node)
    if "-m" in opts:
        return render_mapping(node)
    kind = opts.get("-t")
    if kind is None:
        if "-i" in opts or "-c" in opts:
            raise CliError("The parameter -t is required.")
        return render_910b(node) if node.s["layout"] == "910b" else render_310p(node)
    if kind == "topo":
        return render_topo(node)
    per_card = {
        "board": render_board,
        "usages": render_usages,
        "common": render_common,
        "health": render_health,
    }
    if kind not in per_card:
        raise CliError(f"The type {kind} is not supported.")
    if "-i" not in opts:
        raise CliError("The parameter -i is required.")
    if "-c" in opts and opts["-c"] != "0":
        raise CliError(f"The chip with id {opts['-c']} does not exist.")
    return per_card[kind](node, int(opts["-i"]))


def main(argv: list[str], ndir: str | None = None) -> int:
    """Entry point: apply the node's npu-smi fault, then print the requested output."""
    ndir = node_dir(ndir)
    state = load_json(os.path.join(ndir, "state.json"), {})
    fault = state.get("faults", {}).get("npu_smi", {})
    mode = fault.get("mode", "ok")
    if mode == "slow":
        time.sleep(float(fault.get("seconds", 5)))
    if mode == "fail":
        print(DCMI_ERROR)
        return 1
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    containers = load_json(state.get("containers_file", ""), {})
    try:
        lines = run(argv, Node(state, containers))
    except CliError as err:
        print(f"{err}\n{USAGE}", end="")
        return 1
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
