"""Storage templates render as Immich's do, and no value or template can leave the owner folder."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from mediapipe import config
from mediapipe.errors import ConfigError
from mediapipe.template import (
    DATE_TOKENS,
    VARIABLES,
    TemplateContext,
    TemplateError,
    compile_template,
    numbered,
    render_path,
)

ASSET = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
IST = timezone(timedelta(hours=5, minutes=30))
# Friday 9 Feb 2024, 17:05:03.045 in India: ISO week 6; 11:35 UTC, so UTC would show.
TAKEN = datetime(2024, 2, 9, 17, 5, 3, 45_000, tzinfo=IST)
CTX = TemplateContext(filename="IMG_0042.JPEG", taken_at=TAKEN, asset_id=ASSET, kind="image")


def ctx(**changes: Any) -> TemplateContext:
    return dataclasses.replace(CTX, **changes)


def mustache(name: str) -> str:
    return "{{" + name + "}}"


def first(template: str, context: TemplateContext = CTX) -> str:
    """The first component of ``template + '/{{filename}}'`` rendered."""
    return render_path(template + "/{{filename}}", context).parts[0]


DATES = [
    ("y", "2024"), ("yy", "24"), ("M", "2"), ("MM", "02"), ("MMM", "Feb"), ("MMMM", "February"),
    ("W", "6"), ("WW", "06"), ("d", "9"), ("dd", "09"), ("h", "5"), ("hh", "05"),
    ("H", "17"), ("HH", "17"), ("m", "5"), ("mm", "05"), ("s", "3"), ("ss", "03"),
    ("SSS", "045"),
]


def test_the_date_table_covers_every_token() -> None:
    assert {t for t, _ in DATES} == set(DATE_TOKENS)


@pytest.mark.parametrize(("token", "expected"), DATES, ids=[t for t, _ in DATES])
def test_date_tokens_render_in_the_assets_local_time(token: str, expected: str) -> None:
    assert first(mustache(token), CTX) == expected


@pytest.mark.parametrize(("when", "token", "expected"), [
    (datetime(2024, 1, 1, 0, 0, tzinfo=UTC), "h", "12"),
    (datetime(2024, 1, 1, 12, 30, tzinfo=UTC), "h", "12"),
    (datetime(2024, 1, 1, 13, 0, tzinfo=UTC), "hh", "01"),
    (datetime(2021, 1, 3, tzinfo=UTC), "W", "53"),  # ISO week of the previous year
    (datetime(2024, 9, 1, tzinfo=UTC), "MMM", "Sep"),
    (datetime(2007, 5, 1, tzinfo=UTC), "yy", "07"),
    (datetime(2024, 2, 9, 23, 30), "d", "9"),  # naive: taken as local wall time
], ids=["midnight-is-12", "noon-is-12", "1pm-is-01", "iso-week-53", "short-september",
        "two-digit-year", "naive-local"])
def test_date_token_edges(when: datetime, token: str, expected: str) -> None:
    assert first(mustache(token), ctx(taken_at=when)) == expected


PLAIN = [
    ("filename", {}, "IMG_0042"),
    ("ext", {}, "jpg"),
    ("filetype", {}, "IMG"),
    ("filetype", {"kind": "video", "filename": "clip.MOV"}, "VID"),
    ("filetypefull", {}, "IMAGE"),
    ("filetypefull", {"kind": "video", "filename": "clip.MOV"}, "VIDEO"),
    ("assetId", {}, ASSET),
    ("assetIdShort", {}, "a5b4c3d2e1f0"),
    ("album", {"album": "St. Ives 2024"}, "St Ives 2024"),
    ("make", {"make": "Canon"}, "Canon"),
    ("model", {"model": "EOS R5"}, "EOS R5"),
    ("lensModel", {"lens_model": "RF24-105mm F4 L IS USM"}, "RF24-105mm F4 L IS USM"),
    ("album-startDate-y", {"album": "Trip", "album_start": TAKEN}, "2024"),
    ("album-startDate-MMMM", {"album": "Trip", "album_start": TAKEN}, "February"),
    ("album-endDate-dd", {"album": "Trip", "album_end": TAKEN + timedelta(days=3)}, "12"),
    ("album-endDate-SSS", {"album": "Trip", "album_end": TAKEN}, "045"),
]


@pytest.mark.parametrize(("var", "changes", "expected"), PLAIN,
                         ids=[f"{v}-{e}" for v, _, e in PLAIN])
def test_variables_render_their_value(var: str, changes: dict[str, Any], expected: str) -> None:
    assert first(mustache(var), ctx(**changes)) == expected


def test_every_variable_is_known_and_album_dates_need_an_album() -> None:
    assert len(VARIABLES) == 10 + 3 * len(DATE_TOKENS)
    for var in VARIABLES:
        compile_template(mustache(var) + "/{{filename}}")
    assert render_path("{{album-startDate-y}}/{{filename}}",
                       ctx(album_start=TAKEN)) == PurePosixPath("IMG_0042.jpg")


@pytest.mark.parametrize(("filename", "name"), [
    ("a.JPEG", "a.jpg"), ("a.jpe", "a.jpg"), ("a.jpg", "a.jpg"), ("a.TIF", "a.tiff"),
    ("a.3gpp", "a.3gp"), ("a.mpeg", "a.mpg"), ("a.mpe", "a.mpg"), ("a.m2ts", "a.mts"),
    ("a.M2T", "a.mts"), ("a.HEIC", "a.heic"), ("a.b.MOV", "a.b.mov"), ("noext", "noext"),
], ids=lambda v: v)
def test_extension_is_lower_cased_and_normalised(filename: str, name: str) -> None:
    assert render_path("{{filename}}", ctx(filename=filename)) == PurePosixPath(name)


@pytest.mark.parametrize(("template", "changes", "expected"), [
    ("{{#if album}}{{album}}{{else}}Other{{/if}}/{{filename}}", {"album": "Trip"},
     "Trip/IMG_0042.jpg"),
    ("{{#if album}}{{album}}{{else}}Other{{/if}}/{{filename}}", {}, "Other/IMG_0042.jpg"),
    ("{{#if make}}{{make}}/{{/if}}{{filename}}", {}, "IMG_0042.jpg"),
    ("{{#if make}}{{#if model}}{{make}}-{{model}}{{else}}{{make}}{{/if}}{{/if}}/{{filename}}",
     {"make": "Sony"}, "Sony/IMG_0042.jpg"),
    ("{{ y }}/{{filename}}", {}, "2024/IMG_0042.jpg"),
    ("{{y}}//{{album}}//{{filename}}", {}, "2024/IMG_0042.jpg"),
    ("{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}", {}, "2024/2024-02-09/IMG_0042.jpg"),
    ("{{album}}/{{filename}}", {"album": "Tom & Jerry's"}, "Tom &amp; Jerry&#x27;s/IMG_0042.jpg"),
    ("{{{album}}}/{{filename}}", {"album": "Tom & Jerry's"}, "Tom & Jerry's/IMG_0042.jpg"),
], ids=["if-true", "if-else", "if-without-else", "nested-if", "spaces-inside-braces",
        "double-slash-collapsed", "immich-default", "double-braces-html-escape",
        "triple-braces-raw"])
def test_syntax(template: str, changes: dict[str, Any], expected: str) -> None:
    assert render_path(template, ctx(**changes)) == PurePosixPath(expected)


@pytest.mark.parametrize(("template", "changes", "expected"), [
    ("{{filename}}", {"filename": "a:b*c?.jpg"}, "abc.jpg"),
    ("{{filename}}", {"filename": 'q"<u>|o.jpg'}, "quo.jpg"),
    ("{{filename}}", {"filename": "tab\there\x07.jpg"}, "tabhere.jpg"),
    ("{{filename}}", {"filename": "dots... .jpg"}, "dots.jpg"),
    ("{{filename}}", {"filename": "CON.jpg"}, "_CON.jpg"),
    ("{{filename}}", {"filename": "lpt1.JPG"}, "_lpt1.jpg"),
    ("{{album}}/{{filename}}", {"album": "aux"}, "_aux/IMG_0042.jpg"),
    ("{{album}}/{{filename}}", {"album": " trip. "}, "trip/IMG_0042.jpg"),
    ("{{make}}/{{filename}}", {"make": ".hidden"}, "hidden/IMG_0042.jpg"),
    ("{{model}} x/{{filename}}", {"model": "Z:6/II"}, "Z6II x/IMG_0042.jpg"),
    ("{{filename}}", {"filename": "été.jpg"}, "été.jpg"),
], ids=["immich-example", "quotes-and-angles", "control-chars", "trailing-dots-spaces",
        "reserved-con", "reserved-lpt1", "reserved-album", "album-trimmed", "no-hidden-folder",
        "separators-in-values", "unicode-kept"])
def test_values_are_sanitised(template: str, changes: dict[str, Any], expected: str) -> None:
    assert render_path(template, ctx(**changes)) == PurePosixPath(expected)


@pytest.mark.parametrize(("filename", "ext"), [
    ("a" * 300 + ".jpg", ".jpg"), ("é" * 200 + ".heic", ".heic"), ("🙂" * 100 + ".MOV", ".mov"),
], ids=["ascii-300", "two-byte-400", "four-byte-400"])
def test_long_names_are_cut_to_255_bytes_on_a_utf8_boundary(filename: str, ext: str) -> None:
    name = render_path("{{filename}}", ctx(filename=filename)).name
    assert name.endswith(ext)
    assert 255 - 4 < len(name.encode()) <= 255
    assert name.encode().decode("utf-8") == name
    long = numbered(PurePosixPath("x") / name, 12345).name
    assert long.endswith("+12345" + ext) and len(long.encode()) <= 255


@pytest.mark.parametrize(("path", "n", "expected"), [
    ("2024/a.jpg", 0, "2024/a.jpg"), ("2024/a.jpg", 1, "2024/a+1.jpg"),
    ("2024/a.b.jpg", 2, "2024/a.b+2.jpg"), ("noext", 3, "noext+3"),
], ids=["zero-is-the-path", "first-collision", "dots-in-stem", "no-extension"])
def test_collisions_number_before_the_extension(path: str, n: int, expected: str) -> None:
    assert numbered(PurePosixPath(path), n) == PurePosixPath(expected)


BAD = [
    ("{{foo}}", "{{foo}}"),
    ("{{y}}/{{Filename}}", "{{Filename}}"),
    ("{{album-startDate-yyyy}}", "{{album-startDate-yyyy}}"),
    ("{{#each album}}x{{/each}}", "{{#each album}}"),
    ("{{#if}}x{{/if}}", "{{#if}}"),
    ("{{#if album}}x", "{{#if album}}"),
    ("x{{else}}y", "{{else}}"),
    ("{{#if album}}a{{else}}b{{else}}c{{/if}}", "{{else}}"),
    ("x{{/if}}", "{{/if}}"),
    ("{{y}}/{{MM", "{{MM"),
    ("{{{y}}/x", "{{{y}}"),
    ("{{> partial}}", "{{> partial}}"),
    ("{{y.z}}", "{{y.z}}"),
    ("{{{#if album}}}", "{{{#if album}}}"),
    ("   ", "   "),
]


@pytest.mark.parametrize(("template", "token"), BAD, ids=[t for t, _ in BAD])
def test_malformed_templates_are_refused_naming_the_token(template: str, token: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(template)
    assert info.value.token == token
    assert token in str(info.value)


def test_a_bad_template_is_a_config_error_naming_the_token() -> None:
    with pytest.raises(ConfigError, match=r"storageTemplate\.template.*\{\{foo\}\}"):
        config.Config.from_dict({"storageTemplate": {"template": "{{y}}/{{foo}}"}})
    with pytest.raises(ConfigError, match="MMMMM"):
        config.load(env={"MEDIAPIPE_STORAGE_TEMPLATE_TEMPLATE": "{{MMMMM}}"})
    good = config.Config.from_dict({"storageTemplate": {"template": "{{y}}/{{filename}}"}})
    assert good.storage_template.template == "{{y}}/{{filename}}"


def test_templates_compile_once() -> None:
    assert compile_template("{{y}}/{{MM}}/{{filename}}") is compile_template(
        "{{y}}/{{MM}}/{{filename}}")


OWNER = Path("/media/library/user-id1")

ESCAPES = [
    ("../{{filename}}", {}, None),
    ("{{y}}/../../{{filename}}", {}, None),
    ("../user-id2/{{filename}}", {}, None),
    ("{{filename}}/..", {}, None),
    ("/etc/{{filename}}", {}, None),
    ("C:\\Windows\\{{filename}}", {}, None),
    ("{{#if album}}{{album}}{{else}}..{{/if}}/{{filename}}", {}, None),
    ("{{album}}/{{filename}}", {"album": "../../x"}, "x/IMG_0042.jpg"),
    ("{{album}}/{{filename}}", {"album": ".."}, "IMG_0042.jpg"),
    ("{{album}}/{{filename}}", {"album": "/abs/path"}, "abspath/IMG_0042.jpg"),
    ("{{make}}/{{filename}}", {"make": "../../../root"}, "root/IMG_0042.jpg"),
    ("{{model}}/{{filename}}", {"model": "..\\..\\windows"}, "windows/IMG_0042.jpg"),
    ("{{lensModel}}/{{filename}}", {"lens_model": "/"}, "IMG_0042.jpg"),
    ("{{filename}}", {"filename": "../../etc/passwd.jpg"}, "passwd.jpg"),
    ("{{filename}}", {"filename": ".."}, ASSET),
    ("{{filename}}", {"filename": "...jpg"}, ASSET + ".jpg"),
    ("{{filename}}", {"filename": "a\x00b.jpg"}, "ab.jpg"),
    ("{{filename}}", {"filename": "a\n/b.jpg"}, "b.jpg"),
    ("{{y}}/./{{filename}}", {}, "2024/IMG_0042.jpg"),
    ("..\\{{filename}}", {}, "IMG_0042.jpg"),
    ("{{y}}/", {}, "2024/" + ASSET + ".jpg"),
    ("{{album}}/{{filename}}", {"album": "a" * 300}, "a" * 255 + "/IMG_0042.jpg"),
    ("{{filename}}", {"filename": "x" * 300 + ".jpg"}, "x" * 251 + ".jpg"),
]


@pytest.mark.parametrize(("template", "changes", "expected"), ESCAPES,
                         ids=[f"{i:02d}-{t[:20]}-{c}"[:60] for i, (t, c, _) in
                              enumerate(ESCAPES)])
def test_escape_attempts_are_refused_or_neutralised(template: str, changes: dict[str, Any],
                                                    expected: str | None) -> None:
    if expected is None:
        with pytest.raises(TemplateError):
            render_path(template, ctx(**changes))
        return
    path = render_path(template, ctx(**changes))
    assert path == PurePosixPath(expected)
    assert not path.is_absolute()
    assert all(p not in ("", ".", "..") and len(p.encode()) <= 255 and "\x00" not in p
               for p in path.parts)
    assert Path(os.path.normpath(OWNER / path)).is_relative_to(OWNER)
