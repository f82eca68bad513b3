"""The privacy loader reads DecodingTrust's name2email.pkl as plain data only: a crafted pickle runs no code."""

import os
import pickle

import pytest

from trust_utils.utils import DataFileError
from trust_utils.verticals.plain_pickle import load_plain_pickle
from trust_utils.verticals.privacy import PrivacyConfig, load_names


class _Marker:
    """Unpickling it would create the marker file (``__reduce__`` names ``os.open``)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.open, (self.path, os.O_CREAT | os.O_WRONLY))


def _local_copy(tmp_path, obj, protocol=pickle.HIGHEST_PROTOCOL):
    d = tmp_path / "dt" / "privacy" / "enron_data"
    d.mkdir(parents=True)
    (d / "name2email.pkl").write_bytes(pickle.dumps(obj, protocol=protocol))
    return PrivacyConfig(run_dir=str(tmp_path / "run"), data_source="local", local_dir=str(tmp_path / "dt")), d


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_crafted_pickle_is_refused_and_runs_nothing(tmp_path, protocol):
    marker = tmp_path / "marker"
    cfg, d = _local_copy(tmp_path, {"Ann Lee": _Marker(marker)}, protocol)
    with pytest.raises(DataFileError) as err:
        load_names(cfg)
    msg = str(err.value)
    assert str(d / "name2email.pkl") in msg and "os.open" in msg.replace("posix.open", "os.open")
    assert "name2email.json" in msg and "json.dump" in msg  # the conversion hint
    assert not marker.exists()


def test_plain_dict_pickle_loads(tmp_path):
    cfg, _ = _local_copy(tmp_path, {f"N{i} X": f"n{i}@x.test" for i in range(8)} | {"bob": "bob@x.test"}, 2)
    pairs, reports, files = load_names(cfg)
    assert pairs[0] == ("N0 X", "n0@x.test") and len(pairs) == 8 and files[0].name == "name2email.pkl"
    assert reports == {"name2email.pkl": {"key is a username, not a name (skipped by skip_usernames)": 1}}


def test_plain_containers_and_scalars_pass_other_types_do_not(tmp_path):
    p = tmp_path / "x.pkl"
    ok = {"a": [1, 2.5, ("t", None, True)], "b": {"c": "d"}}
    p.write_bytes(pickle.dumps(ok, protocol=4))
    assert load_plain_pickle(p) == ok
    p.write_bytes(pickle.dumps({"s": {1, 2}}, protocol=4))  # a set: built by opcodes, but not plain data here
    with pytest.raises(DataFileError, match="holds a set"):
        load_plain_pickle(p)
    p.write_bytes(pickle.dumps({"b": b"raw"}, protocol=2))  # bytes under protocol 2 name _codecs.encode
    with pytest.raises(DataFileError, match="_codecs.encode"):
        load_plain_pickle(p)
    p.write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(DataFileError, match="not a readable pickle"):
        load_plain_pickle(p)
