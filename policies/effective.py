"""The documents in force, as the gateway and the admin see them: every
stored document parsed once, merged per operation on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies import document, pipeline
from policies.models import NamedValue, Policy

DEFAULT_GLOBAL = document.parse(document.DEFAULT_GLOBAL_DOCUMENT)


@dataclass
class Snapshot:
    """Every scope's parsed document and every named value, at one moment."""

    roots: dict[tuple[str, int | None], document.Element | None] = field(default_factory=dict)
    named_values: dict[str, pipeline.NamedValue] = field(default_factory=dict)
    labels: dict[tuple[str, int | None], str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Snapshot:
        snap = cls()
        for policy in Policy.objects.select_related("product", "api", "operation__api"):
            key = (policy.scope, policy.product_id or policy.api_id or policy.operation_id)
            snap.labels[key] = policy.scope_label
            if not policy.document.strip():
                continue
            try:
                snap.roots[key] = document.parse(policy.document)
            except document.PolicyError:
                # Saved around validation (raw SQL, an older version): that
                # scope then runs as API Management's default document.
                snap.roots[key] = None
        for nv in NamedValue.objects.all():
            snap.named_values[nv.name] = pipeline.NamedValue(nv.value, nv.secret)
        return snap

    def scopes(self, operation_id: int, api_id: int, product_id: int | None) -> list[document.Scoped]:
        """Global → product → API → operation; the product only for a call
        made with a key of that product (API Management skips it otherwise)."""
        keys = [(Policy.GLOBAL, None)]
        if product_id is not None:
            keys.append((Policy.PRODUCT, product_id))
        keys += [(Policy.API, api_id), (Policy.OPERATION, operation_id)]
        # Below global stands API Management's default global document, so
        # that <base /> at global scope (or a section it leaves out) still
        # forwards the call.
        scoped = [document.Scoped("the default", DEFAULT_GLOBAL)]
        for key in keys:
            scoped.append(document.Scoped(self.labels.get(key, key[0]), self.roots.get(key)))
        return scoped

    def merged(self, operation_id: int, api_id: int, product_id: int | None) -> dict[str, list[document.Element]]:
        return document.merge(self.scopes(operation_id, api_id, product_id))


def document_for(operation, product) -> tuple[str, str]:
    """The effective document for ``operation`` called with a key of
    ``product`` (None: without a key), and a problem that keeps it from
    running, if any."""
    snap = Snapshot.load()
    merged = snap.merged(operation.pk, operation.api_id, product.pk if product else None)
    problem = ""
    try:
        pipeline.Pipeline(merged)
    except document.PolicyError as e:
        problem = f"This document cannot run: {e}"
    return document.to_xml(merged), problem
