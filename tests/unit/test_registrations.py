"""The user's modules of registrations: which are imported, where, and which are shipped to the workers."""

from __future__ import annotations

import sys

import pytest

from benchmarks.errors import UserError
from runners.registrations import (
    ENV_VAR,
    import_registrations,
    registered_modules,
    shipped_modules,
    worker_modules,
)


def test_the_flag_and_the_environment_variable_name_the_modules_once_each(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "b_mod, a_mod,,")
    assert registered_modules(["a_mod", "c.mod"]) == ("a_mod", "c.mod", "b_mod")
    monkeypatch.delenv(ENV_VAR)
    assert registered_modules(None) == ()


def test_the_trials_import_the_registrations_and_a_users_space_not_a_bundled_one():
    assert worker_modules(("my_backbones",), "default") == ("my_backbones",)
    assert worker_modules(("my_backbones",), "mypkg.my_space") == ("my_backbones", "mypkg.my_space")
    assert worker_modules((), "reference") == ()


def test_only_modules_outside_the_project_are_shipped_as_their_top_level_package(tmp_path, monkeypatch):
    package = tmp_path / "userpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "registrations.py").write_text("REGISTERED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import_registrations(["userpkg.registrations"])
    try:
        shipped = shipped_modules(["userpkg.registrations", "search_spaces.default", "runners.schedulers"])
        assert [module.__name__ for module in shipped] == ["userpkg"]
    finally:
        for name in ("userpkg.registrations", "userpkg"):
            sys.modules.pop(name, None)


def test_a_module_that_does_not_import_is_a_one_line_error():
    with pytest.raises(UserError, match=r"^--register no_such_module_here: cannot import it \(ModuleNotFoundError"):
        import_registrations(["no_such_module_here"])
