"""The demo's policy: callers of the AzureML Demo API need only their
subscription key; the gateway adds the web service's own key.

Idempotent, as the rest of load_demo: the named value follows the web
service's current primary key, and the document is written again as is.
"""

from __future__ import annotations

from django.db import transaction

from policies.models import NamedValue, Policy

KEY_NAME = "azureml-demo-api-key"

# A bare "Bearer" with no credential (the console's untouched header row)
# counts as no Authorization header.
DEMO_POLICY = f"""<policies>
    <inbound>
        <base />
        <!-- Callers need only their subscription key: when they send no
             Authorization header, the web service's key is added here. -->
        <choose>
            <when condition='@(context.Request.Headers.GetValueOrDefault("Authorization", "").Trim() == "" || context.Request.Headers.GetValueOrDefault("Authorization", "").Trim() == "Bearer")'>
                <set-header name="Authorization" exists-action="override">
                    <value>Bearer {{{{{KEY_NAME}}}}}</value>
                </set-header>
            </when>
        </choose>
    </inbound>
    <backend>
        <base />
    </backend>
    <outbound>
        <base />
    </outbound>
    <on-error>
        <base />
    </on-error>
</policies>
"""


@transaction.atomic
def load(api, service) -> Policy:
    named, _ = NamedValue.objects.get_or_create(name=KEY_NAME, defaults={"secret": True})
    if named.value != service.primary_key or not named.secret:
        named.secret = True
        named.set_value(service.primary_key)
        named.save()
    policy, _ = Policy.objects.update_or_create(api=api, defaults={"document": DEMO_POLICY})
    return policy
