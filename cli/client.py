"""The CLI's door to the HTTP API: profiles (an API URL and key, kept by `collect login` in a file
only its owner can read), the httpx client that sends the key, and the API's answers turned into
values or into one of three errors (ApiProblem, Unreachable, NoProfile) that cli/options.py prints.

Where the URL and key come from, first match wins: COLLECT_API_URL / COLLECT_API_KEY, then the
named profile (`--profile NAME`, else the file's default) in $COLLECT_PROFILE, else
$XDG_CONFIG_HOME/collect/profile.json, else ~/.config/collect/profile.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from config import ClientSettings

API_KEY_HEADER = "X-API-Key"
PROBLEM_JSON = "application/problem+json"
DEFAULT_PROFILE = "default"
TIMEOUT = httpx.Timeout(60.0, connect=5.0)  # an import of many thousand rows answers in seconds


@dataclass(frozen=True)
class Profile:
    name: str
    url: str
    key: str | None
    source: str  # where the URL and key came from, for `whoami` and error messages


class NoProfile(Exception):
    """No URL (or no key) is configured: the message says how to give one."""


class Unreachable(Exception):
    """The API did not answer: refused, timed out, or not HTTP at all."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass
class ApiProblem(Exception):
    """A non-2xx answer, read from its problem+json document when it has one."""

    status: int
    title: str
    detail: str | None
    method: str
    url: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    body: Any = None  # the whole document, for --json
    source: str | None = None  # the file a YAML body came from, so line errors read file:line:col

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail or ''}"


# ---- profiles ------------------------------------------------------------------------------------


def profile_path(settings: ClientSettings) -> Path:
    if settings.profile:
        return Path(settings.profile).expanduser()
    base = Path(settings.config_home).expanduser() if settings.config_home else Path.home() / ".config"
    return base / "collect" / "profile.json"


def read_profiles(path: Path) -> dict[str, Any]:
    """The file's content: {"default": NAME, "profiles": {NAME: {"url": ..., "key": ...}}}; empty when absent."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"profiles": {}}
    except (OSError, ValueError) as exc:
        raise NoProfile(f"cannot read the profile file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
        raise NoProfile(f"{path} is not a collect profile file; remove it and run `collect login` again")
    return data


def save_profile(path: Path, name: str, url: str, key: str) -> None:
    """Add or replace profile `name` and make it the default; the file is written whole, readable
    by its owner only (it holds API keys)."""
    data = read_profiles(path)
    data["profiles"][name] = {"url": url, "key": key}
    data["default"] = name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written to a private temporary file and renamed: the key is never in a file others can read,
    # not even for a moment, and a crash leaves the old file whole.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".profile-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def resolve(settings: ClientSettings, name: str | None, *, need_key: bool = True) -> Profile:
    """The URL and key to use: the environment over the profile named `name` (or the default one)."""
    path = profile_path(settings)
    data = read_profiles(path)
    chosen = name or data.get("default") or DEFAULT_PROFILE
    stored = data["profiles"].get(chosen)
    if name is not None and stored is None:
        known = ", ".join(sorted(data["profiles"])) or "none"
        raise NoProfile(
            f"no profile {name!r} in {path} (profiles: {known}); create it with `collect login --profile {name}`"
        )
    stored = stored or {}
    url = settings.api_url or stored.get("url")
    key = settings.api_key.get_secret_value() if settings.api_key else stored.get("key")
    if not url:
        raise NoProfile(
            f"no API URL: run `collect login --url URL --key KEY`, or set COLLECT_API_URL ({path} has none)"
        )
    if need_key and not key:
        raise NoProfile(
            f"no API key: run `collect login --url URL --key KEY`, or set COLLECT_API_KEY ({path} has none)"
        )
    from_env = [
        v for v, given in (("COLLECT_API_URL", settings.api_url), ("COLLECT_API_KEY", settings.api_key)) if given
    ]
    source = f"profile {chosen!r} in {path}" if stored else "the environment"
    if stored and from_env:
        source += f", overridden by {' and '.join(from_env)}"
    return Profile(name=chosen, url=url.rstrip("/"), key=key, source=source)


# ---- the HTTP client -----------------------------------------------------------------------------


class Api:
    """Calls on the API as one profile; JSON answers come back as plain data."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        headers = {"User-Agent": "collect-cli", "Accept": f"application/json, {PROBLEM_JSON}"}
        if profile.key:
            headers[API_KEY_HEADER] = profile.key
        self.http = httpx.Client(base_url=profile.url, headers=headers, timeout=TIMEOUT)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json_body, **kwargs)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The answer's JSON (None for 204); ApiProblem for any other status, Unreachable when none came."""
        response = self.send(method, path, params=params, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def send(self, method: str, path: str, *, params: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """The raw 2xx answer (for callers that need its status or headers)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.profile.url}{path}"
        try:
            response = self.http.request(method, path, params=query, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(url, _reason(exc)) from None
        if response.is_success:
            return response
        raise problem_of(response, method, url)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, following `next_cursor`."""
        query = dict(params)
        while True:
            page = self.get(path, query)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]


def problem_of(response: httpx.Response, method: str, url: str) -> ApiProblem:
    """An error answer as an ApiProblem: its problem document, or what the body says."""
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    if isinstance(body, dict) and "status" in body and "title" in body:
        listed = body.get("errors")
        errors: list[dict[str, Any]] = listed if isinstance(listed, list) else []
        return ApiProblem(
            status=response.status_code,
            title=str(body["title"]),
            detail=body.get("detail"),
            method=method,
            url=url,
            errors=errors,
            body=body,
        )
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else None
    return ApiProblem(response.status_code, response.reason_phrase or "Error", text, method, url, body=body)


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc or 'connection refused'}); is the API running?"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"
