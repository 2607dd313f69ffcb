import os
import re
from pathlib import Path
from typing import List

HERE = Path(__file__).resolve().parent
DOCS = Path(os.environ.get("PGT_DOCS_DIR", HERE.parents[2] / "docs" / "integrations"))
README = HERE.parent / "README.md"


def doc_files(path: Path) -> dict:
    """The ```python blocks of *path* that follow ``<!-- tested: file F -->``,
    by F (a path under tests/testproject/)."""
    found = re.findall(r"<!-- tested: file (\S+) -->\s*```python\n(.*?)```", path.read_text(), re.S)
    assert found, "no tested file blocks in %s" % path
    return dict(found)
