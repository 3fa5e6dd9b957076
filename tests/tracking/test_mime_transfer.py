"""Transfer encodings: decode, edit, re-encode only what the edits touch."""

import base64
import binascii
import quopri

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbeacon.tracking.transfer import (
    ByteEdit,
    TransferError,
    decode_body,
    encode_body,
    qp_encode,
    splice,
)


def test_quoted_printable_soft_breaks_and_escapes_decode():
    body = b"<div dir=3D\"ltr\">G=C3=BCn=\r\naydin   \r\nline two=20\r\nend="
    decoded = decode_body(body, "Quoted-Printable")
    assert decoded.data == "<div dir=\"ltr\">G\u00fcnaydin\r\nline two \r\nend".encode()
    assert decoded.eol == b"\r\n"


def test_only_the_encoded_line_holding_an_edit_is_rewritten():
    lines = [b"first line stays=\r\n", b"a link https://x.test/ here=\r\n", b" and the rest stays\r\n",
             b"last line\r\n"]
    body = b"".join(lines)
    decoded = decode_body(body, "quoted-printable")
    start = decoded.data.index(b"https://x.test/")
    new = encode_body(decoded, [ByteEdit(start, start + 15, b"https://t.test/c/AAAA")])
    assert new.startswith(lines[0]) and new.endswith(lines[2] + lines[3])
    middle = new[len(lines[0]):-len(lines[2] + lines[3])]
    assert middle == b"a link https://t.test/c/AAAA here=\r\n"
    assert binascii.a2b_qp(new) == decoded.data.replace(b"https://x.test/", b"https://t.test/c/AAAA")


def test_an_edit_spanning_a_hard_line_break_rewrites_both_lines():
    body = b"keep\nab<img\nsrc=3Dx>cd\nkeep\n"
    decoded = decode_body(body, "quoted-printable")
    start = decoded.data.index(b"<img")
    end = decoded.data.index(b">") + 1
    assert encode_body(decoded, [ByteEdit(start, end, b"")]) == b"keep\nabcd\nkeep\n"


def test_qp_encoding_wraps_at_76_and_protects_trailing_space_and_equals():
    encoded = qp_encode(b"x" * 100 + b" =\xc4\x9f \r\nnext ", b"\r\n", continues=False)
    lines = encoded.split(b"\r\n")
    assert all(len(line) <= 76 for line in lines)
    assert binascii.a2b_qp(encoded) == b"x" * 100 + b" =\xc4\x9f \r\nnext "
    assert encoded.endswith(b"next=20")


def test_qp_encoding_that_continues_an_original_line_ends_with_a_soft_break():
    assert qp_encode(b"abc ", b"\n", continues=True) == b"abc =\n"


_qp_text = st.lists(st.sampled_from([b"a", b"Z", b" ", b"\t", b"=", b".", b"\xc4\x9f", b"\xe2\x82\xac", b"<a href=\"",
                                     b"https://x.test/?a=1&b=2", b"\r\n", b"\r\n", b"-", b"x" * 40]),
                    max_size=60).map(b"".join)


@st.composite
def _edits(draw, data: bytes):
    points = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    edits, last = [], -1
    for a, b in zip(points[::2], points[1::2] + [None]):
        end = a if b is None or draw(st.booleans()) else b
        if a <= last:
            continue
        edits.append(ByteEdit(a, end, draw(st.sampled_from([b"", b"https://t.test/c/0", b"<img src=\"p\">" * 3]))))
        last = end
    return edits


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_qp_edits_decode_to_the_edited_text_and_keep_every_untouched_line(data):
    text = data.draw(_qp_text)
    eol = data.draw(st.sampled_from([b"\r\n", b"\n"]))
    text = text.replace(b"\r\n", eol)
    original = quopri.encodestring(text.replace(eol, b"\n")).replace(b"\n", eol)
    decoded = decode_body(original, "quoted-printable")
    assert decoded.data == text
    edits = data.draw(_edits(decoded.data))
    new = encode_body(decoded, edits)
    assert binascii.a2b_qp(new) == splice(text, edits)
    assert all(len(line.rstrip(b"\r")) <= 76 for line in new.split(b"\n"))
    if not edits:
        assert new == original
        return
    # Encoded lines that decode wholly before the first edit or after the last one are untouched.
    old_lines = original.splitlines(keepends=True)
    ends, total = [], 0
    for line in old_lines:
        total += len(binascii.a2b_qp(line))
        ends.append(total)
    before = [line for line, end in zip(old_lines, ends) if end < edits[0].start]
    after = [line for line, end, size in zip(old_lines, ends, map(len, map(binascii.a2b_qp, old_lines)))
             if end - size > edits[-1].end]
    assert new.startswith(b"".join(before))
    assert new.endswith(b"".join(after))


def test_base64_round_trips_with_the_original_line_length_and_ending():
    data = ("<p>Merhaba \u011f\u00fc\u015f\u0131\u00f6\u00e7 \u0130</p>" * 20).encode()
    encoded = base64.b64encode(data)
    body = b"\n".join(encoded[i:i + 64] for i in range(0, len(encoded), 64)) + b"\n\n"
    decoded = decode_body(body, "BASE64")
    assert decoded.data == data and decoded.b64_line_length == 64 and decoded.eol == b"\n"
    start = data.rindex(b"</p>")
    new = encode_body(decoded, [ByteEdit(start, start, b"<img src=\"https://t.test/o/P\">")])
    assert new.endswith(b"\n\n")
    assert all(len(line) == 64 for line in new.rstrip(b"\n").split(b"\n")[:-1])
    assert base64.b64decode(new) == data[:start] + b"<img src=\"https://t.test/o/P\">" + data[start:]
    kept = start // 48 * 65  # whole 64-character lines (48 bytes each) before the edit
    assert kept > 0 and new[:kept] == body[:kept]


def test_base64_without_padding_is_accepted_and_garbage_is_not():
    assert decode_body(b"YWJj\r\nZA", "base64").data == b"abcd"
    with pytest.raises(TransferError):
        decode_body(b"YWJj!!!!\r\n", "base64")
    with pytest.raises(TransferError):
        decode_body(b"YWJjZ", "base64")


@pytest.mark.parametrize("encoding", ["7bit", "8bit", "binary", None, " 8BIT "])
def test_identity_encodings_splice_bytes_in_place(encoding):
    body = "caf\u00e9 https://x.test/ \u011f".encode()
    decoded = decode_body(body, encoding)
    start = body.index(b"https")
    assert encode_body(decoded, [ByteEdit(start, start + 15, b"https://t.test/c/0")]) == \
        body.replace(b"https://x.test/", b"https://t.test/c/0")


def test_an_unknown_transfer_encoding_is_an_error():
    with pytest.raises(TransferError) as caught:
        decode_body(b"begin 644 x", "x-uuencode")
    assert "x-uuencode" in caught.value.reason


def test_no_edits_gives_back_the_body_itself():
    body = b"=C4=9F=\r\nx\r\n"
    assert encode_body(decode_body(body, "quoted-printable"), []) is body


_qp_soup = st.lists(st.sampled_from([b"a", b"=3D", b"=c4=9f", b"=", b"=ZZ", b"=Z", b"=4", b" ", b"\t", b"=\r\n", b"=\n", b"\r\n", b"\n",
                                     b"\r", b"==41", b"x" * 30]), max_size=40).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(_qp_soup)
def test_the_one_call_decoder_agrees_with_the_careful_one_whenever_it_answers(body):
    careful = decode_body(body, "quoted-printable")
    from mailbeacon.tracking import transfer

    lines = body.split(b"\n")
    tail = lines.pop()
    bare = [line.removesuffix(b"\r") for line in lines] + ([tail] if tail else [])
    eol_sizes = [2 if line.endswith(b"\r") else 1 for line in lines] + ([0] if tail else [])
    careful_data, careful_sizes, careful_soft = transfer._decode_each_line(bare, eol_sizes)
    quick = transfer._decode_regular_qp(body, bare, eol_sizes)
    if quick is not None:
        assert quick == (careful_data, careful_sizes, careful_soft)
    assert careful.data == careful_data
    assert careful.qp_dec[-1] == len(careful.data) and careful.qp_enc[-1] == len(body)


def test_irregular_quoted_printable_is_decoded_by_the_rules():
    # An '=' that starts no escape stays; trailing whitespace is padding, even before a soft break.
    assert decode_body(b"a=ZZb \r\nc=3D= \r\nd\r\n", "quoted-printable").data == b"a=ZZb\r\nc=d\r\n"
