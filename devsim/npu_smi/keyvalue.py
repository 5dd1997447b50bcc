"""Key-value outputs of npu-smi: -l, -m and -t board/usages/common/health/topo."""

from __future__ import annotations

from .node import Node, jitter

KV_INDENT = " " * 8
HEALTH_CODES = {
    "OK": ("NA", "NA"),
    "Warning": ("80E18402", "node type=HBM, sensor type=Memory, event state=single-bit ecc error"),
    "Alarm": ("80CB8009", "node type=AICORE, sensor type=Temperature, event state=overheat"),
    "Critical": ("80E01801", "node type=SOC, sensor type=Memory, event state=uncorrectable error"),
}


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
