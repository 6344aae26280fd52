"""``serve`` and the protocol decoder against hostile lines: a line nested 100 000 deep or over
the length limit is answered (first line: an ``error`` message, exit 2; during a job: skipped)
and the thread that reads ``cancel`` keeps reading."""

from __future__ import annotations

import io
import json
import os
import threading

import pytest

from anchorhoi.cli.serve import _read_commands, read_line
from anchorhoi.portable import protocol as P
from anchorhoi.portable.bounded_json import JSONLimitError, loads_bounded
from tests.helpers.serve_process import Serve

DEEP = '{"type": "cancel", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize("line", [DEEP, "[" * 100_000, '{"type": "generate", "a": "'
                                  + "x" * (P.MAX_LINE_CHARS + 10) + '"}'])
def test_the_decoder_refuses_deep_and_long_lines_with_a_protocol_error(line):
    with pytest.raises(P.ProtocolError, match="levels deep|over the limit"):
        P.decode(line)


def test_depth_counts_brackets_outside_strings_only():
    assert loads_bounded('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == {
        "a": "[" * 41}
    assert loads_bounded("[" * 32 + "]" * 32) == json.loads("[" * 32 + "]" * 32)
    with pytest.raises(JSONLimitError, match="33|32"):
        loads_bounded("[" * 33 + "]" * 33)
    with pytest.raises(JSONLimitError) as info:
        loads_bounded('{"a": ')
    assert not info.value.over_limit


def test_an_over_long_line_is_skipped_to_its_end():
    stdin = io.StringIO("x" * (P.MAX_LINE_CHARS * 2 + 5) + "\n" + '{"type": "cancel"}\n')
    with pytest.raises(P.ProtocolError, match="over the limit"):
        read_line(stdin)
    assert read_line(stdin) == '{"type": "cancel"}\n' and read_line(stdin) is None


def test_the_command_reader_survives_a_deep_line_and_still_sees_cancel():
    read_fd, write_fd = os.pipe()
    stdin = os.fdopen(read_fd, "r", encoding="utf-8")
    writer = os.fdopen(write_fd, "w", encoding="utf-8")
    cancel = threading.Event()
    thread = threading.Thread(target=_read_commands, args=(stdin, cancel), daemon=True)
    thread.start()
    writer.write(DEEP + "\n")
    writer.write("[" * 100_000 + "\n")
    writer.flush()
    assert not cancel.wait(0.5) and thread.is_alive()  # still reading, nothing cancelled
    writer.write(P.encode("cancel"))
    writer.flush()
    assert cancel.wait(2.0) and thread.is_alive()  # the cancel line, not the end of input
    writer.close()
    thread.join(2.0)
    assert not thread.is_alive()


@pytest.mark.parametrize("first", [DEEP, "x" * (P.MAX_LINE_CHARS + 100)])
def test_a_hostile_first_line_gets_an_error_message_and_exit_2(tmp_path, first):
    serve = Serve(tmp_path / "cache", tmp_path / "stderr.txt")
    try:
        assert serve.next(timeout=60).type == "hello"
        serve.proc.stdin.write(first.encode() + b"\n")
        serve.proc.stdin.flush()
        err = serve.next(timeout=60)
        assert (err.type, err.get("code")) == ("error", "BAD_REQUEST")
        assert "levels deep" in err.get("message") or "over the limit" in err.get("message")
        assert serve.wait() == P.EXIT_BAD_REQUEST
    finally:
        if serve.proc.poll() is None:
            serve.proc.kill()
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
