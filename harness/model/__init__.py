"""The host-side model layer: read, write, requantize and quantize .tflite models."""

from .tflite import Model, ModelError, Operator, QuantParams, Tensor, load_model
from .writer import ModelBuilder, build_model, quant, write_model

__all__ = [
    "Model",
    "ModelBuilder",
    "ModelError",
    "Operator",
    "QuantParams",
    "Tensor",
    "build_model",
    "load_model",
    "quant",
    "write_model",
]
