"""bench/harness: a stack's folder outlives the stack until the bench process ends (deleting a
stack's PNGs slowed the next stack's file creations on this machine's journal-less ext4), or
for good with BENCH_KEEP_FOLDERS=1."""

from __future__ import annotations

from bench import harness


def test_a_stack_folder_is_deleted_when_the_process_ends_not_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_KEEP_FOLDERS", raising=False)
    monkeypatch.setattr(harness, "_LEFT_BEHIND", [])
    registered = []
    monkeypatch.setattr(harness.atexit, "register", registered.append)
    folders = [tmp_path / "one", tmp_path / "two"]
    for folder in folders:
        folder.mkdir()
        (folder / "a.png").write_bytes(b"png")
        harness._remove_at_exit(folder)
    assert all(folder.exists() for folder in folders)
    assert registered == [harness._remove_left_behind]  # once, however many stacks
    registered[0]()
    assert not any(folder.exists() for folder in folders)


def test_bench_keep_folders_keeps_them_for_good(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_KEEP_FOLDERS", "1")
    monkeypatch.setattr(harness, "_LEFT_BEHIND", [])
    harness._remove_at_exit(tmp_path)
    assert harness._LEFT_BEHIND == []
