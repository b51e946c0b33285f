"""Every Python example of the README runs as written (the MNIST one needs the ``data`` extra
and ~35 s: it runs with ``-m slow``)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, request):
    code = BLOCKS[index]
    if "from_mnist" in code and "slow" not in request.config.getoption("-m"):
        pytest.skip("the MNIST example runs with -m slow")
    exec(compile(code, f"README.md[python block {index}]", "exec"), {"__name__": "readme"})
