"""The data dictionary in docs/ is generated from the schema and must not be stale."""

from explorer.analysis.comparability import RULES, rules_markdown
from explorer.data.dictionary import render

from .conftest import ROOT


def test_data_dictionary_is_current() -> None:
    current = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    expected = render() + "\n" + rules_markdown()
    assert current == expected, "docs/data.md is stale: run `explorer dictionary --output docs/data.md`"


def test_dictionary_states_every_pooling_rule() -> None:
    text = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"(`{rule.id}`)" in text and rule.text in text


def test_dictionary_lists_every_field() -> None:
    from explorer.data.schema import read_package

    text = render()
    for res in read_package().resources:
        for f in res.fields:
            assert f"| `{f.name}` |" in text


def test_readme_images_exist() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"\]\((docs/screenshots/[^)]+\.png)\)", readme)
    assert images
    for img in images:
        assert (ROOT / img).stat().st_size > 10_000, img


def test_sources_search_flow_is_current() -> None:
    from explorer.analysis.coverage import replace_sources_block, sources_block
    from explorer.data import load

    text = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
    assert replace_sources_block(text, sources_block(load(ROOT / "data"))) == text, (
        "docs/sources.md is stale: run `explorer coverage --sources docs/sources.md`"
    )
