"""Catalog models: the manuals' tables as admin-editable rows, and recipes with their versions.

They moved here from `jobs`; their tables keep the old `jobs_*` names.
"""

from .catalog import (
    VERSION_RE,
    AscendSpeedSetting,
    BaseImage,
    CardRequirement,
    CatalogRow,
    LlamaFactorySetting,
    ModelAlias,
    ModelSupport,
    SoftwareStack,
    VllmVersion,
)
from .recipe import (
    CONTENT_FIELDS,
    INFERENCE_FIELDS,
    TRAINING_FIELDS,
    TRAINING_ONLY,
    Recipe,
    RecipeVersion,
)

__all__ = [
    "CONTENT_FIELDS",
    "INFERENCE_FIELDS",
    "TRAINING_FIELDS",
    "TRAINING_ONLY",
    "VERSION_RE",
    "AscendSpeedSetting",
    "BaseImage",
    "CardRequirement",
    "CatalogRow",
    "LlamaFactorySetting",
    "ModelAlias",
    "ModelSupport",
    "Recipe",
    "RecipeVersion",
    "SoftwareStack",
    "VllmVersion",
]
