"""Warnings on the terminal: one line each, the same wording from every command, --strict."""

from __future__ import annotations

import pytest

from mocap.commands.quality import print_warnings, strict_status, warning_line

VIDEO = {"person": None, "code": "truncated", "message": "only 57 frames", "frames": []}
PERSON = {"person": 2, "code": "short_track", "message": "seen in 20 frames",
          "frames": [[40, 59]]}


@pytest.mark.parametrize(("record", "where", "line"), [
    (VIDEO, None, "mocap: warning: truncated: only 57 frames"),
    (PERSON, None, "mocap: warning: person 2: short_track: seen in 20 frames"),
    (PERSON, "clip0", "mocap: warning: clip0: person 2: short_track: seen in 20 frames"),
    (VIDEO, "clip0", "mocap: warning: clip0: truncated: only 57 frames"),
])
def test_a_warning_is_one_line_naming_its_video_and_person(record, where, line):
    assert warning_line(record, where) == line


def test_each_warning_is_printed_once_on_stderr(capsys):
    assert print_warnings([VIDEO, PERSON]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [warning_line(VIDEO), warning_line(PERSON)]


@pytest.mark.parametrize(("warnings", "strict", "status"), [
    (0, False, 0), (0, True, 0), (3, False, 0), (3, True, 1)])
def test_strict_fails_only_when_there_are_warnings(warnings, strict, status, capsys):
    assert strict_status(warnings, strict, " in 2 videos") == status
    err = capsys.readouterr().err
    if status:
        assert err == "mocap: error: 3 warnings in 2 videos (--strict)\n"
    else:
        assert err == ""
