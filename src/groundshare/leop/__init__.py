"""Launch and early orbit: first-contact windows from the deployment, and which catalogued object is ours.

``deploy`` turns the launch provider's element set or state vector (CCSDS OPM/OEM) into
SGP4 elements; ``windows`` plans the first hours of contact windows per station over the
deployment-time uncertainty.  Plain functions returning dataclasses with ``to_dict()``, so
that the command line and the API are thin wrappers.
"""

from groundshare.leop.deploy import (
    Deployment,
    StateVector,
    deployment_from_elements,
    deployment_from_ephemeris,
    deployment_from_state,
    deployment_from_state_file,
    fit_sgp4_elements,
    fit_sgp4_ephemeris,
    gcrf_to_teme_matrix,
    parse_oem_kvn,
    parse_opm_kvn,
)
from groundshare.leop.windows import LeopPlan, LeopWindow, plan_windows, timing_uncertainty_s

__all__ = [
    "Deployment",
    "LeopPlan",
    "LeopWindow",
    "StateVector",
    "deployment_from_elements",
    "deployment_from_ephemeris",
    "deployment_from_state",
    "deployment_from_state_file",
    "fit_sgp4_elements",
    "fit_sgp4_ephemeris",
    "gcrf_to_teme_matrix",
    "parse_oem_kvn",
    "parse_opm_kvn",
    "plan_windows",
    "timing_uncertainty_s",
]
