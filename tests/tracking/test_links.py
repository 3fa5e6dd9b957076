import pytest

from mailbeacon.tracking.links import LinkRegistry, TrackedLink


def numbered(index: int) -> str:
    return f"https://t.test/c/{index}"


def test_destinations_get_indexes_in_order_of_first_appearance():
    registry = LinkRegistry(numbered)
    assert registry.track("https://b.test/") == "https://t.test/c/0"
    assert registry.track("https://a.test/") == "https://t.test/c/1"
    assert [link.url for link in registry.links] == ["https://b.test/", "https://a.test/"]
    assert [link.index for link in registry.links] == [0, 1]


def test_the_same_destination_twice_shares_one_index_and_one_click_url():
    calls = []

    def click_url_for(index: int) -> str:
        calls.append(index)
        return numbered(index)

    registry = LinkRegistry(click_url_for)
    first = registry.track("https://a.test/x?y=1&z=2")
    second = registry.track("https://a.test/x?y=1&z=2")
    assert first == second
    assert calls == [0]
    assert registry.links == [TrackedLink(0, "https://a.test/x?y=1&z=2")]


def test_destinations_that_differ_only_in_case_or_encoding_are_different_links():
    registry = LinkRegistry(numbered)
    registry.track("https://A.test/%7E")
    registry.track("https://a.test/%7e")
    registry.track("https://a.test/~")
    assert len(registry.links) == 3


def test_the_honeypot_is_registered_once_without_a_destination():
    registry = LinkRegistry(numbered)
    registry.track("https://a.test/")
    first = registry.track_honeypot()
    assert registry.track_honeypot() == first
    assert registry.links[-1] == TrackedLink(1, "", honeypot=True)
    assert sum(link.honeypot for link in registry.links) == 1


def test_an_empty_destination_is_refused():
    with pytest.raises(ValueError):
        LinkRegistry(numbered).track("")


def test_a_click_url_factory_that_returns_nothing_is_an_error():
    with pytest.raises(ValueError):
        LinkRegistry(lambda index: "").track("https://a.test/")


def test_links_is_a_copy_callers_cannot_corrupt():
    registry = LinkRegistry(numbered)
    registry.track("https://a.test/")
    registry.links.clear()
    assert len(registry.links) == 1
