"""Programmable conductance devices (RRAM, PCM, ECRAM, ...) behind a crossbar, with their non-idealities.

``model``: the parameters (:class:`DeviceModel`); ``array``: the devices of one crossbar (:class:`DeviceArray`),
their programmed state and their age; ``drift``: the laws over time and global drift compensation;
``soft_bounds``: the saturating pulsed update. Device presets with sources live in the config layer
(:mod:`cosim.config.presets`), since they are config values.
"""

from cosim.analog.devices.array import DeviceArray
from cosim.analog.devices.model import RETENTION_LAWS, DeviceModel

__all__ = ["DeviceArray", "DeviceModel", "RETENTION_LAWS"]
