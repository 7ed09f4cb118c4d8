"""Optimisers over parameter groups, learning-rate schedules, and a name → optimiser registry.

A *parameter group* is a dict::

    {"params": [np.ndarray, ...],   # updated in place
     "lr_scale": 1.0,               # optional: this group's learning rate is lr * lr_scale
     "weight_decay": 0.0,           # optional: overrides the optimiser's weight_decay for this group
     "bounds": None}                # optional: (lo, hi), params are clipped into it after every step

Bounds express physical limits such as a device's conductance range [g_min, g_max] (siemens).
Gradients come at step time in the same nesting as the params: ``step([[g00, g01], [g10], ...])``;
a gradient is cast to its parameter's dtype, and every state buffer is kept in that dtype too.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

import numpy as np

from cosim.errors import ParameterError
from cosim.learning import optim_kernels
from cosim.threads import parallel

_GROUP_KEYS = ("params", "lr_scale", "weight_decay", "bounds")

Schedule = Callable[[int], float]


def _check_number(name: str, value, lo: float, hi: float = math.inf, hi_open: bool = False) -> float:
    """``value`` as a float in [lo, hi] ([lo, hi) when hi_open), else a ParameterError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (lo <= number and (number < hi if hi_open else number <= hi) and math.isfinite(number)):
        raise ParameterError(f"{name} must be a finite number in [{lo}, {hi}{')' if hi_open else ']'}, got {value!r}")
    return number


def _check_nonnegative(name: str, value) -> float:
    return _check_number(name, value, 0.0)


def _check_fraction(name: str, value) -> float:
    return _check_number(name, value, 0.0, 1.0, hi_open=True)


def _flat(array: np.ndarray) -> np.ndarray:
    """A flat view of a contiguous array (the kernels' layout)."""
    return array.reshape(-1)


def _check_bounds(bounds, where: str):
    if bounds is None:
        return None
    try:
        lo, hi = bounds
    except (TypeError, ValueError) as err:
        raise ParameterError(f"{where}: bounds must be None or (lo, hi), got {bounds!r}") from err
    if not np.all(np.asarray(lo) <= np.asarray(hi)):
        raise ParameterError(f"{where}: bounds need lo <= hi, got ({lo!r}, {hi!r})")
    return lo, hi


def _check_param(p, where: str) -> np.ndarray:
    if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
        raise ParameterError(f"{where} must be a floating-point numpy array (updated in place), got {type(p).__name__}")
    if not p.flags.writeable:
        raise ParameterError(f"{where} is read-only; the optimiser updates parameters in place")
    return p


def _normalise_group(group: dict, index: int, weight_decay: float) -> dict:
    """A full copy of the group dict with defaults filled in (the param arrays themselves are shared)."""
    where = f"parameter group {index}"
    if not isinstance(group, dict) or "params" not in group:
        raise ParameterError(f"{where} must be a dict with a 'params' list, got {group!r:.80}")
    unknown = set(group) - set(_GROUP_KEYS)
    if unknown:
        raise ParameterError(f"{where}: unknown keys {sorted(unknown)}; valid keys: {', '.join(_GROUP_KEYS)}")
    return {
        "params": [_check_param(p, f"{where}, param {i}") for i, p in enumerate(group["params"])],
        "lr_scale": _check_nonnegative(f"{where}: lr_scale", group.get("lr_scale", 1.0)),
        "weight_decay": _check_nonnegative(f"{where}: weight_decay", group.get("weight_decay", weight_decay)),
        "bounds": _check_bounds(group.get("bounds"), where),
    }


class Optimizer:
    """Shared machinery: groups, learning rate, step count, state buffers and their (de)serialisation.

    Subclasses name their per-parameter state buffers in ``buffer_names`` and implement
    :meth:`_update`, which changes one parameter in place.
    """

    buffer_names: tuple[str, ...] = ()

    def __init__(self, groups: Sequence[dict], lr: float, weight_decay: float = 0.0):
        weight_decay = _check_nonnegative("weight_decay", weight_decay)
        self.groups = [_normalise_group(group, i, weight_decay) for i, group in enumerate(groups)]
        self.lr = _check_nonnegative("lr", lr)
        self.steps = 0
        self._steps_plan: list[tuple] | None = None
        self.state = {
            name: [[np.zeros_like(p) for p in group["params"]] for group in self.groups] for name in self.buffer_names
        }

    def set_lr(self, lr: float) -> None:
        """Set the base learning rate (each group still multiplies it by its lr_scale)."""
        self.lr = _check_nonnegative("lr", lr)

    def step(self, grads: Sequence[Sequence[np.ndarray]], scale: float = 1.0) -> None:
        """Update every parameter in place from ``scale`` x its gradient (e.g. 1 / batch size), then clip
        bounded groups into their bounds — one fused pass per parameter array."""
        self._check_grads(grads)
        self.steps += 1
        for (group, kernel_bounds, array_bounds, params), group_grads in zip(self._plan(), grads):
            lr = self.lr * group["lr_scale"]
            for (p, buffers), g in zip(params, group_grads):
                g = np.ascontiguousarray(g, dtype=p.dtype)
                flat = _flat(p) if p.flags.c_contiguous else p.copy().reshape(-1)
                self._update(flat, g.reshape(-1), buffers, lr, group["weight_decay"], float(scale), *kernel_bounds)
                if not p.flags.c_contiguous:
                    p[...] = flat.reshape(p.shape)
                if array_bounds is not None:
                    np.clip(p, *array_bounds, out=p)

    def _plan(self) -> list[tuple]:
        """Per group, worked out on the first step (parameters and buffers are updated in place, never
        replaced): the group, its scalar bounds for the kernels, its array bounds (or None), and per parameter
        the array with flat views of its state buffers."""
        if self._steps_plan is None:
            self._steps_plan = []
            for gi, group in enumerate(self.groups):
                lo, hi = group["bounds"] if group["bounds"] is not None else (-np.inf, np.inf)
                scalar = np.ndim(lo) == 0 and np.ndim(hi) == 0
                params = [(p, {name: _flat(self.state[name][gi][pi]) for name in self.buffer_names})
                          for pi, p in enumerate(group["params"])]
                self._steps_plan.append((group, (float(lo), float(hi)) if scalar else (-np.inf, np.inf),
                                         None if scalar else (lo, hi), params))
        return self._steps_plan

    def _update(self, p, g, buffers, lr, weight_decay, scale, lo, hi) -> None:
        raise NotImplementedError

    def _check_grads(self, grads) -> None:
        if len(grads) != len(self.groups):
            raise ParameterError(f"step needs one gradient list per group ({len(self.groups)}), got {len(grads)}")
        for gi, (group, group_grads) in enumerate(zip(self.groups, grads)):
            if len(group_grads) != len(group["params"]):
                raise ParameterError(
                    f"group {gi} has {len(group['params'])} params but {len(group_grads)} gradients were given"
                )
            for pi, (p, g) in enumerate(zip(group["params"], group_grads)):
                if np.shape(g) != p.shape:
                    raise ParameterError(f"gradient of group {gi}, param {pi} has shape {np.shape(g)}, param {p.shape}")

    def state_dict(self, copy: bool = True) -> dict[str, np.ndarray]:
        """Flat copy of the optimiser state: ``lr``, ``steps`` and ``<buffer>.<group>.<param>`` arrays
        (``copy=False``: the live buffers, e.g. to write a checkpoint without doubling the memory)."""
        state = {"lr": np.array(self.lr), "steps": np.array(self.steps)}
        for name, per_group in self.state.items():
            for gi, buffers in enumerate(per_group):
                for pi, buf in enumerate(buffers):
                    state[f"{name}.{gi}.{pi}"] = buf.copy() if copy else buf
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`state_dict` taken from an optimiser of the same kind over the same shapes."""
        expected = self.state_dict()
        if set(state) != set(expected):
            missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
            raise ParameterError(f"{type(self).__name__} state does not match: missing {missing}, unexpected {extra}")
        for key, value in state.items():
            if np.shape(value) != expected[key].shape:
                raise ParameterError(f"state {key!r} has shape {np.shape(value)}, expected {expected[key].shape}")
        self.lr = float(state["lr"])
        self.steps = int(state["steps"])
        for name, per_group in self.state.items():
            for gi, buffers in enumerate(per_group):
                for pi, buf in enumerate(buffers):
                    buf[...] = state[f"{name}.{gi}.{pi}"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    ``g ← g + wd·p;  m ← μ·m + g;  p ← p − lr·(g + μ·m if nesterov else m)``  (m = g when μ = 0).
    """

    def __init__(self, groups, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False):
        self.momentum = _check_fraction("momentum", momentum)
        if nesterov and self.momentum == 0:
            raise ParameterError("nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.buffer_names = ("momentum",) if self.momentum else ()
        super().__init__(groups, lr, weight_decay)

    def _update(self, p, g, buffers, lr, weight_decay, scale, lo, hi):
        momentum_buf = buffers.get("momentum", p[:0])
        kernel = optim_kernels.parallel_sgd_step if parallel(p) else optim_kernels.sgd_step
        real = p.dtype.type  # the kernels compute in the parameters' dtype (see optim_kernels)
        kernel(p, g, momentum_buf, real(lr), real(scale), real(self.momentum), self.nesterov, real(weight_decay),
               real(lo), real(hi))


class Adam(Optimizer):
    """Adam with bias correction and, by default, decoupled weight decay (AdamW).

    Decoupled: ``p ← p·(1 − lr·wd)`` before the Adam step; ``decoupled=False`` adds ``wd·p`` to the gradient.
    """

    buffer_names = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        groups,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = True,
    ):
        if len(betas) != 2:
            raise ParameterError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_fraction("betas[0]", betas[0]), _check_fraction("betas[1]", betas[1]))
        self.eps = _check_nonnegative("eps", eps)
        if self.eps == 0:
            raise ParameterError("eps must be > 0 (it keeps the Adam step finite where a gradient is 0)")
        self.decoupled = bool(decoupled)
        super().__init__(groups, lr, weight_decay)

    def _update(self, p, g, buffers, lr, weight_decay, scale, lo, hi):
        beta1, beta2 = self.betas
        kernel = optim_kernels.parallel_adam_step if parallel(p) else optim_kernels.adam_step
        real = p.dtype.type  # the kernels compute in the parameters' dtype (see optim_kernels)
        kernel(p, g, buffers["exp_avg"], buffers["exp_avg_sq"], real(lr * (1 / (1 - beta1**self.steps))), real(scale),
               real(beta1), real(1.0 - beta1), real(beta2), real(1.0 - beta2), real(self.eps),
               real(1 / (1 - beta2**self.steps)), real(1.0 - lr * weight_decay), real(weight_decay), self.decoupled,
               real(lo), real(hi))


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def make_optimizer(kind: str, groups: Sequence[dict], **kwargs) -> Optimizer:
    """Build the optimiser registered as ``kind`` in :data:`OPTIMIZERS` over ``groups``."""
    if kind not in OPTIMIZERS:
        raise ParameterError(f"unknown optimizer {kind!r}; valid kinds: {', '.join(sorted(OPTIMIZERS))}")
    cls = OPTIMIZERS[kind]
    try:
        inspect.signature(cls).bind(groups, **kwargs)
    except TypeError as err:
        raise ParameterError(f"optimizer {kind!r}: {err}; arguments are {inspect.signature(cls)}") from err
    return cls(groups, **kwargs)


def constant_schedule(base_lr: float) -> Schedule:
    """step → base_lr."""
    base_lr = _check_nonnegative("base_lr", base_lr)
    return lambda step: base_lr


def cosine_schedule(base_lr: float, total_steps: int, warmup_steps: int = 0, final_fraction: float = 0.0) -> Schedule:
    """step → lr: a linear warmup, then a half cosine from base_lr down to final_fraction·base_lr.

    Steps count from 0. Warmup steps 0 … warmup_steps−1 run at base_lr·(step+1)/warmup_steps; the cosine
    starts at base_lr on step warmup_steps and reaches final_fraction·base_lr on the last step,
    total_steps−1, where it stays for any later step.
    """
    base_lr = _check_nonnegative("base_lr", base_lr)
    final_fraction = _check_number("final_fraction", final_fraction, 0.0, 1.0)
    if not 0 <= warmup_steps < total_steps:
        raise ParameterError(f"need 0 <= warmup_steps < total_steps, got {warmup_steps} and {total_steps}")
    final_lr = base_lr * final_fraction
    decay_steps = max(total_steps - 1 - warmup_steps, 1)

    def schedule(step: int) -> float:
        if step < 0:
            raise ParameterError(f"schedule step must be >= 0, got {step}")
        if step < warmup_steps:
            return base_lr * (step + 1) / warmup_steps
        progress = min((step - warmup_steps) / decay_steps, 1.0)
        return final_lr + (base_lr - final_lr) * 0.5 * (1 + math.cos(math.pi * progress))

    return schedule
