"""The parameters of a programmable conductance device (:class:`DeviceModel`), SI units (S, s).

Static non-idealities: range ``[g_min, g_max]`` and optional levels, programming (write) noise (std
``programming_noise * span``), device-to-device gain spread ``variability``, stuck-at fractions. Pulsed
updates: whole pulses of a nominal step ``pulse_step * span``, per-device spread ``pulse_step_spread``, up/down
``asymmetry``, optional ``soft_bounds`` (the step shrinks towards the end of the range, see
:mod:`.soft_bounds`). Reads: multiplicative Gaussian ``read_noise`` plus, where ``read_noise_1f > 0``, 1/f noise
that grows with the time since programming. Over time: a ``retention`` law (:mod:`.drift`) applied to what
reads see, never to the programmed state.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosim.errors import ParameterError

RETENTION_LAWS = ("none", "power_law", "log_relaxation", "exponential")


@dataclass(frozen=True)
class DeviceModel:
    """Conductance device parameters (see the module docstring); conductances in S, times in s.

    Time keys: ``t_read`` (duration of one read, sets the 1/f bandwidth), ``retention_t0`` (first read after
    programming: reference time of the power law and the log relaxation, and the earliest time of the 1/f
    law), ``drift_nu`` / ``drift_nu_spread`` (power law, or the state-dependent fits of Joshi 2020 when
    ``drift_nu_state_dependent``), ``relaxation_mean`` / ``relaxation_spread`` (log relaxation, fractions of
    the span per decade), ``retention_tau`` / ``retention_equilibrium`` (exponential, equilibrium as a
    fraction of the span above ``g_min``).
    """

    g_min: float = 1e-8
    g_max: float = 1e-5
    levels: int | None = None
    programming_noise: float = 0.0
    read_noise: float = 0.0
    variability: float = 0.0
    stuck_at_min: float = 0.0
    stuck_at_max: float = 0.0
    pulsed: bool = False
    pulse_step: float = 0.001
    pulse_step_spread: float = 0.0
    asymmetry: float = 0.0
    soft_bounds: bool = False
    read_noise_1f: float = 0.0
    read_noise_1f_exponent: float = 0.0
    t_read: float = 250e-9
    retention: str = "none"
    retention_t0: float = 1.0
    drift_nu: float = 0.0
    drift_nu_spread: float = 0.0
    drift_nu_state_dependent: bool = False
    relaxation_mean: float = 0.0
    relaxation_spread: float = 0.0
    retention_tau: float = 1e4
    retention_equilibrium: float = 0.5

    def __post_init__(self):
        if not 0 <= self.g_min < self.g_max:
            raise ParameterError(f"device needs 0 <= g_min < g_max, got {self.g_min}, {self.g_max}")
        if self.levels is not None and self.levels < 2:
            raise ParameterError(f"device levels must be >= 2 (or None for continuous), got {self.levels}")
        for name in ("programming_noise", "read_noise", "variability", "pulse_step_spread", "read_noise_1f",
                     "read_noise_1f_exponent", "drift_nu", "drift_nu_spread", "relaxation_spread"):
            if getattr(self, name) < 0:
                raise ParameterError(f"device {name} must be >= 0, got {getattr(self, name)}")
        if not (0 <= self.stuck_at_min and 0 <= self.stuck_at_max and self.stuck_at_min + self.stuck_at_max <= 1):
            raise ParameterError("device stuck-at fractions must be >= 0 and sum to at most 1")
        if not 0 < self.pulse_step <= 1 or not -2 < self.asymmetry < 2:
            raise ParameterError("device pulse_step must be in (0, 1] and asymmetry in (-2, 2)")
        if self.retention not in RETENTION_LAWS:
            raise ParameterError(f"device retention must be one of {', '.join(RETENTION_LAWS)}, got {self.retention!r}")
        if min(self.t_read, self.retention_t0, self.retention_tau) <= 0:
            raise ParameterError("device t_read, retention_t0 and retention_tau must be > 0")

    @property
    def span(self) -> float:
        return self.g_max - self.g_min

    @property
    def noisy_reads(self) -> bool:
        """True when every read draws fresh noise (static or 1/f)."""
        return bool(self.read_noise or self.read_noise_1f)

    @property
    def is_ideal(self) -> bool:
        """True when writes are exact, reads noiseless and nothing changes over time (a plain conductance)."""
        return (self.levels is None and not self.programming_noise and not self.noisy_reads
                and not self.variability and not self.stuck_at_min and not self.stuck_at_max and not self.pulsed
                and self.retention == "none")
