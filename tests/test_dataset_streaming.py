"""The dataset as a stream: read a block at a time, counted apart, selected lazily, and read from object storage.

The S3 tests run against a real S3-compatible server (moto's standalone server, started here on 127.0.0.1 and
stopped at the end); pyarrow's S3 client talks HTTP to it exactly as it would to AWS or MinIO. The credentials
are moto's dummies, in the environment the way a user gives real ones, and the instance-metadata lookup is
disabled so nothing is ever sent off loopback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from conftest import free_port
from claim_assess.claims import dataset as dataset_module
from claim_assess.claims.dataset import open_dataset, read_dataset, write_claims_parquet
from claim_assess.claims.synthetic import generate, write_dataset
from claim_assess.errors import ConfigError, DatasetError
from claim_assess.run.selection import BackgroundCount, Selection, wanted_entries
from claim_assess.run.settings import new_settings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "data"
    write_dataset(generate(400, seed=11), path)
    return path


def test_streaming_holds_a_block_not_the_dataset(book, monkeypatch):
    monkeypatch.setattr(dataset_module, "_READ_BLOCK", 16 << 10)
    size = (book / "claims.jsonl").stat().st_size
    source = open_dataset(book)
    tracemalloc.start()
    try:
        ids = [entry.claim_id for entry in source.stream()]  # each entry dropped once its id is taken
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(ids) == 400 and size > 800_000
    assert peak < size / 4, f"streaming {size:,} bytes peaked at {peak:,}"


def test_the_stream_yields_what_a_whole_read_gives_and_can_be_read_again(book):
    source = open_dataset(book)
    first, again = list(source.stream()), list(source.stream())
    assert first == again == list(read_dataset(book).entries)
    assert source.count() == 400


def test_lines_split_across_blocks_and_blank_lines_keep_their_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_module, "_READ_BLOCK", 5)
    write_dataset(generate(3, seed=2), tmp_path)
    lines = (tmp_path / "claims.jsonl").read_bytes().split(b"\n")
    (tmp_path / "claims.jsonl").write_bytes(lines[0] + b"\n\n  \r\n" + lines[1] + b"\n" + lines[2])  # no final newline
    source = open_dataset(tmp_path)
    assert [e.location for e in source.stream()] == ["claims.jsonl line 1", "claims.jsonl line 4",
                                                     "claims.jsonl line 5"]
    assert source.count() == 3 and all(e.error is None for e in source.stream())


def test_parquet_count_comes_from_the_footer(tmp_path, book):
    claims = [json.loads(line) for line in (book / "claims.jsonl").read_text().splitlines()[:30]]
    (tmp_path / "policies.jsonl").write_bytes((book / "policies.jsonl").read_bytes())
    write_claims_parquet(claims, tmp_path / "claims.parquet")
    source = open_dataset(tmp_path)
    assert source.count() == 30 and [e.raw["claim_id"] for e in source.stream()] == [c["claim_id"] for c in claims]


def test_a_duplicate_found_deep_in_the_stream_names_where_the_first_was(tmp_path):
    write_dataset(generate(5, seed=3), tmp_path)
    lines = (tmp_path / "claims.jsonl").read_text().splitlines()
    (tmp_path / "claims.jsonl").write_text("\n".join(lines + [lines[1]]) + "\n")
    last = list(open_dataset(tmp_path).stream())[-1]
    first_id = json.loads(lines[1])["claim_id"]
    assert last.error == f"claims.jsonl line 6: duplicate claim_id {first_id!r} (first at claims.jsonl line 2)"


def test_selection_streams_limit_and_exclude_and_counts_what_it_saw(book):
    source = open_dataset(book)
    all_ids = [e.claim_id for e in source.stream()]
    settings = new_settings(workspace="ws", input=book, limit=10, exclude=(all_ids[2],))
    selection = Selection(source, settings)
    assert selection.expected(source.count()) == 10 and selection.seen == 0
    selection.skip({all_ids[0]})
    got = [e.claim_id for e in selection]
    assert got == [i for i in all_ids[:11] if i not in (all_ids[0], all_ids[2])]
    assert selection.exhausted and selection.seen == 10 and selection.skipped == 1
    for claim_id in got[:3]:
        selection.decided(claim_id)
    # the skipped claim was decided before; of the 9 handed out, 3 came back
    assert selection.undecided(None) == 9 - 3


def test_a_stopped_selection_counts_the_unread_claims_as_undecided(book):
    source = open_dataset(book)
    selection = Selection(source, new_settings(workspace="ws", input=book))
    stream = iter(selection)
    seen = [next(stream).claim_id for _ in range(5)]
    assert not selection.exhausted
    for claim_id in seen[:2]:
        selection.decided(claim_id)
    assert selection.undecided(source.count()) == 400 - 2


def test_a_resumed_selection_counts_a_journaled_claim_as_having_its_row(book):
    # a resume yields a claim whose journaled outcome is FAILED again: stopped before it is re-assessed, it still
    # has its FAILED row, so it is not undecided; a claim without any journaled outcome is
    source = open_dataset(book)
    ids = [e.claim_id for e in source.stream()][:4]
    selection = Selection(source, new_settings(workspace="ws", input=book, limit=4))
    selection.skip({ids[0]}, {ids[0]: True, ids[1]: False})
    assert [e.claim_id for e in selection] == ids[1:]
    selection.decided(ids[2])
    assert selection.undecided(source.count()) == 1  # ids[3]: handed out, never came back


def test_claim_ids_that_name_no_claim_are_refused_before_anything_starts(book):
    source = open_dataset(book)
    some = [e.claim_id for e in source.stream()][5:7]
    assert [e.claim_id for e in wanted_entries(source, tuple(some))] == some
    with pytest.raises(ConfigError, match="--claim-id names claims not in .*: NOPE-1"):
        wanted_entries(source, (some[0], "NOPE-1"))


def test_background_count_matches_the_stream(book):
    count = BackgroundCount(open_dataset(book))
    assert count.result(wait_s=60) == 400 and count.error is None


def test_uris_are_kept_as_given_and_credentials_in_them_are_refused():
    settings = new_settings(workspace="ws", input="s3://bucket/claims/2026?region=eu-central-1")
    assert settings.input == "s3://bucket/claims/2026?region=eu-central-1"  # Path() would fold the //
    for bad in ("s3://AKIA:secret@bucket/data", "s3://bucket/data?secret_key=x&access_key=y"):
        with pytest.raises(DatasetError, match="--input must not carry credentials") as info:
            new_settings(workspace="ws", input=bad)
        assert "secret" not in str(info.value).replace("secret_key", "")


def test_a_local_path_that_looks_odd_is_still_a_path(tmp_path):
    with pytest.raises(DatasetError, match="dataset directory does not exist"):
        open_dataset(tmp_path / "no:such")


# --- S3, against moto's standalone server on loopback --------------------------------------------------

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
          "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory, book):
    """(pyarrow S3 filesystem, URI query) for a moto server with the test book uploaded under bkt/."""
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        pytest.fail("moto_server is missing: pip install -e '.[test]' installs moto[server]")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    saved = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)
    try:
        deadline = time.monotonic() + 180  # a hang guard: moto's imports alone take seconds on 2 loaded cores
        while True:  # the server's own readiness: its port accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start: {log.read_text()[-500:]}")
                time.sleep(0.1)
        fs = pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", region="us-east-1",
                               allow_bucket_creation=True)
        fs.create_dir("bkt")
        pafs.copy_files(str(book), "bkt/jsonl", destination_filesystem=fs)
        yield fs, f"endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_an_s3_dataset_streams_the_same_entries_as_the_local_copy(s3, book):
    _, query = s3
    remote = open_dataset(f"s3://bkt/jsonl?{query}")
    assert remote.claims_source == "claims.jsonl" and dict(remote.policies) == dict(open_dataset(book).policies)
    assert list(remote.stream()) == list(read_dataset(book).entries)
    assert remote.count() == 400


def test_parquet_and_a_claims_directory_on_s3(s3, book, tmp_path):
    fs, query = s3
    claims = [json.loads(line) for line in (book / "claims.jsonl").read_text().splitlines()[:12]]
    write_claims_parquet(claims, tmp_path / "claims.parquet")
    for name in ("parquet", "files"):
        fs.create_dir(f"bkt/{name}")
        with fs.open_output_stream(f"bkt/{name}/policies.jsonl") as f:
            f.write((book / "policies.jsonl").read_bytes())
    with fs.open_output_stream("bkt/parquet/claims.parquet") as f:
        f.write((tmp_path / "claims.parquet").read_bytes())
    for claim in claims[:4]:
        with fs.open_output_stream(f"bkt/files/claims/{claim['claim_id']}.json") as f:
            f.write(json.dumps(claim).encode())
    parquet = open_dataset(f"s3://bkt/parquet?{query}")
    assert parquet.count() == 12 and [e.raw for e in parquet.stream()] == claims
    files = open_dataset(f"s3://bkt/files?{query}")
    assert files.claims_source == "claims" and files.count() == 4
    assert sorted(e.claim_id for e in files.stream()) == sorted(c["claim_id"] for c in claims[:4])


def test_missing_things_on_s3_are_named(s3):
    _, query = s3
    with pytest.raises(DatasetError, match=r"s3://bkt/nothing-here: dataset directory does not exist"):
        open_dataset(f"s3://bkt/nothing-here?{query}")


def test_the_cli_dry_run_reads_an_s3_dataset(s3):
    _, query = s3
    env = {**os.environ, **S3_ENV}
    out = subprocess.run([sys.executable, "-m", "drivers.assess", "--input", f"s3://bkt/jsonl?{query}", "--dry-run",
                          "--json"], cwd=REPO, env=env, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-800:]
    assert json.loads(out.stdout)["claims"] == 400


@pytest.mark.ray
def test_a_run_reads_its_claims_from_s3_and_a_resume_streams_them_again(ray_session, s3, book, tmp_path):
    """The real driver on an S3 dataset: 20 claims decided, the ledger intact; a resume of the finished run skips
    every one of them (it streams the dataset anew and keeps what the ledger and journal agree on)."""
    from claim_assess.claims.results import read_results
    from claim_assess.drivers import assess, verify

    _, query = s3
    uri = f"s3://bkt/jsonl?{query}"
    common = ["--workspace", str(tmp_path), "--run", "s3-run", "--quiet", "--no-dashboard"]
    assert assess.main(["--actors", "1", "--input", uri, "--limit", "20", *common]) == 0
    rows, _ = read_results(tmp_path / "runs" / "s3-run")
    local = [e.claim_id for e in read_dataset(book).entries][:20]
    assert sorted(r["claim_id"] for r in rows) == sorted(local)
    assert json.loads((tmp_path / "runs" / "s3-run" / "settings.json").read_text())["input"] == uri
    assert verify.main(["--workspace", str(tmp_path)]) == 0
    assert assess.main(["--resume", *common]) == 0
    journal = (tmp_path / "runs" / "s3-run" / "outcomes.jsonl").read_bytes()
    assert journal.count(b"\n") == 20  # nothing assessed twice


def test_a_large_jsonl_dataset_is_counted_only_when_asked_to_start(book, monkeypatch):
    monkeypatch.setattr(dataset_module, "_CHEAP_COUNT_BYTES", 1000)
    source = open_dataset(book)
    assert not source.cheap_to_count()
    count = BackgroundCount(source, deferred=True)
    assert count.result(wait_s=0.5) is None  # not started: waiting returns at once, with nothing
    count.start()
    count.start()  # idempotent
    assert count.result(wait_s=60) == 400
