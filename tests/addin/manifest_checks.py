"""Offline checks of an Outlook XML add-in manifest.

The published XSDs (2018) know the classic manifest but nothing added since: <Runtimes>, the LaunchEvent
extension point, <WebApplicationInfo> and <SupportsPinning>. So a manifest is checked in two halves:

- a copy with exactly those parts cut out is validated against OfficeAppManifestV1_1.xsd with lxml;
- the parts cut out are checked here against their documented structure ([MS-OWEMXML] Mail 1.1 schema and the
  manifest reference on learn.microsoft.com): order, required attributes, allowed values.

On top of both, the cross-references no schema checks: every resid names a resource of the right kind, every URL
is https on the deployment's origin, every icon is a PNG in addin-manifest/assets with the size the manifest claims.
Each check returns a list of readable problems; an empty list means the manifest passed.
"""

from __future__ import annotations

import copy
import os
import re
import struct
import uuid
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

REPO = Path(__file__).resolve().parents[2]
ASSETS_DIR = REPO / "addin-manifest" / "assets"
XSD_DIR = Path(os.environ.get("MAILBEACON_OFFICE_XSD_DIR", REPO.parent / "shared" / "data" / "office-manifest-xsd"))

APP = "http://schemas.microsoft.com/office/appforoffice/1.1"
BT = "http://schemas.microsoft.com/office/officeappbasictypes/1.0"
MO = "http://schemas.microsoft.com/office/mailappversionoverrides"
MO11 = "http://schemas.microsoft.com/office/mailappversionoverrides/1.1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"o": APP, "bt": BT, "mo": MO, "m": MO11, "xsi": XSI}
XSI_TYPE = f"{{{XSI}}}type"

# The parts the 2018 schemas predate, as XPath from the root.
POST_2018_PARTS = (
    "//m:Host/m:Runtimes",
    "//m:ExtensionPoint[@xsi:type='LaunchEvent']",
    "//m:VersionOverrides/m:WebApplicationInfo",
    "//m:Action[@xsi:type='ShowTaskpane']/m:SupportsPinning",
)

SEND_EVENTS = {"OnMessageSend", "OnAppointmentSend"}
LAUNCH_EVENT_TYPES = SEND_EVENTS | {
    "OnNewMessageCompose", "OnNewAppointmentOrganizer", "OnMessageAttachmentsChanged",
    "OnAppointmentAttachmentsChanged", "OnMessageRecipientsChanged", "OnAppointmentAttendeesChanged",
    "OnAppointmentTimeChanged", "OnAppointmentRecurrenceChanged", "OnInfoBarDismissClicked",
    "OnMessageFromChanged", "OnAppointmentFromChanged", "OnSensitivityLabelChanged",
    "OnMessageReadWithCustomAttachment", "OnMessageReadWithCustomHeader",
}
SEND_MODES = {"PromptUser", "SoftBlock", "Block"}
# Outlook requires these three sizes on every button icon.
REQUIRED_BUTTON_ICON_SIZES = {16, 32, 80}
# Mail add-ins: IconUrl 64 x 64, HighResolutionIconUrl 128 x 128.
APP_ICON_SIZES = {"IconUrl": 64, "HighResolutionIconUrl": 128}
JS_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
RESID_MAX = 32

ManifestTree = etree._ElementTree


def parse(xml: str | bytes) -> ManifestTree:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return etree.ElementTree(etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True)))


@cache
def schema() -> etree.XMLSchema:
    main = XSD_DIR / "OfficeAppManifestV1_1.xsd"
    if not main.exists():
        raise FileNotFoundError(f"the Office manifest XSDs are expected in {XSD_DIR} (set MAILBEACON_OFFICE_XSD_DIR)")
    return etree.XMLSchema(etree.parse(str(main)))


def without_post_2018_parts(tree: ManifestTree) -> ManifestTree:
    """A copy the 2018 schemas can judge: the newer parts cut out, everything else untouched."""
    stripped = copy.deepcopy(tree)
    for path in POST_2018_PARTS:
        for element in stripped.xpath(path, namespaces=NS):
            element.getparent().remove(element)
    return stripped


def xsd_errors(tree: ManifestTree) -> list[str]:
    checker = schema()
    if checker.validate(without_post_2018_parts(tree)):
        return []
    return [f"line {error.line}: {error.message}" for error in checker.error_log]


def _one(tree: ManifestTree, path: str) -> etree._Element | None:
    found = tree.xpath(path, namespaces=NS)
    return found[0] if found else None


def _children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _url_resources(tree: ManifestTree) -> dict[str, str]:
    return {url.get("id"): url.get("DefaultValue", "")
            for url in tree.xpath("//m:Resources/bt:Urls/bt:Url", namespaces=NS)}


def _mailbox_min_version(tree: ManifestTree) -> tuple[int, ...]:
    sets = _one(tree, "//m:VersionOverrides/m:Requirements/bt:Sets")
    if sets is None:
        return (1, 1)
    mailbox = sets.find(f"{{{BT}}}Set[@Name='Mailbox']")
    if mailbox is None:
        return (0,)
    text = mailbox.get("MinVersion") or sets.get("DefaultMinVersion") or "1.1"
    return tuple(int(part) for part in text.split("."))


def runtime_errors(tree: ManifestTree) -> list[str]:
    """<Runtimes>: first child of the Mail 1.1 <Host>, one <Runtime resid> with at most one javascript override."""
    problems: list[str] = []
    urls = _url_resources(tree)
    all_runtimes = tree.xpath("//m:Runtimes", namespaces=NS)
    for runtimes in all_runtimes:
        host = runtimes.getparent()
        if etree.QName(host).namespace != MO11 or _local(host) != "Host" or host.get(XSI_TYPE) != "MailHost":
            problems.append("Runtimes must sit directly in the Mail 1.1 <Host xsi:type=\"MailHost\">")
        elif _children(host)[0] is not runtimes:
            problems.append("Runtimes must be the first child of Host, before DesktopFormFactor")
        entries = _children(runtimes)
        if len(entries) != 1 or any(_local(child) != "Runtime" for child in entries):
            problems.append("Runtimes must hold exactly one Runtime: Outlook supports only one")
        for runtime in entries:
            problems += _runtime_entry_errors(runtime, urls)
    if len(all_runtimes) > 1:
        problems.append("only one Runtimes element is allowed")
    if tree.xpath("//m:ExtensionPoint[@xsi:type='LaunchEvent']", namespaces=NS):
        if not all_runtimes:
            problems.append("a LaunchEvent extension point needs a Runtime")
        elif not tree.xpath("//m:Runtime/m:Override[@type='javascript']", namespaces=NS):
            problems.append("classic Outlook on Windows needs <Override type=\"javascript\"> in the Runtime")
        if _mailbox_min_version(tree) < (1, 10):
            problems.append("event-based activation needs Mailbox 1.10 or later in the 1.1 Requirements")
    return problems


def _runtime_entry_errors(runtime: etree._Element, urls: dict[str, str]) -> list[str]:
    problems = []
    unexpected = set(runtime.attrib) - {"resid", "lifetime"}
    if unexpected:
        problems.append(f"Runtime has unexpected attributes {sorted(unexpected)}")
    if runtime.get("lifetime", "short") != "short":
        problems.append("event-based activation supports only lifetime=\"short\" (the default)")
    resid = runtime.get("resid")
    if not resid:
        problems.append("Runtime needs a resid")
    elif not urls.get(resid, "").split("?")[0].endswith(".html"):
        problems.append(f"Runtime resid {resid!r} must name the HTML page in bt:Urls")
    overrides = _children(runtime)
    if len(overrides) > 1 or any(_local(child) != "Override" for child in overrides):
        problems.append("Runtime may hold only one Override")
    for override in overrides:
        if set(override.attrib) != {"type", "resid"} or override.get("type") != "javascript":
            problems.append("the Runtime's Override must be exactly <Override type=\"javascript\" resid=\"…\"/>")
        elif not urls.get(override.get("resid"), "").split("?")[0].endswith(".js"):
            problems.append(f"Override resid {override.get('resid')!r} must name the JavaScript file in bt:Urls")
    return problems


def launch_event_errors(tree: ManifestTree, *, js_source: str | None = None) -> list[str]:
    """LaunchEvent extension point: LaunchEvents then SourceLocation (= the Runtime's resid); each event a known
    Type with a handler name, send events with a SendMode. With `js_source`, every handler must be registered
    there through Office.actions.associate."""
    problems: list[str] = []
    runtime = _one(tree, "//m:Runtimes/m:Runtime")
    for point in tree.xpath("//m:ExtensionPoint[@xsi:type='LaunchEvent']", namespaces=NS):
        parent = point.getparent()
        if _local(parent) != "DesktopFormFactor" or etree.QName(parent).namespace != MO11:
            problems.append("the LaunchEvent extension point belongs in the Mail 1.1 DesktopFormFactor")
        children = _children(point)
        if [(_local(child), etree.QName(child).namespace) for child in children] != [
                ("LaunchEvents", MO11), ("SourceLocation", MO11)]:
            problems.append("a LaunchEvent extension point holds LaunchEvents then SourceLocation, nothing else")
            continue
        events, source = children
        if runtime is not None and source.get("resid") != runtime.get("resid"):
            problems.append("the LaunchEvent SourceLocation resid must equal the Runtime resid")
        seen: set[str] = set()
        entries = _children(events)
        if not entries:
            problems.append("LaunchEvents needs at least one LaunchEvent")
        for event in entries:
            problems += _event_errors(event, seen, js_source)
        if seen & SEND_EVENTS and _mailbox_min_version(tree) < (1, 12):
            problems.append("OnMessageSend/OnAppointmentSend need Mailbox 1.12 or later in the 1.1 Requirements")
    return problems


def _event_errors(event: etree._Element, seen: set[str], js_source: str | None) -> list[str]:
    problems = []
    if _local(event) != "LaunchEvent":
        return [f"unexpected <{_local(event)}> in LaunchEvents"]
    unexpected = set(event.attrib) - {"Type", "FunctionName", "SendMode"}
    if unexpected:
        problems.append(f"LaunchEvent has unexpected attributes {sorted(unexpected)}")
    kind, handler, mode = event.get("Type"), event.get("FunctionName"), event.get("SendMode")
    if kind not in LAUNCH_EVENT_TYPES:
        problems.append(f"LaunchEvent Type {kind!r} is not a documented event")
    if kind in seen:
        problems.append(f"LaunchEvent Type {kind!r} appears twice")
    seen.add(kind or "")
    if not handler or not JS_IDENTIFIER.fullmatch(handler):
        problems.append(f"LaunchEvent FunctionName {handler!r} is not a JavaScript function name")
    elif js_source is not None and not re.search(
            r"Office\.actions\.associate\(\s*['\"]" + re.escape(handler) + r"['\"]", js_source):
        problems.append(f"{handler} is not registered with Office.actions.associate in the commands script")
    if kind in SEND_EVENTS and mode not in SEND_MODES:
        problems.append(f"{kind} needs SendMode PromptUser, SoftBlock or Block, not {mode!r}")
    if kind not in SEND_EVENTS and mode is not None:
        problems.append(f"SendMode applies only to send events, not {kind!r}")
    return problems


def web_application_info_errors(tree: ManifestTree) -> list[str]:
    """WebApplicationInfo (SSO): after Resources in the Mail 1.1 VersionOverrides; Id, Resource, Scopes."""
    problems: list[str] = []
    for info in tree.xpath("//m:WebApplicationInfo", namespaces=NS):
        overrides = info.getparent()
        if _local(overrides) != "VersionOverrides" or etree.QName(overrides).namespace != MO11:
            problems.append("WebApplicationInfo belongs in the Mail 1.1 VersionOverrides")
            continue
        siblings = [_local(child) for child in _children(overrides)]
        position = siblings.index("WebApplicationInfo")
        if "Resources" in siblings[position:] or not set(siblings[position + 1:]) <= {
                "EquivalentAddins", "ExtendedPermissions"}:
            problems.append("WebApplicationInfo comes after Resources (only EquivalentAddins or "
                            "ExtendedPermissions may follow)")
        children = _children(info)
        if [_local(child) for child in children] != ["Id", "Resource", "Scopes"]:
            problems.append("WebApplicationInfo holds Id, Resource and Scopes, in that order")
            continue
        client_id, resource, scopes = children
        try:
            uuid.UUID((client_id.text or "").strip())
        except ValueError:
            problems.append(f"WebApplicationInfo Id {client_id.text!r} is not a GUID")
        domain = _one(tree, "/o:OfficeApp/o:AppDomains/o:AppDomain")
        authority = urlsplit(domain.text.strip()).netloc if domain is not None and domain.text else ""
        if (resource.text or "").strip() != f"api://{authority}/{(client_id.text or '').strip()}":
            problems.append("WebApplicationInfo Resource must be api://<the add-in's host>/<its Id>")
        names = [(scope.text or "").strip() for scope in _children(scopes)]
        if not names or any(_local(scope) != "Scope" for scope in _children(scopes)) or "" in names:
            problems.append("WebApplicationInfo Scopes needs one or more non-empty Scope elements")
        if len(set(names)) != len(names):
            problems.append("WebApplicationInfo lists a Scope twice")
    return problems


def pinning_errors(tree: ManifestTree) -> list[str]:
    problems = []
    for pin in tree.xpath("//m:SupportsPinning", namespaces=NS):
        action = pin.getparent()
        if _local(action) != "Action" or action.get(XSI_TYPE) != "ShowTaskpane":
            problems.append("SupportsPinning belongs only in a ShowTaskpane Action")
        elif [_local(child) for child in _children(action)][:2] != ["SourceLocation", "SupportsPinning"]:
            problems.append("SupportsPinning comes right after the Action's SourceLocation")
        if (pin.text or "").strip() not in {"true", "false"}:
            problems.append(f"SupportsPinning must be true or false, not {pin.text!r}")
    return problems


# Which resource collection a resid on each element names.
_RESID_KIND = {"Image": "Images", "SourceLocation": "Urls", "FunctionFile": "Urls", "Runtime": "Urls",
               "Override": "Urls", "Label": "ShortStrings", "Title": "ShortStrings", "Description": "LongStrings"}


def resource_errors(tree: ManifestTree) -> list[str]:
    """Every resid resolves to a resource of the right kind, ids are unique and short, nothing is left unused."""
    problems: list[str] = []
    defined: dict[str, set[str]] = {}
    for kind in ("Images", "Urls", "ShortStrings", "LongStrings"):
        ids = [item.get("id") for item in tree.xpath(f"//m:Resources/bt:{kind}/*", namespaces=NS)]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"bt:{kind} defines {duplicates} more than once")
        defined[kind] = set(ids)
    used: dict[str, set[str]] = {kind: set() for kind in defined}
    for element in tree.xpath("//*[@resid]"):
        resid, name = element.get("resid"), _local(element)
        kind = _RESID_KIND.get(name)
        if kind is None:
            problems.append(f"<{name} resid={resid!r}>: no rule for which resources it names")
            continue
        if len(resid) > RESID_MAX:
            problems.append(f"resid {resid!r} is longer than {RESID_MAX} characters")
        if resid not in defined[kind]:
            problems.append(f"<{name} resid={resid!r}> does not resolve to any bt:{kind} entry")
        used[kind].add(resid)
    for kind, ids in defined.items():
        for unused in sorted(ids - used[kind]):
            problems.append(f"bt:{kind} entry {unused!r} is never used")
    return problems


def _urls(tree: ManifestTree) -> list[tuple[str, str]]:
    """(where, URL) for every URL the manifest makes Outlook fetch or trust."""
    found = []
    for element in tree.xpath("/o:OfficeApp/o:IconUrl | /o:OfficeApp/o:HighResolutionIconUrl | "
                              "/o:OfficeApp/o:SupportUrl | //o:SourceLocation", namespaces=NS):
        found.append((_local(element), element.get("DefaultValue", "")))
        found += [(_local(element) + " override", o.get("Value", "")) for o in element.findall(f"{{{APP}}}Override")]
    for element in tree.xpath("//bt:Images/bt:Image | //bt:Urls/bt:Url", namespaces=NS):
        found.append((element.get("id"), element.get("DefaultValue", "")))
        found += [(element.get("id") + " override", o.get("Value", "")) for o in element.findall(f"{{{BT}}}Override")]
    found += [("AppDomain", (d.text or "").strip()) for d in tree.xpath("//o:AppDomain", namespaces=NS)]
    return found


def url_errors(tree: ManifestTree, *, localhost: bool) -> list[str]:
    """All URLs https on one origin; https://localhost:PORT exactly when it is the localhost variant."""
    problems = []
    origins = set()
    for where, url in _urls(tree):
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            problems.append(f"{where}: {url!r} is not an https URL")
            continue
        if where != "SupportUrl":  # a help page may live anywhere; everything Outlook loads is the backend's
            origins.add((parts.hostname, parts.port))
        if localhost and (parts.hostname != "localhost" or parts.port is None):
            problems.append(f"{where}: {url!r} is not on https://localhost:PORT")
        if not localhost and (parts.hostname in {"localhost", "127.0.0.1", "::1"}
                              or parts.hostname.endswith(".localhost")):
            problems.append(f"{where}: {url!r} points at this computer in a production manifest")
    if len(origins) > 1:
        problems.append(f"URLs point at more than one origin: {sorted(origins, key=str)}")
    return problems


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, or None when the file is not a PNG."""
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def _asset(url: str, assets_dir: Path) -> Path | None:
    path = urlsplit(url).path
    marker = "/addin/assets/"
    if marker not in path:
        return None
    name = path.split(marker, 1)[1]
    return assets_dir / name if name and "/" not in name and name not in {".", ".."} else None


def icon_errors(tree: ManifestTree, *, assets_dir: Path = ASSETS_DIR) -> list[str]:
    """Every icon URL is a PNG in addin-manifest/assets whose pixel size matches where the manifest uses it."""
    problems = []
    wanted: list[tuple[str, str, int]] = []  # (where, url, pixels)
    for name, pixels in APP_ICON_SIZES.items():
        element = _one(tree, f"/o:OfficeApp/o:{name}")
        if element is not None:
            wanted.append((name, element.get("DefaultValue", ""), pixels))
    images = {image.get("id"): image.get("DefaultValue", "")
              for image in tree.xpath("//m:Resources/bt:Images/bt:Image", namespaces=NS)}
    for icon in tree.xpath("//m:Icon", namespaces=NS):
        sizes = set()
        for ref in icon.findall(f"{{{BT}}}Image"):
            size = int(ref.get("size", "0")) if ref.get("size", "").isdigit() else 0
            sizes.add(size)
            if ref.get("resid") in images:
                wanted.append((f"Icon image {ref.get('resid')}", images[ref.get("resid")], size))
        if not REQUIRED_BUTTON_ICON_SIZES <= sizes:
            problems.append(f"a button Icon lacks sizes {sorted(REQUIRED_BUTTON_ICON_SIZES - sizes)}")
    for where, url, pixels in wanted:
        path = _asset(url, assets_dir)
        if path is None:
            problems.append(f"{where}: {url!r} is not under /addin/assets/")
        elif not path.is_file():
            problems.append(f"{where}: {path.name} does not exist in {assets_dir}")
        elif png_size(path) != (pixels, pixels):
            problems.append(f"{where}: {path.name} is {png_size(path) or 'not a PNG'}, expected {pixels}x{pixels}")
    return problems


def manifest_errors(xml: str | bytes, *, localhost: bool, assets_dir: Path = ASSETS_DIR,
                    js_source: str | None = None) -> list[str]:
    """Everything above, in one list."""
    try:
        tree = parse(xml)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    return (xsd_errors(tree) + runtime_errors(tree) + launch_event_errors(tree, js_source=js_source)
            + web_application_info_errors(tree) + pinning_errors(tree) + resource_errors(tree)
            + url_errors(tree, localhost=localhost) + icon_errors(tree, assets_dir=assets_dir))
