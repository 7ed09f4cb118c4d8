"""The devices of one crossbar: static defects, the programmed conductances, and what a read sees over time.

* writes: :meth:`DeviceArray.program` (from scratch) and :meth:`DeviceArray.update` (exact, or whole pulses,
  optionally with soft bounds) set the programmed state ``conductances`` and restart the device clock;
* time: :meth:`DeviceArray.set_age` sets the time since programming (s). The retention law maps the
  programmed state to the state at that age (:meth:`DeviceArray.aged`) without changing the programmed state;
  the per-device random draws of the law (drift exponents, relaxation directions) are drawn once per
  programming from the array's own ``drift_rng``, so every age of one programming shares them;
* reads: :meth:`DeviceArray.read` adds multiplicative read noise to the aged state: the static ``read_noise``
  and the 1/f noise of the device's age (ages below ``retention_t0`` read as ``retention_t0``, the first read
  the fits describe).

Writes and reads run as one-pass kernels (:mod:`.kernels`) that take their Gaussians from the array's
``normals``: a :class:`~.normals.NormalStream` of ``rng`` (numpy's numbers in numpy's order, drawn ahead on a
worker thread where that is allowed), so the stream is consumed as ``rng.standard_normal(shape)`` would.
"""

from __future__ import annotations

import numpy as np

from cosim import worker
from cosim.analog.devices import drift, kernels
from cosim.analog.devices.model import DeviceModel
from cosim.analog.devices.normals import NormalStream

#: devices per noisy pass (a write or a read) of a large array: a pass holds its devices' normals at once, 8 bytes
#: each, so larger arrays go in blocks of whole rows, drawing the same normals in the same order (a
#: 51-million-device array held 400 MB of normals per write, and as much again for its prepared read)
PASS_DEVICES = 1 << 22


class DeviceArray:
    """The devices of one crossbar of shape ``shape``: their static defects, programmed state and age.

    ``rng`` draws the static defects; after them, the write and read noise comes from ``normals`` (default: a
    :class:`~.normals.NormalStream` of ``rng``), which then owns ``rng``. The retention law draws from
    ``drift_rng`` (default: a generator spawned from ``rng``, which draws nothing from it)."""

    def __init__(self, model: DeviceModel, shape: tuple[int, int], rng: np.random.Generator,
                 drift_rng: np.random.Generator | None = None, normals: NormalStream | None = None):
        self.model, self.shape = model, tuple(shape)
        self.normals = normals if normals is not None else NormalStream(rng)
        self.drift_rng = drift_rng if drift_rng is not None else rng.spawn(1)[0]
        size = int(np.prod(shape))
        self.stuck = None  # -1: stuck at g_min, +1: at g_max (only allocated when some devices are stuck)
        n_min, n_max = round(model.stuck_at_min * size), round(model.stuck_at_max * size)
        if n_min or n_max:
            order = rng.permutation(size)
            self.stuck = np.zeros(size, dtype=np.int8)
            self.stuck[order[:n_min]] = -1
            self.stuck[order[n_min:n_min + n_max]] = 1
            self.stuck = self.stuck.reshape(shape)
        self.gain = np.maximum(1.0 + model.variability * rng.standard_normal(shape), 0.0) \
            if model.variability else None
        self.step_up = self.step_down = None
        if model.pulsed:
            step = model.pulse_step * model.span
            spread = np.maximum(1.0 + model.pulse_step_spread * rng.standard_normal(shape), 0.0) \
                if model.pulse_step_spread else 1.0
            self.step_up = step * (1.0 + model.asymmetry / 2) * spread
            self.step_down = step * (1.0 - model.asymmetry / 2) * spread
        self.writes = 0  # device writes (one per device per programming, or one per pulse)
        self.conductances: np.ndarray | None = None  # the programmed state (S)
        self.age = 0.0  # time since the last write (s)
        self._draws = None  # per-device draws of the retention law, for the present programming
        self._aged = None  # cached at the present age
        self._power = None  # a future of (G/G_max)^-exponent of the 1/f law, for the present programming
        self._next_read = None  # (a future of the next read, prepared on the device worker; the stream's position)

    # ------------------------------------------------------------------ writes
    def program(self, target: np.ndarray) -> np.ndarray:
        """Write ``target`` (S) into every device from scratch; returns and keeps the true conductances:
        ``clip(target)``, rounded to the levels, times the gain, then settled (programming noise of std
        ``programming_noise * span``, clipped to the range again, stuck devices pinned). One pass
        (:func:`.kernels.program`; per block of rows when noisy and large); the state is kept in the targets'
        floating dtype."""
        m = self.model
        g, target = np.empty(self.shape, _working_dtype(target)), np.ascontiguousarray(target)
        used = 0  # normals of the last block, peeked and not yet consumed
        for rows in self._passes(bool(m.programming_noise)):
            z = self._next_normals(used, g[rows].size) if m.programming_noise else None
            kernels.program(target[rows], m.g_min, m.g_max, m.levels or 0, _rows_of(self.gain, rows),
                            m.programming_noise * m.span, z, _rows_of(self.stuck, rows), g[rows])
            used = 0 if z is None else z.size
        self.writes += g.size
        return self._keep(g, used)

    def update(self, target: np.ndarray) -> np.ndarray:
        """Move every device towards ``target`` (S): exact rewrite, or whole pulses when pulsed (only the devices
        that receive pulses are written: they alone settle, with programming noise of std ``sqrt(|pulses|)``
        times a single write's)."""
        m = self.model
        if self.conductances is None or not m.pulsed:
            return self.program(target)
        g, target = self.conductances.copy(), np.ascontiguousarray(target)
        up, down = np.broadcast_to(self.step_up, self.shape), np.broadcast_to(self.step_down, self.shape)
        used = 0  # normals the last block took, peeked and not yet consumed
        for rows in self._passes(bool(m.programming_noise)):
            z = self._next_normals(used, g[rows].size) if m.programming_noise else None
            pulses, used = kernels.pulse(g[rows], target[rows], m.pulse_step * m.span, up[rows], down[rows],
                                         m.soft_bounds, m.g_min, m.g_max, m.programming_noise * m.span, z,
                                         _rows_of(self.stuck, rows))
            self.writes += pulses
        return self._keep(g, used)

    def restore(self, conductances: np.ndarray | None) -> None:
        """Take ``conductances`` (S; None: never programmed) as the programmed state, as written by a
        checkpoint or an export; the clock restarts."""
        self._keep(conductances)

    def _keep(self, g: np.ndarray | None, used: int = 0) -> np.ndarray | None:
        """Keep ``g`` as the programmed state and restart the clock (time between training writes is neglected);
        ``used``: the normals the write took (peeked), consumed here. The 1/f law's ``(G/G_max)^-exponent`` of
        the new state and, while the worker runs in the background, the next read at this age are prepared on
        the device worker (the read's normals are consumed when it is taken, so an unused one changes nothing).
        The amplitudes go to the worker before consuming the write's normals starts drawing ahead there: the
        next forward pass waits for them, and the worker cannot leave a draw it has begun (0.5 ms on the
        default chip's largest crossbar)."""
        m = self.model
        self.conductances = g
        self.age, self._draws, self._aged, self._next_read = 0.0, None, None, None
        self._power = (worker.submit(_one_over_f_power, g, m.g_max, m.read_noise_1f_exponent, urgent=True)
                       if m.read_noise_1f and g is not None else None)
        if used:
            self.normals.advance(used)
        if g is not None and m.noisy_reads and worker.background() and g.size <= PASS_DEVICES:
            z = self.normals.peek(g.size)  # the next read, its normals not yet consumed
            self._next_read = (worker.submit(self._noisy_read, g, self._power, z, urgent=True),
                               self.normals.position())
        return g

    # ------------------------------------------------------------------ time and reads
    def set_age(self, seconds: float) -> None:
        """Set the time since programming (s, >= 0); the programmed state is unchanged."""
        if seconds < 0:
            raise ValueError(f"a device age must be >= 0 s, got {seconds}")
        self.age, self._aged, self._next_read = float(seconds), None, None

    def aged(self) -> np.ndarray:
        """The conductances (S) at the present age, without read noise (the programmed ones at age 0)."""
        if self._aged is None:
            self._aged = self._retained()
        return self._aged

    def read(self) -> np.ndarray:
        """The conductances one solve sees: the aged ones with fresh read noise, ``max(g (1 + s z), 0)`` with one
        Gaussian ``z`` per device and ``s`` the relative read std: the static ``read_noise`` and the 1/f noise at
        the present age (:func:`~cosim.analog.devices.drift.one_over_f_read_noise_std`), in quadrature."""
        g, m = self.aged(), self.model
        if not m.noisy_reads:
            return g
        prepared, self._next_read = self._next_read, None
        if prepared is not None and prepared[1] == self.normals.position():  # drawn from these same normals
            self.normals.take(g.size)
            return prepared[0].result()
        out = np.empty_like(g)
        power = None if self._power is None else self._power.result()
        for rows in self._passes():
            self._read_into(g[rows], _rows_of(power, rows), self.normals.take(g[rows].size), out[rows])
        return out

    def _noisy_read(self, g: np.ndarray, power, z: np.ndarray) -> np.ndarray:
        """A read of the state ``g`` at the present age with the normals ``z`` (the device worker's job);
        ``power``: the future of the 1/f amplitudes' state dependence (None without 1/f noise)."""
        out = np.empty_like(g)
        self._read_into(g, None if power is None else power.result(), z, out)
        return out

    def _read_into(self, g: np.ndarray, power: np.ndarray | None, z: np.ndarray, out: np.ndarray) -> None:
        """``out`` = a read of the devices in ``g`` (rows of the array) at the present age with the normals ``z``;
        ``power``: their 1/f amplitudes' state dependence (None without 1/f noise)."""
        m = self.model
        band = float(drift.one_over_f_read_noise_std(1.0, 1.0, max(self.age, m.retention_t0), m.t_read)) \
            if m.read_noise_1f else 0.0
        kernels.noisy_read(g, power, m.read_noise_1f, drift.PCM_Q_MAX, band, m.read_noise, z, out)

    def _passes(self, noisy: bool = True) -> list[slice]:
        """The row blocks a noisy pass goes in: all rows at once, or blocks of at most ``PASS_DEVICES`` devices
        (whole rows, at least one)."""
        rows, columns = self.shape
        if not noisy or rows * columns <= PASS_DEVICES:
            return [slice(None)]
        step = max(1, PASS_DEVICES // columns)
        return [slice(start, min(rows, start + step)) for start in range(0, rows, step)]

    def _next_normals(self, consumed: int, n: int) -> np.ndarray:
        """The next ``n`` normals (peeked), after consuming ``consumed`` of the last peek."""
        if consumed:
            self.normals.advance(consumed)
        return self.normals.peek(n)

    def _retained(self) -> np.ndarray:
        """The retention law of the model applied to the programmed state at the present age."""
        m, g, t = self.model, self.conductances, self.age
        if m.retention == "none" or t == 0:
            return g
        if m.retention == "power_law":
            if self._draws is None:  # once per programming, from the drift stream
                mean, spread = (drift.pcm_nu_statistics(g, m.g_max) if m.drift_nu_state_dependent
                                else (m.drift_nu, m.drift_nu_spread))
                self._draws = drift.draw_nu(self.shape, mean, spread, self.drift_rng)
            aged = drift.power_law_drift(g, self._draws, t, m.retention_t0)
        elif m.retention == "log_relaxation":
            if self._draws is None:
                self._draws = self.drift_rng.standard_normal(self.shape)
            aged = drift.log_relaxation(g, self._draws, t, m.retention_t0, m.relaxation_mean, m.relaxation_spread,
                                        m.span)
        else:
            aged = drift.exponential_relaxation(g, t, m.retention_tau, m.g_min + m.retention_equilibrium * m.span)
        # PCM drift may leave the programmable range downwards; a relaxing filament stays inside it
        aged = np.clip(aged, m.g_min if m.retention == "log_relaxation" else 0.0, m.g_max)
        if self.stuck is not None:
            aged = np.where(self.stuck != 0, g, aged)
        return aged.astype(g.dtype, copy=False)


def _rows_of(array: np.ndarray | None, rows: slice) -> np.ndarray | None:
    """``array[rows]`` of a per-device array, or None for none."""
    return None if array is None else array[rows]


def _one_over_f_power(g: np.ndarray, g_max: float, exponent: float) -> np.ndarray:
    """``max(|g| / g_max, 1e-7)^-exponent`` in ``g``'s dtype: the state dependence of the 1/f amplitude."""
    power = np.empty(g.shape, g.dtype)
    kernels.relative(g, g_max, power)
    return np.power(power, -exponent, out=power)


def _working_dtype(target: np.ndarray) -> np.dtype:
    """The dtype device states are kept in: the targets' floating dtype (float64 for integer targets)."""
    dtype = np.asarray(target).dtype
    return dtype if dtype.kind == "f" else np.dtype(np.float64)
