"""The local runtime's build key: a native build made under other compiler settings (cargo's
profile overrides, compiler flags) lands in another folder, and is never reused as the build
server.toml describes. Engine-free: nothing is built."""

from __future__ import annotations

from labctl import servers
from labctl.runtime.local import LocalRuntime, build_environment


def test_cargo_profile_overrides_change_the_build_folder(monkeypatch):
    rust = servers.get("rust")
    runtime = LocalRuntime()
    monkeypatch.delenv("CARGO_PROFILE_RELEASE_LTO", raising=False)
    without = runtime.build_dir(rust)
    monkeypatch.setenv("CARGO_PROFILE_RELEASE_LTO", "off")
    assert "CARGO_PROFILE_RELEASE_LTO=off" in build_environment()
    lto_off = runtime.build_dir(rust)
    monkeypatch.setenv("CARGO_PROFILE_RELEASE_LTO", "thin")
    assert len({without, lto_off, runtime.build_dir(rust)}) == 3


def test_c_compiler_flags_change_the_build_folder(monkeypatch):
    # cc, which compiles SQLite's C source for the Rust server, puts CFLAGS after its own flags.
    rust = servers.get("rust")
    runtime = LocalRuntime()
    monkeypatch.delenv("CFLAGS", raising=False)
    without = runtime.build_dir(rust)
    monkeypatch.setenv("CFLAGS", "-O0")
    assert "CFLAGS=-O0" in build_environment()
    assert runtime.build_dir(rust) != without


def test_unrelated_variables_do_not(monkeypatch):
    rust = servers.get("rust")
    runtime = LocalRuntime()
    before = runtime.build_dir(rust)
    monkeypatch.setenv("LABCTL_SOMETHING_ELSE", "1")
    monkeypatch.setenv("CARGO_HOME_NOT_A_PROFILE", "x")
    assert runtime.build_dir(rust) == before
