"""Accuracy on a labelled data set: the device's, the reference's (tflite-micro) and, optionally,
the float model's, for one model in an InferenceSession.

Classifiers are scored by top-1 accuracy (argmax of the first output; the int8 scale is positive,
so the argmax of the quantized scores is the argmax of the real ones). An anomaly detector, a
model whose one output has its one input's shape (a reconstruction), is scored as MLPerf Tiny's
accuracy mode does: the anomaly score of a sample is the mean squared error between the input and
its reconstruction, in real values, and the metric is the ROC AUC of those scores for labels
0 (normal) and 1 (anomalous).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import HarnessError
from ..model.tflite import Model, load_model
from ..reference import Reference
from .compare import Verdict
from .dataset import Dataset, dequantize, load_dataset, quantize
from .session import InferenceResult


class _HasModel(Protocol):
    @property
    def model(self) -> Model: ...


@dataclass(frozen=True)
class ModelView:
    """`session.packed` of a session that runs a model without packing it (a user's firmware)."""

    model: Model


class DatasetSession(Protocol):
    """What a data-set run needs of a session: the harness's engine (InferenceSession), a user's
    firmware (harness.firmware_runner.FirmwareSession) or an MLPerf Tiny firmware
    (harness.mlperf.session) — the model, and a run over given input sets."""

    @property
    def packed(self) -> _HasModel: ...

    def run(self, inputs: Any = None, count: int = 1, seed: int = 0) -> InferenceResult: ...


@dataclass
class Accuracy:
    metric: str  # "top1" or "auc"
    samples: int
    device: float
    reference: float
    float_model: float | None = None
    classes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = (
            f"{self.metric} on {self.samples} samples: device {self.device:.4f}, "
            f"reference (tflite-micro) {self.reference:.4f}"
        )
        return text + (f", float model {self.float_model:.4f}" if self.float_model is not None else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "samples": self.samples,
            "device": self.device,
            "reference": self.reference,
            "float_model": self.float_model,
            "classes": self.classes,
        }


@dataclass
class DatasetResult:
    """The bit-exactness of every sample (`inference`) and the accuracies."""

    inference: InferenceResult
    accuracy: Accuracy

    @property
    def verdict(self) -> Verdict:
        return self.inference.verdict

    def describe(self) -> str:
        return self.inference.describe() + "\n" + self.accuracy.describe()

    def as_dict(self) -> dict[str, Any]:
        return {**self.inference.as_dict(), "accuracy": self.accuracy.as_dict()}


def top1(outputs: list[list[np.ndarray]], labels: np.ndarray) -> float:
    predicted = np.array([int(np.argmax(np.asarray(out[0]).reshape(-1))) for out in outputs])
    return float(np.mean(predicted == labels))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties count one half); labels 1 are positives."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    positive, negative = scores[labels == 1], scores[labels == 0]
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positive) * len(negative)))


def is_anomaly_detector(model: Model) -> bool:
    return (
        len(model.inputs) == 1
        and len(model.outputs) == 1
        and model.tensors[model.inputs[0]].shape == model.tensors[model.outputs[0]].shape
    )


class _Scorer:
    """Turns one side's outputs into the metric."""

    def __init__(self, model: Model, labels: np.ndarray, source: str):
        self.model, self.labels = model, labels
        self.metric = "auc" if is_anomaly_detector(model) else "top1"
        if self.metric == "auc":
            if set(np.unique(labels)) != {0, 1}:
                raise HarnessError(
                    f"{source}: an anomaly detector's labels must be 0 (normal) and "
                    f"1 (anomalous), both present; found {sorted(set(labels.tolist()))}"
                )
        else:
            classes_out = int(np.prod(model.tensors[model.outputs[0]].shape))
            if labels.max() >= classes_out or labels.min() < 0:
                raise HarnessError(
                    f"{source}: labels run from {labels.min()} to {labels.max()}, the "
                    f"model has {classes_out} output classes"
                )

    def score(self, inputs: list[np.ndarray], outputs: list[list[np.ndarray]]) -> float:
        if self.metric == "top1":
            return top1(outputs, self.labels)
        return roc_auc(
            np.array([self._reconstruction_error(x, out[0]) for x, out in zip(inputs, outputs)]), self.labels
        )

    def _reconstruction_error(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(
            np.mean((_real(self.model, self.model.inputs[0], x) - _real(self.model, self.model.outputs[0], y)) ** 2)
        )


def _real(model: Model, index: int, value: np.ndarray) -> np.ndarray:
    tensor = model.tensors[index]
    value = np.asarray(value).reshape(-1)
    if tensor.quant is None or value.dtype != np.int8:
        return value.astype(np.float64)
    return dequantize(value, *tensor.scalar_quant()).astype(np.float64)


def _device_inputs(session: DatasetSession, data: Dataset) -> np.ndarray:
    tensor = session.packed.model.tensors[session.packed.model.inputs[0]]
    if tensor.dtype == np.int8:
        if data.x.dtype == np.int8:
            return data.x
        return quantize(data.x, *tensor.scalar_quant())
    if data.x.dtype == np.int8:
        raise HarnessError(f"{data.source}: x is int8 (quantized) but the model's input is {tensor.dtype}")
    return data.x.astype(tensor.dtype)


def _float_inputs(session: DatasetSession, data: Dataset) -> np.ndarray:
    """What the float model gets: the real values (dequantized when the data set is quantized)."""
    if data.x.dtype != np.int8:
        return data.x.astype(np.float32)
    tensor = session.packed.model.tensors[session.packed.model.inputs[0]]
    return dequantize(data.x, *tensor.scalar_quant())


def float_model_for(path: str | Path, shape: tuple[int, ...]) -> Model:
    """The float model to score next to the int8 one: one float32 input of the same shape."""
    model = load_model(path)
    if len(model.inputs) != 1:
        raise HarnessError(f"{path}: the float model has {len(model.inputs)} inputs, the data set one")
    tensor = model.tensors[model.inputs[0]]
    if tensor.dtype != np.float32 or tuple(tensor.shape) != tuple(shape):
        raise HarnessError(
            f"{path}: the float model's input is {tensor.dtype} {list(tensor.shape)}, want float32 {list(shape)}"
        )
    return model


def _float_model_outputs(path: str | Path, inputs: np.ndarray, shape: tuple[int, ...]) -> list[list[np.ndarray]]:
    model = float_model_for(path, shape)
    with Reference(model, name=str(path)) as reference:
        return [reference.run([x.reshape(shape)]) for x in inputs]


def dataset_for(
    model: Model | str | Path, dataset: str | Path | Dataset, samples: int | None = None, seed: int = 0
) -> Dataset:
    """The data set loaded for `model`'s one input (a seeded subset of `samples`), its labels
    checked against the model's outputs: bad data is refused before a board boots."""
    model = model if isinstance(model, Model) else load_model(model)
    if len(model.inputs) != 1:
        raise HarnessError(f"a data set feeds one input; the model has {len(model.inputs)}")
    tensor = model.tensors[model.inputs[0]]
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset, tuple(tensor.shape), tensor.dtype)
    dataset = dataset.subset(samples, seed)
    _Scorer(model, dataset.y, dataset.source)
    return dataset


def run_dataset(
    session: DatasetSession,
    dataset: str | Path | Dataset,
    float_model: str | Path | None = None,
    samples: int | None = None,
    seed: int = 0,
) -> DatasetResult:
    """Every sample on the device and the reference (compared element by element), then the
    metric of each side; `samples` picks a seeded random subset."""
    model = session.packed.model
    shape = tuple(model.tensors[model.inputs[0]].shape)
    data = dataset_for(model, dataset, samples, seed)
    scorer = _Scorer(model, data.y, data.source)
    device_x = _device_inputs(session, data)
    inference = session.run([[x.reshape(shape)] for x in device_x])
    inputs = list(device_x)
    accuracy = Accuracy(
        scorer.metric,
        len(data),
        scorer.score(inputs, inference.device_outputs),
        scorer.score(inputs, inference.reference_outputs),
        classes=data.classes,
    )
    if float_model is not None:
        float_x = _float_inputs(session, data)
        outputs = _float_model_outputs(float_model, float_x, shape)
        float_scorer = _Scorer(load_model(float_model), data.y, data.source)
        accuracy.float_model = float_scorer.score(list(float_x), outputs)
    return DatasetResult(inference, accuracy)


def run_dataset_or_inputs(
    session: DatasetSession,
    dataset: Dataset | None,
    float_model: str | Path | None,
    run_inputs: Callable[[], InferenceResult],
) -> tuple[DatasetResult | InferenceResult, InferenceResult]:
    """`hil run`'s two modes on any session: a data set (accuracy), or `run_inputs()` (given or
    seeded input sets). Returns the result to report and its inference part."""
    if dataset is None:
        inference = run_inputs()
        return inference, inference
    result = run_dataset(session, dataset, float_model)
    return result, result.inference
