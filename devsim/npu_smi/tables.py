"""The `npu-smi info` tables: 910B-class (HBM column) and 310/310P ('Chip Device')."""

from __future__ import annotations

from .node import Node, jitter


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
    return out + process_rows(node, sep, chip=18, pid=14, memory=24, width=95)


def process_rows(
    node: Node, sep: str, *, chip: int, pid: int, memory: int, width: int
) -> list[str]:
    """The process section's rows, one block per NPU, in the layout's column widths."""
    out: list[str] = []
    for card in node.cards:
        npu = card["npu"]
        if not node.procs[npu]:
            out.append("| " + f"No running processes found in NPU {npu}".ljust(width) + "|")
        for proc in node.procs[npu]:
            name = str(proc.get("name", ""))[:25]
            out.append(
                f"| {npu:<8}{0:<{chip}}| {proc['pid']!s:<{pid}}| {name:<25}"
                f"| {proc['hbm_mb']!s:<{memory}}|"
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
    return out + process_rows(node, sep, chip=22, pid=16, memory=26, width=103)
