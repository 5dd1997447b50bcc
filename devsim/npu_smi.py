#!/usr/bin/python3 -IS
"""Simulated Huawei npu-smi: prints the real tool's formats from a devsim node's state files."""

from __future__ import annotations

import os
import sys
import time
import zlib

KV_INDENT = " " * 8
DCMI_ERROR = (
    "DrvMngGetConsoleLogLevel failed. (g_conLogLevel=3)\n"
    "dcmi model initialized failed, because the device is used. ret is -8020"
)
USAGE = """\
Usage: npu-smi info <watch|proc|-h|-m|-l|-t type> [Options...]

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
HEALTH_CODES = {
    "OK": ("NA", "NA"),
    "Warning": ("80E18402", "node type=HBM, sensor type=Memory, event state=single-bit ecc error"),
    "Alarm": ("80CB8009", "node type=AICORE, sensor type=Temperature, event state=overheat"),
    "Critical": ("80E01801", "node type=SOC, sensor type=Memory, event state=uncorrectable error"),
}


class CliError(Exception):
    """A usage error reported the way npu-smi reports it."""


class _ScanContext:
    """Settings the C JSON scanner reads (importing the json package costs ~8 ms)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float
    memo: dict = {}


def parse_json(text: str) -> dict:
    """Parse a JSON document with the C scanner directly, else with the json module."""
    try:
        import _json

        return _json.make_scanner(_ScanContext())(text.strip(), 0)[0]
    except ImportError:
        import json

        return json.loads(text)


def load_json(path: str, default: dict) -> dict:
    """Read a JSON file, falling back to a default when it is missing or half-written."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = parse_json(fh.read())
    except Exception:  # missing, unreadable or torn file: behave as if it were empty
        return default
    return doc if isinstance(doc, dict) else default


def node_dir(explicit: str | None) -> str:
    """The node folder: given by the launcher, else $DEVSIM_NODE_DIR, else from argv[0]."""
    here = os.path.dirname(os.path.abspath(sys.argv[0]))  # <node>/usr/local/sbin
    guess = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    for candidate in (explicit, os.environ.get("DEVSIM_NODE_DIR"), guess):
        if candidate and os.path.isfile(os.path.join(candidate, "state.json")):
            return candidate
    print(DCMI_ERROR)
    sys.exit(1)


def jitter(key: str, span: int) -> int:
    """A stable pseudo-random integer in [0, span) for a key."""
    h = (zlib.crc32(key.encode()) * 0x9E3779B1) & 0xFFFFFFFF
    return (h ^ (h >> 15)) % max(span, 1)


class Node:
    """The node's state plus live processes, with the derived per-card figures."""

    def __init__(self, state: dict, containers: dict) -> None:
        self.s = state
        self.name = state["name"]
        self.cards: list[dict] = state["cards"]
        faults = state.get("faults", {})
        self.health: dict = faults.get("health", {})
        live = containers.get("nodes", {}).get(self.name, {})
        foreign = faults.get("foreign", {})
        self.procs: dict[int, list[dict]] = {}
        for card in self.cards:
            key = str(card["npu"])
            rows = list(live.get(key, [])) + list(foreign.get(key, []))
            self.procs[card["npu"]] = sorted(rows, key=lambda p: int(p["pid"]))
        self.tick = int(time.time() // 3)

    def card(self, npu: int) -> dict:
        """The card with this NPU id, or a usage error."""
        for card in self.cards:
            if card["npu"] == npu:
                return card
        raise CliError(f"The device with id {npu} does not exist.")

    def health_of(self, npu: int) -> str:
        """Health word of a card."""
        return self.health.get(str(npu), "OK")

    def busy(self, npu: int) -> bool:
        """Whether any process holds the card."""
        return bool(self.procs[npu])

    def mem_used(self, npu: int) -> int:
        """Used HBM (or DDR on 310P) in MB: the idle base plus every process."""
        total = self.s["hbm_mb"] if self.s["layout"] == "910b" else self.s["ddr_mb"]
        span = max(1, min(40, self.s["mem_base_mb"] // 4))
        base = self.s["mem_base_mb"] + jitter(f"{self.name}/{npu}/mem", span) - span // 2
        used = base + sum(int(p["hbm_mb"]) for p in self.procs[npu])
        return max(0, min(used, total - 1))

    def aicore(self, npu: int) -> int:
        """AI Core utilisation in percent."""
        if not self.busy(npu):
            return 0
        return 20 + jitter(f"{self.name}/{npu}/{self.tick}/ai", 60)

    def power(self, npu: int) -> str:
        """Power draw in W as printed (NA on 310P)."""
        if self.s.get("power_idle_w") is None:
            return "NA"
        watts = self.s["power_idle_w"] + jitter(f"{self.name}/{npu}/pw", 80) / 10
        watts += jitter(f"{self.name}/{npu}/{self.tick}/pw", 30) / 10
        if self.busy(npu):
            watts += 60 + self.aicore(npu) * 1.5
        return f"{watts:.1f}"

    def temp(self, npu: int) -> int:
        """Chip temperature in C."""
        base = self.s.get("temp_idle_c", 34) + jitter(f"{self.name}/{npu}/t", 6)
        base += jitter(f"{self.name}/{npu}/{self.tick}/t", 2)
        return base + (12 if self.busy(npu) else 0)


def usage_pair(used: int, total: int, width: int) -> str:
    """An 'a / b' cell, padded like npu-smi pads it."""
    return f"{used:<{width}}/ {total}"


def render_910b(node: Node) -> list[str]:
    """The 910B-class table: one chip per NPU, HBM column, 96-wide."""
    s = node.s
    ver = s["npu_smi_version"]
    top = "+" + "-" * 27 + "+" + "-" * 15 + "+" + "-" * 52 + "+"
    sep = "+" + "=" * 27 + "+" + "=" * 15 + "+" + "=" * 52 + "+"
    out = [
        "+" + "-" * 96 + "+",
        "| " + f"npu-smi {ver}".ljust(33) + f"Version: {s['driver']}".ljust(62) + "|",
        top,
        "| NPU   Name                | Health        | Power(W)    Temp(C)           "
        "Hugepages-Usage(page)|",
        "| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  "
        "HBM-Usage(MB)        |",
        sep,
    ]
    for card in node.cards:
        npu = card["npu"]
        ddr_used = s["ddr_base_mb"] + jitter(f"{node.name}/{npu}/ddr", 300) if s["ddr_mb"] else 0
        cell1 = node.power(npu).ljust(12) + str(node.temp(npu)).ljust(18)
        cell1 += usage_pair(0, 0, 5).ljust(21)
        cell2 = str(node.aicore(npu)).ljust(12) + usage_pair(ddr_used, s["ddr_mb"], 5).ljust(18)
        cell2 += usage_pair(node.mem_used(npu), s["hbm_mb"], 5).ljust(21)
        out.append(f"| {npu:<6}{s['chip']:<20}| {node.health_of(npu):<14}| {cell1}|")
        out.append(f"| {0:<26}| {card['bus_id']:<14}| {cell2}|")
        out.append(sep)
    out.append(top)
    out.append(
        "| NPU     Chip              | Process id    | Process name             "
        "| Process memory(MB)      |"
    )
    out.append(sep)
    for card in node.cards:
        npu = card["npu"]
        if not node.procs[npu]:
            out.append("| " + f"No running processes found in NPU {npu}".ljust(95) + "|")
        for proc in node.procs[npu]:
            name = str(proc.get("name", ""))[:25]
            out.append(
                f"| {npu:<8}{0:<18}| {proc['pid']!s:<14}| {name:<25}| {proc['hbm_mb']!s:<24}|"
            )
        out.append(sep)
    return out


def render_310p(node: Node) -> list[str]:
    """The 310/310P table: 'Chip Device' header, no HBM column, 104-wide."""
    s = node.s
    ver = s["npu_smi_version"]
    top = "+" + "-" * 31 + "+" + "-" * 17 + "+" + "-" * 54 + "+"
    sep = "+" + "=" * 31 + "+" + "=" * 17 + "+" + "=" * 54 + "+"
    out = [
        "+" + "-" * 104 + "+",
        "| " + f"npu-smi {ver}".ljust(49) + f"Version: {s['driver']}".ljust(54) + "|",
        top,
        "| NPU     Name                  | Health          | Power(W)     Temp(C)           "
        "Hugepages-Usage(page) |",
        "| Chip    Device                | Bus-Id          | AICore(%)    Memory-Usage(MB)  "
        "                      |",
        sep,
    ]
    for card in node.cards:
        npu = card["npu"]
        cell1 = node.power(npu).ljust(13) + str(node.temp(npu)).ljust(18)
        cell1 += usage_pair(0, 0, 6).ljust(22)
        cell2 = str(node.aicore(npu)).ljust(13)
        cell2 += usage_pair(node.mem_used(npu), s["ddr_mb"], 5).ljust(40)
        out.append(f"| {npu:<8}{s['chip']:<22}| {node.health_of(npu):<16}| {cell1}|")
        out.append(f"| {0:<8}{0:<22}| {card['bus_id']:<16}| {cell2}|")
        out.append(sep)
    out.append(top)
    out.append(
        "| NPU     Chip                  | Process id      | Process name             "
        "| Process memory(MB)        |"
    )
    out.append(sep)
    for card in node.cards:
        npu = card["npu"]
        if not node.procs[npu]:
            out.append("| " + f"No running processes found in NPU {npu}".ljust(103) + "|")
        for proc in node.procs[npu]:
            name = str(proc.get("name", ""))[:25]
            out.append(
                f"| {npu:<8}{0:<22}| {proc['pid']!s:<16}| {name:<25}| {proc['hbm_mb']!s:<26}|"
            )
        out.append(sep)
    return out


def kv(key: str, value: object) -> str:
    """One 'key : value' line of the key-value outputs."""
    return f"{KV_INDENT}{key:<31}: {value}"


def render_list(node: Node) -> list[str]:
    """`npu-smi info -l`."""
    out = [kv("Total Count", len(node.cards))]
    for card in node.cards:
        out += ["", kv("NPU ID", card["npu"]), kv("Chip Count", 1)]
    return out


def render_mapping(node: Node) -> list[str]:
    """`npu-smi info -m`."""
    cols = ("NPU ID", "Chip ID", "Chip Logic ID", "Chip Name")
    out = [KV_INDENT + "".join(c.ljust(31) for c in cols[:3]) + cols[3].ljust(30)]
    for logic, card in enumerate(node.cards):
        npu = str(card["npu"])
        out.append(
            KV_INDENT
            + npu.ljust(31)
            + "0".ljust(31)
            + str(logic).ljust(31)
            + "Ascend "
            + node.s["chip"]
        )
        if node.s["layout"] == "910b":
            out.append(KV_INDENT + npu.ljust(31) + "1".ljust(31) + "-".ljust(31) + "Mcu".ljust(30))
    return out


def render_board(node: Node, npu: int) -> list[str]:
    """`npu-smi info -t board -i N`."""
    card, board = node.card(npu), node.s["board"]
    return [
        kv("NPU ID", npu),
        kv("Product Name", board["product"]),
        kv("Model", "NA"),
        kv("Manufacturer", "Huawei"),
        kv("Serial Number", card["serial"]),
        kv("Software Version", node.s["driver"]),
        kv("Firmware Version", node.s["firmware"]),
        kv("Compatibility", "OK"),
        kv("Board ID", board["board_id"]),
        kv("PCB ID", "A"),
        kv("BOM ID", "1"),
        kv("PCIe Bus Info", card["bus_id"]),
        kv("Slot ID", card["npu"]),
        kv("Class ID", "NA"),
        kv("PCI Vendor ID", "0x19E5"),
        kv("PCI Device ID", board["device_id"]),
        kv("Subsystem Vendor ID", "0x19E5"),
        kv("Subsystem Device ID", board["subsystem_device_id"]),
        kv("Chip Count", 1),
    ]


def mem_rate(node: Node, npu: int) -> int:
    """HBM (or DDR on 310P) usage in percent."""
    total = node.s["hbm_mb"] if node.s["layout"] == "910b" else node.s["ddr_mb"]
    return node.mem_used(npu) * 100 // total


def render_usages(node: Node, npu: int) -> list[str]:
    """`npu-smi info -t usages -i N`."""
    node.card(npu)
    s, ai = node.s, node.aicore(npu)
    hbm = s["layout"] == "910b"
    return [
        kv("NPU ID", npu),
        kv("Chip Count", 1),
        "",
        kv("DDR Capacity(MB)", 0 if hbm else s["ddr_mb"]),
        kv("DDR Usage Rate(%)", 0 if hbm else mem_rate(node, npu)),
        kv("DDR Hugepages Total(page)", 0),
        kv("DDR Hugepages Usage Rate(%)", 0),
        kv("HBM Capacity(MB)", s["hbm_mb"]),
        kv("HBM Usage Rate(%)", mem_rate(node, npu) if hbm else 0),
        kv("Aicore Usage Rate(%)", ai),
        kv("Aivector Usage Rate(%)", ai // 2),
        kv("Aicpu Usage Rate(%)", 0),
        kv("Ctrlcpu Usage Rate(%)", 3 + jitter(f"{node.name}/{npu}/{node.tick}/cpu", 6)),
        kv("DDR Bandwidth Usage Rate(%)", 0),
        kv("HBM Bandwidth Usage Rate(%)", ai // 3),
        kv("NPU Utilization(%)", ai),
        kv("Aicube Usage Rate(%)", ai),
        kv("Chip ID", 0),
    ]


def render_common(node: Node, npu: int) -> list[str]:
    """`npu-smi info -t common -i N`."""
    node.card(npu)
    s = node.s
    out = [
        kv("NPU ID", npu),
        kv("Chip Count", 1),
        "",
        kv("Chip ID", 0),
        kv("Memory Usage Rate(%)", 0 if s["layout"] == "910b" else mem_rate(node, npu)),
        kv("HBM Usage Rate(%)", mem_rate(node, npu) if s["layout"] == "910b" else 0),
        kv("Aicore Usage Rate(%)", node.aicore(npu)),
        kv("Aicore Freq(MHZ)", s["aicore_freq_mhz"]),
        kv("Aicore curFreq(MHZ)", s["aicore_freq_mhz"] if node.busy(npu) else 800),
        kv("Aicore Count", s["aicore_count"]),
        kv("Temperature(C)", node.temp(npu)),
        kv("NPU Real-time Power(W)", node.power(npu)),
    ]
    if s["layout"] == "910b":
        out += ["", kv("Chip Name", "mcu"), kv("Temperature(C)", node.temp(npu) - 8)]
    return out


def render_health(node: Node, npu: int) -> list[str]:
    """`npu-smi info -t health -i N [-c 0]`."""
    node.card(npu)
    word = node.health_of(npu)
    code, info = HEALTH_CODES.get(word, HEALTH_CODES["Critical"])
    return [kv("Health Status", word), kv("Error Code", code), kv("Error Information", info)]


def render_topo(node: Node) -> list[str]:
    """`npu-smi info -t topo`."""
    n = len(node.cards)
    affinity = ["144-167", "144-167", "96-119", "96-119", "0-23", "0-23", "48-71", "48-71"]
    link = "HCCS" if node.s["layout"] == "910b" else "PIX"
    out = ["\t   " + "".join(f"NPU{c['npu']}".ljust(11) for c in node.cards) + "CPU Affinity"]
    for i, card in enumerate(node.cards):
        cells = ["X" if j == i else link for j in range(n)]
        aff = affinity[i % len(affinity)]
        out.append(f"NPU{card['npu']}".ljust(11) + "".join(c.ljust(11) for c in cells) + aff)
    return [
        *out,
        "",
        "Legend:",
        "",
        "  X    = Self",
        "  SYS  = Path traversing PCIe and NUMA nodes. Nodes are connected through SMP, "
        "such as QPI, UPI.",
        "  PHB  = Path traversing PCIe and the PCIe host bridge of a CPU.",
        "  PIX  = Path traversing a single PCIe switch",
        "  PXB  = Path traversing multiple PCIe switches",
        "  HCCS = Connection traversing HCCS.",
        "  NA   = Unknown relationship.",
    ]


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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
