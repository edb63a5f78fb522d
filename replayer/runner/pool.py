"""Every variant's server for the length of a run: started together, proven, stopped together.

``with ServerPool(...) as pool`` starts one managed ``llama-server`` per variant
(arms of a sweep that share a server share it), checks at start that each arm
that should speculate does, and stops every server it started on exit, a
KeyboardInterrupt included. Remote variants (``url:``) are only connected to.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from replayer.errors import ServerStartError, SpecNotLiveError
from replayer.results.summary import ServerInfo, VariantFacts
from replayer.runner.endpoint import Endpoint
from replayer.runner.fingerprint import fingerprint
from replayer.runner.server import ManagedServer
from replayer.scenario.model import Scenario, Variant
from replayer.scenario.sweep import safe_name


@dataclass(frozen=True)
class ServerBuild:
    """The managed servers' binary and model, as found before the run."""

    binary: Path
    origin: str  # where the binary was found (flag, env, PATH, package)
    version: str | None
    package: str | None
    model_path: Path
    model_sha256: str | None


class ServerPool:
    def __init__(self, scenario: Scenario, build: ServerBuild | None, run_dir: Path,
                 log: Callable[[str], None] = lambda m: None, twins: bool = False, lenient: bool = False) -> None:
        self.scenario, self.build, self.run_dir, self.log = scenario, build, run_dir, log
        self.want_twins = twins
        # lenient (replay tune): an arm whose server does not start, or does not speculate when it
        # should, is left out with its reason in ``failed`` instead of failing the whole pool
        self.lenient = lenient
        self.failed: dict[str, str] = {}
        self.endpoints: dict[str, Endpoint] = {}
        # per arm, a second server started with the same command, for the interleaved calibration
        self.twins: dict[str, Endpoint] = {}
        self.facts: dict[str, VariantFacts] = {}
        self._servers: dict[str, ManagedServer] = {}  # server key -> server (sweep arms share one)

    def __enter__(self) -> "ServerPool":
        try:
            for v in self.scenario.variants:
                self._add(v)
            for v in self.scenario.variants if self.want_twins else ():
                twin = self._start(f"{v.name}-calibration", v)
                self.twins[v.name] = Endpoint(v.name, twin.url, twin, self.scenario.server.request_timeout_s)
                _check_at_start(v, self.twins[v.name].speculative())
        except BaseException:
            self.close()
            raise
        return self

    def _add(self, v: Variant) -> None:
        try:
            self.endpoints[v.name] = self._endpoint(v)
            self.facts[v.name] = self._facts(v, self.endpoints[v.name])
            _check_at_start(v, self.facts[v.name].slots_speculative)
        except ServerStartError as exc:
            if not self.lenient:
                raise
            self.endpoints.pop(v.name, None)
            self.failed[v.name] = f"did not start: {str(exc).splitlines()[0]}"
            self.log(f"{v.name}: {self.failed[v.name]}")
        except SpecNotLiveError as exc:
            if not self.lenient:
                raise
            ep = self.endpoints.pop(v.name, None)
            if ep is not None and ep.server is not None:
                ep.server.stop()  # never asked again: its memory back now rather than at the end
            self.failed[v.name] = str(exc)
            self.log(f"{v.name}: not ranked: {exc}")

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for server in self._servers.values():
            server.stop()  # idempotent

    def alive(self, name: str) -> bool:
        server = self.endpoints[name].server
        return server is None or server.alive()

    def detokenizer(self) -> Callable[[list[int]], str | None] | None:
        """A live server's detokenizer (the baseline's when it is up), for divergence windows."""
        names = [self.scenario.baseline, *self.endpoints]
        return next((self.endpoints[n].detokenize for n in names if n in self.endpoints and self.alive(n)), None)

    def final_facts(self) -> dict[str, VariantFacts]:
        """The facts with what the servers say at the end (speculative types per slot)."""
        out = dict(self.facts)
        for name, ep in self.endpoints.items():
            slots = ep.slots() if self.alive(name) else None
            params = slots[0].get("params") if slots else None
            info = out[name].server
            if isinstance(params, dict) and info is not None:
                info = replace(info, speculative_types=params.get("speculative.types"))
                out[name] = replace(out[name], server=info)
        return out

    def _endpoint(self, v: Variant) -> Endpoint:
        timeout = self.scenario.server.request_timeout_s
        if not v.managed:
            return Endpoint(v.name, v.url or "", None, timeout)
        plan = self.scenario.sweep
        arms = {a for arms in plan.servers.values() for a in arms} if plan else set()
        key = plan.server_of(v.name) if plan and v.name in arms else v.name
        if key not in self._servers:
            self._servers[key] = self._start(key, v)
        server = self._servers[key]
        return Endpoint(v.name, server.url, server, timeout)

    def _start(self, key: str, v: Variant) -> ManagedServer:
        assert self.build is not None, "managed variants need a server build"
        label = safe_name(key)
        slots_dir = self.run_dir / "slots" / label
        slots_dir.mkdir(parents=True, exist_ok=True)
        spec = self.scenario.server
        server = ManagedServer(name=key, binary=self.build.binary, model=self.build.model_path,
                               args=[*spec.common_args, *v.args, "--slot-save-path", str(slots_dir)],
                               log_path=self.run_dir / "servers" / f"{label}.log", host=spec.host)
        # the full command (binary and model paths) is in servers.json
        self.log(f"starting {key} on {server.url}: {shlex.join(server.command[7:])}")
        self._servers[key] = server  # registered before start: a failed start is still stopped
        server.start(spec.startup_timeout_s)
        return server

    def _facts(self, v: Variant, ep: Endpoint) -> VariantFacts:
        plan = self.scenario.sweep
        sampling = plan.effective_sampling(v.name) if plan else self.scenario.policy.sampling
        return VariantFacts(name=v.name, server=self._server_info(v, ep), slots_speculative=ep.speculative(),
                            expect_speculation=v.speculates, aa_of=v.aa_of,
                            temperature=float(sampling.get("temperature", 0)))

    def _server_info(self, v: Variant, ep: Endpoint) -> ServerInfo:
        props = ep.get("/props") or {}
        models = ep.get("/v1/models") or {}
        info = ServerInfo(
            url=ep.url, managed=v.managed, args=tuple(v.args), build=props.get("build_info"),
            n_ctx=(props.get("default_generation_settings") or {}).get("n_ctx"),
            total_slots=props.get("total_slots"), model_path=props.get("model_path"),
            chat_template_caps=props.get("chat_template_caps"),
            models=models.get("data") if isinstance(models, dict) else None,
        )
        if ep.server is None or self.build is None:
            return info
        b = self.build
        proc = ep.server.proc
        fp = fingerprint(b.binary, proc.pid if proc is not None else None)
        return replace(info, binary=str(b.binary), binary_origin=b.origin, version=b.version, package=b.package,
                       command=tuple(ep.server.command), log=str(ep.server.log_path),
                       ready_s=round(ep.server.ready_s, 3), model_sha256=b.model_sha256, fingerprint=fp.sha256,
                       build_files={f.name: f.sha256 for f in fp.files}, backends=fp.backends)

    def server_blocks(self) -> dict[str, Any]:
        """servers.json: what each variant's server is, written as soon as all are up."""
        from replayer.results.codec import to_json

        return {name: to_json(f.server) for name, f in self.facts.items()}


def _check_at_start(variant: Variant, slots_speculative: bool | None) -> None:
    """A silent fallback to plain decoding is an error, not a result."""
    if variant.speculates and slots_speculative is False:
        raise SpecNotLiveError(
            f"variant {variant.name}: started with `{' '.join(variant.args)}` but /slots reports speculative=false: "
            "llama-server silently fell back to no speculation (e.g. --spec-type draft-simple needs a draft model "
            "-md; -md needs --spec-type). See the server log for 'failed to initialize speculative decoding'."
        )
