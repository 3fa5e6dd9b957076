"""The manifests validate offline: the classic part against the published XSDs, the newer parts against their
documented structure, and a broken manifest of each kind fails."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

from tests.addin import manifest_checks as checks
from tests.addin.conftest import ADDIN_DIR, mutate


def errors(xml: str, *, localhost: bool = False, **kwargs) -> list[str]:
    return checks.manifest_errors(xml, localhost=localhost, **kwargs)


def test_schema_files_are_the_documented_copies():
    listing = checks.XSD_DIR.parent / "MANIFEST.csv"
    rows = {row["path"]: row["sha256"] for row in csv.DictReader(listing.open(encoding="utf-8"))}
    for xsd in sorted(checks.XSD_DIR.glob("*.xsd")):
        assert hashlib.sha256(xsd.read_bytes()).hexdigest() == rows[f"{checks.XSD_DIR.name}/{xsd.name}"], xsd.name


def test_published_sample_validates_once_only_the_post_2018_parts_are_cut_out():
    sample = checks.parse((checks.XSD_DIR / "sample-outlook-manifest.xml").read_bytes())
    assert not checks.schema().validate(sample)
    assert checks.xsd_errors(sample) == []


@pytest.mark.parametrize("name, localhost", [("manifest.xml", False), ("manifest.localhost.xml", True)])
def test_committed_manifest_passes_every_check(name, localhost):
    assert errors((ADDIN_DIR / name).read_text("utf-8"), localhost=localhost) == []


def test_rendered_manifests_pass_every_check(production_xml, sso_xml, localhost_xml):
    assert errors(production_xml) == []
    assert errors(sso_xml) == []
    assert errors(localhost_xml, localhost=True) == []


def test_unstripped_manifest_is_rejected_by_the_2018_schema_at_runtimes(production_xml):
    schema = checks.schema()
    assert not schema.validate(checks.parse(production_xml))
    assert "Runtimes" in str(schema.error_log.last_error)


def test_stripping_removes_only_the_newer_parts(sso_xml):
    stripped = checks.without_post_2018_parts(checks.parse(sso_xml))
    for path in checks.POST_2018_PARTS:
        assert stripped.xpath(path, namespaces=checks.NS) == []
    surfaces = stripped.xpath("//m:ExtensionPoint/@xsi:type", namespaces=checks.NS)
    assert surfaces == ["MessageComposeCommandSurface", "MessageReadCommandSurface"]


def test_swapped_id_and_version_fail_the_schema(production_xml):
    version = production_xml.split("<Version>")[1].split("</Version>")[0]
    app_id = production_xml.split("<Id>")[1].split("</Id>")[0]
    broken = mutate(production_xml, f"<Id>{app_id}</Id>\n  <Version>{version}</Version>",
                    f"<Version>{version}</Version>\n  <Id>{app_id}</Id>")
    assert any("Version" in problem and "not expected" in problem for problem in errors(broken))


def test_runtimes_after_the_form_factor_fail(production_xml):
    runtimes = production_xml.split("<Runtimes>")[1].split("</Runtimes>")[0]
    moved = mutate(production_xml, f"<Runtimes>{runtimes}</Runtimes>", "")
    moved = mutate(moved, "          </DesktopFormFactor>\n",
                   f"          </DesktopFormFactor>\n<Runtimes>{runtimes}</Runtimes>\n")
    assert "Runtimes must be the first child of Host, before DesktopFormFactor" in errors(moved)


def test_web_application_info_before_resources_fails(sso_xml):
    info = "<WebApplicationInfo>" + sso_xml.split("<WebApplicationInfo>")[1].split("</WebApplicationInfo>")[0]
    moved = mutate(sso_xml, info + "</WebApplicationInfo>", "")
    moved = mutate(moved, "      <Resources>", info + "</WebApplicationInfo>\n      <Resources>")
    assert any("WebApplicationInfo comes after Resources" in problem for problem in errors(moved))


@pytest.mark.parametrize("bad", ["1.0.0.0.0", "1.0.0.x", "123456.0"])
def test_bad_version_fails_the_schema(production_xml, bad):
    version = production_xml.split("<Version>")[1].split("</Version>")[0]
    broken = mutate(production_xml, f"<Version>{version}</Version>", f"<Version>{bad}</Version>")
    assert any("Version" in problem and "pattern" in problem for problem in errors(broken))


def test_missing_icon_file_fails(production_xml, tmp_path):
    shutil.copytree(checks.ASSETS_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "icon-80.png").unlink()
    problems = errors(production_xml, assets_dir=tmp_path)
    assert f"Icon image Icon.80: icon-80.png does not exist in {tmp_path}" in problems


def test_icon_url_naming_a_file_not_in_assets_fails(production_xml):
    broken = mutate(production_xml, "/addin/assets/icon-32.png", "/addin/assets/icon-48.png")
    assert any("icon-48.png does not exist" in problem for problem in errors(broken))


def test_icon_of_the_wrong_pixel_size_fails(production_xml, tmp_path):
    shutil.copytree(checks.ASSETS_DIR, tmp_path, dirs_exist_ok=True)
    shutil.copyfile(tmp_path / "icon-16.png", tmp_path / "icon-32.png")
    assert "Icon image Icon.32: icon-32.png is (16, 16), expected 32x32" in errors(production_xml, assets_dir=tmp_path)


def test_button_icon_without_the_80_pixel_image_fails(production_xml):
    broken = mutate(production_xml, '<bt:Image size="80" resid="Icon.80"/>', "", count=2)
    assert "a button Icon lacks sizes [80]" in errors(broken)


def test_unresolved_resid_fails(production_xml):
    broken = mutate(production_xml, '<Description resid="ReadButton.Tooltip"/>',
                    '<Description resid="ReadButton.Tooltp"/>')
    problems = errors(broken)
    assert "<Description resid='ReadButton.Tooltp'> does not resolve to any bt:LongStrings entry" in problems


def test_resid_naming_a_resource_of_the_wrong_kind_fails(production_xml):
    # A tooltip is a long string; a Title must name a short one.
    broken = mutate(production_xml, '<Title resid="ReadButton.Label"/>', '<Title resid="ReadButton.Tooltip"/>')
    assert "<Title resid='ReadButton.Tooltip'> does not resolve to any bt:ShortStrings entry" in errors(broken)


def test_runtime_resid_that_resolves_to_nothing_fails(production_xml):
    broken = mutate(production_xml, '<Override type="javascript" resid="CommandsJs.Url"/>',
                    '<Override type="javascript" resid="Commands.Js"/>')
    assert "<Override resid='Commands.Js'> does not resolve to any bt:Urls entry" in errors(broken)


@pytest.mark.parametrize("mode", ["Hard", "softblock", ""])
def test_bad_send_mode_fails(production_xml, mode):
    broken = mutate(production_xml, 'SendMode="SoftBlock"', f'SendMode="{mode}"')
    assert f"OnMessageSend needs SendMode PromptUser, SoftBlock or Block, not {mode!r}" in errors(broken)


def test_send_event_without_a_send_mode_fails(production_xml):
    broken = mutate(production_xml, ' SendMode="SoftBlock"', "")
    assert "OnMessageSend needs SendMode PromptUser, SoftBlock or Block, not None" in errors(broken)


def test_misspelled_event_type_fails(production_xml):
    broken = mutate(production_xml, 'Type="OnMessageSend"', 'Type="OnMessageSent"')
    assert "LaunchEvent Type 'OnMessageSent' is not a documented event" in errors(broken)


def test_launch_event_source_that_is_not_the_runtime_fails(production_xml):
    broken = mutate(production_xml, '<SourceLocation resid="Commands.Url"/>', '<SourceLocation resid="Taskpane.Url"/>')
    assert "the LaunchEvent SourceLocation resid must equal the Runtime resid" in errors(broken)


def test_runtime_without_the_javascript_override_fails(production_xml):
    broken = mutate(production_xml, '<Override type="javascript" resid="CommandsJs.Url"/>', "")
    problems = errors(broken)
    assert "classic Outlook on Windows needs <Override type=\"javascript\"> in the Runtime" in problems


def test_override_of_another_type_fails(production_xml):
    broken = mutate(production_xml, 'type="javascript"', 'type="html"')
    assert "the Runtime's Override must be exactly <Override type=\"javascript\" resid=\"…\"/>" in errors(broken)


def test_smart_alerts_below_mailbox_1_12_fail(production_xml):
    broken = mutate(production_xml, 'DefaultMinVersion="1.12"', 'DefaultMinVersion="1.10"')
    problems = errors(broken)
    assert "OnMessageSend/OnAppointmentSend need Mailbox 1.12 or later in the 1.1 Requirements" in problems


def test_handler_not_associated_in_the_commands_script_fails(production_xml):
    registered = 'Office.actions.associate("onMessageSendHandler", onMessageSendHandler);'
    assert checks.manifest_errors(production_xml, localhost=False, js_source=registered) == []
    other = 'Office.actions.associate("onSend", onMessageSendHandler);'
    assert ("onMessageSendHandler is not registered with Office.actions.associate in the commands script"
            in checks.manifest_errors(production_xml, localhost=False, js_source=other))


def test_plain_http_url_fails(production_xml):
    broken = mutate(production_xml, "https://mailbeacon.example.com/addin/commands/commands.js",
                    "http://mailbeacon.example.com/addin/commands/commands.js")
    assert "CommandsJs.Url: 'http://mailbeacon.example.com/addin/commands/commands.js' is not an https URL" in errors(
        broken)


def test_localhost_url_in_the_production_manifest_fails(production_xml):
    broken = mutate(production_xml, "https://mailbeacon.example.com/addin/taskpane/taskpane.html\"/>\n        </bt",
                    "https://localhost:3000/addin/taskpane/taskpane.html\"/>\n        </bt")
    problems = errors(broken)
    assert any("points at this computer in a production manifest" in problem for problem in problems)
    assert any("more than one origin" in problem for problem in problems)


def test_localhost_variant_must_name_its_port(localhost_xml):
    broken = localhost_xml.replace("https://localhost:3000", "https://localhost")
    assert any("is not on https://localhost:PORT" in problem for problem in errors(broken, localhost=True))


def test_sso_resource_on_another_host_fails(sso_xml):
    broken = mutate(sso_xml, "<Resource>api://track.example.org/", "<Resource>api://elsewhere.example.org/")
    assert "WebApplicationInfo Resource must be api://<the add-in's host>/<its Id>" in errors(broken)


def test_pinning_that_is_not_a_boolean_fails(production_xml):
    broken = mutate(production_xml, "<SupportsPinning>true</SupportsPinning>", "<SupportsPinning>yes</SupportsPinning>")
    assert "SupportsPinning must be true or false, not 'yes'" in errors(broken)


def test_unknown_permission_fails_the_schema(production_xml):
    broken = mutate(production_xml, "<Permissions>ReadWriteItem</Permissions>", "<Permissions>FullAccess</Permissions>")
    assert any("Permissions" in problem for problem in errors(broken))


def test_malformed_xml_is_reported_not_raised(production_xml):
    assert errors(production_xml.replace("</OfficeApp>", ""))[0].startswith("not well-formed XML")


def test_png_size_reads_the_header_and_refuses_other_files(tmp_path: Path):
    assert checks.png_size(checks.ASSETS_DIR / "icon-128.png") == (128, 128)
    fake = tmp_path / "icon.png"
    fake.write_bytes(b"GIF89a" + bytes(40))
    assert checks.png_size(fake) is None
