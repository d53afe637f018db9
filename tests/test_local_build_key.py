"""The local runtime's build key: a native build made under other compiler settings (cargo's
profile overrides, compiler flags) lands in another folder, and is never reused as the build
server.toml describes. Engine-free: nothing is built."""

from __future__ import annotations

from labctl import servers
from labctl.runtime.local import LocalRuntime, build_environment


def _build_folders(monkeypatch, name: str, values: list[str]) -> list:
    """The Rust server's build folder with ``name`` unset, then set to each of ``values``."""
    rust = servers.get("rust")
    runtime = LocalRuntime()
    monkeypatch.delenv(name, raising=False)
    folders = [runtime.build_dir(rust)]
    for value in values:
        monkeypatch.setenv(name, value)
        assert f"{name}={value}" in build_environment()
        folders.append(runtime.build_dir(rust))
    return folders


def test_cargo_profile_overrides_change_the_build_folder(monkeypatch):
    folders = _build_folders(monkeypatch, "CARGO_PROFILE_RELEASE_LTO", ["off", "thin"])
    assert len(set(folders)) == 3


def test_c_compiler_flags_change_the_build_folder(monkeypatch):
    # cc, which compiles SQLite's C source for the Rust server, puts CFLAGS after its own flags.
    assert len(set(_build_folders(monkeypatch, "CFLAGS", ["-O0"]))) == 2


def test_unrelated_variables_do_not(monkeypatch):
    rust = servers.get("rust")
    runtime = LocalRuntime()
    before = runtime.build_dir(rust)
    monkeypatch.setenv("LABCTL_SOMETHING_ELSE", "1")
    monkeypatch.setenv("CARGO_HOME_NOT_A_PROFILE", "x")
    assert runtime.build_dir(rust) == before
