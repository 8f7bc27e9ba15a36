"""``sluiceway serve`` compiles the UI's templates and builds the configuration catalogue
in the background, so the first page views do not pay for them."""

from __future__ import annotations

from importlib import resources

from sluiceway import bootstrap
from sluiceway.services import prototypes
from sluiceway.web import templating


def test_warming_up_compiles_every_template_once() -> None:
    files = {p.name for p in resources.files("sluiceway.web").joinpath("templates").iterdir()
             if p.name.endswith(".html")}
    templating._env.cache.clear()  # noqa: SLF001 - the cache is what is warmed
    bootstrap.warm_up()
    cached = {name for _, name in templating._env.cache}  # noqa: SLF001
    assert files
    assert files <= cached
    # compiled once: asking again hands back the same template object
    first = templating._env.get_template("configurations.html")  # noqa: SLF001
    assert templating.compile_all() == len(files)
    assert templating._env.get_template("configurations.html") is first  # noqa: SLF001
    assert prototypes.types()
