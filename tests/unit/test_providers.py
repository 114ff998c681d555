"""Provider routing as a pure policy: reads go to a provider known at the height they need."""

from __future__ import annotations

from core.chain.providers import Providers


def test_a_read_goes_to_a_provider_at_or_above_the_height_it_needs() -> None:
    providers = Providers(["http://a.example/v3/SECRET", "http://b.example/"])
    first, second = providers.all
    assert first.label == "0:a.example"  # never the path, where hosted providers put their keys
    providers.saw_head(first, 100)
    providers.saw_head(second, 120)
    assert providers.pick(90) is first  # the current one fits
    assert providers.pick(110) is second
    assert providers.pick(130) is first  # none known that high: the current one (its answer is checked)
    assert providers.top() == 120


def test_a_rejected_answer_moves_reads_to_another_provider_and_lowers_its_known_head() -> None:
    providers = Providers(["http://a.example/", "http://b.example/"])
    first, second = providers.all
    providers.saw_head(first, 100)
    providers.saw_head(second, 100)
    providers.reject(first, "lacks_range_end", behind=95)
    assert first.head == 94
    assert providers.pick() is second
    assert providers.pick(96) is second


def test_a_failed_provider_is_kept_aside_while_another_fits() -> None:
    providers = Providers(["http://a.example/", "http://b.example/"])
    first, second = providers.all
    assert providers.failed(first) is second
    providers.current = 0
    assert providers.pick() is second  # first failed moments ago
