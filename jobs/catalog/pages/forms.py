"""Recipe and catalog page forms: they parse the input; the catalog services judge its values."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from fleet.booking.models import Team
from jobs.catalog import choices
from jobs.catalog.choices import Dtype, Framework, KvCacheDtype, Quantization, RecipeKind, Strategy
from jobs.catalog.models import CardRequirement, ModelSupport, RecipeVersion, VllmVersion
from jobs.catalog.models.recipe import INFERENCE_ONLY, TRAINING_ONLY

LINES = {"rows": 3, "spellcheck": "false"}
FIELDSETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Recipe", ("name", "team", "change_note")),
    ("Model and image", ("model", "weights_path", "image", "vllm_version")),
    (
        "Training layout",
        (
            "framework",
            "strategy",
            "seq_len",
            "nodes",
            "cards_per_node",
            "tensor_parallel_size",
            "pipeline_parallel_size",
            "micro_batch_size",
            "gradient_accumulation_steps",
            "deepspeed",
        ),
    ),
    (
        "Cards, lengths and memory",
        (
            "tensor_parallel_size",
            "max_model_len",
            "max_num_seqs",
            "max_num_batched_tokens",
            "gpu_memory_utilization",
            "dtype",
            "block_size",
        ),
    ),
    (
        "Quantization and server",
        (
            "quantization",
            "kv_cache_dtype",
            "quantization_param_path",
            "served_model_name",
            "port",
            "trust_remote_code",
        ),
    ),
    ("Environment, arguments and mounts", ("env", "extra_args", "mounts")),
)


def _int(label: str, help_text: str = "", **kw: Any) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, help_text=help_text, **kw)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


class RecipeForm(forms.Form):
    """Every recipe field; env, extra args and mounts one per line."""

    name = forms.CharField(max_length=100)
    team: forms.ModelChoiceField[Team] = forms.ModelChoiceField(queryset=None, empty_label=None)
    change_note = forms.CharField(label="What changed", max_length=300, required=False)
    model = forms.CharField(max_length=100, help_text="As the catalog lists it, e.g. qwen2-7b.")
    weights_path = forms.CharField(
        label="Weights path on the node", max_length=255, required=False, strip=False
    )
    image = forms.CharField(max_length=400, help_text="registry/repository:tag")
    vllm_version = forms.ChoiceField(label="vLLM version", choices=())
    entrypoint = forms.CharField(widget=forms.HiddenInput, required=False)
    tensor_parallel_size = _int("Tensor-parallel size", "Cards: 1, 2, 4 or 8.")
    max_model_len = _int("Max model len", "Tokens (K = 1024).")
    max_num_seqs = _int("Max num seqs")
    max_num_batched_tokens = _int("Max num batched tokens", "Blank: same as max model len.")
    gpu_memory_utilization = forms.FloatField(label="GPU memory utilization", required=False)
    dtype = forms.ChoiceField(choices=Dtype.choices)
    block_size = _int("Block size")
    quantization = forms.ChoiceField(choices=Quantization.choices, required=False)
    kv_cache_dtype = forms.ChoiceField(
        label="KV cache dtype", choices=KvCacheDtype.choices, required=False
    )
    quantization_param_path = forms.CharField(
        label="Quantization param path", max_length=255, required=False, strip=False
    )
    served_model_name = forms.CharField(max_length=200, required=False, strip=False)
    port = _int("Port")
    trust_remote_code = forms.BooleanField(required=False)
    env = forms.CharField(
        label="Environment",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs=LINES),
        help_text="NAME=value, one per line.",
    )
    extra_args = forms.CharField(
        label="Extra arguments",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs=LINES),
        help_text="One option per line: --flag or --flag=value.",
    )
    mounts = forms.CharField(
        label="Extra mounts",
        required=False,
        widget=forms.Textarea(attrs=LINES),
        help_text="host:container or host:container:ro, one per line.",
    )
    framework = forms.ChoiceField(choices=Framework.choices, required=False)
    strategy = forms.ChoiceField(choices=Strategy.choices, required=False)
    seq_len = _int("Sequence length")
    nodes = _int("Nodes")
    cards_per_node = _int("Cards per node")
    pipeline_parallel_size = _int("Pipeline-parallel size")
    micro_batch_size = _int("Micro batch size")
    gradient_accumulation_steps = _int("Gradient accumulation steps")
    deepspeed = forms.CharField(label="DeepSpeed", max_length=20, required=False)

    def __init__(self, *args: Any, kind: str, teams: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        versions = list(VllmVersion.objects.values_list("version", flat=True))
        cast(forms.ChoiceField, self.fields["vllm_version"]).choices = [(v, v) for v in versions]
        skip = INFERENCE_ONLY if kind == RecipeKind.TRAINING else TRAINING_ONLY
        for name in skip:
            del self.fields[name]
        if teams is None:
            del self.fields["team"]
        else:
            cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """(legend, fields) groups for the page; each field once, empty groups left out."""
        used: set[str] = set()
        out = []
        for legend, names in FIELDSETS:
            present = [n for n in names if n in self.fields and n not in used]
            if legend == "Training layout" and self.kind != RecipeKind.TRAINING:
                continue
            used.update(present)
            if present:
                out.append((legend, [self[n] for n in present]))
        return out

    def clean_env(self) -> dict[str, str]:
        env = {}
        for number, line in enumerate(self.cleaned_data["env"].splitlines(), start=1):
            if not line.strip():
                continue
            if "=" not in line:
                raise forms.ValidationError(f"line {number}: write NAME=value")
            key, value = line.split("=", 1)
            env[key.strip()] = value
        return env

    def clean_extra_args(self) -> list[str]:
        return _lines(self.cleaned_data["extra_args"])

    def clean_mounts(self) -> list[dict[str, Any]]:
        mounts = []
        for number, line in enumerate(_lines(self.cleaned_data["mounts"]), start=1):
            parts = line.split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "ro"):
                raise forms.ValidationError(
                    f"line {number}: write host:container or host:container:ro"
                )
            mounts.append(
                {"host_path": parts[0], "container_path": parts[1], "read_only": len(parts) == 3}
            )
        return mounts

    def values(self) -> dict[str, Any]:
        """The recipe values (content fields only), blanks as the model's defaults."""
        skip = {"name", "team", "change_note", "entrypoint"}
        out = {k: v for k, v in self.cleaned_data.items() if k not in skip}
        for name in ("max_model_len", "max_num_seqs", "block_size", "port", "nodes"):
            if name in out and out[name] is None:
                out.pop(name)
        if "gpu_memory_utilization" in out and out["gpu_memory_utilization"] is None:
            out.pop("gpu_memory_utilization")
        return out


def initial_from(version: RecipeVersion | None, kind: str) -> dict[str, Any]:
    """Form initial values: a version's content, or the manuals' defaults."""
    if version is None:
        base = {"vllm_version": choices.DEFAULT_VLLM_VERSION, "tensor_parallel_size": 1}
        base.update(
            max_model_len=choices.DEFAULT_MAX_MODEL_LEN,
            max_num_seqs=choices.DEFAULT_MAX_NUM_SEQS,
            max_num_batched_tokens=choices.DEFAULT_MAX_NUM_BATCHED_TOKENS,
            gpu_memory_utilization=choices.DEFAULT_GPU_MEMORY_UTILIZATION,
            block_size=choices.DEFAULT_BLOCK_SIZE,
            port=choices.DEFAULT_PORT,
            trust_remote_code=True,
            dtype=Dtype.FLOAT16,
        )
        if kind == RecipeKind.TRAINING:
            base.update(framework=Framework.ASCENDSPEED, strategy=Strategy.PRETRAIN)
            base.update(seq_len=4096, nodes=1, cards_per_node=8, tensor_parallel_size=None)
        return base
    data: dict[str, Any] = version.content()
    data["env"] = "\n".join(f"{k}={v}" for k, v in data["env"].items())
    data["extra_args"] = "\n".join(data["extra_args"])
    data["mounts"] = "\n".join(
        f"{m['host_path']}:{m['container_path']}" + (":ro" if m.get("read_only") else "")
        for m in data["mounts"]
    )
    return data


class VersionForm(forms.Form):
    version = forms.RegexField(r"^[0-9]+\.[0-9]+(\.[0-9]+)?\Z", max_length=20, label="New version")
    copy_from = forms.ModelChoiceField(
        queryset=VllmVersion.objects.all(), required=False, to_field_name="version"
    )
    note = forms.CharField(required=False, max_length=300)


class CardRowForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["row"].required = False
        self.fields["row"].help_text = "Blank: the next free number."

    class Meta:
        model = CardRequirement
        fields = ["row", "model", "min_cards_32", "max_model_len_k_32"]
        fields += ["min_cards_64", "max_model_len_k_64", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}


class SupportRowForm(forms.ModelForm):
    weight_urls = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="One URL per line."
    )

    class Meta:
        model = ModelSupport
        fields = ["row", "model", "fp16_bf16", "w4a16", "w8a8", "w8a16", "kv_cache_int8"]
        fields += ["weights_text", "weight_urls", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["row"].required = False
        if self.instance.pk and not self.is_bound:
            self.initial["weight_urls"] = "\n".join(self.instance.weight_urls)

    def clean_weight_urls(self) -> list[str]:
        return _lines(self.cleaned_data["weight_urls"])
