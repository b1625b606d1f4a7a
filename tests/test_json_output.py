"""Every --json document validates against its JSON Schema in bundler/schemas/, and the schemas track the model."""

from __future__ import annotations

import json
import typing
from importlib.metadata import version
from pathlib import Path

import jsonschema
import pytest
from helpers import FIXTURES, run_cli

from basilisk_trace.bundler.plan import model as plan_model
from basilisk_trace.bundler.report.schema import BUNDLE, TRACE, VERIFY, WHY, schema_file
from basilisk_trace.tracer import model as trace_model


def validate(document: dict[str, typing.Any]) -> None:
    schema = json.loads(schema_file(document["schema"]).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def json_of(*args: str | Path, code: int = 0) -> dict[str, typing.Any]:
    done = run_cli(*args, "--json", "-")
    assert done.returncode == code, done.stderr
    document: dict[str, typing.Any] = json.loads(done.stdout)
    return document


class TestRealOutput:
    def test_trace(self) -> None:
        document = json_of("trace", FIXTURES / "optional_natives" / "main.py")
        assert document["schema"] == TRACE and document["modules"]
        validate(document)

    def test_trace_of_a_failing_program(self) -> None:
        document = json_of("trace", FIXTURES / "guard_raise" / "main.py", code=3)
        assert document["outcome"] == "exception"
        validate(document)

    def test_bundle(self, tmp_path: Path) -> None:
        document = json_of("bundle", FIXTURES / "type_checking" / "main.py", "-o", tmp_path / "b.zip")
        assert document["schema"] == BUNDLE
        [canister] = document["canisters"]
        assert canister["files"] and canister["excluded"]
        validate(document)

    def test_verify_ok_and_failing(self, tmp_path: Path) -> None:
        ok = json_of("verify", FIXTURES / "relative_imports" / "main.py")
        assert ok["schema"] == VERIFY and ok["ok"] is True
        validate(ok)
        bundle = tmp_path / "no-exercise.zip"
        assert run_cli("bundle", FIXTURES / "verify_method_plugin" / "main.py", "-o", bundle).returncode == 0
        failing = json_of("verify", "--bundle", bundle, "--exercise", code=1)
        assert failing["ok"] is False and failing["failures"]
        validate(failing)

    def test_why(self) -> None:
        document = json_of("why", "yaml", FIXTURES / "type_checking" / "main.py")
        assert document["schema"] == WHY and document["answers"][0]["module"] == "yaml"
        validate(document)


class TestSchemas:
    @pytest.mark.parametrize(("path", "literal"), [
        (("modules", "kind"), trace_model.Kind),
        (("modules", "how"), trace_model.How),
        (("modules", "found_by"), trace_model.FoundBy),
        (("files", "role"), trace_model.FileRole),
    ])
    def test_trace_vocabularies_are_the_model_s(self, path: tuple[str, str], literal: typing.Any) -> None:
        schema = json.loads(schema_file(TRACE).read_text(encoding="utf-8"))
        items = schema["properties"][path[0]]["items"]["properties"][path[1]]
        assert sorted(items["enum"]) == sorted(typing.get_args(literal))

    def test_bundle_reasons_are_the_plan_s(self) -> None:
        schema = json.loads(schema_file(BUNDLE).read_text(encoding="utf-8"))
        canister = schema["properties"]["canisters"]["items"]["properties"]
        assert sorted(canister["files"]["items"]["properties"]["reason"]["enum"]) == sorted(
            typing.get_args(plan_model.Inclusion))
        assert sorted(canister["excluded"]["items"]["properties"]["reason"]["enum"]) == sorted(
            typing.get_args(plan_model.Exclusion))

    def test_a_document_missing_a_field_is_rejected(self) -> None:
        document = json_of("trace", FIXTURES / "relative_imports" / "main.py")
        del document["modules"][0]["kind"]
        with pytest.raises(jsonschema.ValidationError):
            validate(document)


def test_version_is_the_installed_distribution_s() -> None:
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"basilisk-trace {version('basilisk-trace')}"
