"""The example deployments in deploy/: valid, and true to the configuration contract.

Each check reads parsed YAML and returns the problems it finds. The tests run every
check on the real files, and again on copies broken on purpose, so that no check
can pass because it never looks. The accepted variable names come from
`BotSettings` itself, so a renamed or new setting is picked up without editing here.
"""

from __future__ import annotations

import base64
import re
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot.runtime.settings import BotSettings
from tests.processes import REPO
from tests.test_packaging import final_stage_instructions

DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yml"
KUBERNETES_FOLDER = DEPLOY / "kubernetes"
HEALTH_PATH = "/healthz"
# SIGTERM starts a drain; less than this and the orchestrator may kill it half-way.
MIN_GRACE_SECONDS = 30
# A liveness probe must tolerate a blip (a database failover) this long before a restart.
MIN_LIVENESS_TOLERANCE_SECONDS = 60
POSTGRES_SCHEMES = {"postgresql", "postgres"}
PLACEHOLDER = "replace-me"

Doc = dict[str, Any]


# ----- the contract, read from the settings classes -----------------------------------------


@dataclass(frozen=True)
class Setting:
    keyword: str  # how BotSettings(...) takes it: the field's name, or its alias
    field: FieldInfo


def contract() -> dict[str, Setting]:
    """Each environment variable that BotSettings reads, upper-cased as this file spells
    them (pydantic-settings matches them case-insensitively)."""
    prefix = str(BotSettings.model_config.get("env_prefix", ""))
    settings: dict[str, Setting] = {}
    for name, field in BotSettings.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, AliasChoices):
            names = [choice for choice in alias.choices if isinstance(choice, str)]
        elif isinstance(alias, str):
            names = [alias]
        else:
            names = [prefix + name]
        for variable in names:
            # With an alias, the alias is both the variable and the keyword.
            keyword = variable if alias else name
            settings[variable.upper()] = Setting(keyword, field)
    return settings


def required_variables() -> set[str]:
    """Variables without a default (SLACK_SIGNING_SECRET's rule is a model check, below)."""
    return {variable for variable, setting in contract().items() if setting.field.is_required()}


def secret_variables() -> set[str]:
    """Variables whose setting is a SecretStr: these never belong in a committed file."""
    return {
        variable
        for variable, setting in contract().items()
        if SecretStr in (setting.field.annotation, *get_args(setting.field.annotation))
    }


def default_port() -> int:
    port = BotSettings.model_fields["port"].default
    assert isinstance(port, int)
    return port


class SettingsFromValuesOnly(BotSettings):
    """BotSettings that reads only the values passed to it: never this process's
    environment nor a .env file in the working directory, so a test's surroundings
    cannot hide a gap in the deployment file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_problems(environment: dict[str, str]) -> list[str]:
    """What BotSettings refuses in this container environment, one line per variable."""
    settings = contract()
    values: dict[str, Any] = {
        settings[name].keyword: value for name, value in environment.items() if name in settings
    }
    try:
        SettingsFromValuesOnly(**values)
    except ValidationError as exc:
        # Never the input: a real deployment file could hold a real secret.
        return [
            f"settings refuse {str(error['loc'][0]).upper() if error['loc'] else 'them'}: "
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors(include_input=False, include_url=False)
        ]
    return []


# ----- the Dockerfile's final stage --------------------------------------------------------


def final_stage() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of the Dockerfile's final stage: the packaging tests' reading."""
    return final_stage_instructions()


def image_environment() -> dict[str, str]:
    """ENV of the final stage: what a container sees before the deployment adds its own."""
    environment = {}
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for word in shlex.split(rest):
                name, _, value = word.partition("=")
                environment[name] = value
    return environment


def image_user() -> str:
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users, "the Dockerfile's final stage sets no USER"
    return users[-1]


def effective_port(environment: dict[str, str]) -> int:
    return int(environment.get("PORT", default_port()))


# ----- reading the files -------------------------------------------------------------------


@dataclass
class ComposeFile:
    doc: Doc
    # The comments document the keys that deploy/.env must hold; YAML drops them.
    text: str


def load_compose(path: Path = COMPOSE_FILE) -> ComposeFile:
    text = path.read_text()
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return ComposeFile(doc, text)


def kubernetes_files(folder: Path = KUBERNETES_FOLDER) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_kubernetes(folder: Path = KUBERNETES_FOLDER) -> list[Doc]:
    docs: list[Doc] = []
    for path in kubernetes_files(folder):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                assert isinstance(doc, dict), f"{path.name}: a document is not a mapping"
                docs.append(doc)
    return docs


# ----- docker compose ----------------------------------------------------------------------

_REFERENCE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<word>[^}]*))?\}")


def interpolated(value: str, unset: str = "placeholder") -> str:
    """A compose value as a container would see it, with each variable replaced by its
    default if it has one, else by `unset`: the shape of the value is what is judged."""
    escaped = value.replace("$$", "\0")

    def fill(match: re.Match[str]) -> str:
        return match["word"] if match["op"] and "-" in match["op"] else unset

    return _REFERENCE.sub(fill, escaped).replace("\0", "$")


def environment_of(service: Doc) -> dict[str, str | None]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (entry.partition("=") for entry in environment)
        return {name: (value if sep else None) for name, sep, value in pairs}
    return {name: None if value is None else str(value) for name, value in environment.items()}


def bot_services(compose: ComposeFile) -> dict[str, Doc]:
    """The services built from this repository's Dockerfile: the bot's replicas."""
    services: dict[str, Doc] = compose.doc["services"]
    return {name: service for name, service in services.items() if "build" in service}


def database_host(service: Doc) -> str | None:
    url = environment_of(service).get("DATABASE_URL")
    return urlsplit(interpolated(url)).hostname if url else None


def check_compose_builds_the_bot(compose: ComposeFile) -> list[str]:
    if not bot_services(compose):
        return ["no service is built from the repository (`build:`), so none runs the bot"]
    problems = []
    for name, service in bot_services(compose).items():
        build = service["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        if (COMPOSE_FILE.parent / context).resolve() != REPO:
            problems.append(f"{name}: build context {context!r} is not the repository root")
    return problems


def check_compose_variable_names(compose: ComposeFile) -> list[str]:
    accepted = contract()
    return [
        f"{name}: sets {variable}, which BotSettings does not read"
        for name, service in bot_services(compose).items()
        for variable in environment_of(service)
        if variable not in accepted
    ]


def check_compose_database_is_postgresql(compose: ComposeFile) -> list[str]:
    problems = []
    services = compose.doc["services"]
    for name, service in bot_services(compose).items():
        url = environment_of(service).get("DATABASE_URL")
        if not url:
            problems.append(f"{name}: DATABASE_URL is not set, so replicas get SQLite each")
            continue
        parts = urlsplit(interpolated(url))
        if parts.scheme not in POSTGRES_SCHEMES:
            problems.append(f"{name}: DATABASE_URL must be postgresql://, not {parts.scheme}://")
        elif parts.hostname not in services:
            problems.append(f"{name}: DATABASE_URL's host {parts.hostname!r} is not a service")
    return problems


def check_compose_replicas(compose: ComposeFile) -> list[str]:
    problems = []
    for name, service in bot_services(compose).items():
        replicas = service.get("deploy", {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 2:
            problems.append(f"{name}: deploy.replicas is {replicas}, the point is more than one")
    return problems


def check_compose_waits_for_a_healthy_database(compose: ComposeFile) -> list[str]:
    problems = []
    for name, service in bot_services(compose).items():
        host = database_host(service)
        depends_on = service.get("depends_on") or {}
        condition = (
            depends_on.get(host, {}).get("condition") if isinstance(depends_on, dict) else None
        )
        # Migrations run at start: a bot that starts before PostgreSQL accepts connections exits.
        if condition != "service_healthy":
            problems.append(f"{name}: must depend on {host} with condition service_healthy")
    return problems


def check_compose_database_service(compose: ComposeFile) -> list[str]:
    problems = []
    declared = compose.doc.get("volumes") or {}
    for name, bot in bot_services(compose).items():
        host = database_host(bot)
        database = compose.doc["services"].get(host)
        if database is None:
            continue  # check_compose_database_is_postgresql says so
        test = database.get("healthcheck", {}).get("test", [])
        if "pg_isready" not in " ".join(test if isinstance(test, list) else [test]):
            problems.append(f"{host} (used by {name}): its healthcheck must run pg_isready")
        volumes = database.get("volumes") or []
        sources = [v.split(":", 1)[0] if isinstance(v, str) else v.get("source") for v in volumes]
        named = [source for source in sources if source and not source.startswith((".", "/"))]
        if not named:
            problems.append(f"{host}: keeps its data in no named volume, so it is lost on `down`")
        problems += [
            f"{host}: volume {v!r} is not declared under volumes:"
            for v in named
            if v not in declared
        ]
    return problems


_HEALTH_URL = re.compile(
    r"http://(?P<host>[^:/'\"\s]+):(?P<port>\$?\$\{PORT(?::?-(?P<default>\d+))?\}|\d+)"
    r"(?P<path>/[^'\"\s]*)"
)


def healthcheck_command(service: Doc) -> tuple[str, str]:
    """(program, whole command) of a compose healthcheck."""
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if test[0] == "CMD-SHELL":
        return shlex.split(test[1])[0], test[1]
    return test[1], " ".join(test[1:])


def check_compose_healthcheck(compose: ComposeFile) -> list[str]:
    problems = []
    for name, service in bot_services(compose).items():
        if "healthcheck" not in service or service["healthcheck"].get("disable"):
            problems.append(f"{name}: has no healthcheck")
            continue
        program, command = healthcheck_command(service)
        # python:3.11-slim has no curl or wget, and the bot's image adds none.
        if Path(program).name not in {"python", "python3"}:
            problems.append(f"{name}: the healthcheck runs {program}, which the image lacks")
        url = _HEALTH_URL.search(command)
        if url is None:
            problems.append(f"{name}: the healthcheck asks no http://host:port/ URL")
            continue
        if url["host"] not in {"127.0.0.1", "localhost"}:
            problems.append(f"{name}: the healthcheck asks {url['host']}, not the container itself")
        if url["path"] != HEALTH_PATH:
            problems.append(f"{name}: the healthcheck asks {url['path']}, not {HEALTH_PATH}")
        environment = {k: interpolated(v) for k, v in environment_of(service).items() if v}
        if url["port"].isdigit():
            if int(url["port"]) != effective_port(environment):
                problems.append(
                    f"{name}: the healthcheck asks port {url['port']}, the bot listens on "
                    f"{effective_port(environment)}"
                )
        elif url["default"] and int(url["default"]) != default_port():
            problems.append(
                f"{name}: the healthcheck falls back to port {url['default']} when PORT is "
                f"unset, the bot to {default_port()}"
            )
    return problems


def go_duration_seconds(value: Any) -> float:
    """Compose durations: `30s`, `1m30s`, `1h`, `500ms`."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)", str(value))
    if not parts or "".join(n + u for n, u in parts) != str(value):
        raise ValueError(f"not a duration: {value!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


def check_compose_stop_grace_period(compose: ComposeFile) -> list[str]:
    problems = []
    for name, service in bot_services(compose).items():
        # Compose's default is 10 s, then SIGKILL.
        period = service.get("stop_grace_period", "10s")
        if go_duration_seconds(period) < MIN_GRACE_SECONDS:
            problems.append(
                f"{name}: stop_grace_period {period} is under {MIN_GRACE_SECONDS}s: "
                "the drain on SIGTERM may be cut short"
            )
    return problems


def check_compose_restart_policy(compose: ComposeFile) -> list[str]:
    return [
        f"{name}: set restart (unless-stopped, always or on-failure), or a crash stays down"
        for name, service in compose.doc["services"].items()
        if service.get("restart", "no") == "no"
    ]


def check_compose_publishes_no_host_port(compose: ComposeFile) -> list[str]:
    problems = []
    for name, service in bot_services(compose).items():
        for port in service.get("ports") or []:
            # "3000" alone picks no host port; "3000:3000" or {published: ...} does.
            published = "published" in port if isinstance(port, dict) else ":" in str(port)
            if published:
                problems.append(
                    f"{name}: publishes {port}; replicas cannot share one host port, put a "
                    "load balancer in front instead"
                )
    return problems


_A_REFERENCE = "a-variable-reference"


def check_compose_holds_no_secrets(compose: ComposeFile) -> list[str]:
    secret_names = secret_variables()
    problems = []
    for name, service in compose.doc["services"].items():
        for variable, value in environment_of(service).items():
            if not value:
                continue  # passed through from the host, or set by env_file
            # A reference with a default (${X:-hunter2}) writes the secret in the file too.
            seen = interpolated(value, unset=_A_REFERENCE)
            looks_secret = variable in secret_names or re.search(r"PASSWORD|SECRET|TOKEN", variable)
            if looks_secret and seen != _A_REFERENCE:
                problems.append(f"{name}: {variable} is written in the file; use ${{{variable}}}")
            password = urlsplit(seen).password if "://" in seen else None
            if password and password != _A_REFERENCE:
                problems.append(f"{name}: {variable} has its password written in the file")
    return problems


def check_compose_documents_its_env_file(compose: ComposeFile) -> list[str]:
    comments = "\n".join(
        line for line in compose.text.splitlines() if line.lstrip().startswith("#")
    )
    problems = []
    for name, service in bot_services(compose).items():
        if not service.get("env_file"):
            problems.append(
                f"{name}: no env_file, so the Slack and Northflank tokens come from nowhere"
            )
        needed = required_variables() | {"SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"}
        needed -= set(environment_of(service))
        needed |= {match["name"] for match in _REFERENCE.finditer(compose.text.replace("$$", ""))}
        problems += [
            f"{name}: the comments do not say that .env must set {variable}"
            for variable in sorted(needed)
            if not re.search(rf"\b{variable}\b", comments)
        ]
    return problems


# ----- Kubernetes --------------------------------------------------------------------------


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc.get("kind") == kind]


def the(docs: list[Doc], kind: str) -> Doc:
    found = of_kind(docs, kind)
    if len(found) != 1:
        raise ValueError(f"expected one {kind}, found {len(found)}")
    return found[0]


def pod_spec(docs: list[Doc]) -> Doc:
    spec: Doc = the(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


def containers(docs: list[Doc]) -> Iterator[Doc]:
    yield from pod_spec(docs)["containers"]


def secret_values(secret: Doc) -> dict[str, str]:
    data = {
        key: base64.b64decode(value).decode() for key, value in (secret.get("data") or {}).items()
    }
    # Kubernetes merges stringData over data.
    return {**data, **(secret.get("stringData") or {})}


def secrets_by_name(docs: list[Doc]) -> dict[str, dict[str, str]]:
    return {secret["metadata"]["name"]: secret_values(secret) for secret in of_kind(docs, "Secret")}


def container_environment(docs: list[Doc], container: Doc) -> dict[str, str]:
    """What the process sees: the image's ENV, then envFrom, then env (Kubernetes' order).
    References this file cannot resolve are left out; check_kubernetes_secret_references
    reports them."""
    secrets = secrets_by_name(docs)
    environment = image_environment()
    for source in container.get("envFrom") or []:
        name = (source.get("secretRef") or {}).get("name")
        environment.update(secrets.get(name or "", {}))
    for entry in container.get("env") or []:
        if "value" in entry:
            environment[entry["name"]] = str(entry["value"])
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
        if ref.get("key") in secrets.get(ref.get("name") or "", {}):
            environment[entry["name"]] = secrets[ref["name"]][ref["key"]]
    return environment


def check_kubernetes_kinds(docs: list[Doc]) -> list[str]:
    problems = [
        f"a document lacks {field}"
        for doc in docs
        for field in ("apiVersion", "kind")
        if field not in doc
    ]
    problems += [
        f"a {doc.get('kind')} has no metadata.name"
        for doc in docs
        if not doc.get("metadata", {}).get("name")
    ]
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        if len(of_kind(docs, kind)) != 1:
            problems.append(f"expected one {kind}, found {len(of_kind(docs, kind))}")
    return problems


def check_kubernetes_variable_names(docs: list[Doc]) -> list[str]:
    accepted = contract()
    problems = [
        f"container {container['name']}: env {entry['name']} is not read by BotSettings"
        for container in containers(docs)
        for entry in container.get("env") or []
        if entry["name"] not in accepted
    ]
    problems += [
        f"Secret {name}: key {key} is not read by BotSettings"
        for name, values in secrets_by_name(docs).items()
        for key in values
        if key not in accepted
    ]
    return problems


def check_kubernetes_env_values_are_strings(docs: list[Doc]) -> list[str]:
    # The API server refuses `value: 300`; it must be quoted.
    return [
        f"container {container['name']}: env {entry['name']} must be a quoted string"
        for container in containers(docs)
        for entry in container.get("env") or []
        if "value" in entry and not isinstance(entry["value"], str)
    ]


def check_kubernetes_secret_references(docs: list[Doc]) -> list[str]:
    secrets = secrets_by_name(docs)
    problems = []
    for container in containers(docs):
        for source in container.get("envFrom") or []:
            name = (source.get("secretRef") or {}).get("name")
            if name not in secrets:
                problems.append(f"envFrom names {source}, which is not a Secret in this file")
        for entry in container.get("env") or []:
            if "valueFrom" not in entry:
                continue
            ref = entry["valueFrom"].get("secretKeyRef") or {}
            if ref.get("key") not in secrets.get(ref.get("name") or "", {}):
                problems.append(f"env {entry['name']}: {entry['valueFrom']} is not in this file")
    return problems


def check_kubernetes_required_settings(docs: list[Doc]) -> list[str]:
    problems = []
    for container in containers(docs):
        environment = {k: v for k, v in container_environment(docs, container).items() if v}
        needed = set(required_variables())
        # HTTP mode verifies Slack's signatures; Socket Mode has no requests to verify.
        if "SLACK_APP_TOKEN" not in environment:
            needed.add("SLACK_SIGNING_SECRET")
        problems += [
            f"container {container['name']}: {variable} is required and not provided"
            for variable in sorted(needed - set(environment))
        ]
    return problems


def check_kubernetes_settings_validate(docs: list[Doc]) -> list[str]:
    return [
        f"container {container['name']}: {problem}"
        for container in containers(docs)
        for problem in settings_problems(container_environment(docs, container))
    ]


def check_kubernetes_database_is_postgresql(docs: list[Doc]) -> list[str]:
    problems = []
    for container in containers(docs):
        url = container_environment(docs, container).get("DATABASE_URL", "")
        if urlsplit(url).scheme not in POSTGRES_SCHEMES:
            problems.append(
                f"container {container['name']}: DATABASE_URL must be postgresql:// "
                "(SQLite is for one process only)"
            )
    return problems


def check_kubernetes_replicas(docs: list[Doc]) -> list[str]:
    replicas = the(docs, "Deployment")["spec"].get("replicas", 1)
    return (
        [] if replicas > 1 else [f"Deployment replicas is {replicas}, the point is more than one"]
    )


def check_kubernetes_probes(docs: list[Doc]) -> list[str]:
    problems = []
    for container in containers(docs):
        ports = {port.get("name"): port["containerPort"] for port in container.get("ports") or []}
        listening = effective_port(container_environment(docs, container))
        if listening not in ports.values():
            problems.append(
                f"container {container['name']}: PORT is {listening}, no containerPort is"
            )
        for kind in ("readinessProbe", "livenessProbe"):
            probe = container.get(kind)
            if not probe or "httpGet" not in probe:
                problems.append(f"container {container['name']}: no HTTP {kind}")
                continue
            get = probe["httpGet"]
            port = ports.get(get["port"]) if isinstance(get["port"], str) else get["port"]
            if get.get("path") != HEALTH_PATH:
                problems.append(f"{kind} asks {get.get('path')}, not {HEALTH_PATH}")
            if port != listening:
                problems.append(f"{kind} asks port {get['port']}, the bot listens on {listening}")
        liveness = container.get("livenessProbe") or {}
        tolerance = liveness.get("failureThreshold", 3) * liveness.get("periodSeconds", 10)
        if tolerance < MIN_LIVENESS_TOLERANCE_SECONDS:
            problems.append(
                f"livenessProbe restarts after {tolerance} s of failures; a database blip "
                f"would restart every replica (allow {MIN_LIVENESS_TOLERANCE_SECONDS} s)"
            )
    return problems


def check_kubernetes_security_context(docs: list[Doc]) -> list[str]:
    problems = []
    pod_context = pod_spec(docs).get("securityContext") or {}
    for container in containers(docs):
        context = {**pod_context, **(container.get("securityContext") or {})}
        if context.get("runAsNonRoot") is not True:
            problems.append(f"container {container['name']}: set runAsNonRoot: true")
        if str(context.get("runAsUser")) != image_user():
            problems.append(
                f"container {container['name']}: runAsUser {context.get('runAsUser')} is not "
                f"the Dockerfile's USER {image_user()}, which owns /app/data"
            )
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"container {container['name']}: set readOnlyRootFilesystem: true")
    return problems


def check_kubernetes_volumes(docs: list[Doc]) -> list[str]:
    volumes = {volume["name"] for volume in pod_spec(docs).get("volumes") or []}
    return [
        f"container {container['name']}: mounts {mount['name']}, which is not a pod volume"
        for container in containers(docs)
        for mount in container.get("volumeMounts") or []
        if mount["name"] not in volumes
    ]


def check_kubernetes_grace_period(docs: list[Doc]) -> list[str]:
    grace = pod_spec(docs).get("terminationGracePeriodSeconds")
    if not isinstance(grace, int) or grace < MIN_GRACE_SECONDS:
        return [f"terminationGracePeriodSeconds is {grace}: at least {MIN_GRACE_SECONDS}"]
    return []


def check_kubernetes_rolling_update(docs: list[Doc]) -> list[str]:
    strategy = the(docs, "Deployment")["spec"].get("strategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    problems = []
    if strategy.get("type") != "RollingUpdate":
        problems.append(f"strategy is {strategy.get('type')}, not RollingUpdate")
    if rolling.get("maxUnavailable") != 0:
        problems.append(f"maxUnavailable is {rolling.get('maxUnavailable')}, not 0")
    if not rolling.get("maxSurge"):
        problems.append("maxSurge must be at least 1 when maxUnavailable is 0")
    return problems


def check_kubernetes_selectors(docs: list[Doc]) -> list[str]:
    deployment = the(docs, "Deployment")
    labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    selectors = {
        "Deployment": deployment["spec"]["selector"]["matchLabels"],
        "Service": the(docs, "Service")["spec"]["selector"],
        "PodDisruptionBudget": the(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    }
    problems = [
        f"{kind} selects {selector}, which the pods' labels {labels} do not match"
        for kind, selector in selectors.items()
        if not selector or not selector.items() <= labels.items()
    ]
    ports = {p.get("name") for c in containers(docs) for p in c.get("ports") or []}
    ports |= {p["containerPort"] for c in containers(docs) for p in c.get("ports") or []}
    problems += [
        f"Service targetPort {port['targetPort']} is no container port"
        for port in the(docs, "Service")["spec"]["ports"]
        if port.get("targetPort", port["port"]) not in ports
    ]
    return problems


def check_kubernetes_disruption_budget(docs: list[Doc]) -> list[str]:
    spec = the(docs, "PodDisruptionBudget")["spec"]
    replicas = the(docs, "Deployment")["spec"].get("replicas", 1)
    minimum = spec.get("minAvailable")
    # minAvailable equal to replicas would block every node drain.
    if not isinstance(minimum, int) or not 1 <= minimum < replicas:
        return [f"PodDisruptionBudget minAvailable is {minimum}: between 1 and replicas-1"]
    return []


def check_kubernetes_secret_holds_placeholders(docs: list[Doc]) -> list[str]:
    # An example that holds a real-looking token invites committing a real one.
    problems = []
    for name, values in secrets_by_name(docs).items():
        for key, value in values.items():
            if key in secret_variables() and PLACEHOLDER not in value:
                problems.append(f"Secret {name}: {key} must be a placeholder ({PLACEHOLDER})")
            password = urlsplit(value).password if "://" in value else None
            if password and password != PLACEHOLDER:
                problems.append(f"Secret {name}: {key}'s password must be {PLACEHOLDER}")
    return problems


# ----- each check, with ways to break a file that it must then report ----------------------
#
# A breakage is (where, new value, what the report must say). `where` is a dotted path:
# in compose.yml from the top, `bot.` standing for `services.bot.`, or `comments` to
# delete a word from the comments; in Kubernetes, a kind (`Deployment spec.replicas`),
# `pod ...`, `container ...` or `env NAME` for the container's env entry. DELETE
# removes the key; `+` appends to a list.

DELETE = object()
Breakage = tuple[str, Any, str]
ComposeCheck = Callable[[ComposeFile], list[str]]
KubernetesCheck = Callable[[list[Doc]], list[str]]


def change(node: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if last == "+":
        node.append(value)
    elif value is DELETE:
        del node[int(last) if isinstance(node, list) else last]
    else:
        node[int(last) if isinstance(node, list) else last] = value


def break_compose(compose: ComposeFile, where: str, value: Any) -> None:
    if where == "comments":
        compose.text = "\n".join(
            line.replace(value, "") if line.lstrip().startswith("#") else line
            for line in compose.text.splitlines()
        )
    else:
        change(compose.doc, re.sub(r"^bot\.", "services.bot.", where), value)


def break_kubernetes(docs: list[Doc], where: str, value: Any) -> None:
    root, _, path = where.partition(" ")
    if root == "env":
        env = next(containers(docs)).setdefault("env", [])
        env[:] = [entry for entry in env if entry["name"] != path]
        if value is not DELETE:
            body = value if isinstance(value, dict) else {"value": value}
            env.append({"name": path, **body})
    elif not path:
        docs.remove(the(docs, root))
    elif root == "pod":
        change(pod_spec(docs), path, value)
    elif root == "container":
        change(next(containers(docs)), path, value)
    else:
        change(the(docs, root), path, value)


def python_get(url: str) -> list[str]:
    return ["CMD-SHELL", f"python -c \"import urllib.request; urllib.request.urlopen('{url}')\""]


LOOPBACK = "http://127.0.0.1"

COMPOSE_CHECKS: dict[ComposeCheck, list[Breakage]] = {
    check_compose_builds_the_bot: [
        ("bot.build", {"context": "."}, "is not the repository root"),
        ("bot.build", DELETE, "no service is built"),
    ],
    check_compose_variable_names: [
        ("bot.environment.SLACK_BOT_TOKN", "${T}", "sets SLACK_BOT_TOKN"),
        ("bot.environment.LEASE", "60", "sets LEASE"),
    ],
    check_compose_database_is_postgresql: [
        ("bot.environment.DATABASE_URL", "sqlite:///data/bot.db", "postgresql://, not sqlite"),
        ("bot.environment.DATABASE_URL", "postgresql://u:${P}@postgress/db", "'postgress'"),
        ("bot.environment", DELETE, "DATABASE_URL is not set"),
    ],
    check_compose_replicas: [
        ("bot.deploy.replicas", 1, "replicas is 1"),
        ("bot.deploy", DELETE, "replicas is None"),
    ],
    check_compose_waits_for_a_healthy_database: [
        ("bot.depends_on.postgres.condition", "service_started", "condition service_healthy"),
        ("bot.depends_on", ["postgres"], "condition service_healthy"),
    ],
    check_compose_database_service: [
        ("services.postgres.healthcheck.test", ["CMD", "true"], "must run pg_isready"),
        ("volumes", DELETE, "is not declared"),
        ("services.postgres.volumes", DELETE, "no named volume"),
    ],
    check_compose_healthcheck: [
        ("bot.healthcheck.test", python_get(f"{LOOPBACK}:$${{PORT:-3000}}/health"), "/health,"),
        ("bot.healthcheck.test", python_get(f"{LOOPBACK}:$${{PORT:-8080}}/healthz"), "8080"),
        ("bot.healthcheck.test", python_get(f"{LOOPBACK}:8080/healthz"), "port 8080"),
        ("bot.healthcheck.test", python_get("http://bot:3000/healthz"), "asks bot"),
        ("bot.healthcheck.test", ["CMD", "curl", "-f", f"{LOOPBACK}:3000/healthz"], "runs curl"),
        ("bot.healthcheck", DELETE, "has no healthcheck"),
    ],
    check_compose_stop_grace_period: [
        ("bot.stop_grace_period", "10s", "stop_grace_period 10s"),
        ("bot.stop_grace_period", DELETE, "stop_grace_period 10s"),
    ],
    check_compose_restart_policy: [("bot.restart", DELETE, "bot: set restart")],
    check_compose_publishes_no_host_port: [("bot.ports", ["3000:3000"], "publishes 3000:3000")],
    check_compose_holds_no_secrets: [
        ("bot.environment.SLACK_BOT_TOKEN", "xoxb-1234", "SLACK_BOT_TOKEN is written"),
        ("bot.environment.NORTHFLANK_API_TOKEN", "${NF:-nf-123}", "NORTHFLANK_API_TOKEN is"),
        ("services.postgres.environment.POSTGRES_PASSWORD", "pw", "POSTGRES_PASSWORD is"),
        ("bot.environment.DATABASE_URL", "postgresql://u:pw@postgres/db", "password written"),
    ],
    check_compose_documents_its_env_file: [
        ("comments", "NORTHFLANK_API_TOKEN", "must set NORTHFLANK_API_TOKEN"),
        ("comments", "SLACK_APP_TOKEN", "must set SLACK_APP_TOKEN"),
        ("comments", "POSTGRES_PASSWORD", "must set POSTGRES_PASSWORD"),
        ("bot.env_file", DELETE, "no env_file"),
    ],
}

SECRET = "Secret stringData"
SECRET_KEY_REF = {"valueFrom": {"secretKeyRef": {"name": "backup-bot", "key": "ADMINS"}}}

KUBERNETES_CHECKS: dict[KubernetesCheck, list[Breakage]] = {
    check_kubernetes_kinds: [
        ("PodDisruptionBudget", DELETE, "expected one PodDisruptionBudget, found 0"),
        ("Secret apiVersion", DELETE, "lacks apiVersion"),
    ],
    check_kubernetes_variable_names: [
        ("env POLL_INTERVALS", "300", "env POLL_INTERVALS is not read"),
        (f"{SECRET}.SLACK_TOKEN", "x", "key SLACK_TOKEN is not read"),
    ],
    check_kubernetes_env_values_are_strings: [
        ("env POLL_INTERVAL", 300, "POLL_INTERVAL must be a quoted string"),
    ],
    check_kubernetes_secret_references: [
        ("container envFrom.0.secretRef.name", "backup-bots", "backup-bots"),
        ("env BOT_ADMINS", SECRET_KEY_REF, "env BOT_ADMINS"),
    ],
    check_kubernetes_required_settings: [
        (f"{SECRET}.NORTHFLANK_API_TOKEN", DELETE, "NORTHFLANK_API_TOKEN is required"),
        (f"{SECRET}.SLACK_SIGNING_SECRET", DELETE, "SLACK_SIGNING_SECRET is required"),
        ("container envFrom", DELETE, "SLACK_BOT_TOKEN is required"),
    ],
    check_kubernetes_settings_validate: [
        (f"{SECRET}.SLACK_BOT_TOKEN", "xoxp-replace-me", "SLACK_BOT_TOKEN: must start with xoxb-"),
        (f"{SECRET}.SLACK_APP_TOKEN", "xoxb-replace-me", "SLACK_APP_TOKEN: must start with xapp-"),
        (f"{SECRET}.NORTHFLANK_API_TOKEN", " ", "NORTHFLANK_API_TOKEN: is empty"),
        ("env POLL_INTERVAL", "10", "POLL_INTERVAL"),
        ("env LOG_FORMAT", "yaml", "LOG_FORMAT"),
        ("env BOT_ADMINS", "<@U012ABC>", "BOT_ADMINS"),
        ("env LEASE_SECONDS", "a minute", "LEASE_SECONDS"),
    ],
    check_kubernetes_database_is_postgresql: [
        (f"{SECRET}.DATABASE_URL", "sqlite:///data/backup-bot.db", "must be postgresql://"),
        (f"{SECRET}.DATABASE_URL", DELETE, "must be postgresql://"),
    ],
    check_kubernetes_replicas: [
        ("Deployment spec.replicas", 1, "replicas is 1"),
        ("Deployment spec.replicas", DELETE, "replicas is 1"),
    ],
    check_kubernetes_probes: [
        ("container readinessProbe.httpGet.path", "/health", "readinessProbe asks /health,"),
        ("container livenessProbe.httpGet.port", 8080, "livenessProbe asks port 8080"),
        ("env PORT", "8080", "PORT is 8080, no containerPort is"),
        ("container readinessProbe", DELETE, "no HTTP readinessProbe"),
        ("container livenessProbe.failureThreshold", 1, "restarts after 30 s"),
    ],
    check_kubernetes_security_context: [
        ("pod securityContext.runAsUser", 1000, "runAsUser 1000 is not"),
        ("container securityContext.runAsUser", 0, "runAsUser 0 is not"),
        ("pod securityContext.runAsNonRoot", DELETE, "set runAsNonRoot"),
        ("container securityContext.readOnlyRootFilesystem", False, "readOnlyRootFilesystem"),
    ],
    check_kubernetes_volumes: [
        ("container volumeMounts.+", {"name": "data", "mountPath": "/app/data"}, "mounts data"),
    ],
    check_kubernetes_grace_period: [
        ("pod terminationGracePeriodSeconds", 10, "terminationGracePeriodSeconds is 10"),
        ("pod terminationGracePeriodSeconds", DELETE, "terminationGracePeriodSeconds is None"),
    ],
    check_kubernetes_rolling_update: [
        ("Deployment spec.strategy.rollingUpdate.maxUnavailable", 1, "maxUnavailable is 1"),
        ("Deployment spec.strategy", {"type": "Recreate"}, "not RollingUpdate"),
    ],
    check_kubernetes_selectors: [
        ("Service spec.selector", {"app": "other"}, "Service selects"),
        (
            "PodDisruptionBudget spec.selector.matchLabels",
            {"a": "b"},
            "PodDisruptionBudget selects",
        ),
        ("Service spec.ports.0.targetPort", "web", "targetPort web is no container port"),
    ],
    check_kubernetes_disruption_budget: [
        ("PodDisruptionBudget spec.minAvailable", 3, "minAvailable is 3"),
        ("PodDisruptionBudget spec.minAvailable", 0, "minAvailable is 0"),
    ],
    check_kubernetes_secret_holds_placeholders: [
        (f"{SECRET}.SLACK_SIGNING_SECRET", "8f14e45fceea167a", "SLACK_SIGNING_SECRET must be a"),
        (f"{SECRET}.DATABASE_URL", "postgresql://bot:pw@db/bot", "password must be replace-me"),
    ],
}


# ----- the tests ---------------------------------------------------------------------------


def test_every_file_under_deploy_parses_and_is_checked() -> None:
    yaml_files = [p for p in DEPLOY.rglob("*") if p.suffix in {".yml", ".yaml"}]
    for path in yaml_files:
        assert list(yaml.safe_load_all(path.read_text())), f"{path} is empty"
    # A YAML file that no check reads could drift from the contract unnoticed.
    assert sorted(yaml_files) == sorted([COMPOSE_FILE, *kubernetes_files()])
    assert kubernetes_files()


@pytest.mark.parametrize("check", COMPOSE_CHECKS, ids=lambda check: check.__name__)
def test_compose_file(check: ComposeCheck) -> None:
    assert check(load_compose()) == []


@pytest.mark.parametrize("check", KUBERNETES_CHECKS, ids=lambda check: check.__name__)
def test_kubernetes_files(check: KubernetesCheck) -> None:
    assert check(load_kubernetes()) == []


def test_every_check_can_fail() -> None:
    checks: dict[Any, list[Breakage]] = {**COMPOSE_CHECKS, **KUBERNETES_CHECKS}
    assert [check.__name__ for check, breakages in checks.items() if not breakages] == []


@pytest.mark.parametrize(
    ("check", "where", "value", "expected"),
    [(check, *breakage) for check, breakages in COMPOSE_CHECKS.items() for breakage in breakages],
    ids=lambda item: item.__name__ if callable(item) else None,
)
def test_compose_checks_report_a_broken_file(
    check: ComposeCheck, where: str, value: Any, expected: str
) -> None:
    compose = load_compose()
    assert check(compose) == []
    break_compose(compose, where, value)
    problems = check(compose)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("check", "where", "value", "expected"),
    [
        (check, *breakage)
        for check, breakages in KUBERNETES_CHECKS.items()
        for breakage in breakages
    ],
    ids=lambda item: item.__name__ if callable(item) else None,
)
def test_kubernetes_checks_report_a_broken_file(
    check: KubernetesCheck, where: str, value: Any, expected: str
) -> None:
    docs = load_kubernetes()
    assert check(docs) == []
    break_kubernetes(docs, where, value)
    problems = check(docs)
    assert any(expected in problem for problem in problems), problems


def test_a_broken_copy_on_disk_is_reported(tmp_path: Path) -> None:
    # The same path an edit takes: text changed in a file, parsed, then checked.
    (tmp_path / "kubernetes").mkdir()
    for path in [COMPOSE_FILE, *kubernetes_files()]:
        copy = tmp_path / path.relative_to(DEPLOY)
        copy.write_text(path.read_text().replace("replicas: 3", "replicas: 1"))
    kubernetes = tmp_path / "kubernetes" / "deployment.yaml"
    kubernetes.write_text(kubernetes.read_text().replace("xoxb-replace-me", "xoxp-replace-me"))

    assert check_compose_replicas(load_compose(tmp_path / "compose.yml")) == [
        "bot: deploy.replicas is 1, the point is more than one"
    ]
    docs = load_kubernetes(tmp_path / "kubernetes")
    assert check_kubernetes_replicas(docs) == [
        "Deployment replicas is 1, the point is more than one"
    ]
    assert check_kubernetes_settings_validate(docs) == [
        "container bot: settings refuse SLACK_BOT_TOKEN: must start with xoxb-"
    ]


def test_socket_mode_needs_no_signing_secret() -> None:
    # The other side of check_kubernetes_required_settings: it must not over-ask.
    docs = load_kubernetes()
    break_kubernetes(docs, f"{SECRET}.SLACK_SIGNING_SECRET", DELETE)
    break_kubernetes(docs, f"{SECRET}.SLACK_APP_TOKEN", "xapp-replace-me")
    assert check_kubernetes_required_settings(docs) == []
    assert check_kubernetes_settings_validate(docs) == []


def test_the_settings_check_ignores_the_test_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A developer's own token in the environment or ./.env must not fill a gap in the file.
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "from-the-environment")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("NORTHFLANK_API_TOKEN=from-a-dotenv\n")
    docs = load_kubernetes()
    break_kubernetes(docs, f"{SECRET}.NORTHFLANK_API_TOKEN", DELETE)
    assert any("NORTHFLANK_API_TOKEN" in p for p in check_kubernetes_settings_validate(docs))


def test_a_secret_given_as_base64_data_counts() -> None:
    docs = load_kubernetes()
    secret = the(docs, "Secret")
    token = secret["stringData"].pop("NORTHFLANK_API_TOKEN")
    secret["data"] = {"NORTHFLANK_API_TOKEN": base64.b64encode(token.encode()).decode()}
    assert check_kubernetes_required_settings(docs) == []
    assert check_kubernetes_secret_holds_placeholders(docs) == []


def test_the_compose_env_file_is_git_ignored() -> None:
    # It holds the tokens: deploy/.env must never be committed by accident.
    for name, service in bot_services(load_compose()).items():
        env_files = service["env_file"]
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            path = (COMPOSE_FILE.parent / env_file).resolve().relative_to(REPO)
            ignored = subprocess.run(
                ["git", "check-ignore", "--no-index", "--quiet", str(path)], cwd=REPO, check=False
            )
            assert ignored.returncode == 0, f"{name}: {path} is not in .gitignore"


def test_the_contract_is_read_from_the_settings() -> None:
    # A sanity check of the derivation; the checks above never use these names.
    assert {"SLACK_BOT_TOKEN", "DATABASE_URL", "PORT", "POLL_INTERVAL", "LOG_FORMAT"} <= set(
        contract()
    )
    assert {"SLACK_BOT_TOKEN", "NORTHFLANK_API_TOKEN"} <= required_variables()
    assert not {"DATABASE_URL", "PORT", "SLACK_SIGNING_SECRET"} & required_variables()
    assert {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "NORTHFLANK_API_TOKEN"} <= secret_variables()
    assert "DATABASE_URL" not in secret_variables()
    assert image_user() == "10001"
