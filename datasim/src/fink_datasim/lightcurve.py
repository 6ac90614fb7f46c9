"""Light-curve models: supernova-like transients (Bazin profile), periodic variable stars, photometric errors."""

from __future__ import annotations

import math
import random

__all__ = ["NO_FLUX", "TransientCurve", "VariableStarCurve", "mag_error"]

#: Magnitude returned when there is no flux at all.
NO_FLUX = math.inf

# Colour of a fresh transient relative to r, per filter, and how it reddens per day after peak.
_TRANSIENT_COLOUR = {1: -0.15, 2: 0.0, 3: 0.25}
_TRANSIENT_REDDENING = {1: 0.025, 2: 0.0, 3: -0.008}


def mag_error(mag: float, limit: float) -> float:
    """1-sigma PSF-photometry error of a source of magnitude `mag` in an image whose 5-sigma limit is `limit`."""
    snr = 5.0 * 10.0 ** (0.4 * (limit - mag))
    return math.sqrt((1.0857 / snr) ** 2 + 0.01**2)


class TransientCurve:
    """A Bazin rise-and-decline profile: `flux ~ exp(-(t - t0)/tau_fall) / (1 + exp(-(t - t0)/tau_rise))`.

    `peak_mag` is the r-band peak; g is bluer early and reddens with time, i the other way round.
    """

    def __init__(self, peak_jd: float, peak_mag: float, tau_rise: float, tau_fall: float) -> None:
        self.peak_jd = peak_jd
        self.peak_mag = peak_mag
        self.tau_rise = tau_rise
        self.tau_fall = tau_fall
        self.t0 = peak_jd - tau_rise * math.log(tau_fall / tau_rise - 1.0)
        self._peak_flux = self._flux(peak_jd)

    @classmethod
    def draw(cls, rng: random.Random, around_jd: float, limit: float = 20.3) -> TransientCurve:
        """A transient detectable in r at `around_jd`: rising (peak later) or fading (peak earlier)."""
        curve = cls(around_jd, 19.0, 3.0, 30.0)
        for _ in range(50):
            young = rng.random() < 0.2
            peak = around_jd + (rng.uniform(3.0, 12.0) if young else rng.uniform(-25.0, 8.0))
            tau_rise = rng.uniform(0.8, 2.5) if young else rng.uniform(1.5, 5.0)
            curve = cls(peak, rng.uniform(17.5, 20.2), tau_rise, rng.uniform(15.0, 60.0))
            if curve.mag(around_jd, 2) < limit:
                break
        return curve

    def _flux(self, jd: float) -> float:
        x = jd - self.t0
        if x < -40.0 * self.tau_rise:
            return 0.0
        return math.exp(-x / self.tau_fall) / (1.0 + math.exp(-x / self.tau_rise))

    def mag(self, jd: float, fid: int) -> float:
        flux = self._flux(jd)
        if flux <= 0.0:
            return NO_FLUX
        colour = _TRANSIENT_COLOUR[fid] + _TRANSIENT_REDDENING[fid] * (jd - self.peak_jd)
        colour = max(-0.4, min(1.5, colour))
        return self.peak_mag - 2.5 * math.log10(flux / self._peak_flux) + colour

    def first_detectable_jd(self, before_jd: float, limit: float = 20.6) -> float:
        """Earliest day (1-day steps back from `before_jd`, at most 200) when r was brighter than `limit`."""
        jd = before_jd
        for _ in range(200):
            if self.mag(jd - 1.0, 2) >= limit:
                break
            jd -= 1.0
        return jd


class VariableStarCurve:
    """A periodic star: sinusoidal magnitude around its reference magnitude; the alert sees the difference flux."""

    def __init__(self, ref_mag_r: float, g_r: float, r_i: float, amplitude: float, period: float, phase: float) -> None:
        self.ref = {1: ref_mag_r + g_r, 2: ref_mag_r, 3: ref_mag_r - r_i}
        self.amplitude = amplitude
        self.period = period
        self.phase = phase

    @classmethod
    def draw(cls, rng: random.Random) -> VariableStarCurve:
        return cls(
            ref_mag_r=rng.uniform(15.0, 20.5),
            g_r=rng.uniform(0.2, 1.2),
            r_i=rng.uniform(0.05, 0.5),
            amplitude=math.exp(rng.uniform(math.log(0.02), math.log(0.8))),
            period=math.exp(rng.uniform(math.log(0.05), math.log(300.0))),
            phase=rng.random(),
        )

    def mag(self, jd: float, fid: int) -> float:
        """Magnitude of the star itself."""
        return self.ref[fid] + self.amplitude * math.sin(2.0 * math.pi * (jd / self.period + self.phase))

    def difference(self, jd: float, fid: int) -> tuple[float, bool]:
        """(magnitude of |flux - reference flux|, True when brighter than the reference)."""
        delta = 10.0 ** (-0.4 * self.mag(jd, fid)) - 10.0 ** (-0.4 * self.ref[fid])
        if delta == 0.0:
            return NO_FLUX, True
        return -2.5 * math.log10(abs(delta)), delta > 0.0
