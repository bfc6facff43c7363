"""Build firmware/src/kernels/*.c for the host and bind it with ctypes."""

from __future__ import annotations

import ctypes as C
import os
import pathlib
import subprocess

import numpy as np

from harness import contracts

REPO = pathlib.Path(__file__).resolve().parents[2]
KERNEL_DIR = REPO / "firmware" / "src" / "kernels"
# The portable kernels and the ARMv7E-M DSP ones (arm/: empty unless the core has __ARM_FEATURE_DSP).
KERNEL_SOURCES = sorted(KERNEL_DIR.glob("*.c")) + sorted((KERNEL_DIR / "arm").glob("*.c"))
KERNEL_HEADERS = sorted(KERNEL_DIR.glob("*.h")) + sorted((KERNEL_DIR / "arm").glob("*.h"))
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-O2", "-fPIC", "-shared"]

I32 = C.c_int32
F32 = C.c_float


class Dims(C.Structure):
    _fields_ = [("n", I32), ("h", I32), ("w", I32), ("c", I32)]


class Shape(C.Structure):
    _fields_ = [("rank", I32), ("dims", I32 * 6)]


class Requant(C.Structure):
    _fields_ = [("multiplier", C.POINTER(I32)), ("shift", C.POINTER(I32)), ("per_channel", I32)]


# The parameter records, from the same YAML that generates firmware/src/kernels/kernel_params.h.
_PARAMS = contracts.load("kernel_params").records
ConvParams = _PARAMS["conv_params"].ctype()
ConvF32Params = _PARAMS["conv_f32_params"].ctype()
FcParams = _PARAMS["fc_params"].ctype()
PoolParams = _PARAMS["pool_params"].ctype()
AddParams = _PARAMS["add_params"].ctype()
MulParams = _PARAMS["mul_params"].ctype()
SoftmaxParams = _PARAMS["softmax_params"].ctype()
LogisticParams = _PARAMS["logistic_params"].ctype()
MeanParams = _PARAMS["mean_params"].ctype()


def build(out_dir: pathlib.Path, cc: str = "gcc") -> pathlib.Path:
    """HIL_KERNELS_SANITIZE=1 adds ASan+UBSan (run python with LD_PRELOAD=$(gcc -print-file-name=libasan.so))."""
    sources = [str(p) for p in KERNEL_SOURCES]
    lib = out_dir / "libhilkernels.so"
    extra = []
    if os.environ.get("HIL_KERNELS_SANITIZE") == "1":
        extra = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"]
    subprocess.run([cc, *CFLAGS, *extra, "-o", str(lib), *sources], check=True)
    return lib


def ptr(a: np.ndarray, ctype):
    assert a.flags["C_CONTIGUOUS"]
    return a.ctypes.data_as(C.POINTER(ctype))


def dims(shape) -> Dims:
    s = list(shape)
    assert len(s) == 4
    return Dims(*s)


def nshape(shape) -> Shape:
    s = list(shape)
    assert len(s) <= 6
    sh = Shape()
    sh.rank = len(s)
    for i, d in enumerate(s):
        sh.dims[i] = d
    return sh


class Kernels:
    """Thin numpy-facing wrappers; each returns the output array."""

    def __init__(self, path: pathlib.Path):
        self.lib = C.CDLL(str(path))
        self.lib.hil_expf.restype = F32
        self.lib.hil_expf.argtypes = [F32]
        for name in ("hil_fully_connected_f32", "hil_add_f32", "hil_mul_f32"):
            fn = getattr(self.lib, name)
            fn.restype = I32
        self.lib.hil_fully_connected_f32.argtypes = [F32, F32, I32, I32, I32] + [C.c_void_p] * 4
        self.lib.hil_add_f32.argtypes = [F32, F32] + [C.c_void_p] * 6
        self.lib.hil_mul_f32.argtypes = [F32, F32] + [C.c_void_p] * 6
        self.lib.hil_softmax_f32.argtypes = [F32, I32, I32, C.c_void_p, C.c_void_p]
        self.lib.hil_quantize_f32_s8.argtypes = [F32, I32, I32, C.c_void_p, C.c_void_p]
        self.lib.hil_dequantize_s8_f32.argtypes = [F32, I32, I32, C.c_void_p, C.c_void_p]
        self.lib.hil_pad_f32.argtypes = [C.c_void_p] * 4 + [F32, C.c_void_p]
        for name in ("hil_concatenation_s8", "hil_concatenation_f32"):
            getattr(self.lib, name).argtypes = [I32, I32, C.c_void_p, C.c_void_p, C.c_void_p]
        self.lib.hil_requantize_s8.argtypes = [I32] * 5 + [C.c_void_p, C.c_void_p]
        self.lib.hil_pad_s8.argtypes = [C.c_void_p] * 4 + [C.c_int8, C.c_void_p]

    def _check(self, rc):
        assert rc == 0, f"kernel returned {rc}"

    @staticmethod
    def _requant(mult: np.ndarray, shift: np.ndarray, per_channel: bool):
        mult = np.ascontiguousarray(mult, dtype=np.int32)
        shift = np.ascontiguousarray(shift, dtype=np.int32)
        return Requant(ptr(mult, I32), ptr(shift, I32), int(per_channel)), (mult, shift)

    def conv2d_s8(self, p: ConvParams, mult, shift, per_channel, x, w, b, out_shape):
        rq, _keepalive = self._requant(mult, shift, per_channel)
        out = np.zeros(out_shape, dtype=np.int8)
        bp = ptr(b, I32) if b is not None else None
        self._check(
            self.lib.hil_conv2d_s8(
                C.byref(p),
                C.byref(rq),
                C.byref(dims(x.shape)),
                ptr(x, C.c_int8),
                C.byref(dims(w.shape)),
                ptr(w, C.c_int8),
                bp,
                C.byref(dims(out_shape)),
                ptr(out, C.c_int8),
            )
        )
        return out

    def depthwise_conv2d_s8(self, p: ConvParams, mult, shift, per_channel, x, w, b, out_shape):
        rq, _keepalive = self._requant(mult, shift, per_channel)
        out = np.zeros(out_shape, dtype=np.int8)
        bp = ptr(b, I32) if b is not None else None
        self._check(
            self.lib.hil_depthwise_conv2d_s8(
                C.byref(p),
                C.byref(rq),
                C.byref(dims(x.shape)),
                ptr(x, C.c_int8),
                C.byref(dims(w.shape)),
                ptr(w, C.c_int8),
                bp,
                C.byref(dims(out_shape)),
                ptr(out, C.c_int8),
            )
        )
        return out

    def conv2d_f32(self, p: ConvF32Params, x, w, b, out_shape, depthwise=False):
        out = np.zeros(out_shape, dtype=np.float32)
        bp = ptr(b, F32) if b is not None else None
        fn = self.lib.hil_depthwise_conv2d_f32 if depthwise else self.lib.hil_conv2d_f32
        self._check(
            fn(
                C.byref(p),
                C.byref(dims(x.shape)),
                ptr(x, F32),
                C.byref(dims(w.shape)),
                ptr(w, F32),
                bp,
                C.byref(dims(out_shape)),
                ptr(out, F32),
            )
        )
        return out

    def fully_connected_s8(self, p: FcParams, mult, shift, per_channel, x2d, w, b):
        rq, _keepalive = self._requant(mult, shift, per_channel)
        batches, depth = x2d.shape
        out = np.zeros((batches, w.shape[0]), dtype=np.int8)
        bp = ptr(b, I32) if b is not None else None
        self._check(
            self.lib.hil_fully_connected_s8(
                C.byref(p),
                C.byref(rq),
                batches,
                depth,
                w.shape[0],
                ptr(x2d, C.c_int8),
                ptr(w, C.c_int8),
                bp,
                ptr(out, C.c_int8),
            )
        )
        return out

    def fully_connected_f32(self, lo, hi, x2d, w, b):
        batches, depth = x2d.shape
        out = np.zeros((batches, w.shape[0]), dtype=np.float32)
        self._check(
            self.lib.hil_fully_connected_f32(
                lo,
                hi,
                batches,
                depth,
                w.shape[0],
                x2d.ctypes.data,
                w.ctypes.data,
                b.ctypes.data if b is not None else None,
                out.ctypes.data,
            )
        )
        return out

    def pool(self, kind: str, p: PoolParams, x, out_shape):
        dt, ct = (np.int8, C.c_int8) if x.dtype == np.int8 else (np.float32, F32)
        suffix = "s8" if x.dtype == np.int8 else "f32"
        out = np.zeros(out_shape, dtype=dt)
        fn = getattr(self.lib, f"hil_{kind}pool_{suffix}")
        self._check(fn(C.byref(p), C.byref(dims(x.shape)), ptr(x, ct), C.byref(dims(out_shape)), ptr(out, ct)))
        return out

    def binary_s8(self, kind: str, p, a, b, out_shape):
        out = np.zeros(out_shape, dtype=np.int8)
        fn = getattr(self.lib, f"hil_{kind}_s8")
        self._check(
            fn(
                C.byref(p),
                C.byref(nshape(a.shape)),
                ptr(a, C.c_int8),
                C.byref(nshape(b.shape)),
                ptr(b, C.c_int8),
                C.byref(nshape(out_shape)),
                ptr(out, C.c_int8),
            )
        )
        return out

    def binary_f32(self, kind: str, lo, hi, a, b, out_shape):
        out = np.zeros(out_shape, dtype=np.float32)
        fn = getattr(self.lib, f"hil_{kind}_f32")
        sa, sb, so = nshape(a.shape), nshape(b.shape), nshape(out_shape)
        self._check(
            fn(lo, hi, C.addressof(sa), a.ctypes.data, C.addressof(sb), b.ctypes.data, C.addressof(so), out.ctypes.data)
        )
        return out

    def softmax_s8(self, p: SoftmaxParams, x):
        x = np.ascontiguousarray(x)
        out = np.zeros_like(x)
        depth = x.shape[-1]
        self._check(self.lib.hil_softmax_s8(C.byref(p), x.size // depth, depth, ptr(x, C.c_int8), ptr(out, C.c_int8)))
        return out

    def softmax_f32(self, beta, x):
        out = np.zeros_like(x)
        depth = x.shape[-1]
        self._check(self.lib.hil_softmax_f32(beta, x.size // depth, depth, x.ctypes.data, out.ctypes.data))
        return out

    def logistic_s8(self, p: LogisticParams, x):
        out = np.zeros_like(x)
        self._check(self.lib.hil_logistic_s8(C.byref(p), x.size, ptr(x, C.c_int8), ptr(out, C.c_int8)))
        return out

    def logistic_f32(self, x):
        out = np.zeros_like(x)
        self._check(self.lib.hil_logistic_f32(x.size, ptr(x, F32), ptr(out, F32)))
        return out

    def mean_s8(self, p: MeanParams, x, axes, out_shape):
        axes_a = np.ascontiguousarray(axes, dtype=np.int32)
        out = np.zeros(out_shape, dtype=np.int8)
        self._check(
            self.lib.hil_mean_s8(
                C.byref(p),
                C.byref(nshape(x.shape)),
                ptr(x, C.c_int8),
                ptr(axes_a, I32),
                len(axes_a),
                ptr(out, C.c_int8),
            )
        )
        return out

    def mean_f32(self, x, axes, out_shape):
        axes_a = np.ascontiguousarray(axes, dtype=np.int32)
        out = np.zeros(out_shape, dtype=np.float32)
        self._check(
            self.lib.hil_mean_f32(C.byref(nshape(x.shape)), ptr(x, F32), ptr(axes_a, I32), len(axes_a), ptr(out, F32))
        )
        return out

    def pad(self, x, before, after, value):
        before = np.ascontiguousarray(before, dtype=np.int32)
        after = np.ascontiguousarray(after, dtype=np.int32)
        out_shape = tuple(int(d + b + a) for d, b, a in zip(x.shape, before, after))
        out = np.zeros(out_shape, dtype=x.dtype)
        sh = nshape(x.shape)
        fn = self.lib.hil_pad_s8 if x.dtype == np.int8 else self.lib.hil_pad_f32
        self._check(fn(C.addressof(sh), x.ctypes.data, before.ctypes.data, after.ctypes.data, value, out.ctypes.data))
        return out

    def concatenation(self, axis, xs):
        suffix = "s8" if xs[0].dtype == np.int8 else "f32"
        out = np.concatenate(xs, axis=axis) * 0  # right shape and dtype
        out = np.ascontiguousarray(out)
        shapes = [nshape(x.shape) for x in xs]
        shape_ptrs = (C.POINTER(Shape) * len(xs))(*[C.pointer(s) for s in shapes])
        data_ptrs = (C.c_void_p * len(xs))(*[x.ctypes.data for x in xs])
        fn = getattr(self.lib, f"hil_concatenation_{suffix}")
        self._check(fn(axis, len(xs), shape_ptrs, data_ptrs, out.ctypes.data))
        return out

    def quantize_f32_s8(self, scale, zp, x):
        out = np.zeros(x.shape, dtype=np.int8)
        self._check(self.lib.hil_quantize_f32_s8(scale, zp, x.size, x.ctypes.data, out.ctypes.data))
        return out

    def requantize_s8(self, in_zp, out_zp, mult, shift, x):
        out = np.zeros(x.shape, dtype=np.int8)
        self._check(
            self.lib.hil_requantize_s8(in_zp, out_zp, mult, shift, x.size, ptr(x, C.c_int8), ptr(out, C.c_int8))
        )
        return out

    def dequantize_s8_f32(self, scale, zp, x):
        out = np.zeros(x.shape, dtype=np.float32)
        self._check(self.lib.hil_dequantize_s8_f32(scale, zp, x.size, x.ctypes.data, out.ctypes.data))
        return out

    def reshape(self, x, new_shape):
        out = np.zeros(new_shape, dtype=x.dtype)
        self._check(self.lib.hil_reshape(C.c_void_p(x.ctypes.data), C.c_void_p(out.ctypes.data), x.nbytes))
        return out
