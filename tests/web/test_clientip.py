import pytest

from mailbeacon.web.clientip import client_ip, truncate_ip


def test_socket_address_is_used_when_no_proxy_is_trusted():
    env = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}
    assert client_ip(env, 0) == "203.0.113.9"


def test_only_the_trusted_hops_of_x_forwarded_for_are_believed():
    env = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.4, 10.0.0.1"}
    assert client_ip(env, 1) == "10.0.0.1"
    assert client_ip(env, 2) == "198.51.100.4"
    # A spoofed leftmost entry is never picked, however many hops are configured beyond what is there.
    assert client_ip({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6"}, 2) == "10.0.0.2"


def test_garbage_in_x_forwarded_for_falls_back_to_the_socket():
    assert client_ip({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-ip"}, 1) == "10.0.0.2"
    assert client_ip({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "[2001:db8::1]:443"}, 1) == "2001:db8::1"


@pytest.mark.parametrize("ip,prefix", [
    ("203.0.113.77", "203.0.113.0/24"),
    ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"),
    ("::ffff:198.51.100.200", "198.51.100.0/24"),
    ("nonsense", None),
    (None, None),
])
def test_ips_are_truncated_before_storage(ip, prefix):
    assert truncate_ip(ip) == prefix
