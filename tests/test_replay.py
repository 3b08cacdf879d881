"""The replay Hub, exercised with the real huggingface_hub client (no mocks).

Checks the Hub semantics the kit relies on (filters, sorting with missing
values, expand, pagination by Link header, childrenModelCount, 404s, dated
routes), the command-line server, and each injectable fault together with
what the client does about it.
"""
from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys

import httpx2
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError

from openbrief.replay.recordings import write_day_folder, write_jsonl
from openbrief.replay import (
    FaultRule,
    ReplayDataError,
    ReplayHub,
    load_records,
    parse_fault,
)


def api(hub: ReplayHub, suffix: str = "") -> HfApi:
    return HfApi(endpoint=hub.url + suffix, token=False)


def ids(models) -> list[str]:
    return [m.id for m in models]


def targets(hub: ReplayHub) -> list[str]:
    return [r.target for r in hub.requests]


# --- listing -----------------------------------------------------------------


def test_pagination_returns_every_record_once_following_absolute_links(replay_hub, hub_records):
    got = ids(api(replay_hub).list_models(sort="downloads", expand=["downloads", "tags"]))

    assert sorted(got) == sorted(r["id"] for r in hub_records)
    assert len(got) == len(set(got)) == 8
    assert [r.status for r in replay_hub.requests] == [200, 200, 200]   # 8 items, pages of 3
    first, *later = targets(replay_hub)
    assert "cursor=" not in first
    for target in later:   # the next URL carries every original parameter plus the cursor
        assert "cursor=" in target and "sort=downloads" in target
        assert "expand=downloads" in target and "expand=tags" in target


def test_link_header_is_absolute_and_absent_on_last_page(replay_hub):
    with httpx2.Client() as client:
        first = client.get(f"{replay_hub.url}/api/models", params={"search": "base"})
        assert len(first.json()) == 3
        next_url = first.links["next"]["url"]
        assert next_url.startswith(replay_hub.url + "/api/models?search=base&cursor=")
        last = client.get(next_url)
    assert [m["id"] for m in last.json()] == ["fan/base-7b-lora", "quant/base-7b-GGUF"]
    assert "link" not in last.headers


def test_author_matches_namespace_case_insensitively(replay_hub):
    assert ids(api(replay_hub).list_models(author="acme")) == ["Acme/base-7b", "Acme/base-1b"]
    assert ids(api(replay_hub).list_models(author="ACME-LABS")) == ["acme-labs/tiny"]


def test_search_is_a_case_insensitive_substring_of_the_id(replay_hub):
    assert ids(api(replay_hub).list_models(search="BASE-7B")) == [
        "Acme/base-7b", "fan/base-7b-chat", "fan/base-7b-lora", "quant/base-7b-GGUF"]


def test_filters_are_anded_and_match_tags_pipeline_library_and_base_models(replay_hub):
    hub = api(replay_hub)
    assert ids(hub.list_models(filter="base_model:Acme/base-7b")) == [
        "fan/base-7b-chat", "fan/base-7b-lora", "quant/base-7b-GGUF", "mix/merge-1"]
    # relation tags: from tags, or derived from baseModels when a record has no tags
    assert ids(hub.list_models(filter="base_model:adapter:Acme/base-7b")) == ["fan/base-7b-lora"]
    assert ids(hub.list_models(filter="base_model:quantized:Acme/base-7b")) == ["quant/base-7b-GGUF"]
    assert ids(hub.list_models(filter=["transformers", "license:apache-2.0"])) == [
        "Acme/base-7b", "fan/base-7b-chat"]
    assert ids(hub.list_models(filter="gguf")) == ["quant/base-7b-GGUF"]          # library_name
    assert ids(hub.list_models(filter="text-generation")) == ["Acme/base-7b", "Acme/base-1b"]
    assert ids(hub.list_models(filter="base_model:acme/base-7b")) == []            # ids are case-sensitive
    assert ids(hub.list_models(pipeline_tag="text-generation", author="acme")) == [
        "Acme/base-7b", "Acme/base-1b"]


def test_sort_is_descending_with_missing_values_last_and_ties_by_id(replay_hub):
    hub = api(replay_hub)
    assert ids(hub.list_models(sort="downloads")) == [
        "quant/base-7b-GGUF", "fan/base-7b-chat", "Acme/base-7b", "Acme/base-1b",
        "acme-labs/tiny", "mix/merge-1", "fan/grandchild", "fan/base-7b-lora"]
    assert ids(hub.list_models(sort="likes"))[:3] == ["Acme/base-1b", "Acme/base-7b", "quant/base-7b-GGUF"]
    assert ids(hub.list_models(sort="likes"))[-1] == "mix/merge-1"
    assert ids(hub.list_models(sort="created_at")) == [
        "Acme/base-1b", "quant/base-7b-GGUF", "fan/base-7b-chat", "Acme/base-7b", "acme-labs/tiny",
        "fan/base-7b-lora", "fan/grandchild", "mix/merge-1"]
    assert ids(hub.list_models(sort="last_modified"))[0] == "Acme/base-7b"
    assert ids(hub.list_models(sort="trending_score"))[0] == "Acme/base-7b"


def test_sort_puts_missing_values_after_zero(hf_home):
    records = [{"id": "aaa/missing"}, {"id": "zzz/zero", "downloads": 0, "likes": 0},
               {"id": "mmm/some", "downloads": 5, "likes": 1}]
    with ReplayHub(records, page_size=2) as hub:
        assert ids(api(hub).list_models(sort="downloads")) == ["mmm/some", "zzz/zero", "aaa/missing"]
        assert ids(api(hub).list_models(sort="likes")) == ["mmm/some", "zzz/zero", "aaa/missing"]
        assert ids(api(hub).list_models()) == ["aaa/missing", "zzz/zero", "mmm/some"]   # data order


def test_limit_caps_the_total_over_pages(replay_hub):
    assert ids(api(replay_hub).list_models(sort="downloads", limit=4)) == [
        "quant/base-7b-GGUF", "fan/base-7b-chat", "Acme/base-7b", "Acme/base-1b"]
    assert len(replay_hub.requests) == 2
    with httpx2.Client() as client:
        page2 = client.get(replay_hub.url + replay_hub.requests[1].target)
    assert len(page2.json()) == 1 and "link" not in page2.headers


def test_expand_returns_only_the_asked_fields_and_keeps_missing_ones_missing(replay_hub):
    models = {m.id: m for m in api(replay_hub).list_models(expand=["downloadsAllTime", "likes"])}
    assert models["Acme/base-7b"].downloads_all_time == 50000
    assert models["Acme/base-1b"].downloads_all_time is None      # not 0
    assert models["Acme/base-7b"].downloads is None               # not asked
    assert models["mix/merge-1"].likes is None                    # absent in the record
    with httpx2.Client() as client:
        items = client.get(f"{replay_hub.url}/api/models", params={"expand": ["downloadsAllTime", "author"]}).json()
    assert items[0] == {"_id": "65a0000000000000000000a1", "id": "Acme/base-7b",
                        "downloadsAllTime": 50000, "author": "Acme"}
    assert items[2] == {"id": "acme-labs/tiny", "author": "acme-labs"}


def test_default_listing_fields_are_the_hubs(replay_hub):
    with httpx2.Client() as client:
        items = client.get(f"{replay_hub.url}/api/models").json()
    assert set(items[0]) == {"_id", "id", "likes", "trendingScore", "private", "downloads", "tags",
                             "pipeline_tag", "library_name", "createdAt", "modelId"}
    assert "author" not in items[0] and "safetensors" not in items[0]
    assert items[0]["private"] is False
    lora = next(m for m in api(replay_hub).list_models(search="lora"))
    assert lora.downloads is None and lora.created_at is None


def test_full_listing_returns_whole_records(replay_hub):
    model = next(iter(api(replay_hub).list_models(author="Acme", full=True)))
    assert model.safetensors.total == 7_000_000_000
    assert model.author == "Acme" and model.downloads_all_time == 50000


@pytest.mark.parametrize("expand", [["bogus"], ["likes", "Downloads"], ["childrenModelCount"],
                                    ["baseModels"], ["usedStorage"]])
def test_bad_or_single_model_expand_values_are_400_without_retry(replay_hub, expand):
    with pytest.raises(BadRequestError):
        list(api(replay_hub).list_models(expand=expand))
    assert [r.status for r in replay_hub.requests] == [400]


@pytest.mark.parametrize("params", [{"expand": "likes", "full": "true"}, {"expand": "likes", "config": "true"},
                                    {"expand": "likes", "cardData": "true"}, {"sort": "author"},
                                    {"direction": "1"}, {"limit": "x"}, {"gated": "true"},
                                    {"cursor": "not-a-cursor"}])
def test_invalid_listing_parameters_are_400_with_a_json_error(replay_hub, params):
    with httpx2.Client() as client:
        response = client.get(f"{replay_hub.url}/api/models", params=params)
    assert response.status_code == 400
    assert response.json()["error"]


# --- model_info --------------------------------------------------------------


def test_model_info_counts_direct_children_by_relation(replay_hub):
    hub = api(replay_hub)
    info = hub.model_info("Acme/base-7b")
    assert info.children_model_count == {"finetune": 1, "adapter": 1, "quantized": 1, "merge": 1}
    assert info.safetensors.total == 7_000_000_000 and info.gated is False
    assert hub.model_info("Acme/base-1b").children_model_count == {
        "finetune": 0, "adapter": 0, "quantized": 0, "merge": 1}
    assert hub.model_info("fan/base-7b-chat").children_model_count["finetune"] == 1
    assert hub.model_info("fan/base-7b-chat").base_models == {
        "relation": "finetune", "models": [{"id": "Acme/base-7b"}]}


def test_model_info_honours_expand_and_revision(replay_hub):
    hub = api(replay_hub)
    info = hub.model_info("Acme/base-1b", expand=["childrenModelCount", "downloadsAllTime", "likes"])
    assert info.children_model_count["merge"] == 1
    assert info.downloads_all_time is None and info.likes == 40 and info.downloads is None
    assert hub.model_info("Acme/base-7b", revision="refs/pr/1").id == "Acme/base-7b"
    with pytest.raises(BadRequestError):
        hub.model_info("Acme/base-7b", expand=["nope"])


@pytest.mark.parametrize("repo_id", ["Acme/missing", "acme/base-7b"])
def test_unknown_or_miscased_id_raises_repository_not_found(replay_hub, repo_id):
    with pytest.raises(RepositoryNotFoundError):
        api(replay_hub).model_info(repo_id)
    assert replay_hub.requests[-1].status == 404


# --- data and dated routes ---------------------------------------------------


def _day(records, downloads):
    return [{**r, "downloads": downloads} if r["id"] == "Acme/base-7b" else r for r in records]


def test_dated_folder_serves_each_day_and_newest_at_the_root(tmp_path, hub_records, hf_home):
    folder = write_day_folder({"2026-08-07": _day(hub_records, 1), "2026-08-08": _day(hub_records, 2)},
                              tmp_path / "days")
    assert sorted(load_records(folder)) == ["2026-08-07", "2026-08-08"]
    with ReplayHub(folder, page_size=3) as hub:
        day7 = api(hub, "/@2026-08-07")
        assert day7.model_info("Acme/base-7b").downloads == 1
        assert len(list(day7.list_models())) == 8            # pagination keeps the day prefix
        assert all(t.startswith("/@2026-08-07/api/models") for t in targets(hub))
        assert api(hub).model_info("Acme/base-7b").downloads == 2
        assert next(iter(api(hub, "/@2026-08-08").list_models(author="Acme"))).downloads == 2
        with pytest.raises(HfHubHTTPError) as err:
            list(api(hub, "/@2026-09-01").list_models())
        assert err.value.response.status_code == 404
        assert "2026-09-01" in err.value.response.json()["error"]


def test_undated_data_has_no_days(tmp_path, hub_records, hf_home):
    path = write_jsonl(hub_records, tmp_path / "models.jsonl")
    assert list(load_records(path)) == [None]
    with ReplayHub(path) as hub, httpx2.Client() as client:
        assert len(client.get(f"{hub.url}/api/models").json()) == 8
        assert client.get(f"{hub.url}/@2026-08-07/api/models").status_code == 404
        assert client.get(f"{hub.url}/api/spaces").status_code == 404


@pytest.mark.parametrize("content, problem", [
    ('{"id": "a/b"}\nnot json\n', ":2: malformed JSON"),
    ('{"id": "a/b"}\n\n{"likes": 3}\n', ":3: record has no 'id'"),
    ('{"id": "a/b"}\n{"id": "a/b"}\n', ":2: duplicate id"),
    ('{"id": "a/b", "tags": "text-generation"}\n', ":1: a/b: tags must be a list"),
    ('{"id": "a/b", "safetensors": {"total": 3}}\n', ":1: a/b: safetensors needs"),
    ('["a/b"]\n', ":1: a record must be a JSON object"),
])
def test_bad_data_raises_naming_file_and_line(tmp_path, content, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ReplayDataError, match=re.escape(f"{path}{problem}")):
        ReplayHub(path)


def test_missing_paths_and_empty_folders_are_reported(tmp_path):
    with pytest.raises(ValueError, match="no such file or folder"):
        load_records(tmp_path / "absent.jsonl")
    with pytest.raises(ValueError, match="no YYYY-MM-DD.jsonl"):
        load_records(tmp_path)
    with pytest.raises(ValueError, match="page_size"):
        ReplayHub([], page_size=0)


def test_serve_prints_its_url_first_logs_requests_and_stops_on_sigterm(tmp_path, hub_records, hf_home):
    data = write_jsonl(hub_records, tmp_path / "models.jsonl")
    proc = subprocess.Popen([sys.executable, "-m", "openbrief.replay", str(data), "--page-size", "2",
                             "--fault", "model_info:1:503"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert re.fullmatch(r"serving on http://127\.0\.0\.1:\d+\n", first)
        url = first.split()[-1]
        hub = HfApi(endpoint=url, token=False)
        assert len(list(hub.list_models())) == 8
        with pytest.raises(HfHubHTTPError):
            hub.model_info("Acme/base-7b")
        assert hub.model_info("Acme/base-7b").likes == 40
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    log = err.splitlines()
    assert log[0] == "GET /api/models 200" and len(log) == 4 + 2
    assert log[4] == "GET /api/models/Acme/base-7b 503 [fault model_info:1:503]"


def test_cli_rejects_bad_data_and_bad_fault_specs(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "openbrief.replay", str(tmp_path / "none.jsonl")],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "no such file or folder" in bad.stderr
    spec = subprocess.run([sys.executable, "-m", "openbrief.replay", str(tmp_path), "--fault", "models:x:429"],
                          capture_output=True, text=True, timeout=30)
    assert spec.returncode == 2 and "bad fault spec" in spec.stderr


def test_request_log_stream_gets_one_line_per_request(hub_records, hf_home):
    log = io.StringIO()
    with ReplayHub(hub_records, page_size=5, log=log) as hub:
        list(api(hub).list_models(limit=6))
        with pytest.raises(RepositoryNotFoundError):
            api(hub).model_info("no/such")
    lines = log.getvalue().splitlines()
    assert lines[0] == "GET /api/models?limit=6 200"
    assert re.fullmatch(r"GET /api/models\?limit=6&cursor=\S+ 200", lines[1])
    assert lines[2] == "GET /api/models/no/such 404"


# --- fault grammar -----------------------------------------------------------


@pytest.mark.parametrize("spec, expected", [
    ("models:page=2:429:retry-after=1", dict(route="models", by_page=True, first=2, last=2, action="429",
                                             retry_after=1)),
    ("model_info:1:500", dict(route="model_info", first=1, last=1, action="500")),
    ("models:*:stall=5", dict(first=1, last=None, action="stall", seconds=5.0)),
    ("models:1-3:503:times=2", dict(first=1, last=3, action="503", times=2)),
    ("any:2:truncate=close", dict(route="any", action="truncate", close=True)),
    ("models:page=1-2:429:ratelimit=30", dict(by_page=True, first=1, last=2, ratelimit=30)),
])
def test_parse_fault_reads_the_compact_form(spec, expected):
    rule = parse_fault(spec)
    assert isinstance(rule, FaultRule) and str(rule) == spec
    for name, value in expected.items():
        assert getattr(rule, name) == value


@pytest.mark.parametrize("spec", ["models:1", "spaces:1:500", "models:0:500", "models:3-1:500",
                                  "models:x:500", "models:1:418", "model_info:page=1:500",
                                  "models:1:stall", "models:1:500:retry-after=1", "models:1:drop=2",
                                  "models:1:429:times=x", "models:1:truncate=half"])
def test_parse_fault_rejects_bad_specs(spec):
    with pytest.raises(ValueError, match="bad fault spec"):
        parse_fault(spec)


# --- faults, and what the real client does about them ------------------------


def faulty_hub(records, *faults, page_size=3):
    return ReplayHub(records, page_size=page_size, faults=faults)


@pytest.mark.parametrize("fault, wait", [
    ("models:page=2:429:retry-after=3:times=1", 4.0),   # Retry-After N: waits N + 1
    ("models:page=2:429:ratelimit=7:times=1", 8.0),     # RateLimit "api";r=0;t=N: waits N + 1
    ("models:page=2:429:times=1", 1.0),                 # no header: plain exponential backoff
])
def test_a_429_mid_pagination_is_retried_by_the_client(hub_records, hf_home, fast_backoff, fault, wait):
    with faulty_hub(hub_records, fault) as hub:
        assert len(list(api(hub).list_models())) == 8
    assert fast_backoff == [wait]
    assert [r.status for r in hub.requests] == [200, 429, 200, 200]
    assert hub.requests[1].target == hub.requests[2].target     # the same page again


def test_5xx_are_retried_with_exponential_backoff_then_give_up(hub_records, hf_home, fast_backoff):
    with faulty_hub(hub_records, "models:1-3:503") as hub:
        assert len(list(api(hub).list_models())) == 8
    assert fast_backoff == [1, 2, 4]
    with faulty_hub(hub_records, "models:*:502") as hub:
        with pytest.raises(HfHubHTTPError) as err:
            list(api(hub).list_models())
    assert err.value.response.status_code == 502
    assert len(hub.requests) == 6                               # 1 try + 5 retries
    assert fast_backoff[3:] == [1, 2, 4, 8, 8]


def test_model_info_is_not_retried(hub_records, hf_home, fast_backoff):
    with faulty_hub(hub_records, "model_info:1:500", "model_info:2:429:retry-after=1") as hub:
        with pytest.raises(HfHubHTTPError) as err:
            api(hub).model_info("Acme/base-7b")
        assert err.value.response.status_code == 500
        with pytest.raises(HfHubHTTPError, match="429"):
            api(hub).model_info("Acme/base-7b")
        assert api(hub).model_info("Acme/base-7b").likes == 40
    assert fast_backoff == []


def test_a_dropped_connection_mid_pagination_is_retried(hub_records, hf_home, fast_backoff):
    with faulty_hub(hub_records, "models:page=2:drop:times=1") as hub:
        assert len(list(api(hub).list_models())) == 8
    assert [(r.status, r.fault) for r in hub.requests][:3] == [
        (200, None), (None, "models:page=2:drop:times=1"), (200, None)]
    assert fast_backoff == [1]


def test_a_dropped_connection_fails_model_info(hub_records, hf_home):
    with faulty_hub(hub_records, "model_info:1:drop") as hub:
        with pytest.raises(httpx2.RemoteProtocolError):
            api(hub).model_info("Acme/base-7b")


def test_a_truncated_body_with_full_length_is_retried_by_list_models(hub_records, hf_home, fast_backoff):
    with faulty_hub(hub_records, "models:page=3:truncate:times=1") as hub:
        assert len(list(api(hub).list_models())) == 8
    assert [r.status for r in hub.requests] == [200, 200, 200, 200]
    assert fast_backoff == [1]
    with faulty_hub(hub_records, "model_info:1:truncate") as hub:
        with pytest.raises(httpx2.RemoteProtocolError):
            api(hub).model_info("Acme/base-7b")


def test_a_body_cut_by_closing_looks_complete_and_fails_to_parse(hub_records, hf_home, fast_backoff):
    with faulty_hub(hub_records, "any:1:truncate=close") as hub:
        with pytest.raises(json.JSONDecodeError):
            list(api(hub).list_models())
    assert fast_backoff == []


def test_a_malformed_200_is_not_retried(hub_records, hf_home, fast_backoff):
    with faulty_hub(hub_records, "models:page=2:malformed", "model_info:*:malformed") as hub:
        pages = iter(api(hub).list_models())
        assert [next(pages).id for _ in range(3)] == ["Acme/base-7b", "Acme/base-1b", "acme-labs/tiny"]
        with pytest.raises(json.JSONDecodeError):
            next(pages)
        with pytest.raises(json.JSONDecodeError):
            api(hub).model_info("Acme/base-7b")
    assert fast_backoff == []


def test_a_stall_trips_a_client_timeout_and_otherwise_just_delays(hub_records, hf_home):
    with faulty_hub(hub_records, "models:1:stall=1.5", "models:2:stall=0.2") as hub:
        with httpx2.Client(timeout=0.3) as client:
            with pytest.raises(httpx2.ReadTimeout):
                client.get(f"{hub.url}/api/models")
            assert client.get(f"{hub.url}/api/models", timeout=5).status_code == 200
    assert any(r.status == 200 for r in hub.requests)


def test_times_limits_a_rule_and_any_counts_every_route(hub_records, hf_home, fast_backoff):
    with faulty_hub(hub_records, "any:*:503:times=2", page_size=10) as hub:
        hub_api = api(hub)
        assert len(list(hub_api.list_models())) == 8       # 503, 503, then 200
        assert hub_api.model_info("fan/grandchild").downloads == 10
    assert [r.status for r in hub.requests] == [503, 503, 200, 200]
