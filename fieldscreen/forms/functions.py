"""XPath values and ODK functions: conversions, comparison and arithmetic, the function table.

Values are ``str``, ``float``, ``bool``, :class:`NodeSet` (the values of several instances of a
field, or of a list's rows), and ``datetime.date`` / ``datetime.datetime`` as ODK treats them: a
date counts as days since 1970-01-01 in arithmetic and comparisons and prints as ``YYYY-MM-DD``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

__all__ = [
    "FUNCTIONS",
    "NESTED_REPEAT",
    "SPECIAL",
    "STRICT",
    "NodeSet",
    "Verifier",
    "arith",
    "compare",
    "extract_signed",
    "nodes",
    "raw_to_xpath",
    "to_bool",
    "to_date",
    "to_number",
    "to_string",
]

EPOCH = date(1970, 1, 1)


class NodeSet(tuple[Any, ...]):
    """The values of several instances of a field (inside a repeat), or of a list's rows."""

    __slots__ = ()


# ----------------------------------------------------------------------------- conversions

_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATETIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(T\d{2}:\d{2}.*)$")
#: XPath's Number: digits with an optional point and fraction, or a point and digits; an
#: optional minus, and nothing else (no exponent, no '+', no '_', no other scripts' digits).
#: A clock offset at the end of a time: Python's reader takes ``-07:60``, which is no offset.
_OFFSET = re.compile(r"[+-](\d{2}):?(\d{2})$")
_NUMBER = re.compile(r"^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$")
#: The days since 1970-01-01 of the first and last day a date can hold (years 1 to 9999).
_FIRST_DAY = (date.min - EPOCH).days
_LAST_DAY = (date.max - EPOCH).days
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)


def local_moment(moment: datetime) -> datetime:
    """``moment`` on the laptop's own clock, with its offset: what ODK's ``now()`` gives, and
    whose day is ``today()``. A moment without an offset is taken as the laptop's clock time.
    The zone is the system's at that instant, so a clock change is followed."""
    try:
        return moment.astimezone()
    except (OverflowError, OSError, ValueError):  # at the ends of the calendar
        return moment


def raw_to_xpath(value: Any) -> Any:
    """A stored answer as an XPath value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, tuple):
        return " ".join(value)
    if isinstance(value, time):
        return value.isoformat()
    return value


@lru_cache(maxsize=256)
def _translation(source: str, target: str) -> Mapping[int, str | None]:
    """translate()'s table: each character of ``source`` (its first place counts) to the one at
    the same place in ``target``, or removed when ``target`` is shorter. Kept per pair, since a
    choice filter applies the same pair to every choice."""
    return {
        ord(c): (target[i] if i < len(target) else None)
        for i, c in reversed(list(enumerate(source)))
    }


def to_string(value: Any) -> str:
    if isinstance(value, NodeSet):
        return to_string(value[0]) if value else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, tuple):
        return " ".join(value)
    return str(value)


def to_number(value: Any) -> float:
    if isinstance(value, NodeSet):
        return to_number(value[0]) if value else math.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        # A moment with an offset counts from 1970-01-01T00:00Z, so that two moments given
        # in different offsets (either side of a clock change) are their real time apart.
        delta = value - (_UTC_EPOCH if value.tzinfo is not None else _NAIVE_EPOCH)
        return delta.total_seconds() / 86400.0
    if isinstance(value, date):
        return float((value - EPOCH).days)
    text = to_string(value).strip()
    if _NUMBER.match(text):
        return float(text)
    if _DATE.match(text) or _DATETIME.match(text):
        parsed = to_date(text)
        return to_number(parsed) if parsed is not None else math.nan
    return math.nan


def to_bool(value: Any) -> bool:
    if isinstance(value, NodeSet):
        return len(value) > 0
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, int):
        return value != 0
    if isinstance(value, date):
        return True
    return len(to_string(value)) > 0


def to_date(value: Any) -> date | datetime | None:
    if isinstance(value, NodeSet):
        return to_date(value[0]) if value else None
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value) or not _FIRST_DAY <= math.floor(value) <= _LAST_DAY:
            return None
        return EPOCH + timedelta(days=math.floor(value))
    text = to_string(value).strip()
    match = _DATE.match(text) or _DATETIME.match(text)
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match.re is _DATE:
            return day
        if not offset_is_valid(match.group(4)):
            return None
        return datetime.fromisoformat(day.isoformat() + match.group(4))
    except ValueError:
        return None


def offset_is_valid(text: str) -> bool:
    """Whether the clock offset ``text`` ends with, if any, is one: hours up to 23, minutes
    up to 59 (ODK's evaluators read ``-07:60`` as no time at all)."""
    found = _OFFSET.search(text)
    return found is None or (int(found.group(1)) <= 23 and int(found.group(2)) <= 59)


def to_moment(value: Any) -> date | datetime | None:
    """Like :func:`to_date`, but a number keeps its fraction of a day (for ``date-time``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        day = to_date(value)
        if day is None:
            return None
        seconds = round((value - math.floor(value)) * 86400.0, 3)
        try:
            return datetime.combine(day, time()) + timedelta(seconds=seconds)
        except OverflowError:  # the last moments of 9999-12-31
            return None
    return to_date(value)


# ----------------------------------------------------------------------------- operators


def compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, NodeSet):
        return any(compare(op, item, right) for item in left)
    if isinstance(right, NodeSet):
        return any(compare(op, left, item) for item in right)
    if op in {"=", "!="}:
        if isinstance(left, bool) or isinstance(right, bool):
            equal = to_bool(left) == to_bool(right)
        elif (
            isinstance(left, date)
            or isinstance(right, date)
            or isinstance(left, float)
            or isinstance(right, float)
        ):
            equal = to_number(left) == to_number(right)
        else:
            equal = to_string(left) == to_string(right)
        return equal if op == "=" else not equal
    a, b = to_number(left), to_number(right)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def arith(op: str, left: Any, right: Any) -> float:
    a, b = to_number(left), to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.inf if a > 0 else -math.inf
        return a / b
    if b == 0 or math.isnan(a) or math.isnan(b) or math.isinf(a):
        return math.nan
    return math.fmod(a, b)


# ----------------------------------------------------------------------------- functions


#: A group that repeats and itself holds a repetition (``(a+)+``): such a pattern can take
#: exponential time on a short text, so it is refused at load time and never run.
NESTED_REPEAT = re.compile(
    r"\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,\d*\})(?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d*,)"
)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str] | None:
    """A pattern that comes from an answer or a calculation: one that could freeze the form
    (see :data:`NESTED_REPEAT`) matches nothing, as an invalid one does."""
    if NESTED_REPEAT.search(pattern):
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


_DECIMALS = Context(prec=1000, rounding=ROUND_HALF_UP)


def _round(value: float, digits: float = 0.0) -> float:
    """ODK's round: half away from zero, on the number as written (``-1.475`` -> ``-1.48``)."""
    if not math.isfinite(value) or math.isnan(digits):
        return value if not math.isnan(digits) else math.nan
    if digits >= 400:  # past every digit a number can hold: nothing to round
        return value
    if digits <= -400:  # coarser than every number there is
        return 0.0
    places = int(digits)
    try:
        step = Decimal(1).scaleb(-places, _DECIMALS)
        exact = Decimal(repr(value)).quantize(step, context=_DECIMALS)
        return float(exact) + 0.0  # no negative zero
    except (InvalidOperation, OverflowError):  # pragma: no cover - guarded above
        return math.nan


def _int(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        return value
    return float(math.trunc(value))


def _xpath_round(value: float) -> float:
    """XPath's round(): the nearest whole number, halves up; NaN and infinities as they are."""
    return float(math.floor(value + 0.5)) if math.isfinite(value) else value


def _substring(text: str, start: float, length: float | None = None) -> str:
    """XPath's substring(): the characters at positions p with start <= p < start + length
    (both rounded), so NaN anywhere gives '' and infinities are bounds, never an error."""
    first = _xpath_round(start)
    last = math.inf if length is None else first + _xpath_round(length)
    if math.isnan(first) or math.isnan(last):
        return ""
    low = max(1.0, first)
    high = min(len(text) + 1.0, last)
    return text[int(low) - 1 : int(high) - 1] if low < high else ""


def _substr(value: Any, start: Any, end: Any = None) -> str:
    """ODK's substr(value, start, end?): the characters from index ``start`` (0-based) up to
    but not including ``end`` (the text's end when not given), a negative index counting from
    the end, as ODK Collect's evaluator does (numbers cut to whole ones, NaN as 0, the bounds
    kept within the text)."""
    text = to_string(value)
    size = len(text)

    def index(given: Any) -> int:
        number = to_number(given)
        if math.isnan(number):
            return 0
        return int(max(-size - 1.0, min(size + 1.0, number)))

    first = index(start)
    last = size if end is None else index(end)
    return text[first:last]


def _before(text: str, separator: str) -> str:
    """substring-before(): '' when the separator is empty or absent."""
    return text.partition(separator)[0] if separator and separator in text else ""


def _after(text: str, separator: str) -> str:
    """substring-after(): the whole text for an empty separator, '' when it is absent."""
    if not separator:
        return text
    return text.partition(separator)[2] if separator in text else ""


def _format_date(value: Any, fmt: str) -> str:
    parsed = to_date(value)
    if parsed is None:
        return ""
    moment = parsed if isinstance(parsed, datetime) else datetime.combine(parsed, time())
    table = {
        "%Y": f"{moment.year:04d}",
        "%y": f"{moment.year % 100:02d}",
        "%m": f"{moment.month:02d}",
        "%n": str(moment.month),
        "%d": f"{moment.day:02d}",
        "%e": str(moment.day),
        "%H": f"{moment.hour:02d}",
        "%h": str(moment.hour),
        "%M": f"{moment.minute:02d}",
        "%S": f"{moment.second:02d}",
        "%b": moment.strftime("%b"),
        "%a": moment.strftime("%a"),
    }
    return re.sub(r"%[A-Za-z]", lambda m: table.get(m.group(0), m.group(0)), fmt)


def nodes(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, NodeSet) else (value,)


def _date_fn(value: Any) -> Any:
    """date(): the day (a date-time loses its time, as in ODK Collect); '' if none."""
    parsed = to_date(value)
    if isinstance(parsed, datetime):
        return parsed.date()
    return parsed if parsed is not None else ""


def _date_time_fn(value: Any) -> Any:
    """date-time(): the moment (a number keeps its fraction of a day); '' if none."""
    parsed = to_moment(value)
    return parsed if parsed is not None else ""


def _decimal_date_time(value: Any) -> float:
    parsed = to_date(value)
    return to_number(parsed) if parsed is not None else math.nan


def _selected_at(items: str, index: float) -> str:
    parts = items.split()
    if not math.isfinite(index) or not 0 <= index < len(parts):
        return ""
    return parts[int(index)]


def _max(values: Any) -> float:
    nums = [to_number(v) for v in nodes(values)]
    return max(nums) if nums and not any(math.isnan(n) for n in nums) else math.nan


def _min(values: Any) -> float:
    nums = [to_number(v) for v in nodes(values)]
    return min(nums) if nums and not any(math.isnan(n) for n in nums) else math.nan


def _sum(values: Any) -> float:
    if not isinstance(values, NodeSet):
        return to_number(values)
    numbers = [to_number(v) for v in values if to_string(v) != ""]
    try:
        return float(math.fsum(numbers))
    except (OverflowError, ValueError):  # infinities, or a sum past the largest number
        return float(sum(numbers))


def _math(fn: Callable[..., float]) -> Callable[..., float]:
    """A math function over XPath numbers: NaN outside its domain or past the largest number,
    never an exception."""

    def total(*args: Any) -> float:
        try:
            return float(fn(*(to_number(a) for a in args)))
        except (OverflowError, ValueError, ZeroDivisionError):
            return math.nan

    return total


def _log(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log(x)


def _log10(x: float) -> float:
    if x == 0:
        return -math.inf
    return math.log10(x)


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _exp10(x: float) -> float:
    try:
        return math.pow(10.0, x)
    except OverflowError:
        return math.inf


def _decimal_time(value: Any) -> float:
    """decimal-time('HH:MM[:SS]'): the time as a fraction of a day; NaN for anything else."""
    if isinstance(value, time):
        moment = value
    else:
        text = to_string(value).strip()
        if not re.fullmatch(r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?", text):
            return math.nan
        if not offset_is_valid(text):
            return math.nan
        try:
            moment = time.fromisoformat(text)
        except ValueError:
            return math.nan
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6
    offset = moment.utcoffset()
    if offset is not None:
        seconds -= offset.total_seconds()
    return (seconds % 86400) / 86400.0


def _checklist(low: Any, high: Any, *values: Any) -> bool:
    """checklist(min, max, v...): whether the number of true values is in [min, max]
    (-1 for no bound)."""
    count = sum(1 for v in values for item in nodes(v) if to_bool(item))
    lo, hi = to_number(low), to_number(high)
    return (lo == -1 or count >= lo) and (hi == -1 or count <= hi)


def _weighted_checklist(low: Any, high: Any, *pairs: Any) -> bool:
    """weighted-checklist(min, max, v1, w1, v2, w2 ...): whether the sum of the weights of the
    true values is in [min, max] (-1 for no bound)."""
    total = 0.0
    for value, weight in zip(pairs[::2], pairs[1::2], strict=False):
        if to_bool(value):
            total += to_number(weight)
    lo, hi = to_number(low), to_number(high)
    return (lo == -1 or total >= lo) and (hi == -1 or total <= hi)


#: digest()'s algorithms, as ODK names them (in any case), to hashlib's names.
DIGESTS = {"md5": "md5", "sha-1": "sha1", "sha-256": "sha256", "sha-384": "sha384",
           "sha-512": "sha512"}  # fmt: skip


def _digest(data: Any, algorithm: Any, encoding: Any = "base64") -> str:
    """digest(data, 'SHA-256', 'hex'|'base64'): the hash of the text as UTF-8; ``''`` for an
    algorithm or an encoding ODK does not name (a literal one is refused at load time)."""
    name = DIGESTS.get(to_string(algorithm).strip().lower())
    how = to_string(encoding).strip().lower()
    if name is None or how not in {"base64", "hex"}:
        return ""
    hashed = hashlib.new(name, to_string(data).encode("utf-8", "surrogatepass"))
    return hashed.hexdigest() if how == "hex" else base64.b64encode(hashed.digest()).decode()


def _base64_decode(text: Any) -> str:
    """base64-decode(text): the UTF-8 text the base64 encodes; ``''`` when it is not base64 or
    not UTF-8 text, as in ODK."""
    try:
        data = base64.b64decode("".join(to_string(text).split()), validate=True)
        return data.decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return ""


#: How extract-signed() checks an Ed25519 signature: ``(public key, message, signature) ->
#: valid``. The forms engine holds no cryptography of its own: the check is handed in, and is
#: fieldscreen.crypto's (the signatures of signed forms) when none is.
Verifier = Callable[[bytes, bytes, bytes], bool]
#: An Ed25519 signature and public key, in bytes (RFC 8032).
_SIGNATURE_BYTES = 64
_PUBLIC_KEY_BYTES = 32


def _crypto_verifier() -> Verifier:
    from fieldscreen.crypto.signing import verify

    return verify


def extract_signed(signed: Any, public_key: Any, verify: Verifier | None = None) -> str:
    """extract-signed(signed, public key), as ODK Collect has it: ``signed`` is the base64 of
    a 64-byte Ed25519 signature followed by the message it signs, ``public key`` the base64 of
    the 32-byte key; the message, as UTF-8 text, when the signature is the key's, else ``''``
    (text that is not base64, a key of another length, an empty message)."""
    try:
        data = base64.b64decode("".join(to_string(signed).split()), validate=True)
        key = base64.b64decode("".join(to_string(public_key).split()), validate=True)
    except ValueError:  # binascii.Error is a ValueError
        return ""
    if len(key) != _PUBLIC_KEY_BYTES or len(data) <= _SIGNATURE_BYTES:
        return ""
    signature, message = data[:_SIGNATURE_BYTES], data[_SIGNATURE_BYTES:]
    if not (verify or _crypto_verifier())(key, message, signature):
        return ""
    return message.decode("utf-8", "replace")


@lru_cache(maxsize=256)
def _extract_signed_cached(signed: str, public_key: str) -> str:
    return extract_signed(signed, public_key)


def _extract_signed(signed: Any, public_key: Any) -> str:
    """The function of the table: the same signed text is checked once (a calculation runs
    again at every answer)."""
    return _extract_signed_cached(to_string(signed), to_string(public_key))


#: The radius ODK's evaluators take for the Earth in area() and distance(), in metres.
EARTH_RADIUS = 6378100.0


def _geopoints(values: tuple[Any, ...]) -> list[tuple[float, float]] | None:
    """The points of area()/distance(): a node-set of geopoints, or text of points separated
    by ';' (a geotrace or geoshape), each 'lat lon [alt [accuracy]]'; None if any is not a
    point on the Earth."""
    texts = [to_string(v) for value in values for v in nodes(value)]
    if len(texts) == 1:
        texts = texts[0].split(";")
    points = []
    for text in texts:
        parts = text.split()
        if not 2 <= len(parts) <= 4 or not all(_NUMBER.match(p) for p in parts):
            return None
        lat, lon = float(parts[0]), float(parts[1])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            return None
        if len(parts) == 4 and float(parts[3]) < 0:
            return None
        points.append((math.radians(lat), math.radians(lon)))
    return points


def _distance(*values: Any) -> float:
    """distance(): the length in metres of the path through the points, on a sphere, rounded
    to the centimetre as ODK's evaluators do; NaN for anything that is not points."""
    points = _geopoints(values)
    if not points:
        return math.nan
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(points):
        cosine = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(
            lon1 - lon2
        )
        total += math.acos(max(-1.0, min(1.0, cosine))) * EARTH_RADIUS
    return _round(total, 2.0)


def _area(*values: Any) -> float:
    """area(): the area in square metres of the polygon through the points, on a sphere
    (the spherical excess of each edge against the pole), rounded to the centimetre; 0 for
    fewer than three points; NaN for anything that is not points."""
    points = _geopoints(values)
    if not points:
        return math.nan
    if len(points) < 3:
        return 0.0
    total = 0.0
    for (lat1, lon1), (lat2, lon2) in zip(points, points[1:] + points[:1], strict=True):
        total += (lon2 - lon1) * (2 + math.sin(lat1) + math.sin(lat2))
    return abs(_round(total * EARTH_RADIUS * EARTH_RADIUS / 2.0, 2.0))


def _geofence(point: Any, shape: Any) -> bool:
    """geofence(point, shape): whether the point lies inside the shape's polygon, by the
    crossings of a ray in the plane of latitude and longitude as ODK Collect counts them;
    false when the point is not one point or the shape has fewer than three."""
    where, corners = _geopoints((point,)), _geopoints((shape,))
    if where is None or len(where) != 1 or corners is None or len(corners) < 3:
        return False
    (lat, lon), inside = where[0], False
    for (lat1, lon1), (lat2, lon2) in zip(corners, corners[1:] + corners[:1], strict=True):
        if (lat1 > lat) != (lat2 > lat):
            crossing = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            inside ^= lon < crossing
    return inside


#: name -> (min args, max args or -1, implementation over evaluated arguments)
STRICT: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "true": (0, 0, lambda: True),
    "false": (0, 0, lambda: False),
    "not": (1, 1, lambda a: not to_bool(a)),
    "boolean": (1, 1, to_bool),
    "boolean-from-string": (1, 1, lambda a: to_string(a) in {"true", "1"}),
    "number": (1, 1, to_number),
    "string": (1, 1, to_string),
    "concat": (0, -1, lambda *a: "".join(to_string(x) for x in a)),
    "join": (1, -1, lambda s, *a: to_string(s).join(to_string(v) for x in a for v in nodes(x))),
    "contains": (2, 2, lambda a, b: to_string(b) in to_string(a)),
    "starts-with": (2, 2, lambda a, b: to_string(a).startswith(to_string(b))),
    "ends-with": (2, 2, lambda a, b: to_string(a).endswith(to_string(b))),
    "substr": (2, 3, _substr),
    "substring": (
        2,
        3,
        lambda s, i, n=None: _substring(
            to_string(s), to_number(i), None if n is None else to_number(n)
        ),
    ),
    "substring-before": (2, 2, lambda a, b: _before(to_string(a), to_string(b))),
    "substring-after": (2, 2, lambda a, b: _after(to_string(a), to_string(b))),
    "string-length": (1, 1, lambda a: float(len(to_string(a)))),
    "normalize-space": (1, 1, lambda a: " ".join(to_string(a).split())),
    "translate": (
        3,
        3,
        lambda s, a, b: to_string(s).translate(_translation(to_string(a), to_string(b))),
    ),
    "regex": (
        2,
        2,
        lambda s, p: (
            bool(rx.search(to_string(s))) if (rx := _regex(to_string(p))) is not None else False
        ),
    ),
    "selected": (2, 2, lambda a, b: to_string(b).strip() in to_string(a).split()),
    "count-selected": (1, 1, lambda a: float(len(to_string(a).split()))),
    "selected-at": (2, 2, lambda a, i: _selected_at(to_string(a), to_number(i))),
    "int": (1, 1, lambda a: _int(to_number(a))),
    "round": (1, 2, lambda a, d=0.0: _round(to_number(a), to_number(d))),
    "floor": (1, 1, lambda a: float(math.floor(n)) if math.isfinite(n := to_number(a)) else n),
    "ceiling": (1, 1, lambda a: float(math.ceil(n)) if math.isfinite(n := to_number(a)) else n),
    "abs": (1, 1, lambda a: abs(to_number(a))),
    "pow": (2, 2, lambda a, b: _pow(to_number(a), to_number(b))),
    "sqrt": (1, 1, _math(math.sqrt)),
    "exp": (1, 1, _math(_exp)),
    "exp10": (1, 1, _math(_exp10)),
    "log": (1, 1, _math(_log)),
    "log10": (1, 1, _math(_log10)),
    "sin": (1, 1, _math(math.sin)),
    "cos": (1, 1, _math(math.cos)),
    "tan": (1, 1, _math(math.tan)),
    "asin": (1, 1, _math(math.asin)),
    "acos": (1, 1, _math(math.acos)),
    "atan": (1, 1, _math(math.atan)),
    "atan2": (2, 2, _math(math.atan2)),
    "pi": (0, 0, lambda: math.pi),
    "decimal-time": (1, 1, _decimal_time),
    "checklist": (2, -1, _checklist),
    "weighted-checklist": (2, -1, _weighted_checklist),
    "sum": (1, 1, _sum),
    "count": (1, 1, lambda a: float(len(a)) if isinstance(a, NodeSet) else 1.0),
    "count-non-empty": (1, 1, lambda a: float(sum(1 for v in nodes(a) if to_string(v) != ""))),
    "max": (1, -1, lambda *a: _max(NodeSet(v for x in a for v in nodes(x)))),
    "min": (1, -1, lambda *a: _min(NodeSet(v for x in a for v in nodes(x)))),
    "date": (1, 1, _date_fn),
    "date-time": (1, 1, _date_time_fn),
    "decimal-date-time": (1, 1, _decimal_date_time),
    "decimal-date": (1, 1, _decimal_date_time),
    "format-date": (2, 2, lambda d, f: _format_date(d, to_string(f))),
    "format-date-time": (2, 2, lambda d, f: _format_date(d, to_string(f))),
    "digest": (2, 3, _digest),
    "base64-decode": (1, 1, _base64_decode),
    "extract-signed": (2, 2, _extract_signed),
    "geofence": (2, 2, _geofence),
    "area": (1, 1, _area),
    "enclosed-area": (1, 1, _area),  # JavaRosa's older name of area()
    "distance": (1, -1, _distance),
}


def _pow(a: float, b: float) -> float:
    try:
        result = math.pow(a, b)
    except (OverflowError, ValueError):
        return math.nan
    return result


#: Functions handled by the compiler itself (lazy arguments, context or the session).
SPECIAL = {
    "if",
    "coalesce",
    "once",
    "today",
    "now",
    "position",
    "indexed-repeat",
    "instance",
    "jr:choice-name",
    "current",
    "last",
    "uuid",
    "random",
    "pulldata",
}
FUNCTIONS = frozenset(STRICT) | SPECIAL
