"""The HTTP service for clinic staff: score, rank and look up cooperatives with the champion models.

Start it with ``klinik serve`` (serving/cmd.py), which first copies the registry's champions into the BentoML
store; the service declares them here, so ``bentoml build`` makes a self-contained Bento. Every score goes
through the same ``score_dataset`` as ``klinik score``: the same records give the same numbers.
Routes: POST /score, /rank, /lookup, /model (GET too), and the decision record's GET and POST /decisions
(serving/decisions_api.py, mounted); BentoML adds /livez, /readyz, /metrics and the OpenAPI description at
/docs.json. The clinic staff's page (serving/web: Beranda at /, search, profiles, lists) is mounted beside them and
needs a staff login; the JSON routes keep the API key. /score gives each cooperative the action it would get in its
population (the latest batch run's outreach cut-off, which /model reports), whoever else is in the request; /rank
ranks within the request. Request bodies are never logged; every error answer has one shape, naming the field, not
the value sent (serving/errors.py).
"""

import gc

import bentoml
from starlette.responses import JSONResponse

from klinik.serving import schemas
from klinik.serving.batching import Answer, Batcher, Job
from klinik.serving.bento_store import loaded_models, model_names, served_model_info
from klinik.serving.decisions_api import decisions_app
from klinik.serving.errors import ErrorFormat
from klinik.serving.guard import RequestGuard
from klinik.serving.service_io import LatestScores, RequestInvalid, error_body
from klinik.serving.web.app import NotFoundPages, create_app
from klinik.settings import get_settings

_NAMES = model_names(get_settings())  # reads the environment only: which registered models to declare


@bentoml.service(name="klinik", workers=1, traffic={"timeout": 120})
class Klinik:
    risk_model = bentoml.models.BentoModel(f"{_NAMES['risk']}:latest")
    recovery_model = bentoml.models.BentoModel(f"{_NAMES['recovery']}:latest")

    def __init__(self) -> None:
        self.settings = get_settings()
        self.models = loaded_models(self.risk_model, self.recovery_model, self.settings)
        self.model_info = {
            "risk": served_model_info("risk", self.risk_model),
            "recovery": served_model_info("recovery", self.recovery_model),
        }
        self.latest = LatestScores(self.settings)
        self.batcher = Batcher(self.models, self.settings)  # concurrent requests are scored together
        # Everything loaded so far (libraries, both pipelines) lives as long as the worker: leave it out of the
        # cyclic garbage collector's full passes, which otherwise walk it again and again under load (measured:
        # about 15% of the server's CPU per request, 8 clients; see README).
        gc.freeze()

    def _versions(self) -> dict[str, str]:
        return {task: f"{info['name']}/{info['version']}" for task, info in self.model_info.items()}

    def _response(self, answer: Answer | RequestInvalid, kind: type[schemas.ScoreResponse]):
        if isinstance(answer, RequestInvalid):
            return JSONResponse(error_body(answer), status_code=400)
        if kind is schemas.RankResponse:
            extra = {
                "capacity": answer.capacity,
                "outreach": [r["coop_id"] for r in answer.scores if r["action"] == "JANGKAU"],
            }
        else:
            extra = {"outreach": self._outreach()}
        return kind(
            as_of_year=answer.as_of_year,
            model_versions=self._versions(),
            scores=answer.scores,
            warnings=answer.warnings,
            **extra,
        )

    def _outreach(self) -> dict | None:
        cut = self.latest.cutoff()
        if cut is None:
            return None
        return {
            "as_of_year": cut.as_of_year,
            "threshold": self.settings.jangkau_threshold,
            "capacity": cut.capacity,
            "listed": cut.listed,
            "p_sick_next_cutoff": cut.p_sick_next,
            "coop_id_cutoff": cut.coop_id,
        }

    @bentoml.api(route="/score", input_spec=schemas.ScoreRequest, output_spec=schemas.ScoreResponse)
    async def score(self, cooperatives: list[schemas.CoopRecords], as_of_year: int | None = None):
        """Score cooperatives from their records: the contract's Scores row per cooperative, with reasons. The
        action is the one each cooperative gets in its population (the latest batch run's outreach cut-off)."""
        job = Job(cooperatives, as_of_year, capacity="population", cutoff=self.latest.cutoff())
        answer = await self.batcher.submit(job)
        return self._response(answer, schemas.ScoreResponse)

    @bentoml.api(route="/rank", input_spec=schemas.RankRequest, output_spec=schemas.RankResponse)
    async def rank(self, cooperatives: list[schemas.CoopRecords], capacity: int, as_of_year: int | None = None):
        """The outreach order of the cooperatives sent, when the clinic can reach ``capacity`` of them now."""
        answer = await self.batcher.submit(Job(cooperatives, as_of_year, capacity=capacity))
        return self._response(answer, schemas.RankResponse)

    @bentoml.api(route="/lookup", input_spec=schemas.LookupRequest, output_spec=schemas.LookupResponse)
    def lookup(self, coop_ids: list[str]):
        """Rows of the latest batch output (klinik score) for these coop_ids; 404 naming those not found."""
        limit = self.settings.max_coops_per_request
        if len(coop_ids) > limit:
            too_many = RequestInvalid(
                [(("coop_ids",), f"at most {limit} coop_ids per request", "too_many")], error="too many coop_ids"
            )
            return JSONResponse(error_body(too_many), status_code=400)
        try:
            found, missing = self.latest.find(coop_ids)
        except FileNotFoundError:
            nothing = RequestInvalid([], error="no batch output yet: run `klinik score` first")
            return JSONResponse({**error_body(nothing), "not_found": coop_ids}, status_code=404)
        if not found:
            where = [
                (("coop_ids", i), f"no scores for {c} in the latest batch output", "not_found")
                for i, c in enumerate(coop_ids)
                if c in missing
            ]
            unknown = RequestInvalid(where, error="none of the coop_ids is in the latest batch output")
            return JSONResponse({**error_body(unknown), "not_found": missing}, status_code=404)
        return schemas.LookupResponse(source=self.latest.run, scores=found, not_found=missing)

    @bentoml.api(route="/model", input_spec=schemas.ModelRequest, output_spec=schemas.ModelResponse)
    def model(self):
        """The model versions being served, when they were trained, and their holdout metrics."""
        return schemas.ModelResponse(models=self.model_info, outreach=self._outreach())


Klinik.mount_asgi_app(decisions_app(), path="/")  # answers /decisions only (BentoML mounts passively)
Klinik.mount_asgi_app(create_app(get_settings()), path="/")  # the staff page: /, /cari, /koperasi/..., /daftar/...
Klinik.add_asgi_middleware(ErrorFormat)  # the outermost (first added): the guard's refusals get the one shape too
Klinik.add_asgi_middleware(RequestGuard)
Klinik.add_asgi_middleware(NotFoundPages)
