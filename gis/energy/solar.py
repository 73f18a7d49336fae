"""Daylight at a site, hour by hour: the weight with which curtailed solar energy is placed in time.

Solar curtailment happens only while the sun is up at the plant. For each (site, hour) the
weight is ``max(0, cos(zenith))`` at the middle of the hour, from pvlib's analytical solar
position (Spencer 1971 declination and equation of time, Iqbal's zenith), vectorised over sites
and hours; accurate to about a degree, plenty for hourly weights.

>>> import pandas as pd, numpy as np
>>> hours = pd.date_range("2024-06-21", periods=24, freq="h", tz="UTC")
>>> w = daylight_weights(np.array([-118.0]), np.array([35.0]), hours)
>>> int(np.argmax(w[0]))  # solar noon at 118 W is about 19:50 UTC: the 19:00-20:00 hour
19
>>> bool(w[0, 8] == 0.0)  # 08:00 UTC is 1 am in California
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["daylight_weights"]


def daylight_weights(lon: np.ndarray, lat: np.ndarray, hours: pd.DatetimeIndex) -> np.ndarray:
    """``max(0, cos(solar zenith))`` at the middle of each hour, (sites, hours) float64.

    Parameters
    ----------
    lon, lat
        site coordinates, EPSG:4326 degrees.
    hours
        UTC hour beginnings (tz-aware).
    """
    from pvlib import solarposition  # pvlib's package import takes ~0.4 s: only when daylight is asked for

    mid = hours + pd.Timedelta(minutes=30)
    doy = mid.day_of_year.to_numpy()
    declination = solarposition.declination_spencer71(doy)
    eot = solarposition.equation_of_time_spencer71(doy)
    utc_hours = (mid.hour + mid.minute / 60.0).to_numpy(dtype="float64")
    lon = np.asarray(lon, dtype="float64")[:, None]
    lat = np.radians(np.asarray(lat, dtype="float64"))[:, None]
    # hour angle (degrees): 15 deg an hour from local solar noon (pvlib.solarposition.hour_angle)
    hour_angle = np.radians(15.0 * (utc_hours[None, :] - 12.0) + lon + eot[None, :] / 4.0)
    zenith = solarposition.solar_zenith_analytical(lat, hour_angle, declination[None, :])
    return np.clip(np.cos(zenith), 0.0, None)
