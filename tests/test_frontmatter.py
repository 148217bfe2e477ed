from __future__ import annotations

import pytest

from traitlab.errors import InputError
from traitlab.frontmatter import split_front_matter


def test_fields_body_and_body_line() -> None:
    front = split_front_matter("---\nname: x\nlevel: 2\n---\n# Body\ntext\n", "f.md")
    assert front.fields == {"name": "x", "level": 2}
    assert front.body == "# Body\ntext\n"
    assert front.body_line == 5


def test_optional_and_required_front_matter() -> None:
    assert split_front_matter("just text", "f.md").fields == {}
    with pytest.raises(InputError, match="f.md:1: needs fields"):
        split_front_matter("just text", "f.md", missing="needs fields")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("---\nname: [unclosed\n---\nbody", "invalid YAML front matter"),
        ("---\n- a list\n---\nb", "mapping"),
    ],
)
def test_bad_front_matter(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        split_front_matter(text, "f.md")
