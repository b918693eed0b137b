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


def _explorer_modules():
    import importlib
    import pkgutil

    import explorer

    yield explorer
    for info in pkgutil.walk_packages(explorer.__path__, "explorer."):
        if info.name != "explorer.__main__":
            yield importlib.import_module(info.name)


def test_docstring_examples_run_as_doctests() -> None:
    """Every ``>>>`` example in the package's docstrings runs and shows what it says."""
    import doctest

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    examples: dict[str, int] = {}
    for module in _explorer_modules():
        for test in finder.find(module):
            examples[test.name] = len(test.examples)
            runner.run(test)
    assert runner.failures == 0, f"{runner.failures} docstring example(s) failed (output above)"
    assert examples.get("explorer", 0) >= 4, "the package docstring's usage example is not a doctest"


EXTERNAL_NAMES = {"plotly.py"}  # the library's own name, not a file of ours


def test_files_named_in_code_and_docs_exist() -> None:
    """A docstring, comment or document that names ``something.py`` names a file that exists."""
    import re

    sources = [*sorted((ROOT / "explorer").rglob("*.py")), ROOT / "README.md", ROOT / "CONTRIBUTING.md"]
    sources += [ROOT / "Makefile", ROOT / "bench" / "README.md"]
    ours = {p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    missing = []
    for src in sources:
        for name in set(re.findall(r"(?<![\w/.])([\w/]+\.py)\b", src.read_text(encoding="utf-8"))):
            if name in EXTERNAL_NAMES:
                continue
            if not any(p == name or p.endswith("/" + name) for p in ours):
                missing.append(f"{src.relative_to(ROOT)}: {name}")
    assert not missing, missing


def test_readme_says_where_the_command_is_and_shows_each_tool() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/explorer" in readme and "source .venv/bin/activate" in readme
    for shown in ("explorer template", "explorer add", "explorer diff", "--format json"):
        assert shown in readme, shown
    for call in ("explorer.sensitivity(", "explorer.subgroups(", "explorer.funnel("):
        assert call in readme, call


def test_readme_python_example_runs() -> None:
    """The README's API example runs as printed (on the bundled data)."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", readme, re.S)
    assert block and "explorer.funnel(" in block.group(1)
    exec(compile(block.group(1), "README.md", "exec"), {})
