"""docker-compose.yml runs real `mailbeacon` commands, and every queue has a worker."""

import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mailbeacon.cli import main
from mailbeacon.jobs import queues

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def mailbeacon_commands():
    for name, service in SERVICES.items():
        command = service.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        if command and command[0] == "mailbeacon":
            yield name, command[1:]


def test_compose_has_the_services_a_deployment_needs():
    assert {"web", "worker", "scheduler", "redis", "postgres"} <= set(SERVICES)
    for name in ("web", "worker", "scheduler", "redis", "postgres"):
        assert "healthcheck" in SERVICES[name], f"{name} has no health check"


@pytest.mark.parametrize("service,args", list(mailbeacon_commands()))
def test_every_compose_command_is_a_real_mailbeacon_command(service, args):
    # Walk the click command tree with the given words; each must be a command or a known option.
    command = main
    words = list(args)
    while words and hasattr(command, "commands") and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    assert not hasattr(command, "commands") or not isinstance(command.commands, dict) or not command.commands, \
        f"{service}: {args} names a command group, not a command"
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    flags = {opt for param in command.params if getattr(param, "is_flag", False) for opt in param.opts}
    i = 0
    while i < len(words):
        word = words[i]
        assert word in known, f"{service}: {word!r} is not an option of `mailbeacon {' '.join(args[:1])}`"
        i += 1 if word in flags else 2
    result = CliRunner().invoke(main, [*args[:len(args) - len(words)], "--help"])
    assert result.exit_code == 0, result.output


def test_every_queue_has_a_worker():
    served = set()
    for name, args in mailbeacon_commands():
        if args and args[0] == "worker":
            if "--queues" in args:
                served |= set(args[args.index("--queues") + 1].split(","))
            else:
                served |= set(queues.ALL_QUEUES)
    assert served == set(queues.ALL_QUEUES)


def test_the_web_service_uses_serve_with_redis_and_several_workers():
    args = dict(mailbeacon_commands())["web"]
    assert args[0] == "serve" and "--workers" in args
    env = COMPOSE["x-mailbeacon-env"]
    assert env["MAILBEACON_REDIS_URL"].startswith("redis://")
    assert env["MAILBEACON_DATABASE_URL"].startswith("postgresql://")


def test_redis_keeps_queued_hits_across_a_restart():
    assert "--appendonly" in SERVICES["redis"]["command"]


def test_clients_are_sent_to_the_stream_service_not_to_the_web_threads():
    """/api/v1/me tells clients MAILBEACON_STREAM_URL; it must name the published port of the gevent service."""
    env = COMPOSE["x-mailbeacon-env"]
    stream_url = env["MAILBEACON_STREAM_URL"].split(":-", 1)[-1].rstrip("}")
    args = dict(mailbeacon_commands())["stream"]
    port = args[args.index("--port") + 1]
    assert args[0] == "stream" and stream_url.endswith(":" + port)
    assert any(mapping.split(":")[0] == port for mapping in SERVICES["stream"]["ports"])
