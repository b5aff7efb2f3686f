"""The language of issue 13's routing: offers with fallbacks, opt-outs routed by channel, the
`resumed` handler, `reevaluate` and `catch_up`, as they compile; what a strategy that uses none
of them compiles to is what it compiled to before they existed."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain import strategy as st
from domain.frozen import omit_added_defaults
from domain.types import Channel
from strategies.compiler import compile_file, compile_text, content_hash
from strategies.jsonschema import strategy_schema
from strategies.loader import StrategyInvalid

BASE = (Path(__file__).parent / "invalid" / "141_opt_out_of_a_channel_to_an_unknown_step.yaml").read_text()
BASE = BASE.split("\n", 1)[1].replace("by_mail", "by_email")


def compiled(text: str = BASE) -> st.CompiledStrategy:
    return compile_text(text, "routing.yaml").strategy


class TestOptOutRoutes:
    def test_a_mapping_routes_each_channel_and_all(self) -> None:
        handlers = compiled().handlers
        assert handlers.opt_out is None
        assert handlers.opt_out_by_channel == {Channel.WHATSAPP: "by_email", "all": "stop"}
        assert handlers.opt_out_route(Channel.WHATSAPP) == "by_email"
        assert handlers.opt_out_route(None) == "stop"
        assert handlers.opt_out_route(Channel.SMS) is None

    def test_any_is_what_the_scalar_form_always_meant(self) -> None:
        mapping = compiled(BASE.replace("{whatsapp: by_email, all: stop}", "{any: by_email}"))
        scalar = compiled(BASE.replace("{whatsapp: by_email, all: stop}", "by_email"))
        assert mapping.handlers == scalar.handlers
        assert mapping.hash == scalar.hash
        assert scalar.handlers.opt_out_route(Channel.SMS) == scalar.handlers.opt_out_route(None) == "by_email"

    def test_a_step_only_an_opt_out_route_leads_to_is_reachable(self) -> None:
        assert "by_email" in compiled().steps


class TestCompiledForm:
    def test_offers_carry_their_fallbacks(self) -> None:
        offer = compiled().steps["remind"].actions[2]
        assert isinstance(offer, st.OfferSettlementAction)
        assert offer.fallback == (Channel.EMAIL,)

    @pytest.mark.parametrize("written", ["- reevaluate", "- reevaluate: {}", "- reevaluate:"])
    def test_reevaluate_is_written_bare_or_with_no_options(self, written: str) -> None:
        strategy = compiled(BASE.replace("- reevaluate", written))
        assert strategy.steps["recheck"].actions == (st.ReevaluateAction(),)

    def test_catch_up_and_resumed(self) -> None:
        strategy = compiled()
        assert strategy.catch_up == "skip_missed"
        assert strategy.handlers.resumed == "recheck"

    def test_a_strategy_using_none_of_it_keeps_the_body_it_was_published_with(self) -> None:
        text = (
            BASE.replace("{whatsapp: by_email, all: stop}", "by_email")
            .replace("  resumed: recheck\n", "")
            .replace("catch_up: skip_missed\n", "")
            .replace(", fallback: [email]", "")
        )
        strategy = compiled(text)
        hashed = omit_added_defaults(strategy, strategy.model_dump(mode="json", exclude={"hash"}))
        assert "catch_up" not in hashed
        assert set(hashed["handlers"]) == set(st.Handlers().model_dump()) - {"opt_out_by_channel", "resumed"}
        offer = hashed["steps"]["remind"]["actions"][2]
        assert offer["kind"] == "offer_settlement"
        assert "fallback" not in offer
        assert strategy.hash == content_hash(strategy)

    def test_the_editor_schema_offers_them(self) -> None:
        schema = strategy_schema()
        defs = schema["$defs"]
        assert "catch_up" in schema["properties"]
        assert "resumed" in defs["HandlersDoc"]["properties"]
        assert "fallback" in defs["OfferSettlementSpec"]["properties"]
        assert "ReevaluateDoc" in defs


class TestLoops:
    def test_reevaluate_leads_to_every_segment_start_for_the_loop_check(self) -> None:
        looping = BASE.replace("      - wait: 30d\n      - goto: stop\n", "      - goto: recheck\n")
        with pytest.raises(StrategyInvalid) as caught:
            compiled(looping)
        assert any("loop with no wait in it: severe -> recheck -> severe" in e.message for e in caught.value.errors)

    def test_the_shipped_strategies_still_compile(self) -> None:
        for path in sorted(Path("strategies").glob("*.yaml")):
            compile_file(str(path))
