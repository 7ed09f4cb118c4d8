"""SPICE export and validation: cosim's resistive networks as ngspice netlists, and the check that
ngspice finds the same node voltages as cosim's solver (see README.md in this folder and docs/spice.md).

Reads analog networks and writes text; :mod:`cosim.analog` never imports this package.
"""

from cosim.spice.netlist import Netlist, SpiceSettings, node_name, write_netlist
from cosim.spice.ngspice import NgspiceMissingError, SpiceError, SpiceResult, find_ngspice, parse_wrdata, run

__all__ = [
    "Netlist", "NgspiceMissingError", "SpiceError", "SpiceResult", "SpiceSettings", "find_ngspice", "node_name",
    "parse_wrdata", "run", "write_netlist",
]
