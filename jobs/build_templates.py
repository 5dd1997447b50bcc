"""Starting points for image builds: the manuals' inference-image recipe and a demo image."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# Table 1 of seed 000 (AscendCloud 6.3.909, vLLM 0.6.0); jobs/catalog/data/base_images.json row 1.
INFERENCE_BASE_IMAGE = (
    "swr.cn-southwest-2.myhuaweicloud.com/atelier/pytorch_2_1_ascend:"
    "pytorch_2.1.0-cann_8.0.rc3-py_3.9-hce_2.0.2406-aarch64-snt9b-20240910112800-2a95df3"
)

# The unzip chain is the manuals' Step 4 verbatim, run inside the base image instead of on the host.
INFERENCE_DOCKERFILE = """\
# Inference image for vLLM 0.6.0 on Ascend (AscendCloud 6.3.909).
# After seed 000, section 3 "Step 4: Build the inference image". Put AscendCloud-6.3.909-xxx.zip
# (from Support-E, see Table 2) in a folder on the node and give that folder as the build context.
# The build runs git clone over the internet: the node must reach the public network.
ARG BASE_IMAGE=@BASE_IMAGE@
FROM ${BASE_IMAGE}
USER root
WORKDIR /home/ma-user
COPY AscendCloud-*.zip ./
# Step 4's unzip chain as printed: the bundle, then the operator and LLM packages in it.
RUN unzip AscendCloud-*.zip -d ./AscendCloud \\
 && unzip ./AscendCloud/AscendCloud-OPP-*.zip -d ./AscendCloud/AscendCloud-OPP \\
 && unzip ./AscendCloud/AscendCloud-LLM-*.zip -d ./AscendCloud/AscendCloud-LLM \\
 && rm -f AscendCloud-*.zip
# The manuals print neither build_image.sh nor the package's Dockerfile; inside the image we run
# the package's inference build script (build.sh, section 2.5) instead.
RUN cd ./AscendCloud/AscendCloud-LLM/llm_inference/ascend_vllm/ && sh build.sh
# Containers start as ma-user (seed 002): files unpacked as root must belong to it.
RUN chown -R ma-user:ma-group /home/ma-user/AscendCloud
USER ma-user
""".replace("@BASE_IMAGE@", INFERENCE_BASE_IMAGE)

SIMULATED_DOCKERFILE = """\
# A small image for the simulated fleet: the local busybox and a build argument, no registry.
# Files uploaded with the form land next to this Dockerfile: add `COPY name /srv/` to use them.
FROM npufleet/busybox:local
ARG GREETING=hello
RUN mkdir -p /srv && echo "$GREETING from the build" > /srv/greeting.txt
RUN cat /srv/greeting.txt
CMD ["cat", "/srv/greeting.txt"]
"""


@dataclass(frozen=True)
class Provenance:
    """Where a template comes from in the manuals."""

    seed: str
    section: str
    quote: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildTemplate:
    """A Dockerfile with its build arguments and, for folder builds, a suggested context."""

    key: str
    title: str
    description: str
    dockerfile: str
    build_args: dict[str, str]
    tag: str
    context_path_hint: str = ""
    provenance: Provenance | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and the build form."""
        return asdict(self)


TEMPLATES: tuple[BuildTemplate, ...] = (
    BuildTemplate(
        key="ascend-vllm-inference",
        title="vLLM 0.6.0 inference image (manuals, AscendCloud 6.3.909)",
        description=(
            "The manuals' inference image: the Table 1 base image with the AscendCloud-LLM and "
            "AscendCloud-OPP packages unpacked and the ascend_vllm build script run. Build it from "
            "the folder on the node that holds AscendCloud-6.3.909-xxx.zip."
        ),
        dockerfile=INFERENCE_DOCKERFILE,
        build_args={"BASE_IMAGE": INFERENCE_BASE_IMAGE},
        tag="ascend-vllm:0.6.0-6.3.909",
        context_path_hint="/root/AscendCloud-upload",
        provenance=Provenance(
            seed="000 (Server 6.3.909 LLM inference guide)",
            section=(
                "§3 Step 4 'Build the inference image' (步骤四 制作推理镜像); §2.4 Table 2 "
                "(packages); §2.5 package structure; Table 1 base image (镜像版本)"
            ),
            quote=(
                "unzip AscendCloud-*.zip -d ./AscendCloud && unzip ./AscendCloud/AscendCloud-OPP-*"
                ".zip -d ./AscendCloud/AscendCloud-OPP && unzip ./AscendCloud/AscendCloud-LLM-*.zip"
                " -d ./AscendCloud/AscendCloud-LLM && cd ./AscendCloud/AscendCloud-LLM/"
                "llm_inference/ascend_vllm/ && sh build_image.sh --base-image=${base_image} "
                "--image-name=${image_name}"
            ),
            notes=(
                "BASE_IMAGE is --base-image (Table 1); the tag is --image-name (your choice).",
                "The unzip chain is verbatim. The manuals do not print the package's Dockerfile "
                "nor build_image.sh; running build.sh inside the base image is an adaptation.",
                "To use the package's own Dockerfile instead, unzip on the node and build the "
                "folder AscendCloud/AscendCloud-LLM/llm_inference/ascend_vllm with the Dockerfile "
                "field empty (check its ARG line for the base-image argument name).",
                "The chown to ma-user:ma-group follows seed 002 (containers start as ma-user).",
            ),
        ),
    ),
    BuildTemplate(
        key="simulated-fleet",
        title="Demo image for the simulated fleet",
        description=(
            "FROM npufleet/busybox:local with a GREETING build argument; builds in seconds "
            "without any registry."
        ),
        dockerfile=SIMULATED_DOCKERFILE,
        build_args={"GREETING": "hello"},
        tag="npufleet-demo/hello:1",
    ),
)


def all_templates() -> list[dict[str, Any]]:
    """Every template as plain data, the manuals' one first."""
    return [t.as_dict() for t in TEMPLATES]


def template(key: str) -> BuildTemplate | None:
    """The template with this key, if any."""
    return next((t for t in TEMPLATES if t.key == key), None)
