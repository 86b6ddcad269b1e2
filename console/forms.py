"""The console's form state: what the developer typed, from POST, saved values or history.

Parameters and headers are dynamic (they come from the operation), so instead
of a Django Form the state is a small dataclass built from request.POST and
validated by console.build, which reports errors per field name.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.http import QueryDict

from apis import samples, urltemplate
from apis.models import Operation, Parameter
from console import build
from console.models import SavedValues
from portal import crypto
from subscriptions.keys import KEY_HEADER, KEYS, PRIMARY
from subscriptions.models import Subscription


@dataclass
class State:
    params: dict[str, str] = field(default_factory=dict)
    extra_query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    subscription: str = ""  # "<subscription id>:primary|secondary", or ""
    rep: int = 0
    example: int = 0  # which of the representation's bodies (console.forms.body_choices)
    body: str = ""
    reveal: bool = False
    snippet: str = ""  # the language of the code shown; not saved

    def to_saved(self) -> dict:
        return {
            "params": self.params,
            "headers": [(n, v) for n, v in self.headers if n.lower() != "content-type"],
            "subscription": self.subscription,
        }

    def redacted(self) -> dict:
        """The form for the history: secrets masked; the body's own kept encrypted, for a re-send."""
        body, secrets = build.redact_body(self.body)
        return {
            "params": self.params,
            "extra_query": self.extra_query,
            "headers": build.redact_headers(self.headers),
            "subscription": self.subscription,
            "rep": self.rep,
            "example": self.example,
            "body": body,
            "body_secrets": _history_fernet().encrypt(json.dumps(secrets).encode()).decode() if secrets else "",
        }


def _history_fernet():
    return crypto.fernet(b"console-history")


def body_secrets(form: dict) -> list[tuple[str, str]]:
    try:
        return [tuple(pair) for pair in json.loads(_history_fernet().decrypt(form["body_secrets"].encode()))]
    except (KeyError, AttributeError, InvalidToken, ValueError):
        return []


@functools.lru_cache(maxsize=1024)
def parse_template(text: str) -> urltemplate.UrlTemplate:
    # Templates are immutable values; parsing one per keystroke is wasted work.
    return urltemplate.parse(text)


def representations(operation: Operation) -> list:
    return list(operation.representations.all())


def index(value) -> int:
    """A picker's position from the form; anything else is the first."""
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


def body_choices(operation: Operation, rep) -> list[dict]:
    """What the example picker offers for a representation: its examples,
    then a body generated from its schema ({"summary", "body"} each)."""
    if hasattr(rep, "body_choices"):  # made once per request: the form and the picker both ask
        return rep.body_choices
    choices = rep.example_bodies()
    if rep.schema:
        value = samples.sample(rep.schema, operation.api.schema_components())
        generated = samples.body_text(value, rep.content_type)
        if generated:
            choices.append({"name": "generated", "summary": "Generated from the schema", "body": generated})
    rep.body_choices = choices
    return choices


def body_of(operation: Operation, rep, position: int) -> str:
    """The body to start from: the chosen example, else the first, else ''."""
    choices = body_choices(operation, rep)
    return choices[min(position, len(choices) - 1)]["body"] if choices else ""


def header_params(operation: Operation) -> list[Parameter]:
    # Filtered in Python: the parameters are prefetched once per request.
    return [p for p in operation.parameters.all() if p.location == Parameter.HEADER]


def initial(operation: Operation, user, *, defaults: bool = False) -> State:
    """The form as first shown: the developer's saved values, else the operation's defaults.

    Parameters and headers are saved per API (a {workspace} typed once fills
    every operation); the body and the extra query parameters per operation.
    With defaults=True ("Reset to defaults") nothing saved is used.
    """
    saved = {} if defaults else SavedValues.load(user, operation.api)
    mine = saved.get("operations", {}).get(str(operation.pk), {})
    reps = representations(operation)
    state = State()
    saved_params = saved.get("params", {})
    for param in operation.parameters.all():
        if param.location == Parameter.HEADER:
            continue
        value = saved_params.get(param.name)
        state.params[param.name] = value if value is not None and value != "" else param.default_value
    saved_headers = [(n, v) for n, v in saved.get("headers", [])]
    saved_by_name = {n.lower(): v for n, v in saved_headers}
    if reps:
        state.headers.append(("Content-Type", reps[0].content_type))
    for param in header_params(operation):
        state.headers.append((param.name, saved_by_name.get(param.name.lower(), param.default_value)))
    have = {n.lower() for n, _ in state.headers}
    for name, value in saved_headers:
        if name.lower() not in have and name.lower() != KEY_HEADER.lower():
            state.headers.append((name, value))
            have.add(name.lower())
    state.extra_query = [tuple(pair) for pair in mine.get("extra_query", [])]  # type: ignore[misc]
    options = [value for _, group in subscription_options(user) for value, _ in group]
    state.subscription = saved.get("subscription", "") if saved.get("subscription") in options else ""
    if not state.subscription and options:
        # "(no subscription key)", or a key since cancelled, is never silently kept:
        # a fresh page picks the developer's subscription to this API again.
        state.subscription = preferred_subscription(user, operation) or ("" if saved else options[0])
    state.rep = min(int(mine.get("rep", 0) or 0), max(len(reps) - 1, 0))
    state.example = int(mine.get("example", 0) or 0)
    state.body = (
        mine["body"] if "body" in mine else (body_of(operation, reps[state.rep], state.example) if reps else "")
    )
    return state


def save(user, operation: Operation, state: State) -> None:
    """Keep what the developer typed: shared values per API, the rest under this operation."""
    if not user.is_authenticated:
        return
    data = SavedValues.load(user, operation.api)
    data.update(state.to_saved())
    data.setdefault("operations", {})[str(operation.pk)] = {
        "body": state.body,
        "extra_query": state.extra_query,
        "rep": state.rep,
        "example": state.example,
    }
    SavedValues.store(user, operation.api, data)


def from_post(operation: Operation, data: QueryDict) -> State:
    state = State()
    for param in operation.parameters.all():
        if param.location == Parameter.HEADER:
            continue
        state.params[param.name] = data.get(f"p_{param.name}", "")
    state.extra_query = list(zip(data.getlist("q_name"), data.getlist("q_value"), strict=False))
    state.headers = build.merge_headers(list(zip(data.getlist("h_name"), data.getlist("h_value"), strict=False)))
    state.subscription = data.get("subscription", "")
    state.rep = index(data.get("rep", 0))
    state.example = index(data.get("example", 0))
    state.body = data.get("body", "").replace("\r\n", "\n")
    state.reveal = data.get("reveal") == "on"
    state.snippet = data.get("snippet", "")
    return state


def from_history(send, user) -> State:
    """A past send back in the form; its redacted secrets come from the saved values."""
    form = send.form or {}
    saved = SavedValues.load(user, send.operation.api)
    secrets = {n.lower(): v for n, v in saved.get("headers", [])}
    headers = []
    for name, value in form.get("headers", []):
        if build.is_secret_header(name) and build.MASK in value:
            value = secrets.get(name.lower(), "")
        headers.append((name, value))
    return State(
        params=dict(form.get("params", {})),
        extra_query=[tuple(p) for p in form.get("extra_query", [])],  # type: ignore[misc]
        headers=headers,
        subscription=form.get("subscription", ""),
        rep=index(form.get("rep", 0)),
        example=index(form.get("example", 0)),
        body=build.restore_body(form.get("body", ""), body_secrets(form)),
    )


def active_subscriptions(user):
    if not user.is_authenticated:
        return Subscription.objects.none()
    return Subscription.objects.filter(user=user, state=Subscription.ACTIVE).select_related("product")


def subscription_options(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(product name, [(value, label), ...]), ...] for the key dropdown."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for sub in active_subscriptions(user).order_by("product__order", "product__name", "created"):
        groups.setdefault(sub.product.name, []).extend(
            [(f"{sub.pk}:{which}", f"{sub.name}: {which} key") for which in KEYS]
        )
    return list(groups.items())


def preferred_subscription(user, operation: Operation) -> str:
    sub = active_subscriptions(user).filter(product__apis=operation.api).order_by("created").first()
    return f"{sub.pk}:{PRIMARY}" if sub else ""


def resolve_key(user, choice: str) -> str:
    """The key for a dropdown choice, only from the developer's own active subscriptions."""
    sub_id, _, which = choice.partition(":")
    if not sub_id.isdigit() or which not in KEYS:
        return ""
    sub = active_subscriptions(user).filter(pk=int(sub_id)).first()
    if sub is None:
        return ""
    return sub.key(which)


def to_input(state: State, key: str) -> build.ConsoleInput:
    return build.ConsoleInput(
        params=state.params, extra_query=state.extra_query, headers=state.headers, body=state.body, key=key
    )


def build_request(operation: Operation, state: State, user) -> build.BuiltRequest:
    params = list(operation.parameters.all())
    return build.build(
        method=operation.method,
        template=parse_template(operation.url_template),
        base_url=operation.api.gateway_url,
        required={p.name for p in params if p.location != Parameter.HEADER and p.required},
        header_params={p.name.lower(): p.required for p in params if p.location == Parameter.HEADER},
        data=to_input(state, resolve_key(user, state.subscription)),
        # Each value is checked against its parameter's schema; optional query
        # parameters declared outside the template (an OpenAPI import's) are
        # sent when given a value (console.build).
        checks={p.name.lower() if p.location == Parameter.HEADER else p.name: p.value_problem for p in params},
        query_params=[p.name for p in params if p.location == Parameter.QUERY],
        max_body_bytes=settings.GATEWAY_MAX_REQUEST_BYTES,
    )
