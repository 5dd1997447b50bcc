"""Jobs models: the catalog from the manuals and recipes (one module per topic)."""

from .catalog import (
    AscendSpeedSetting,
    BaseImage,
    CardRequirement,
    LlamaFactorySetting,
    ModelAlias,
    ModelSupport,
    SoftwareStack,
    VllmVersion,
)
from .job import Deployment, Job, LogChunk, NodeImage
from .policy import AllowedImagePrefix, PolicyException
from .recipe import CONTENT_FIELDS, INFERENCE_FIELDS, TRAINING_FIELDS, Recipe, RecipeVersion

__all__ = [
    "CONTENT_FIELDS",
    "INFERENCE_FIELDS",
    "TRAINING_FIELDS",
    "AllowedImagePrefix",
    "AscendSpeedSetting",
    "BaseImage",
    "CardRequirement",
    "Deployment",
    "Job",
    "LlamaFactorySetting",
    "LogChunk",
    "ModelAlias",
    "ModelSupport",
    "NodeImage",
    "PolicyException",
    "Recipe",
    "RecipeVersion",
    "SoftwareStack",
    "VllmVersion",
]
