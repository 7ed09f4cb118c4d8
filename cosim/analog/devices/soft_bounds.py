"""Soft bounds: pulsed updates whose step shrinks as the device nears the end of its range (saturation).

A device with soft bounds changes by ``a_up (g_max - g)`` on a potentiating pulse and by ``a_down (g - g_min)`` on
a depressing one (the linear-saturation model fitted to ReRAM and ECRAM pulse trains, e.g. Fuller et al.,
Science 364, 570 (2019); Gong et al., Nat. Commun. 9, 2102 (2018)). ``n`` pulses in one direction compose in
closed form, so a whole update is one vectorised expression:

    up:   g_n = g_max - (g_max - g_0) (1 - a_up)^n
    down: g_n = g_min + (g_0 - g_min) (1 - a_down)^n

``a = step / (g_max - g_min)`` where ``step`` (S) is the change of one pulse at the far end of the range (the
largest step). Repeated pulses saturate at ``g_max`` / ``g_min`` and never cross them. ``DeviceArray.update``
applies the same closed form per device in its one-pass kernel (:func:`cosim.analog.devices.kernels.pulse`);
:func:`soft_bounds_update` is the array form it is tested against.
"""

from __future__ import annotations

import numpy as np


def soft_bounds_update(g: np.ndarray, pulses: np.ndarray, step_up, step_down, g_min: float,
                       g_max: float) -> np.ndarray:
    """Conductances (S) after ``pulses`` (signed whole numbers, per device) under soft bounds.

    ``step_up`` / ``step_down`` (S, scalars or per-device arrays) are the steps of one pulse at ``g_min`` and at
    ``g_max`` respectively; each must be below ``g_max - g_min``.
    """
    span = g_max - g_min
    a_up = np.clip(np.asarray(step_up) / span, 0.0, 1.0)
    a_down = np.clip(np.asarray(step_down) / span, 0.0, 1.0)
    n = np.abs(pulses)
    up = g_max - (g_max - g) * (1.0 - a_up) ** n
    down = g_min + (g - g_min) * (1.0 - a_down) ** n
    return np.where(pulses > 0, up, np.where(pulses < 0, down, g))


def symmetry_point(step_up, step_down, g_min: float, g_max: float):
    """The conductance (S) where an up and a down pulse cancel: ``a_up (g_max - g) = a_down (g - g_min)``."""
    return (step_up * g_max + step_down * g_min) / (step_up + step_down)
