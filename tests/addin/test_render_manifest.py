"""render_manifest: one deployment's URL in, a manifest Outlook will install out, or a reason why not."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

import mailbeacon
from mailbeacon.addin_manifest import (
    COMPOSE_BUTTON_ID,
    DEFAULT_LOCALHOST_URL,
    EXAMPLE_PUBLIC_URL,
    MANIFEST_WEB_PATHS,
    SEND_HANDLER,
    SSO_SCOPES,
    ManifestError,
    default_app_id,
    default_manifest_version,
    render_manifest,
)
from tests.addin import manifest_checks as checks
from tests.addin.conftest import ADDIN_DIR, APP_ID, SSO_CLIENT_ID

NS = checks.NS


def render(url: str = "https://mail.example.net", **kwargs) -> str:
    kwargs.setdefault("app_id", APP_ID)
    kwargs.setdefault("version", "1.0.0.0")
    return render_manifest(url, **kwargs)


def text(xml: str, path: str) -> list[str]:
    return [str(value) for value in checks.parse(xml).xpath(path, namespaces=NS)]


def test_committed_manifest_is_what_the_generator_writes_for_the_example_url():
    expected = render_manifest(EXAMPLE_PUBLIC_URL, app_id=default_app_id(EXAMPLE_PUBLIC_URL),
                               version=default_manifest_version())
    assert (ADDIN_DIR / "manifest.xml").read_text("utf-8") == expected, (
        f"addin-manifest/manifest.xml is stale: mailbeacon addin-manifest --public-url {EXAMPLE_PUBLIC_URL} "
        "--output addin-manifest/manifest.xml")


def test_committed_localhost_manifest_is_what_the_generator_writes():
    expected = render_manifest(DEFAULT_LOCALHOST_URL, app_id=default_app_id(DEFAULT_LOCALHOST_URL, localhost=True),
                               version=default_manifest_version(), localhost=True)
    assert (ADDIN_DIR / "manifest.localhost.xml").read_text("utf-8") == expected, (
        "addin-manifest/manifest.localhost.xml is stale: mailbeacon addin-manifest --localhost "
        "--output addin-manifest/manifest.localhost.xml")


def test_every_url_is_the_public_url_followed_by_the_addin_path():
    xml = render("https://mail.example.net/tools/mailbeacon/")
    urls = text(xml, "//bt:Url/@DefaultValue | //bt:Image/@DefaultValue | //o:IconUrl/@DefaultValue"
                     " | //o:HighResolutionIconUrl/@DefaultValue | //o:SourceLocation/@DefaultValue")
    prefix = "https://mail.example.net/tools/mailbeacon/addin/"
    assert urls and all(url.startswith(prefix) for url in urls)
    assert {url[len(prefix):] for url in urls} == set(MANIFEST_WEB_PATHS)
    assert text(xml, "//o:AppDomain/text()") == ["https://mail.example.net"]
    assert text(xml, "//o:SupportUrl/@DefaultValue") == ["https://mail.example.net/tools/mailbeacon/"]


def test_web_paths_follow_the_backend_url_scheme():
    xml = render()
    urls = dict(zip(text(xml, "//bt:Url/@id"), text(xml, "//bt:Url/@DefaultValue")))
    assert urls == {
        "Commands.Url": "https://mail.example.net/addin/commands/commands.html",
        "CommandsJs.Url": "https://mail.example.net/addin/commands/commands.js",
        "Taskpane.Url": "https://mail.example.net/addin/taskpane/taskpane.html",
    }
    runtime = checks.parse(xml).xpath("//m:Runtime", namespaces=NS)[0]
    assert urls[runtime.get("resid")].endswith("/commands.html")
    assert urls[runtime[0].get("resid")].endswith("/commands.js") and runtime[0].get("type") == "javascript"


def test_icons_in_assets_cover_every_image_the_manifest_names():
    names = {path.rsplit("/", 1)[1] for path in MANIFEST_WEB_PATHS if path.startswith("assets/")}
    assert names == {path.name for path in checks.ASSETS_DIR.glob("*.png")}


def test_surfaces_requirements_and_the_send_event():
    xml = render()
    assert text(xml, "//m:ExtensionPoint/@xsi:type") == [
        "MessageComposeCommandSurface", "MessageReadCommandSurface", "LaunchEvent"]
    assert text(xml, "//m:Requirements/bt:Sets/@DefaultMinVersion") == ["1.12"]
    assert text(xml, "//m:Requirements/bt:Sets/bt:Set/@Name") == ["Mailbox"]
    event = checks.parse(xml).xpath("//m:LaunchEvent", namespaces=NS)[0]
    assert dict(event.attrib) == {"Type": "OnMessageSend", "FunctionName": SEND_HANDLER, "SendMode": "SoftBlock"}
    assert text(xml, "//m:Control/@id")[0] == COMPOSE_BUTTON_ID
    assert text(xml, "/o:OfficeApp/o:Permissions/text()") == ["ReadWriteItem"]


def test_names_descriptions_and_labels_come_in_english_and_turkish():
    tree = checks.parse(render())
    localised = tree.xpath("/o:OfficeApp/o:DisplayName | /o:OfficeApp/o:Description | //bt:String", namespaces=NS)
    assert len(localised) == 7
    for element in localised:
        overrides = [child for child in element if isinstance(child.tag, str)]
        assert [override.get("Locale") for override in overrides] == ["tr-TR"], element.get("id")
        assert overrides[0].get("Value").strip() and element.get("DefaultValue").strip()
    display = tree.xpath("/o:OfficeApp/o:DisplayName", namespaces=NS)[0]
    assert display.get("DefaultValue") == "mailbeacon email tracking"
    assert display[0].get("Value") == "mailbeacon e-posta takibi"


def test_turkish_text_survives_as_utf8():
    xml = render()
    assert "Açılmalar ve tıklamalar" in xml
    label = "//bt:String[@id='ComposeButton.Label']/bt:Override/@Value"
    assert checks.parse(xml.encode("utf-8")).xpath(label, namespaces=NS) == ["İzleme"]


def test_localhost_variant_says_so_in_its_name():
    xml = render("https://localhost:3000", localhost=True)
    assert text(xml, "/o:OfficeApp/o:DisplayName/@DefaultValue") == ["mailbeacon email tracking (localhost)"]
    assert text(xml, "//o:AppDomain/text()") == ["https://localhost:3000"]


def test_sso_adds_web_application_info_for_the_public_host():
    xml = render("https://mail.example.net:8443/mb", sso_client_id=SSO_CLIENT_ID.upper())
    assert text(xml, "//m:WebApplicationInfo/m:Id/text()") == [SSO_CLIENT_ID]
    assert text(xml, "//m:WebApplicationInfo/m:Resource/text()") == [f"api://mail.example.net:8443/{SSO_CLIENT_ID}"]
    assert tuple(text(xml, "//m:WebApplicationInfo/m:Scopes/m:Scope/text()")) == SSO_SCOPES


def test_without_sso_there_is_no_web_application_info_and_no_blank_line():
    xml = render()
    assert "WebApplicationInfo" not in xml
    assert "\n\n" not in xml and "${" not in xml


def test_ids_are_normalised_and_versions_kept_as_given():
    xml = render(app_id=APP_ID.upper(), version="2.10")
    assert text(xml, "/o:OfficeApp/o:Id/text()") == [APP_ID]
    assert text(xml, "/o:OfficeApp/o:Version/text()") == ["2.10"]


def test_trailing_slash_default_port_and_host_case_do_not_change_the_manifest():
    assert render("https://Mail.Example.NET:443/") == render("https://mail.example.net")


def test_international_domain_is_written_in_its_ascii_form():
    xml = render("https://izleme.örnek.com.tr")
    assert text(xml, "//o:AppDomain/text()") == ["https://izleme.xn--rnek-4qa.com.tr"]


def test_values_are_xml_escaped():
    xml = render("https://mail.example.net/a&b")
    assert "/a&amp;b/addin/" in xml
    assert text(xml, "//bt:Url[@id='Taskpane.Url']/@DefaultValue") == [
        "https://mail.example.net/a&b/addin/taskpane/taskpane.html"]


def test_custom_support_url_is_used():
    xml = render(support_url="https://help.example.net/mailbeacon")
    assert text(xml, "//o:SupportUrl/@DefaultValue") == ["https://help.example.net/mailbeacon"]
    assert checks.manifest_errors(xml, localhost=False) == []


@pytest.mark.parametrize("url, reason", [
    ("http://mail.example.net", "Outlook loads add-ins only over HTTPS"),
    ("mail.example.net", "Outlook loads add-ins only over HTTPS"),
    ("https://", "has no host"),
    ("https://user:secret@mail.example.net", "user name or password"),
    ("https://mail.example.net/?x=1", "query or fragment"),
    ("https://mail.example.net/#top", "query or fragment"),
    ("https://mail.example.net:99999", "invalid port"),
    ("https://mail.example.net/a b", "not allowed in a URL"),
    ("https://localhost:3000", "use --localhost"),
    ("https://127.0.0.1:8025", "use --localhost"),
    ("https://[::1]:8443", "use --localhost"),
    ("https://mail.example.net/" + "x" * 2048, "too long"),
])
def test_urls_outlook_would_refuse_are_refused_with_a_reason(url, reason):
    with pytest.raises(ManifestError, match=reason):
        render(url)


@pytest.mark.parametrize("url", ["https://mail.example.net", "http://localhost:3000", "https://127.0.0.1:3000"])
def test_localhost_variant_accepts_only_https_localhost(url):
    with pytest.raises(ManifestError):
        render(url, localhost=True)


@pytest.mark.parametrize("version", ["1.0.0.0.0", "v1", "1..0", "", "123456"])
def test_bad_versions_are_refused(version):
    with pytest.raises(ManifestError, match="one to four numbers"):
        render(version=version)


@pytest.mark.parametrize("argument", ["app_id", "sso_client_id"])
def test_ids_that_are_not_guids_are_refused(argument):
    with pytest.raises(ManifestError, match="is not a GUID"):
        render(**{argument: "my-addin"})


def test_support_url_must_be_https():
    with pytest.raises(ManifestError, match="support URL"):
        render(support_url="http://help.example.net")


def test_default_app_id_is_stable_per_url_and_differs_between_deployments():
    assert default_app_id("https://a.example.com/") == default_app_id("https://A.example.com")
    assert default_app_id("https://a.example.com") != default_app_id("https://b.example.com")
    assert default_app_id("https://localhost:3000", localhost=True) != default_app_id("https://a.example.com")
    assert render(app_id=default_app_id("https://a.example.com"))


@pytest.mark.parametrize("release, expected", [
    ("0.1.0", "0.1.0.0"), ("1.2.0rc1", "1.2.0.0"), ("2", "2.0.0.0"), ("3.0.0.dev4", "3.0.0.0"),
    ("1.2.3.4.5", "1.2.3.4"), ("1.2.post1", "1.2.0.0"),
])
def test_default_version_is_the_release_in_four_parts(monkeypatch, release, expected):
    monkeypatch.setattr(mailbeacon, "__version__", release)
    assert default_manifest_version() == expected


def test_default_version_of_this_release_makes_a_valid_manifest():
    assert checks.manifest_errors(render(version=default_manifest_version()), localhost=False) == []


def test_the_public_url_host_is_the_only_host_outlook_trusts():
    xml = render("https://mail.example.net/mb")
    hosts = {urlsplit(url).hostname for url in text(xml, "//@DefaultValue | //o:AppDomain/text()")
             if url.startswith("https://")}
    assert hosts == {"mail.example.net"}
