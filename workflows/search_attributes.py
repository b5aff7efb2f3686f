"""Custom search attributes the debtor workflow keeps current, so supervisors can list accounts
in Temporal's own UI (`CampaignId = 'c1' AND DebtorStage = 'legal'`). All Keywords: the SQL
visibility stores allow 10 of them per namespace and only 3 of each other type."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

CAMPAIGN = SearchAttributeKey.for_keyword("CampaignId")
STAGE = SearchAttributeKey.for_keyword("DebtorStage")
SEGMENT = SearchAttributeKey.for_keyword("Segment")
VARIANT = SearchAttributeKey.for_keyword("Variant")
STRATEGY_HASH = SearchAttributeKey.for_keyword("StrategyHash")
AGENT = SearchAttributeKey.for_keyword("AssignedAgent")

ALL = (CAMPAIGN, STAGE, SEGMENT, VARIANT, STRATEGY_HASH, AGENT)


async def ensure_registered(client: Client, namespace: str) -> None:
    """Register the attributes on a self-hosted server (Temporal Cloud manages them in its UI).
    Re-registering the same name and type is accepted, so this runs at every worker start."""
    wanted = {key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in ALL}
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as exc:  # the time-skipping test server only implements adding
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
    else:
        for name in existing.custom_attributes:
            wanted.pop(name, None)
    if wanted:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=wanted)
            )
        except RPCError as exc:  # registered by another worker meanwhile (or, on the test server, earlier)
            if exc.status != RPCStatusCode.ALREADY_EXISTS:
                raise
