"""Data volume per pass: a fixed rate while the margin holds, or DVB-S2 adaptive coding.

DVB-S2 MODCODs follow ETSI EN 302 307-1: the required Es/N0 is Table 13's ideal value
for quasi-error-free reception of normal (64,800-bit) frames on an AWGN channel, and
the efficiency counts what each frame spends on its headers, computed from first
principles as

    bits per symbol = (K_bch - 80) / (64800 / m + 90 + pilot symbols)

with K_bch the BCH payload of the code rate (Table 5a), 80 bits of BBHEADER, m bits per
symbol, a 90-symbol PLHEADER and, with pilots, 36 symbols per 16 slots of 90 symbols.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from groundshare.errors import InvalidInputError

NORMAL_FRAME_BITS = 64_800
_K_BCH = {"1/4": 16008, "1/3": 21408, "2/5": 25728, "1/2": 32208, "3/5": 38688, "2/3": 43040,
          "3/4": 48408, "4/5": 51648, "5/6": 53840, "8/9": 57472, "9/10": 58192}
_BITS_PER_SYMBOL = {"QPSK": 2, "8PSK": 3, "16APSK": 4, "32APSK": 5}
# ETSI EN 302 307-1 V1.4.1 Table 13: ideal Es/N0 (dB) for QEF at normal FECFRAME length, AWGN.
_REQUIRED_ESN0_DB = {
    "QPSK 1/4": -2.35, "QPSK 1/3": -1.24, "QPSK 2/5": -0.30, "QPSK 1/2": 1.00, "QPSK 3/5": 2.23,
    "QPSK 2/3": 3.10, "QPSK 3/4": 4.03, "QPSK 4/5": 4.68, "QPSK 5/6": 5.18, "QPSK 8/9": 6.20,
    "QPSK 9/10": 6.42,
    "8PSK 3/5": 5.50, "8PSK 2/3": 6.62, "8PSK 3/4": 7.91, "8PSK 5/6": 9.35, "8PSK 8/9": 10.69,
    "8PSK 9/10": 10.98,
    "16APSK 2/3": 8.97, "16APSK 3/4": 10.21, "16APSK 4/5": 11.03, "16APSK 5/6": 11.61,
    "16APSK 8/9": 12.89, "16APSK 9/10": 13.13,
    "32APSK 3/4": 12.73, "32APSK 4/5": 13.64, "32APSK 5/6": 14.28, "32APSK 8/9": 15.69,
    "32APSK 9/10": 16.05,
}


@dataclass(frozen=True, slots=True)
class Modcod:
    """One DVB-S2 modulation and code rate."""

    name: str
    bits_per_symbol: int
    k_bch: int
    required_esn0_db: float

    def efficiency(self, *, pilots: bool = False) -> float:
        """Return information bits per transmitted symbol, frame headers (and pilots) included."""
        slots = NORMAL_FRAME_BITS // self.bits_per_symbol // 90
        pilot_symbols = 36 * ((slots - 1) // 16) if pilots else 0
        symbols = NORMAL_FRAME_BITS / self.bits_per_symbol + 90 + pilot_symbols
        return (self.k_bch - 80) / symbols


DVB_S2 = {
    name: Modcod(name, _BITS_PER_SYMBOL[name.split()[0]], _K_BCH[name.split()[1]], esn0)
    for name, esn0 in _REQUIRED_ESN0_DB.items()
}


def modcods_by_name(names: list[str] | tuple[str, ...] | str) -> list[Modcod]:
    """Return the MODCODs named (or all for ``"all"``), from the most robust to the fastest.

    >>> [m.name for m in modcods_by_name(["8PSK 2/3", "QPSK 1/2"])]
    ['QPSK 1/2', '8PSK 2/3']
    """
    if names == "all":
        chosen = list(DVB_S2.values())
    else:
        unknown = [n for n in names if n not in DVB_S2]
        if unknown or not names:
            raise InvalidInputError(
                f"unknown DVB-S2 MODCOD {unknown[0]!r}; expected names such as 'QPSK 1/2' or '8PSK 3/5' "
                f"(known: {', '.join(DVB_S2)})" if unknown else "no MODCOD given; name at least one",
                loc=("modcods",))
        chosen = [DVB_S2[n] for n in names]
    return sorted(chosen, key=lambda m: (m.required_esn0_db, m.name))


def fixed_rate_volume_bytes(margin_db: np.ndarray, weight_s: np.ndarray, owner: np.ndarray, n_owner: int,
                            rate_bps: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (bytes, usable seconds) per owner (pass) at ``rate_bps`` wherever the margin is >= 0.

    ``margin_db``, ``weight_s`` (sample weights in seconds) and ``owner`` (pass index)
    are per sample.
    """
    usable = np.where(margin_db >= 0.0, weight_s, 0.0)
    seconds = np.bincount(owner, weights=usable, minlength=n_owner)
    return seconds * rate_bps / 8.0, seconds


def acm_levels(esn0_db: np.ndarray, owner: np.ndarray, modcods: list[Modcod], *, margin_db: float,
               hysteresis_db: float) -> np.ndarray:
    """Return the index into ``modcods`` used at each sample, or -1 where none closes.

    MODCOD j is allowed once Es/N0 reaches its requirement + ``margin_db`` +
    ``hysteresis_db`` and stays allowed until Es/N0 falls below requirement +
    ``margin_db``; the fastest allowed one is used.  Each owner (pass) starts with none
    allowed.  Because the thresholds rise with j, the allowed sets are nested, so each
    MODCOD's switch is a two-threshold trigger computed with a running maximum (no
    loop over samples).
    """
    n = esn0_db.size
    level = np.full(n, -1, dtype=np.int16)
    if n == 0:
        return level
    index = np.arange(n)
    first = np.concatenate([[True], owner[1:] != owner[:-1]])
    for j, m in enumerate(modcods):
        on = esn0_db >= m.required_esn0_db + margin_db + hysteresis_db
        off = esn0_db < m.required_esn0_db + margin_db
        # Last switching event at or before each sample; a pass starts switched off.
        last_on = np.maximum.accumulate(np.where(on, index, -1))
        last_off = np.maximum.accumulate(np.where(off | (first & ~on), index, -1))
        allowed = last_on > last_off
        level[allowed] = j
    return level


def acm_volume_bytes(esn0_db: np.ndarray, weight_s: np.ndarray, owner: np.ndarray, n_owner: int,
                     modcods: list[Modcod], *, symbol_rate_baud: float, margin_db: float, hysteresis_db: float,
                     pilots: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (bytes, usable seconds, per-sample MODCOD index) per owner under DVB-S2 ACM."""
    level = acm_levels(esn0_db, owner, modcods, margin_db=margin_db, hysteresis_db=hysteresis_db)
    efficiency = np.array([m.efficiency(pilots=pilots) for m in modcods] + [0.0])
    rate_bps = symbol_rate_baud * efficiency[level]          # level -1 picks the trailing 0.0
    volume = np.bincount(owner, weights=rate_bps * weight_s, minlength=n_owner) / 8.0
    seconds = np.bincount(owner, weights=np.where(level >= 0, weight_s, 0.0), minlength=n_owner)
    return volume, seconds, level
