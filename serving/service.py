"""The HTTP service for clinic staff: score, rank and look up cooperatives with the champion models.

Start it with ``klinik serve`` (serving/cmd.py), which first copies the registry's champions into the BentoML
store; the service declares them here, so ``bentoml build`` makes a self-contained Bento. Every score goes
through the same ``score_dataset`` as ``klinik score``: the same records give the same numbers.
Routes: POST /score, /rank, /lookup, /model (GET too); BentoML adds /livez, /readyz, /metrics and the OpenAPI
page at /. Request bodies are never logged; errors name the field, not the value sent.
"""

from typing import Any

import bentoml
from starlette.responses import JSONResponse

from klinik.settings import get_settings
from serving import schemas
from serving.bento_store import loaded_models, model_names, served_model_info
from serving.guard import RequestGuard
from serving.service_io import LatestScores, RequestInvalid, error_body, request_tables, score_rows, validate_request

_NAMES = model_names(get_settings())  # reads the environment only: which registered models to declare


def _bad_request(err: RequestInvalid) -> JSONResponse:
    return JSONResponse(error_body(err), status_code=400)


@bentoml.service(name="klinik", workers=1, traffic={"timeout": 120})
class Klinik:
    risk_model = bentoml.models.BentoModel(f"{_NAMES['risk']}:latest")
    recovery_model = bentoml.models.BentoModel(f"{_NAMES['recovery']}:latest")

    def __init__(self) -> None:
        self.settings = get_settings()
        self.models = loaded_models(self.risk_model, self.recovery_model)
        self.model_info = {"risk": served_model_info("risk", self.risk_model),
                           "recovery": served_model_info("recovery", self.recovery_model)}
        self.latest = LatestScores(self.settings)

    def _score(self, cooperatives: list[schemas.CoopRecords], as_of_year: int | None, capacity: Any):
        """Validate, then score through the batch job's core; RequestInvalid for anything wrong in the request."""
        from serving.scoring import registered_coops, score_dataset

        limit = self.settings.max_coops_per_request
        if len(cooperatives) > limit:
            raise RequestInvalid([(("cooperatives",), f"at most {limit} cooperatives per request "
                                   f"(KLINIK_MAX_COOPS_PER_REQUEST), got {len(cooperatives)}: split the request",
                                   "too_many")], error="too many cooperatives in one request")
        ds = validate_request(request_tables(cooperatives))
        if as_of_year is None:
            years = [int(t["year"].max()) for t in (ds.financials, ds.staffing, ds.health) if len(t)]
            if not years:
                raise RequestInvalid([(("as_of_year",), "no financials, staffing or health rows to take the "
                                       "latest year from: send records or as_of_year", "missing")])
            as_of_year = max(years)
        if as_of_year > self.settings.current_year:
            raise RequestInvalid([(("as_of_year",), f"{as_of_year} is in the future", "future_year")])
        if registered_coops(ds, as_of_year).empty:
            raise RequestInvalid([(("as_of_year",), f"no cooperative in the request is registered and not "
                                   f"dissolved in {as_of_year}", "nothing_to_score")])
        result = score_dataset(ds, as_of_year, self.models, self.settings, capacity=capacity)
        scored = set(result.scores["coop_id"])
        warnings = list(ds.warnings) + [
            f"{c.cooperative.coop_id}: not scored, not registered or already dissolved in {as_of_year}"
            for c in cooperatives if c.cooperative.coop_id not in scored]
        return result, warnings

    def _versions(self) -> dict[str, str]:
        return {task: f"{info['name']}/{info['version']}" for task, info in self.model_info.items()}

    @bentoml.api(route="/score", input_spec=schemas.ScoreRequest, output_spec=schemas.ScoreResponse)
    def score(self, cooperatives: list[schemas.CoopRecords], as_of_year: int | None = None):
        """Score cooperatives from their records: the contract's Scores row per cooperative, with reasons."""
        try:
            result, warnings = self._score(cooperatives, as_of_year, capacity="auto")
        except RequestInvalid as err:
            return _bad_request(err)
        return schemas.ScoreResponse(as_of_year=result.as_of_year, model_versions=self._versions(),
                                     scores=score_rows(result), warnings=warnings)

    @bentoml.api(route="/rank", input_spec=schemas.RankRequest, output_spec=schemas.RankResponse)
    def rank(self, cooperatives: list[schemas.CoopRecords], capacity: int, as_of_year: int | None = None):
        """The outreach order of the cooperatives sent, when the clinic can reach ``capacity`` of them now."""
        try:
            result, warnings = self._score(cooperatives, as_of_year, capacity=capacity)
        except RequestInvalid as err:
            return _bad_request(err)
        rows = score_rows(result)
        return schemas.RankResponse(as_of_year=result.as_of_year, model_versions=self._versions(), scores=rows,
                                    warnings=warnings, capacity=capacity,
                                    outreach=[r["coop_id"] for r in rows if r["action"] == "JANGKAU"])

    @bentoml.api(route="/lookup", input_spec=schemas.LookupRequest, output_spec=schemas.LookupResponse)
    def lookup(self, coop_ids: list[str]):
        """Rows of the latest batch output (klinik score) for these coop_ids; 404 naming those not found."""
        if len(coop_ids) > self.settings.max_coops_per_request:
            return _bad_request(RequestInvalid([(("coop_ids",), f"at most {self.settings.max_coops_per_request} "
                                                 f"coop_ids per request", "too_many")], error="too many coop_ids"))
        try:
            found, missing = self.latest.find(coop_ids)
        except FileNotFoundError:
            return JSONResponse({"error": f"no batch output at {self.latest.path}: run `klinik score` first",
                                 "not_found": coop_ids}, status_code=404)
        if not found:
            return JSONResponse({"error": "no scores for " + ", ".join(missing) + " in the latest batch output",
                                 "not_found": missing}, status_code=404)
        return schemas.LookupResponse(source=str(self.latest.path), scores=found, not_found=missing)

    @bentoml.api(route="/model", input_spec=schemas.ModelRequest, output_spec=schemas.ModelResponse)
    def model(self):
        """The model versions being served, when they were trained, and their holdout metrics."""
        return schemas.ModelResponse(models=self.model_info)


Klinik.add_asgi_middleware(RequestGuard)
