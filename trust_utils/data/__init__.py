"""Preference data: parsing HH dialogues, loading from the hub / local files / bundled set, preparation."""
