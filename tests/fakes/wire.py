"""Wire codecs used by the test doubles: CBOR (smithy-rpc-v2-cbor) and JSON (awsJson1.1).

botocore picks the protocol from the service model; for Service Catalog current botocore versions use
``smithy-rpc-v2-cbor`` and older ones ``json``.  The double speaks both, so it keeps working whichever
botocore is installed.  Only the subset of CBOR that botocore emits and parses is implemented: unsigned
and negative integers, byte and text strings, arrays, maps (definite and indefinite length), tag 1
(epoch timestamps), booleans, null and floats.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import struct
from typing import Any

__all__ = ["cbor_dumps", "cbor_loads", "json_dumps", "json_loads", "CBORDecodeError"]


class CBORDecodeError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------- encode


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([(major << 5) | value])
    if value < 0x100:
        return bytes([(major << 5) | 24, value])
    if value < 0x10000:
        return bytes([(major << 5) | 25]) + value.to_bytes(2, "big")
    if value < 0x100000000:
        return bytes([(major << 5) | 26]) + value.to_bytes(4, "big")
    return bytes([(major << 5) | 27]) + value.to_bytes(8, "big")


def _encode(out: bytearray, value: Any) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if value >= 0:
            out += _head(0, value)
        else:
            out += _head(1, -1 - value)
    elif isinstance(value, float):
        out += b"\xfb" + struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(value, (bytes, bytearray)):
        out += _head(2, len(value)) + bytes(value)
    elif isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        out += _head(6, 1)
        _encode(out, float(value.timestamp()))
    elif isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if v is not None]
        out += _head(5, len(items))
        for k, v in items:
            _encode(out, k)
            _encode(out, v)
    elif isinstance(value, (list, tuple)):
        out += _head(4, len(value))
        for item in value:
            _encode(out, item)
    else:  # pragma: no cover - programming error in the double
        raise TypeError(f"cannot CBOR-encode {type(value).__name__}")


def cbor_dumps(value: Any) -> bytes:
    out = bytearray()
    _encode(out, value)
    return bytes(out)


# ---------------------------------------------------------------------------------------------- decode

_BREAK = object()


def _read(stream: io.BytesIO, n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise CBORDecodeError("truncated CBOR data")
    return data


def _arg(stream: io.BytesIO, info: int) -> int | None:
    if info < 24:
        return info
    if info == 24:
        return _read(stream, 1)[0]
    if info == 25:
        return int.from_bytes(_read(stream, 2), "big")
    if info == 26:
        return int.from_bytes(_read(stream, 4), "big")
    if info == 27:
        return int.from_bytes(_read(stream, 8), "big")
    if info == 31:
        return None  # indefinite length
    raise CBORDecodeError(f"invalid additional info {info}")


def _decode(stream: io.BytesIO) -> Any:
    initial = _read(stream, 1)[0]
    major, info = initial >> 5, initial & 0x1F
    if major == 7:
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", _read(stream, 2))[0]
        if info == 26:
            return struct.unpack(">f", _read(stream, 4))[0]
        if info == 27:
            return struct.unpack(">d", _read(stream, 8))[0]
        if info == 31:
            return _BREAK
        raise CBORDecodeError(f"unsupported simple value {info}")
    arg = _arg(stream, info)
    if major == 0:
        return arg
    if major == 1:
        return -1 - arg
    if major in (2, 3):
        if arg is None:
            chunks = []
            while True:
                chunk = _decode(stream)
                if chunk is _BREAK:
                    break
                chunks.append(chunk)
            return b"".join(chunks) if major == 2 else "".join(chunks)
        raw = _read(stream, arg)
        return raw if major == 2 else raw.decode("utf-8")
    if major == 4:
        items = []
        if arg is None:
            while (item := _decode(stream)) is not _BREAK:
                items.append(item)
        else:
            items = [_decode(stream) for _ in range(arg)]
        return items
    if major == 5:
        result = {}
        count = 0
        while arg is None or count < arg:
            key = _decode(stream)
            if key is _BREAK:
                break
            result[key] = _decode(stream)
            count += 1
        return result
    if major == 6:
        value = _decode(stream)
        if arg == 1:
            return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc)
        raise CBORDecodeError(f"unsupported CBOR tag {arg}")
    raise CBORDecodeError(f"unsupported major type {major}")  # pragma: no cover


def cbor_loads(data: bytes) -> Any:
    if not data:
        return {}
    stream = io.BytesIO(data)
    value = _decode(stream)
    if stream.read(1):
        raise CBORDecodeError("trailing bytes after CBOR data item")
    return value


# ---------------------------------------------------------------------------------------------- json


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    raise TypeError(f"cannot JSON-encode {type(value).__name__}")


def json_dumps(value: Any) -> bytes:
    return json.dumps(value, default=_json_default).encode("utf-8")


def json_loads(data: bytes) -> Any:
    if not data:
        return {}
    return json.loads(data)
