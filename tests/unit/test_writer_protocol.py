"""The metadata writer's wire format: framing across arbitrary reads, errors by class."""

from __future__ import annotations

from cumulo import errors
from cumulo.metadata.writer import Frames, describe, encode, rebuild


def test_frames_survive_any_split() -> None:
    messages = [("job", 1, "put", ({"name": "a", "data": b"\x00" * 5000, "size": 5000},)), (2,)]
    stream = b"".join(encode(m) for m in messages)
    for step in (1, 3, 4, 7, 4096, len(stream)):
        frames = Frames()
        got = []
        for at in range(0, len(stream), step):
            got.extend(frames.feed(stream[at : at + step]))
        assert got == messages


def test_errors_cross_as_their_class() -> None:
    again = rebuild(describe(errors.NoSuchObject("no object 'x'")))
    assert type(again) is errors.NoSuchObject and again.message == "no object 'x'"
    other = rebuild(describe(ValueError("boom")))
    assert type(other) is RuntimeError and "ValueError: boom" in str(other)
    assert type(rebuild(("os", "not one of ours"))) is RuntimeError
