"""Every Python example of the README runs as written (the MNIST one needs the ``data`` extra
and ~35–90 s: it is marked ``slow``)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", [
    pytest.param(code, id=f"block{i}", marks=[pytest.mark.slow] if "from_mnist" in code else [])
    for i, code in enumerate(BLOCKS)])
def test_readme_example_runs(code):
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
