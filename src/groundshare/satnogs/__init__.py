"""SatNOGS stations in a groundshare network: what an unmodified satnogs-client asks for and sends.

``modes`` lists the client's flowgraph modes; ``jobs`` turns a booked contact into the job
dict the client's ``get_jobs`` reads (TLE lines written here, Alpha-5 for catalog numbers of
100000 to 339999); ``uploads`` reads the client's file names (what kind, which observation,
when a frame was received).  Nothing here touches the store or the API: the routes
(``api.routes.satnogs``) call it with plain values.
"""

from groundshare.satnogs.jobs import (
    JobRefusedError,
    SatnogsJob,
    alpha5,
    format_tle,
    job_frequency_hz,
    satnogs_job,
)
from groundshare.satnogs.modes import SATNOGS_CLIENT_VERSION, SATNOGS_MODES, check_mode
from groundshare.satnogs.uploads import UPLOAD_FIELDS, SatnogsFile, parse_upload_name

__all__ = [
    "SATNOGS_CLIENT_VERSION",
    "SATNOGS_MODES",
    "UPLOAD_FIELDS",
    "JobRefusedError",
    "SatnogsFile",
    "SatnogsJob",
    "alpha5",
    "check_mode",
    "format_tle",
    "job_frequency_hz",
    "parse_upload_name",
    "satnogs_job",
]
