"""Model kinds at the API, on SQLite and PostgreSQL: the model is resolved once at submit, its
kind recorded in the job's params, the items and options checked against the kind (422 naming
the field), the ads model usable over HTTP, models listed with their kind, fine-tunes refused
for kinds that cannot train, and an item's payload shown in the item view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update

from kinds import get_kind
from kinds.params import ItemInput, JobRequest, ParamLimits, ParamProblem, check_job
from scripts.register_models import register_shipped, shipped_model
from store.catalog import register_model
from store.models import Item, Job
from tests.api_fixtures import Api, api, isolated_env  # noqa: F401 - fixtures
from tests.test_api_finetunes import start

AD_BRIEF = "Summer sale on running shoes, 30% off, 300x250"
LIMITS = ParamLimits(max_items=10, max_prompt_chars=500, max_rounds=5, max_batch_size=32,
                     max_seed=1000)


def stored(api: Api, job_id: str) -> tuple[Job, list[tuple[str, int]]]:
    with api.session() as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        items = session.execute(select(Item.prompt, Item.seed).where(Item.job_id == job_id)
                                .order_by(Item.index))
        return job, [tuple(row) for row in items]


def refusal(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_ads_brief_is_accepted_and_the_job_records_the_ads_kind(api: Api) -> None:
    response = api.submit({"model": "ads", "items": [AD_BRIEF], "seed": 3, "rounds": 1})
    assert response.status_code == 202, response.text
    job, items = stored(api, response.json()["id"])
    assert job.params["kind"] == "ads" and job.params["model"] == "ads"
    assert job.params["rounds"] == 1 and "early_exit" not in job.params
    assert items == [(AD_BRIEF, 3)]


def test_ads_item_with_a_size_no_ad_has_is_a_422_naming_items_0_size(api: Api) -> None:
    response = api.submit({"model": "ads", "items": [{"brief": "shoes", "size": "999x1"}]})
    status, code, message = refusal(response)
    assert (status, code) == (422, "invalid_item")
    assert message.startswith("items[0].size: size '999x1' is not one of ")
    with api.session() as session:
        assert session.scalar(select(Job.id)) is None


def test_an_item_field_of_the_wrong_type_is_a_422_not_a_crash(api: Api) -> None:
    response = api.submit({"model": "ads", "items": [{"brief": "shoes", "size": ["300x250"]}]})
    status, code, message = refusal(response)
    assert (status, code) == (422, "invalid_item") and message.startswith("items[0]: ")


def test_ads_item_object_is_stored_as_its_canonical_json_with_its_seed(api: Api) -> None:
    item = {"brief": " Tea shop opening ", "size": "728x90", "seed": 11}
    response = api.submit({"model": "ads", "items": [item, {"brief": "more tea"}], "seed": 5})
    assert response.status_code == 202, response.text
    _, items = stored(api, response.json()["id"])
    assert [(json.loads(text), seed) for text, seed in items] == [
        ({"brief": "Tea shop opening", "size": "728x90"}, 11), ({"brief": "more tea"}, 6)]


def test_shapes_job_records_its_kind_and_refuses_an_ads_object(api: Api) -> None:
    accepted = api.submit({"prompts": ["a red circle"], "seed": 1})
    job, _ = stored(api, accepted.json()["id"])
    assert job.params["kind"] == "shapes"
    status, code, message = refusal(api.submit({"items": [{"brief": "shoes", "seed": 1}]}))
    assert (status, code) == (422, "invalid_item")
    assert message == "items[0]: must be a string for this model, got dict"


def test_a_checked_option_is_stored_where_the_worker_reads_it(api: Api) -> None:
    response = api.submit({"prompts": ["a red circle"], "options": {"early_exit": False}})
    job, _ = stored(api, response.json()["id"])
    assert job.params["early_exit"] is False


@pytest.mark.parametrize(("options", "message"), [
    ({"early_exit": "no"}, "options.early_exit: must be a bool, got str"),
    ({"temperature": 1}, "options.temperature: is not an option of this model; it takes early_exit"),
])
def test_options_are_checked_against_the_kind(api: Api, options: dict, message: str) -> None:
    response = api.submit({"prompts": ["a red circle"], "options": options})
    assert refusal(response) == (422, "invalid_option", message)


def test_registered_ads_default_is_pinned_at_submit_and_listed_with_its_kind(api: Api) -> None:
    with api.session() as session:
        register_shipped(session)
    ads = shipped_model(get_kind("ads"))
    response = api.submit({"model": "ads", "items": [AD_BRIEF]})
    job, _ = stored(api, response.json()["id"])
    assert (job.model_version, job.params["kind"]) == (ads.version, "ads")
    models = api.client.get("/v1/models", headers=api.auth()).json()["models"]
    assert {(m["name"], m["kind"], m["version"]) for m in models} >= {
        ("ads", "ads", ads.version), ("default", "shapes", shipped_model(get_kind("shapes")).version)}


def test_finetune_of_a_kind_without_train_is_base_model_not_trainable(api: Api) -> None:
    status, code, message = refusal(start(api, base_model="ads"))
    assert (status, code) == (422, "base_model_not_trainable")
    assert message.startswith("model 'ads' is of kind 'ads', which cannot be fine-tuned")
    assert refusal(start(api, name="ads"))[1] == "invalid_name"  # a shipped model's name


def test_finetune_records_the_base_kind(api: Api) -> None:
    response = start(api)
    assert response.status_code == 202, response.text
    job, _ = stored(api, response.json()["id"])
    assert job.params["kind"] == "shapes"


def test_item_view_shows_the_payload_the_worker_recorded(api: Api) -> None:
    job_id = api.submit({"model": "ads", "items": [AD_BRIEF]}).json()["id"]
    payload = {"copy": {"headline": "Summer sale"}, "design": {"size": "300x250"},
               "verdict": {"passed": True}}
    with api.session() as session:
        session.execute(update(Item).where(Item.job_id == job_id).values(payload=payload))
    items = api.client.get(f"/v1/jobs/{job_id}/items", headers=api.auth()).json()["items"]
    assert items[0]["payload"] == payload


def test_check_job_gives_unseeded_items_the_base_seed_plus_their_index() -> None:
    request = JobRequest(items=[ItemInput("a", 9, "items[0].prompt", "items[0].seed"),
                                ItemInput("b", None, "items[1].prompt")], seed=100)
    params, items = check_job(get_kind("shapes"), request, LIMITS, lambda n: 0)
    assert [(i.text, i.seed) for i in items] == [("a", 9), ("b", 101)]
    assert (params.kind, params.rounds, params.seed) == ("shapes", 3, 100)


def test_check_job_names_the_problem_the_worker_would_have_hit() -> None:
    request = JobRequest(items=[ItemInput("a", None, "prompts[0]")], rounds=6)
    with pytest.raises(ParamProblem) as caught:
        check_job(get_kind("shapes"), request, LIMITS, lambda n: 0)
    assert (caught.value.code, caught.value.message) == (
        "rounds_out_of_range", "rounds must be between 0 and 5, got 6")


def test_a_version_of_a_kind_this_server_does_not_know_is_a_422(api: Api) -> None:
    with api.session() as session:
        register_model(session, name="odd", version="o" * 16, checkpoint_path="/o", sha256="s",
                       kind="watercolour")
    assert refusal(api.submit({"model": "odd", "prompts": ["a"]})) == (
        422, "unknown_model", "model 'odd' is of kind 'watercolour', which this server does not know")
