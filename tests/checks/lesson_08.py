"""Hidden tests for lesson 08 (deploy with Terraform, a SAM template). Messages are written for
the learner.

Nothing here runs Terraform: the checks read terraform/*.tf with python-hcl2 and evaluate the
expressions they need with a small evaluator (variables' defaults or given values, locals,
references to resources and data sources, the functions this course's configuration uses),
computing ARNs the way AWS forms them in moto's account (123456789012, us-east-1).

Exercise 8.3 then proves least privilege: it builds each function's IAM policy from the
learner's aws_iam_policy_document, creates the tables, queue and bucket the configuration names
in moto, and runs the learner's own handlers with credentials that hold exactly that policy,
with moto's IAM enforcement on (`course.learner.iam`); then it tries what the code never does,
which must be denied. No working configuration is written in this file: it ships to learners.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.checks import LearnerError, Project, exercise, question
from course.checks.kit import lambda_context, once

FUNCTIONS = {"api": "handlers.api_gateway_handler.lambda_handler",
             "worker": "handlers.sqs_handler.lambda_handler",
             "importer": "handlers.s3_handler.lambda_handler"}
RUNTIME = "python3.13"
SUPPORTED = ("python3.13", "python3.14", "python3.12")
# --- reading terraform/: every .tf file, evaluated with the variables' defaults -----------------

TF_OPTIONS = None


@dataclass
class Terraform:
    """The learner's terraform/ folder: blocks by kind, and an evaluator for their expressions."""

    root: Path  # the project's root (terraform/ is below it)
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # variable values for this evaluation

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        found = self.resources.get(kind, {}).get(name)
        if found is None:
            raise AssertionError(f'terraform/ declares no resource "{kind}" "{name}"')
        return found

    def with_vars(self, **values: Any) -> Terraform:
        return Terraform(self.root, self.resources, self.data, self.variables, self.locals,
                         {**self.overrides, **values})

    def value(self, expression: Any) -> Any:
        return _evaluate(expression, self)

    def attr(self, block: dict[str, Any], name: str, default: Any = None) -> Any:
        return self.value(block[name]) if name in block else default


def _blocks(value: Any) -> list[dict[str, Any]]:
    """A nested block (e.g. environment { ... }) as a list of dicts, however hcl2 gave it."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]


@once
def _terraform(project: Project) -> Terraform:
    import hcl2
    from hcl2 import SerializationOptions

    folder = project.path("terraform")
    files = sorted(folder.glob("*.tf")) if folder.is_dir() else []
    if not files:
        raise LearnerError("terraform/ has no .tf file yet: run the exercise cells that save them.")
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                   with_comments=False)
    model = Terraform(project.root)
    seen: dict[tuple[str, str, str], str] = {}
    for path in files:
        text = path.read_text(errors="replace")
        if "NotImplementedError" in text:
            raise LearnerError(f"terraform/{path.name} still holds the exercise's placeholder: "
                               "write your configuration in the cell and run it again.")
        try:
            parsed = hcl2.loads(text, serialization_options=options)
        except Exception as exc:  # noqa: BLE001 - any parse error is the learner's to read
            message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise LearnerError(f"terraform/{path.name} is not valid HCL: {message}. "
                               "`terraform fmt` shows where.") from None
        for kind, store in (("resource", model.resources), ("data", model.data)):
            for entry in parsed.get(kind, []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        key = (kind, rtype, name)
                        if key in seen:
                            raise LearnerError(
                                f'{kind} "{rtype}" "{name}" is declared twice (terraform/'
                                f'{seen[key]} and terraform/{path.name}): Terraform refuses the '
                                "whole configuration. Give each block its own name.")
                        seen[key] = path.name
                        store.setdefault(rtype, {})[name] = body
        for entry in parsed.get("variable", []):
            model.variables.update(entry)
        for entry in parsed.get("locals", []):
            model.locals.update(entry)
    return model


# --- an evaluator for the expressions python-hcl2 hands back as "${...}" strings --------------


class Unknown:
    """A value Terraform knows only after apply (or that this evaluator does not model)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"

    __str__ = __repr__


_TOKEN = re.compile(r"""\s*(?:
    (?P<number>\d+(?:\.\d+)?)
  | (?P<string>")
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|[-+*/%<>!?:(){}\[\],.=])
  | (?P<name>[A-Za-z_][\w-]*)
  | (?P<heredoc><<-?\w+)
)""", re.X)


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The raw content of the string literal opening at text[start] ('"'), and the index after
    it; ${...} inside it may hold quotes of their own."""
    out, i, depth = [], start + 1, 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i:i + 2])
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            out.append("${")
            i += 2
            continue
        if char == "}" and depth:
            depth -= 1
        elif char == '"' and not depth:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise ValueError("unterminated string")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, i = [], 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        match = _TOKEN.match(text, i)
        if not match:
            raise ValueError(f"cannot read {text[i:i + 20]!r}")
        kind = match.lastgroup or ""
        if kind == "string":
            start = match.start("string")
            raw, i = _read_string(text, start)
            tokens.append(("string", raw))
            continue
        tokens.append((kind, match.group(kind)))
        i = match.end()
    return tokens


def _unescape(raw: str) -> str:
    return raw.replace('\\"', '"').replace("\\\\", "\\").replace("\\n", "\n")


class _Parser:
    def __init__(self, text: str, model: Terraform, scope: dict[str, Any]) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.model = model
        self.scope = scope

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise ValueError(f"expected {value!r}, found {token[1]!r}")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.conditional()
        if self.peek()[0] != "end":
            raise ValueError(f"unexpected {self.peek()[1]!r}")
        return value

    def conditional(self) -> Any:
        condition = self.binary(0)
        if self.peek()[1] == "?":
            self.take("?")
            yes = self.conditional()
            self.take(":")
            no = self.conditional()
            if isinstance(condition, Unknown):
                return Unknown("conditional")
            return yes if condition else no
        return condition

    LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"),
              ("*", "/", "%"))

    def binary(self, level: int) -> Any:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in self.LEVELS[level]:
            op = self.take()[1]
            right = self.binary(level + 1)
            left = _apply(op, left, right)
        return left

    def unary(self) -> Any:
        if self.peek()[1] == "!":
            self.take()
            value = self.unary()
            return Unknown("!") if isinstance(value, Unknown) else not value
        if self.peek()[1] == "-":
            self.take()
            value = self.unary()
            return Unknown("-") if isinstance(value, Unknown) else -value
        return self.postfix(self.primary())

    def postfix(self, value: Any) -> Any:
        while True:
            if self.peek()[1] == "[":
                self.take("[")
                index = self.conditional()
                self.take("]")
                try:
                    value = value[index]
                except (KeyError, IndexError, TypeError):
                    value = Unknown("index")
            elif self.peek()[1] == "." and self.peek(1)[0] in ("name", "number"):
                self.take(".")
                key = self.take()[1]
                value = value.get(key, Unknown(key)) if isinstance(value, dict) else Unknown(key)
            else:
                return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "string":
            return _template(_unescape(text), self.model, self.scope)
        if text == "(":
            value = self.conditional()
            self.take(")")
            return value
        if text == "[":
            items = []
            while self.peek()[1] != "]":
                items.append(self.conditional())
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("]")
            return items
        if text == "{":
            result = {}
            while self.peek()[1] != "}":
                key_token = self.take()
                key = key_token[1] if key_token[0] != "string" else _unescape(key_token[1])
                self.take() if self.peek()[1] in ("=", ":") else None
                result[key] = self.conditional()
                if self.peek()[1] == ",":
                    self.take(",")
            self.take("}")
            return result
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            if self.peek()[1] == "(":
                return self.call(text)
            return self.reference(text)
        raise ValueError(f"unexpected {text!r}")

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek()[1] != ")":
            args.append(self.conditional())
            if self.peek()[1] in (",", "..."):
                self.take()
        self.take(")")
        return _function_call(name, args, self.model)

    def reference(self, head: str) -> Any:
        parts = [head]
        while self.peek()[1] == "." and self.peek(1)[0] == "name":
            self.take(".")
            parts.append(self.take()[1])
        return _resolve(parts, self.model, self.scope)


def _apply(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        return Unknown(op)
    operations = {"||": lambda: left or right, "&&": lambda: left and right,
                  "==": lambda: left == right, "!=": lambda: left != right,
                  "<": lambda: left < right, ">": lambda: left > right,
                  "<=": lambda: left <= right, ">=": lambda: left >= right,
                  "+": lambda: left + right, "-": lambda: left - right,
                  "*": lambda: left * right, "/": lambda: left / right,
                  "%": lambda: left % right}
    try:
        return operations[op]()
    except TypeError:
        return Unknown(op)


def _template(text: str, model: Terraform, scope: dict[str, Any]) -> Any:
    """A string with ${...} parts; exactly one part and nothing else keeps its type."""
    parts, i, out = [], 0, []
    while True:
        start = text.find("${", i)
        if start < 0:
            out.append(text[i:])
            break
        out.append(text[i:start])
        depth, j = 1, start + 2
        while j < len(text) and depth:
            if text[j] == '"':
                _, j = _read_string(text, j)
                continue
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        expression = text[start + 2:j - 1]
        value = _Parser(expression, model, scope).parse()
        parts.append(value)
        out.append(value)
        i = j
    if len(parts) == 1 and len(out) == 3 and out[0] == "" and out[2] == "":
        return parts[0]
    if any(isinstance(p, Unknown) for p in parts):
        return Unknown("string")
    return "".join(_to_string(p) for p in out)


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _evaluate(value: Any, model: Terraform, scope: dict[str, Any] | None = None) -> Any:
    scope = scope or {}
    if isinstance(value, dict):
        return {k: _evaluate(v, model, scope) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_evaluate(v, model, scope) for v in value]
    if isinstance(value, str) and "${" in value:
        try:
            return _template(value, model, scope)
        except (ValueError, RecursionError):
            return Unknown("expression")
    return value


def _function_call(name: str, args: list[Any], model: Terraform) -> Any:
    if any(isinstance(a, Unknown) for a in args) and name not in ("can", "merge", "jsonencode"):
        return Unknown(name)
    if name == "jsonencode":
        return json.dumps(_plain(args[0]), separators=(",", ":"))
    if name in ("filebase64sha256", "filesha256", "base64sha256", "file", "filebase64"):
        return FileHash(name, _normal_path(str(args[0]), model))
    if name == "merge":
        merged: dict[str, Any] = {}
        for arg in args:
            if isinstance(arg, dict):
                merged.update(arg)
        return merged
    simple = {"length": lambda a: len(a[0]), "max": lambda a: max(a), "min": lambda a: min(a),
              "tostring": lambda a: _to_string(a[0]), "tonumber": lambda a: float(a[0]),
              "toset": lambda a: list(dict.fromkeys(a[0])), "tolist": lambda a: list(a[0]),
              "contains": lambda a: a[1] in a[0], "lower": lambda a: a[0].lower(),
              "format": lambda a: a[0].replace("%s", "{}").replace("%d", "{}").format(*a[1:]),
              "join": lambda a: a[0].join(a[1]), "concat": lambda a: sum(a, []),
              "regex": lambda a: _regex(a[0], a[1]), "coalesce": lambda a: next(
                  (x for x in a if x not in (None, "")), None)}
    if name == "can":
        return not isinstance(args[0], Unknown) and args[0] is not _FAILED
    if name in simple:
        try:
            return simple[name](args)
        except Exception:  # noqa: BLE001 - a failing call is what can() looks for
            return _FAILED
    return Unknown(f"{name}()")


_FAILED = Unknown("failed")


def _regex(pattern: str, text: str) -> Any:
    match = re.search(pattern, text or "")
    if not match:
        raise ValueError("no match")
    return match.group(0)


@dataclass(frozen=True)
class FileHash:
    function: str
    path: str  # relative to the project's root, normalised


def _normal_path(path: str, model: Terraform) -> str:
    import posixpath

    return posixpath.normpath(posixpath.join("terraform", path))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Unknown | FileHash):
        return str(value)
    return value


ACCOUNT = "123456789012"
REGION = "us-east-1"


def _resolve(parts: list[str], model: Terraform, scope: dict[str, Any]) -> Any:
    head = parts[0]
    if head in scope:
        value = scope[head]
        for part in parts[1:]:
            value = value.get(part, Unknown(part)) if isinstance(value, dict) else Unknown(part)
        return value
    if head == "var" and len(parts) >= 2:
        name = parts[1]
        if name in model.overrides:
            value = model.overrides[name]
        elif name in model.variables:
            value = _evaluate(model.variables[name].get("default"), model)
        else:
            return Unknown(f"var.{name}")
        return _walk(value, parts[2:])
    if head == "local" and len(parts) >= 2:
        if parts[1] not in model.locals:
            return Unknown(f"local.{parts[1]}")
        return _walk(_evaluate(model.locals[parts[1]], model, scope), parts[2:])
    if head == "path":
        return "."
    if head == "data" and len(parts) >= 4:
        return _walk(_data_attribute(parts[1], parts[2], parts[3], model), parts[4:])
    if len(parts) >= 3 and head.startswith("aws_"):
        return _walk(_resource_attribute(head, parts[1], parts[2], model), parts[3:])
    return Unknown(".".join(parts))


def _walk(value: Any, rest: list[str]) -> Any:
    for part in rest:
        value = value.get(part, Unknown(part)) if isinstance(value, dict) else Unknown(part)
    return value


def _data_attribute(kind: str, name: str, attribute: str, model: Terraform) -> Any:
    if kind == "aws_caller_identity":
        return {"account_id": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"}.get(
            attribute, Unknown(attribute))
    if kind == "aws_region":
        return REGION if attribute in ("name", "region", "id") else Unknown(attribute)
    if kind == "aws_partition":
        return "aws" if attribute == "partition" else Unknown(attribute)
    if kind == "aws_iam_policy_document" and attribute == "json":
        body = model.data.get(kind, {}).get(name)
        return json.dumps(_policy(body, model)) if body is not None else Unknown("policy")
    return Unknown(f"data.{kind}.{name}.{attribute}")


def _policy(body: dict[str, Any], model: Terraform) -> dict[str, Any]:
    """The IAM policy JSON an aws_iam_policy_document block gives: the statements of its
    source_policy_documents, then its own (replacing a source's of the same sid), then those
    of its override_policy_documents (likewise)."""
    merged: list[dict[str, Any]] = []

    def add(statements: list[Any]) -> None:
        for statement in statements:
            if not isinstance(statement, dict):
                continue
            sid = statement.get("Sid")
            same = [n for n, s in enumerate(merged) if sid and s.get("Sid") == sid]
            if same:
                merged[same[0]] = statement
            else:
                merged.append(statement)

    def documents(key: str) -> list[list[Any]]:
        found = []
        for document in _as_list(model.attr(body, key)):
            try:
                parsed = json.loads(document) if isinstance(document, str) else document
            except ValueError:
                continue
            if isinstance(parsed, dict):
                found.append(_as_list(parsed.get("Statement")))
        return found

    for statements in documents("source_policy_documents"):
        add(statements)
    add(_own_statements(body, model))
    for statements in documents("override_policy_documents"):
        add(statements)
    return {"Version": "2012-10-17", "Statement": merged}


def _own_statements(body: dict[str, Any], model: Terraform) -> list[dict[str, Any]]:
    statements = []
    for block in _blocks(body.get("statement")):
        statement: dict[str, Any] = {"Effect": model.attr(block, "effect", "Allow")}
        for key, field_name in (("Action", "actions"), ("NotAction", "not_actions"),
                                ("Resource", "resources"), ("NotResource", "not_resources")):
            if field_name in block:
                statement[key] = model.value(block[field_name])
        if "sid" in block:
            statement["Sid"] = model.value(block["sid"])
        principals = {}
        for principal in _blocks(block.get("principals")):
            principals[model.attr(principal, "type")] = model.attr(principal, "identifiers")
        if principals:
            statement["Principal"] = principals
        conditions: dict[str, dict[str, Any]] = {}
        for condition in _blocks(block.get("condition")):
            conditions.setdefault(model.attr(condition, "test"), {})[
                model.attr(condition, "variable")] = model.attr(condition, "values")
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    return statements


def _resource_attribute(kind: str, name: str, attribute: str, model: Terraform) -> Any:
    body = model.resources.get(kind, {}).get(name)
    if body is None:
        return Unknown(f"{kind}.{name}")
    if attribute in body and attribute not in ("arn",):
        return model.value(body[attribute])
    def arg(key: str, default: Any = None) -> Any:
        return model.attr(body, key, default)

    partition = "arn:aws"
    if kind == "aws_dynamodb_table":
        table = arg("name")
        return {"arn": f"{partition}:dynamodb:{REGION}:{ACCOUNT}:table/{table}", "id": table,
                "name": table}.get(attribute, Unknown(attribute))
    if kind == "aws_sqs_queue":
        queue = arg("name")
        return {"arn": f"{partition}:sqs:{REGION}:{ACCOUNT}:{queue}", "name": queue,
                "id": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}",
                "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}"}.get(
            attribute, Unknown(attribute))
    if kind == "aws_s3_bucket":
        bucket = arg("bucket")
        return {"arn": f"{partition}:s3:::{bucket}", "id": bucket, "bucket": bucket}.get(
            attribute, Unknown(attribute))
    if kind == "aws_cloudwatch_log_group":
        group = arg("name")
        return {"arn": f"{partition}:logs:{REGION}:{ACCOUNT}:log-group:{group}", "id": group,
                "name": group}.get(attribute, Unknown(attribute))
    if kind == "aws_iam_role":
        role = arg("name")
        return {"arn": f"{partition}:iam::{ACCOUNT}:role/{role}", "id": role,
                "name": role}.get(attribute, Unknown(attribute))
    if kind == "aws_lambda_function":
        function = arg("function_name")
        arn = f"{partition}:lambda:{REGION}:{ACCOUNT}:function:{function}"
        return {"arn": arn, "function_name": function, "id": function, "version": "1",
                "qualified_arn": f"{arn}:1",
                "invoke_arn": f"{partition}:apigateway:{REGION}:lambda:path/2015-03-31/"
                              f"functions/{arn}/invocations"}.get(attribute, Unknown(attribute))
    if kind == "aws_lambda_alias":
        function = arg("function_name")
        alias = arg("name")
        arn = f"{partition}:lambda:{REGION}:{ACCOUNT}:function:{function}:{alias}"
        return {"arn": arn, "name": alias, "function_name": function,
                "invoke_arn": f"{partition}:apigateway:{REGION}:lambda:path/2015-03-31/"
                              f"functions/{arn}/invocations"}.get(attribute, Unknown(attribute))
    if kind == "aws_lambda_layer_version":
        layer = arg("layer_name")
        return {"arn": f"{partition}:lambda:{REGION}:{ACCOUNT}:layer:{layer}:1",
                "layer_arn": f"{partition}:lambda:{REGION}:{ACCOUNT}:layer:{layer}"}.get(
            attribute, Unknown(attribute))
    if kind == "aws_apigatewayv2_api":
        api_id = f"api-{name}"
        execution = f"{partition}:execute-api:{REGION}:{ACCOUNT}:{api_id}"
        return {"id": api_id, "execution_arn": execution,
                "api_endpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com"}.get(
            attribute, Unknown(attribute))
    if kind == "aws_apigatewayv2_integration" and attribute == "id":
        return f"integration-{name}"
    return Unknown(f"{kind}.{name}.{attribute}")


# --- shared ------------------------------------------------------------------------------------


def _function_block(model: Terraform, name: str) -> dict[str, Any]:
    try:
        return model.resource("aws_lambda_function", name)
    except AssertionError:
        raise AssertionError(
            f'terraform/ has no resource "aws_lambda_function" "{name}": the exercise names the '
            "three functions api, worker and importer") from None


def _handler_exists(project: Project, handler: Any) -> str:
    """'' when handler ('module.path.function') names a function defined in src/, else why."""
    if not isinstance(handler, str) or "." not in handler:
        return f"the handler is {handler!r}, not module.function"
    module, _, function = handler.rpartition(".")
    path = project.src.joinpath(*module.split(".")).with_suffix(".py")
    if module.startswith("src."):
        return (f"{handler!r} starts with src.: Lambda imports from the zip's root, which is the "
                "content of src/")
    if not path.is_file():
        return f"{handler!r} names src/{module.replace('.', '/')}.py, which does not exist"
    if not re.search(rf"^(?:async\s+)?def {re.escape(function)}\(|^{re.escape(function)}\s*=",
                     path.read_text(errors="replace"), re.M):
        return f"src/{module.replace('.', '/')}.py has no function {function!r}"
    return ""


def _dynamic(block: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [entry[name] for entry in _blocks(block.get("dynamic")) if name in entry]


def _with_attribute(model: Terraform, kind: str, name: str, key: str, value: Any) -> Terraform:
    """The same configuration with one argument of one resource replaced (e.g. the worker's
    timeout): what depends on it by reference follows, a value written out does not."""
    resources = {k: dict(v) for k, v in model.resources.items()}
    if name in resources.get(kind, {}):
        resources[kind][name] = {**resources[kind][name], key: value}
    return Terraform(model.root, resources, model.data, model.variables, model.locals,
                     model.overrides)


def _refers(expression: Any, target: str) -> bool:
    """Whether an unevaluated expression mentions `target` (e.g. 'aws_lambda_alias.api')."""
    return re.search(rf"\b{re.escape(target)}\b", json.dumps(expression)) is not None


# --- 8.1 ---------------------------------------------------------------------------------------

FUNCTIONS_TF = "terraform/functions.tf"
ex81 = exercise("8.1", "The functions, their layer, logs and aliases", files=[FUNCTIONS_TF])


@ex81.behaviour("three functions, api, worker and importer, on python3.13 and arm64 by default",
                hint=["Lesson 08, 'The function': a supported runtime (the guideline's python3.9 "
                      "is gone) and the architecture of lesson 07's build.",
                      "Take the architecture from var.architecture (default arm64) and write the "
                      "runtime lesson 07 built for."])
def _(project: Project) -> None:
    model = _terraform(project)
    for name in FUNCTIONS:
        block = _function_block(model, name)
        runtime = model.attr(block, "runtime")
        assert runtime == RUNTIME, (
            f"aws_lambda_function.{name} runs {runtime!r}; lesson 07 built the zip for "
            f"{RUNTIME} (python3.9 and 3.10 are deprecated, and the compiled wheels are cp313)")
        architectures = model.attr(block, "architectures")
        assert architectures == ["arm64"], (
            f"aws_lambda_function.{name} has architectures {architectures!r} by default; the "
            "course builds for arm64 (set it from var.architecture)")
        assert model.with_vars(architecture="x86_64").attr(block, "architectures") == ["x86_64"], (
            f"aws_lambda_function.{name}'s architecture does not follow var.architecture: a "
            "build for x86_64 would be deployed as arm64")


@ex81.behaviour("memory and timeout come from var.memory_size and var.timeout",
                hint=["Lesson 08, exercise 8.1: memory and timeout differ between environments, "
                      "so they are variables (variables.tf), for every function.",
                      "Set memory_size and timeout of each of the three functions from the two "
                      "variables, not from numbers."])
def _(project: Project) -> None:
    model = _terraform(project)
    variant = model.with_vars(memory_size=1024, timeout=42)
    for name in FUNCTIONS:
        block = _function_block(model, name)
        for key, variable, wanted in (("memory_size", "memory_size", 1024),
                                      ("timeout", "timeout", 42)):
            actual = variant.attr(block, key)
            assert actual == wanted, (
                f"with var.{variable} = {wanted}, aws_lambda_function.{name}'s {key} is "
                f"{actual!r}: it does not follow the variable, so another environment's value "
                "never reaches it")


@ex81.behaviour("each handler names its function in the zip: module path from src/, no src.",
                hint=["Lesson 08, 'The function': Lambda imports the handler from the zip's "
                      "root, which is the content of src/ (lesson 07).",
                      "api runs the users API, worker the SQS handler, importer the S3 handler, "
                      "each module.lambda_handler."])
def _(project: Project) -> None:
    model = _terraform(project)
    for name, expected in FUNCTIONS.items():
        handler = model.attr(_function_block(model, name), "handler")
        problem = _handler_exists(project, handler)
        assert not problem, f"aws_lambda_function.{name}: {problem}"
        assert handler == expected, (
            f"aws_lambda_function.{name} runs {handler!r}; the exercise asks for {expected!r}")


def _zip_of(model: Terraform, block: dict[str, Any], what: str) -> str:
    filename = model.attr(block, "filename")
    assert isinstance(filename, str), f"{what} has no filename (the zip of lesson 07)"
    import posixpath

    return posixpath.normpath(posixpath.join("terraform", filename))


@ex81.behaviour("the code and the layer come from lesson 07's zips, each with its source_code_hash",
                hint=["Lesson 08, 'The function': Terraform uploads new code only when "
                      "source_code_hash changes, and it must be the hash of the file it uploads.",
                      "filename points at ../build/function.zip (relative to terraform/); "
                      "filebase64sha256() of the same path; the layer likewise, in layers."])
def _(project: Project) -> None:
    model = _terraform(project)
    layers = model.resources.get("aws_lambda_layer_version", {})
    assert layers, 'terraform/ has no "aws_lambda_layer_version": the layer of lesson 07'
    layer_name, layer = next(iter(layers.items()))
    layer_zip = _zip_of(model, layer, f"aws_lambda_layer_version.{layer_name}")
    assert layer_zip == "build/layer.zip", (
        f"the layer is uploaded from {layer_zip}; lesson 07 builds build/layer.zip")
    digest = model.attr(layer, "source_code_hash")
    assert isinstance(digest, FileHash) and digest.path == layer_zip and \
        digest.function in ("filebase64sha256",), (
        f"the layer's source_code_hash is {digest}: it must be filebase64sha256() of the file it "
        "uploads, or Terraform cannot tell when the layer changed")
    layer_arn = _resource_attribute("aws_lambda_layer_version", layer_name, "arn", model)
    for name in FUNCTIONS:
        block = _function_block(model, name)
        code = _zip_of(model, block, f"aws_lambda_function.{name}")
        assert code == "build/function.zip", (
            f"aws_lambda_function.{name} uploads {code}; lesson 07 builds build/function.zip")
        digest = model.attr(block, "source_code_hash")
        assert isinstance(digest, FileHash) and digest.path == code and \
            digest.function == "filebase64sha256", (
            f"aws_lambda_function.{name}'s source_code_hash is {digest}: it must be "
            "filebase64sha256() of the same zip, or a new build is never deployed (or a stale "
            "hash redeploys every time)")
        assert layer_arn in (model.attr(block, "layers") or []), (
            f"aws_lambda_function.{name} does not use the layer: its dependencies are not in "
            "function.zip, so every import of Powertools would fail")


@ex81.behaviour("each function is published and has a live alias on its published version",
                hint=["Lesson 08, 'Versions and aliases': publish = true makes every code or "
                      "configuration change a new numbered version.",
                      "An aws_lambda_alias named live per function, whose function_version is "
                      "that function's version attribute."])
def _(project: Project) -> None:
    model = _terraform(project)
    aliases = model.resources.get("aws_lambda_alias", {})
    for name in FUNCTIONS:
        block = _function_block(model, name)
        assert model.attr(block, "publish") is True, (
            f"aws_lambda_function.{name} is not published (publish = true): without versions, "
            "an alias can only point at $LATEST, and a rollback has nothing to go back to")
        mine = [alias for alias in aliases.values()
                if model.attr(alias, "function_name") == model.attr(block, "function_name")]
        assert mine, f"aws_lambda_function.{name} has no aws_lambda_alias"
        alias = mine[0]
        assert model.attr(alias, "name") == "live", (
            f"the alias of aws_lambda_function.{name} is named {model.attr(alias, 'name')!r}; "
            "the exercise (and the event sources of 8.2) use live")
        assert _refers(alias.get("function_version"), f"aws_lambda_function.{name}.version"), (
            f"the live alias of {name} does not point at aws_lambda_function.{name}.version: it "
            "would not follow a new version (a fixed number, or $LATEST, is never released)")


@ex81.behaviour("environment: Powertools' service and namespace, and the tables by reference",
                hint=["Lesson 08, 'The function': the code reads POWERTOOLS_SERVICE_NAME, "
                      "POWERTOOLS_METRICS_NAMESPACE and the table names from its environment.",
                      "Refer to the tables (aws_dynamodb_table.users.name): a name typed twice "
                      "drifts apart."])
def _(project: Project) -> None:
    model = _terraform(project)
    users = _resource_attribute("aws_dynamodb_table", "users", "name", model)
    idempotency = _resource_attribute("aws_dynamodb_table", "idempotency", "name", model)
    needed = {"api": {"USERS_TABLE": users}, "worker": {"USERS_TABLE": users,
                                                         "IDEMPOTENCY_TABLE": idempotency},
              "importer": {"USERS_TABLE": users}}
    renamed = _with_attribute(model, "aws_dynamodb_table", "users", "name", "renamed-users")
    renamed = _with_attribute(renamed, "aws_dynamodb_table", "idempotency", "name",
                              "renamed-idempotency")
    moved = {"USERS_TABLE": "renamed-users", "IDEMPOTENCY_TABLE": "renamed-idempotency"}
    services: dict[str, str] = {}
    for name, tables in needed.items():
        block = _function_block(model, name)
        environments = _blocks(block.get("environment"))
        variables = model.value(environments[0].get("variables")) if environments else None
        assert isinstance(variables, dict), f"aws_lambda_function.{name} has no environment"
        for key in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
            assert isinstance(variables.get(key), str) and variables[key], (
                f"aws_lambda_function.{name} does not set {key}: Powertools would log and "
                "publish metrics under a default ('service_undefined', no namespace)")
        services[name] = variables["POWERTOOLS_SERVICE_NAME"]
        after = renamed.value(environments[0].get("variables"))
        for key, table in tables.items():
            assert variables.get(key) == table, (
                f"aws_lambda_function.{name} sets {key} to {variables.get(key)!r}; the table "
                f"is {table!r}. The code would use the wrong table (or its default)")
            assert isinstance(after, dict) and after.get(key) == moved[key], (
                f"aws_lambda_function.{name} writes {key} out: renamed, the table would be "
                f"{moved[key]!r} while the function still reads {after.get(key)!r} (refer to "
                "the table resource, so a rename changes both)")
    shared = [s for s in services.values() if list(services.values()).count(s) > 1]
    assert not shared, (
        f"the functions share POWERTOOLS_SERVICE_NAME {shared[0]!r} ({services}): their logs, "
        "traces and metrics could not be told apart. Give each function its own")


@ex81.behaviour("JSON logs into a log group of its own, /aws/lambda/<function name>, with a "
                "retention",
                hint=["Lesson 08, 'Logs': Lambda creates a log group that keeps logs forever "
                      "unless Terraform creates it first, with retention_in_days.",
                      "One aws_cloudwatch_log_group per function, named /aws/lambda/ and the "
                      "function's name; logging_config with log_format JSON and that log_group."])
def _(project: Project) -> None:
    model = _terraform(project)
    groups = model.resources.get("aws_cloudwatch_log_group", {})
    for name in FUNCTIONS:
        block = _function_block(model, name)
        function_name = model.attr(block, "function_name")
        expected = f"/aws/lambda/{function_name}"
        mine = [g for g in groups.values() if model.attr(g, "name") == expected]
        assert mine, (f"no aws_cloudwatch_log_group named {expected}: Lambda would create it "
                      "itself, and keep its logs forever")
        retention = model.attr(mine[0], "retention_in_days")
        assert isinstance(retention, int) and retention > 0, (
            f"the log group {expected} has no retention_in_days: CloudWatch keeps (and bills) "
            "the logs forever")
        kept = model.with_vars(log_retention_days=365).attr(mine[0], "retention_in_days")
        assert kept == 365, (
            f"with var.log_retention_days = 365, the log group {expected} keeps {kept!r} days: "
            "its retention does not follow the variable (production's year never reaches it)")
        configs = _blocks(block.get("logging_config"))
        assert configs and model.attr(configs[0], "log_format") == "JSON", (
            f"aws_lambda_function.{name} has no logging_config with log_format JSON")
        assert model.attr(configs[0], "log_group") == expected, (
            f"aws_lambda_function.{name}'s logging_config writes to "
            f"{model.attr(configs[0], 'log_group')!r}, not its log group {expected}")


@ex81.behaviour("provisioned concurrency and a VPC only when a variable asks for them",
                hint=["Lesson 08, 'Provisioned concurrency and VPCs': both cost money or "
                      "cold-start time, so the default is none.",
                      "count on the provisioned concurrency config (0 when the variable is 0), on "
                      "the API's alias; a dynamic vpc_config block whose for_each is empty "
                      "without subnets."])
def _(project: Project) -> None:
    model = _terraform(project)
    configs = model.resources.get("aws_lambda_provisioned_concurrency_config", {})
    assert configs, "terraform/ has no aws_lambda_provisioned_concurrency_config for the API"
    config = next(iter(configs.values()))
    assert _refers(config.get("qualifier"), "aws_lambda_alias.api"), (
        "the provisioned concurrency is not on the API's live alias (qualifier): it applies to "
        "a version or an alias, and clients call the alias")
    api = _function_block(model, "api")
    target = model.attr(config, "function_name")
    assert target in (model.attr(api, "function_name"), _function_arn(model, "api")), (
        f"the provisioned concurrency's function_name is {target!r}, not the API's function: "
        "it would keep another function's environments warm")
    executions = model.with_vars(provisioned_concurrency=3).attr(
        config, "provisioned_concurrent_executions")
    assert executions == 3, (
        f"with var.provisioned_concurrency = 3, the config keeps {executions!r} environments: "
        "the number should come from the variable that turns it on")
    count = model.attr(config, "count", 1)
    assert count == 0, (
        f"with the variables' defaults, provisioned concurrency is created ({count}): it is "
        "billed every hour it exists, so the default should be none")
    counts = [model.with_vars(**{v: 2}).attr(config, "count", 1) for v in model.variables]
    assert 1 in counts, ("no variable turns the provisioned concurrency on: its count should "
                         "follow a variable such as provisioned_concurrency")
    for name in FUNCTIONS:
        block = _function_block(model, name)
        assert "vpc_config" not in block, (
            f"aws_lambda_function.{name} has a fixed vpc_config block: it must exist only when "
            "subnets are given (a dynamic block)")
        dynamic = _dynamic(block, "vpc_config")
        assert dynamic, f"aws_lambda_function.{name} has no dynamic vpc_config block"
        empty = model.attr(dynamic[0], "for_each")
        assert empty in ([], {}, None), (
            f"aws_lambda_function.{name} joins a VPC by default: its dynamic vpc_config's "
            "for_each is not empty without subnets")
        given = [model.with_vars(**{v: ["subnet-0abc"]}).attr(dynamic[0], "for_each")
                 for v in model.variables]
        assert any(g not in ([], {}, None) and not isinstance(g, Unknown) for g in given), (
            f"no variable puts aws_lambda_function.{name} in a VPC: the dynamic block's for_each "
            "should follow the subnets variable")


@ex81.behaviour("the API can run lesson 07's container image, pinned by digest, instead of the zip",
                hint=["Lesson 08, 'The container-image variant': package_type Image with an "
                      "image_uri, and no handler, runtime, filename or layers.",
                      "A variable (null by default) holds the image URI; its validation refuses "
                      "anything that is not pinned by @sha256: digest."])
def _(project: Project) -> None:
    model = _terraform(project)
    block = _function_block(model, "api")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api@sha256:" + "ab" * 32
    names = [v for v in model.variables
             if model.with_vars(**{v: image}).attr(block, "package_type") == "Image"]
    assert names, ("no variable switches aws_lambda_function.api to package_type Image: the "
                   "container-image variant of lesson 07 cannot be deployed")
    variant = model.with_vars(**{names[0]: image})
    assert variant.attr(block, "image_uri") == image, "the image variant has no image_uri"
    for key in ("handler", "runtime", "filename", "layers"):
        assert variant.attr(block, key) is None, (
            f"with the image, aws_lambda_function.api still sets {key}: an image function takes "
            "its handler and runtime from the image (AWS refuses both)")
    checks = _blocks(model.variables[names[0]].get("validation"))
    for tag in ("123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api:latest",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/users-api:3.13"):
        refused = any(model.with_vars(**{names[0]: tag}).attr(c, "condition") is False
                      for c in checks)
        assert refused, (f"var.{names[0]} accepts {tag.rsplit('/', 1)[-1]!r}: a tag moves, "
                         "so validate that the URI is pinned by @sha256: digest")


# --- 8.2 ---------------------------------------------------------------------------------------

EVENTS_TF = "terraform/events.tf"
ex82 = exercise("8.2", "What invokes the functions: queue, bucket, HTTP API", files=[EVENTS_TF])


def _alias_arn(model: Terraform, name: str, attribute: str = "arn") -> str:
    for alias_name, alias in model.resources.get("aws_lambda_alias", {}).items():
        function = _function_block(model, name)
        if model.attr(alias, "function_name") == model.attr(function, "function_name"):
            return _resource_attribute("aws_lambda_alias", alias_name, attribute, model)
    raise AssertionError(f"aws_lambda_function.{name} has no alias (exercise 8.1)")


def _the_queue(model: Terraform) -> tuple[str, dict[str, Any]]:
    """The queue the worker reads: the one its event source mapping names."""
    worker = _alias_arn(model, "worker")
    for mapping in model.resources.get("aws_lambda_event_source_mapping", {}).values():
        if model.attr(mapping, "function_name") in (worker, _function_arn(model, "worker"),
                                                    model.attr(_function_block(model, "worker"),
                                                               "function_name")):
            source = model.attr(mapping, "event_source_arn")
            for name, queue in model.resources.get("aws_sqs_queue", {}).items():
                if _resource_attribute("aws_sqs_queue", name, "arn", model) == source:
                    return name, queue
    raise AssertionError("no aws_lambda_event_source_mapping reads an aws_sqs_queue into the "
                         "worker")


def _function_arn(model: Terraform, name: str) -> str:
    return _resource_attribute("aws_lambda_function", name, "arn", model)


@ex82.behaviour("an event source mapping from the sign-ups queue to the worker's live alias, "
                "with ReportBatchItemFailures",
                hint=["Lesson 08, 'The queue': the mapping polls the queue and invokes the "
                      "function; lesson 05's partial batch responses work only if it asks "
                      "for them.",
                      "function_name is the alias's ARN; function_response_types lists "
                      "ReportBatchItemFailures."])
def _(project: Project) -> None:
    model = _terraform(project)
    mappings = model.resources.get("aws_lambda_event_source_mapping", {})
    assert mappings, "terraform/ has no aws_lambda_event_source_mapping"
    _, mapping = next(iter(mappings.items()))
    target = model.attr(mapping, "function_name")
    assert target == _alias_arn(model, "worker"), (
        f"the event source mapping invokes {target!r}; it should invoke the worker's live alias "
        "(its ARN), so a release moves the queue's traffic with the alias")
    assert "ReportBatchItemFailures" in (model.attr(mapping, "function_response_types") or []), (
        "the mapping does not ask for ReportBatchItemFailures: the worker's partial batch "
        "response (lesson 05) is ignored, and one bad message makes the whole batch retry")
    assert model.attr(mapping, "enabled", True) is not False, (
        "the mapping is created disabled (enabled = false): Lambda never polls the queue, and "
        "the sign-ups wait there until their retention ends")
    batch = model.attr(mapping, "batch_size", 10)
    window = model.attr(mapping, "maximum_batching_window_in_seconds", 0)
    assert not (isinstance(batch, int | float) and batch > 10) or (
        isinstance(window, int | float) and window >= 1), (
        f"batch_size is {batch} without maximum_batching_window_in_seconds: AWS refuses a "
        "batch above 10 from SQS unless the batching window is at least 1 second")
    _the_queue(model)


@ex82.behaviour("the sign-ups queue hands a message to its dead-letter queue after a few receives",
                hint=["Lesson 08, 'The queue': the redrive policy is set on the source queue, "
                      "not on the mapping.",
                      "redrive_policy = jsonencode({deadLetterTargetArn = <the DLQ's arn>, "
                      "maxReceiveCount = ...}) — a handful of receives, not one."])
def _(project: Project) -> None:
    model = _terraform(project)
    name, queue = _the_queue(model)
    raw = model.attr(queue, "redrive_policy")
    try:
        policy = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        policy = None
    assert isinstance(policy, dict), (
        f"aws_sqs_queue.{name} has no redrive_policy: a message that always fails comes back "
        "forever (until its retention ends) and is then lost")
    target = policy.get("deadLetterTargetArn")
    queues = {_resource_attribute("aws_sqs_queue", n, "arn", model): n
              for n in model.resources.get("aws_sqs_queue", {})}
    assert target in queues and queues[target] != name, (
        f"the redrive policy sends messages to {target!r}, which is not another aws_sqs_queue "
        "of the configuration")
    receives = policy.get("maxReceiveCount")
    if isinstance(receives, str) and receives.strip().isdigit():
        receives = int(receives)  # SQS reads the redrive policy's numbers from strings too
    assert isinstance(receives, int | float) and 2 <= receives <= 20, (
        f"maxReceiveCount is {receives!r}: 1 sends a message to the DLQ at its first failure "
        "(no retry at all); use a handful")


@ex82.behaviour("the queue's visibility timeout is at least six times the worker's timeout",
                hint=["Lesson 08, 'The queue': AWS asks for at least six times the function's "
                      "timeout, so a message is not received again while Lambda still works on it.",
                      "Compute it from the worker's timeout (aws_lambda_function.worker.timeout): "
                      "a number written out breaks when the timeout changes."])
def _(project: Project) -> None:
    model = _terraform(project)
    variants = [model, model.with_vars(timeout=30), model.with_vars(timeout=60),
                # the worker's own timeout changed, and nothing else: what follows it by
                # reference keeps up; a value computed from anything else does not
                _with_attribute(model, "aws_lambda_function", "worker", "timeout", 45),
                _with_attribute(model, "aws_lambda_function", "worker", "timeout", 120)]
    for variant in variants:
        name, queue = _the_queue(variant)
        worker = variant.attr(_function_block(variant, "worker"), "timeout", 3)
        visibility = variant.attr(queue, "visibility_timeout_seconds", 30)
        assert isinstance(visibility, int | float) and visibility >= 6 * worker, (
            f"with the worker's timeout at {worker} s, aws_sqs_queue.{name}'s visibility timeout "
            f"is {visibility} s; it must be at least {6 * worker} s. Compute it from the "
            "worker's own timeout, so any change to it (and only it) carries over")


def _notification(model: Terraform) -> dict[str, Any]:
    notifications = model.resources.get("aws_s3_bucket_notification", {})
    assert notifications, "terraform/ has no aws_s3_bucket_notification on the imports bucket"
    return next(iter(notifications.values()))


@ex82.behaviour("the bucket tells the importer's live alias about new objects under imports/, "
                "only there",
                hint=["Lesson 08, 'The bucket': the importer writes its reports under "
                      "reports/; a notification for the whole bucket would invoke it again for "
                      "each report (lesson 06's loop).",
                      "One lambda_function block: the alias's ARN, s3:ObjectCreated:* events, "
                      "filter_prefix imports/."])
def _(project: Project) -> None:
    model = _terraform(project)
    notification = _notification(model)
    bucket = model.attr(notification, "bucket")
    assert bucket == _resource_attribute("aws_s3_bucket", "imports", "id", model), (
        f"the notification is on bucket {bucket!r}, not aws_s3_bucket.imports")
    targets = _blocks(notification.get("lambda_function"))
    assert targets, "the notification has no lambda_function block"
    for target in targets:
        arn = model.attr(target, "lambda_function_arn")
        assert arn == _alias_arn(model, "importer"), (
            f"the notification invokes {arn!r}; it should invoke the importer's live alias")
        events = set(model.attr(target, "events") or [])
        created = {"s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
                   "s3:ObjectCreated:CompleteMultipartUpload"}
        assert "s3:ObjectCreated:*" in events or created <= events, (
            f"the notification's events are {sorted(events)}: an object can be created by a "
            "plain upload, a multipart one (the CLI's for files above 8 MB), a form or a copy; "
            "s3:ObjectCreated:* covers them all")
        prefix = model.attr(target, "filter_prefix")
        assert prefix == "imports/", (
            f"a lambda_function block of the notification has filter_prefix {prefix!r}: "
            "outside imports/, the reports the importer writes under reports/ invoke it again")


def _permissions(model: Terraform, principal: str) -> list[dict[str, Any]]:
    return [p for p in model.resources.get("aws_lambda_permission", {}).values()
            if model.attr(p, "principal") == principal]


def _permission_targets(model: Terraform, permission: dict[str, Any]) -> str:
    """The ARN a permission is for: function (by name or ARN) plus its qualifier."""
    function = model.attr(permission, "function_name")
    qualifier = model.attr(permission, "qualifier")
    for name in FUNCTIONS:
        block = _function_block(model, name)
        if function in (model.attr(block, "function_name"), _function_arn(model, name)):
            return _function_arn(model, name) + (f":{qualifier}" if qualifier else "")
    return str(function)


@ex82.behaviour("S3 may invoke the importer's alias: a permission for s3.amazonaws.com from "
                "this bucket only",
                hint=["Lesson 08, 'The bucket': a function's resource policy says who may invoke "
                      "it; S3 refuses a notification to a function it may not call.",
                      "aws_lambda_permission: principal s3.amazonaws.com, the alias as qualifier, "
                      "source_arn the bucket's ARN; the notification depends_on it."])
def _(project: Project) -> None:
    model = _terraform(project)
    permissions = _permissions(model, "s3.amazonaws.com")
    assert permissions, "no aws_lambda_permission lets s3.amazonaws.com invoke the importer"
    bucket = _resource_attribute("aws_s3_bucket", "imports", "arn", model)
    for permission in permissions:
        source = model.attr(permission, "source_arn")
        assert source == bucket, (
            f"a permission for s3.amazonaws.com (on {_permission_targets(model, permission)!r}) "
            f"has source_arn {source!r}: without the bucket's ARN, any bucket (in any account) "
            "could invoke the function. Every permission for S3 names its bucket")
    mine = [p for p in permissions
            if _permission_targets(model, p) == _alias_arn(model, "importer")]
    assert mine, (
        f"the permissions for S3 are for {[_permission_targets(model, p) for p in permissions]}, "
        "not the importer's live alias, which the notification invokes")
    permission = mine[0]
    assert model.attr(permission, "action") == "lambda:InvokeFunction", (
        "the permission's action must be lambda:InvokeFunction")
    depends = json.dumps(_notification(model).get("depends_on", []))
    assert "aws_lambda_permission" in depends, (
        "the notification does not depend_on the permission: Terraform may create it first, and "
        "S3 refuses a destination it cannot invoke")


def _route_path(path: str) -> str:
    """/users/{user_id}, /users/<user_id> and /users/{proxy+} all as /users/{}."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path.strip()).rstrip("/") or "/"


def _served(project: Project) -> set[tuple[str, str]]:
    """(METHOD, path) of each route the users API's resolver serves (empty if none found)."""
    path = project.src / "handlers" / "api_gateway_handler.py"
    text = path.read_text(errors="replace") if path.is_file() else ""
    return {(method.upper(), _route_path(route)) for method, route in re.findall(
        r"@\w+\.(get|post|put|delete|patch)\(\s*[\"']([^\"']+)[\"']", text)}


def _unrouted(project: Project, routes: list[tuple[str, str]]) -> list[str]:
    """What the resolver serves that no (method, path) route lets through."""
    given = {(m.upper(), _route_path(p)) for m, p in routes}
    return sorted(f"{m} {p.replace('{}', '{user_id}')}" for m, p in _served(project)
                  if (m, p) not in given and ("ANY", p) not in given)


def _payload_for(project: Project) -> str:
    path = project.src / "handlers" / "api_gateway_handler.py"
    text = path.read_text(errors="replace") if path.is_file() else ""
    if "APIGatewayHttpResolver" in text:
        return "2.0"
    if "APIGatewayRestResolver" in text:
        return "1.0"
    raise LearnerError("src/handlers/api_gateway_handler.py has no Powertools resolver "
                       "(lessons 02-04): the API's payload format follows it")


@ex82.behaviour("an HTTP API integration on the API's alias, in the payload format of its resolver",
                hint=["Lesson 08, 'The HTTP API': APIGatewayRestResolver reads the 1.0 event, "
                      "APIGatewayHttpResolver the 2.0 one; an HTTP API sends 2.0 unless told "
                      "otherwise (lesson 02).",
                      "integration_type AWS_PROXY, integration_uri the alias's invoke_arn, and "
                      "payload_format_version set to what your handler reads."])
def _(project: Project) -> None:
    model = _terraform(project)
    integrations = model.resources.get("aws_apigatewayv2_integration", {})
    assert integrations, "terraform/ has no aws_apigatewayv2_integration"
    integration = next(iter(integrations.values()))
    uri = model.attr(integration, "integration_uri")
    assert uri == _alias_arn(model, "api", "invoke_arn"), (
        f"the integration calls {uri!r}; it should call the API's live alias (its invoke_arn)")
    expected = _payload_for(project)
    payload = model.attr(integration, "payload_format_version", "1.0")
    assert payload == expected, (
        f"the integration sends payload format {payload}, and your handler's resolver reads "
        f"{expected}: every request would fail inside the resolver")
    keys = []
    integration_ids = {"integrations/" + str(_resource_attribute(
        "aws_apigatewayv2_integration", n, "id", model)) for n in integrations}
    for route in model.resources.get("aws_apigatewayv2_route", {}).values():
        for_each = model.attr(route, "for_each")
        items = for_each if isinstance(for_each, list) else list((for_each or {}).values()) \
            if isinstance(for_each, dict) else [None]
        for item in items:
            scope = {"each": {"key": item, "value": item}}
            key = _evaluate(route.get("route_key"), model, scope)
            target = _evaluate(route.get("target"), model, scope)
            assert target in integration_ids, (
                f"the route {key} has target {target!r}: a route answers only through the "
                "integration it names (integrations/<its id>); without one, nothing reaches "
                "the function")
            keys.append(key)
    paths = {str(k).split(" ", 1)[-1] for k in keys}
    assert "/users" in paths and any(re.fullmatch(r"/users/\{\w+\+?\}", p) for p in paths), (
        f"the API's routes are {sorted(map(str, keys))}: /users and /users/{{user_id}} must "
        "reach the function")
    missing = _unrouted(project, [tuple(str(k).split(" ", 1)) for k in keys if " " in str(k)])
    assert not missing, (
        f"your resolver serves {', '.join(missing)}, which no route of the API lets through "
        f"(routes: {sorted(map(str, keys))}): API Gateway answers 404 before the function runs")


@ex82.behaviour("API Gateway may invoke the API's alias, from this API only",
                hint=["Lesson 08, 'The HTTP API': as for S3, a permission on the alias.",
                      "principal apigateway.amazonaws.com, the alias as qualifier, source_arn "
                      "the API's execution_arn followed by /*/*."])
def _(project: Project) -> None:
    model = _terraform(project)
    permissions = _permissions(model, "apigateway.amazonaws.com")
    assert permissions, "no aws_lambda_permission lets apigateway.amazonaws.com invoke the API"
    apis = [_resource_attribute("aws_apigatewayv2_api", n, "execution_arn", model)
            for n in model.resources.get("aws_apigatewayv2_api", {})]
    for permission in permissions:
        source = str(model.attr(permission, "source_arn"))
        assert any(source.startswith(a + "/") for a in apis), (
            f"a permission for apigateway.amazonaws.com (on "
            f"{_permission_targets(model, permission)!r}) has source_arn {source!r}: without the "
            "API's execution ARN, any API Gateway API could invoke the function. Every "
            "permission for API Gateway names its API")
    assert any(_permission_targets(model, p) == _alias_arn(model, "api") for p in permissions), (
        f"the permissions for API Gateway are for "
        f"{[_permission_targets(model, p) for p in permissions]}, not the API's live alias")


# --- 8.3 ---------------------------------------------------------------------------------------

IAM_TF = "terraform/iam.tf"
ex83 = exercise("8.3", "Least privilege, proven", files=[IAM_TF], timeout=6)
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _role_of(model: Terraform, name: str) -> tuple[str, dict[str, Any]]:
    role_arn = model.attr(_function_block(model, name), "role")
    for role_name, role in model.resources.get("aws_iam_role", {}).items():
        if _resource_attribute("aws_iam_role", role_name, "arn", model) == role_arn:
            return role_name, role
    raise AssertionError(f"aws_lambda_function.{name}'s role is {role_arn!r}, not an aws_iam_role "
                         "of this configuration")


def _policies(model: Terraform, name: str) -> list[dict[str, Any]]:
    """The policy documents of a function's role: inline ones and attached aws_iam_policy."""
    role_name, role = _role_of(model, name)
    identities = {_resource_attribute("aws_iam_role", role_name, a, model)
                  for a in ("id", "name", "arn")}
    documents = [model.attr(block, "policy") for block in _blocks(role.get("inline_policy"))
                 if "policy" in block]
    for policy in model.resources.get("aws_iam_role_policy", {}).values():
        if model.attr(policy, "role") in identities:
            documents.append(model.attr(policy, "policy"))
    attached: list[tuple[Any, Any]] = [(arn, arn) for arn in _as_list(
        model.attr(role, "managed_policy_arns"))]
    for attachment in model.resources.get("aws_iam_role_policy_attachment", {}).values():
        if model.attr(attachment, "role") in identities:
            attached.append((model.attr(attachment, "policy_arn"),
                             attachment.get("policy_arn")))
    for attachment in model.resources.get("aws_iam_policy_attachment", {}).values():
        if identities & set(map(str, _as_list(model.attr(attachment, "roles")))):
            attached.append((model.attr(attachment, "policy_arn"),
                             attachment.get("policy_arn")))
    for arn, raw in attached:
        if isinstance(arn, str) and arn.startswith("arn:aws:iam::aws:policy/"):
            raise AssertionError(
                f"{name}'s role attaches the AWS managed policy {arn.rsplit('/', 1)[-1]}: it "
                "grants its actions on every resource of the account (every log group, every "
                "table...). Write the statements for this function's own resources")
        for policy_name, policy in model.resources.get("aws_iam_policy", {}).items():
            if f"arn:aws:iam::{ACCOUNT}:policy/{model.attr(policy, 'name')}" == arn or \
                    _refers(raw, f"aws_iam_policy.{policy_name}"):
                documents.append(model.attr(policy, "policy"))
    parsed = []
    for document in documents:
        try:
            parsed.append(json.loads(document) if isinstance(document, str) else document)
        except ValueError:
            raise AssertionError(
                f"a policy of {name}'s role is not JSON: {document!r:.80}") from None
    assert parsed, f"{name}'s role has no policy (aws_iam_role_policy) at all"
    return parsed


def _statements(model: Terraform, name: str) -> list[dict[str, Any]]:
    found = []
    for policy in _policies(model, name):
        statements = policy.get("Statement", [])
        found += statements if isinstance(statements, list) else [statements]
    return [s for s in found if isinstance(s, dict)]


def _covers_everything(resource: str) -> bool:
    """'*', or an ARN whose region or account is '*', or whose resource part is '*' or a whole
    kind ('table/*', 'log-group:*'): every log group, table, queue or bucket it names."""
    if resource.strip() == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return resource.endswith(":*") and resource.count(":") < 4
    _, _, service, region, account, rest = parts
    if "*" in (region, account) or rest == "*":
        return True
    return service != "s3" and re.fullmatch(r"[\w-]+[:/]\*", rest) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


@ex83.behaviour("each function has a role of its own, which only Lambda may assume",
                hint=["Lesson 08, 'Least privilege': one role per function, so each gets only "
                      "what its own code does.",
                      "The trust policy (assume_role_policy) names the service "
                      "lambda.amazonaws.com as its only principal."])
def _(project: Project) -> None:
    model = _terraform(project)
    roles = {name: _role_of(model, name)[0] for name in FUNCTIONS}
    assert len(set(roles.values())) == len(roles), (
        f"the functions share roles ({roles}): the worker would get the importer's S3 access, "
        "and so on. Give each function its own")
    for role_name in roles.values():
        trust = model.attr(model.resource("aws_iam_role", role_name), "assume_role_policy")
        document = json.loads(trust) if isinstance(trust, str) else trust
        principals = [s.get("Principal") for s in document.get("Statement", [])]
        services = {p for principal in principals if isinstance(principal, dict)
                    for p in _as_list(principal.get("Service"))}
        others = [p for principal in principals for p in
                  (principal.items() if isinstance(principal, dict) else [("*", principal)])
                  if p[0] != "Service"]
        assert services == {"lambda.amazonaws.com"} and not others, (
            f"aws_iam_role.{role_name} may be assumed by {services | {str(o) for o in others}}: "
            "only lambda.amazonaws.com should")


@ex83.behaviour("no wildcard action, and no '*' resource but X-Ray's",
                hint=["Lesson 08, 'Least privilege': name each action the code calls "
                      "(dynamodb:GetItem), never dynamodb:* or *.",
                      "Resources are the ARNs of your table (and its indexes), queue and bucket "
                      "prefixes; only X-Ray's two actions, which have no resource, take '*'."])
def _(project: Project) -> None:
    model = _terraform(project)
    for name in FUNCTIONS:
        for statement in _statements(model, name):
            if statement.get("Effect", "Allow") != "Allow":
                continue
            assert "NotAction" not in statement and "NotResource" not in statement, (
                f"{name}'s policy uses NotAction/NotResource: it allows everything else")
            actions = [str(a) for a in _as_list(statement.get("Action"))]
            wild = [a for a in actions if "*" in a]
            assert not wild, (f"{name}'s policy allows {wild[0]!r}: a wildcard grants actions "
                              "the code never calls (delete the table, purge the queue...)")
            resources = [str(r) for r in _as_list(statement.get("Resource"))]
            wide = [r for r in resources if _covers_everything(r)]
            if wide:
                assert set(actions) <= XRAY, (
                    f"{name}'s policy allows {actions} on {wide[0]!r}: every resource of that "
                    "kind (in any region or account, or all of them). Name the ARNs of its own "
                    "log group, table, queue or bucket prefix")


@ex83.behaviour("each function may write its own logs, and only its own",
                hint=["Lesson 08, 'Least privilege': Lambda writes the function's logs with its "
                      "role: logs:CreateLogStream and logs:PutLogEvents.",
                      "On the function's log group's ARN followed by :* (its streams), not on "
                      "every group."])
def _(project: Project) -> None:
    model = _terraform(project)
    for name in FUNCTIONS:
        function_name = model.attr(_function_block(model, name), "function_name")
        group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function_name}"
        granted: dict[str, set[str]] = {}
        for statement in _statements(model, name):
            for action in _as_list(statement.get("Action")):
                if str(action).startswith("logs:"):
                    granted.setdefault(str(action), set()).update(
                        map(str, _as_list(statement.get("Resource"))))
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            assert action in granted, (
                f"{name}'s policy does not allow {action}: Lambda could not write its logs")
            wrong = [r for r in granted[action] if r not in (f"{group}:*", f"{group}:log-stream:*")]
            assert not wrong, (
                f"{name}'s policy allows {action} on {wrong[0]!r}; only its own log group's "
                f"streams ({group}:*)")


@ex83.behaviour("the worker's role lets the event source mapping read its queue, and only "
                "that queue",
                hint=["Lesson 08, 'Least privilege': the mapping polls SQS with the function's "
                      "role.",
                      "sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on the "
                      "sign-ups queue's ARN."])
def _(project: Project) -> None:
    model = _terraform(project)
    name, _ = _the_queue(model)
    queue = _resource_attribute("aws_sqs_queue", name, "arn", model)
    granted: dict[str, set[str]] = {}
    for statement in _statements(model, "worker"):
        for action in _as_list(statement.get("Action")):
            granted.setdefault(str(action), set()).update(map(str, _as_list(
                statement.get("Resource"))))
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert queue in granted.get(action, set()), (
            f"the worker's policy does not allow {action} on {queue}: the event source mapping "
            "could not read the queue (and AWS refuses to create it)")
        assert granted[action] == {queue}, (
            f"the worker's policy allows {action} on {sorted(granted[action])}: only its queue")


# The proof: each function's own code, run with exactly its policy, in moto with IAM enforced.

@dataclass
class World:
    names: dict[str, str]  # users, idempotency, bucket, queue
    env: dict[str, dict[str, str]]  # function -> its environment (Terraform's)
    policies: dict[str, dict[str, Any]]


def _world(project: Project) -> World:
    model = _terraform(project)
    names = {"users": _resource_attribute("aws_dynamodb_table", "users", "name", model),
             "idempotency": _resource_attribute("aws_dynamodb_table", "idempotency", "name",
                                                model),
             "bucket": _resource_attribute("aws_s3_bucket", "imports", "bucket", model)}
    env = {}
    for name in FUNCTIONS:
        environments = _blocks(_function_block(model, name).get("environment"))
        values = model.value(environments[0].get("variables")) if environments else {}
        env[name] = {k: str(v) for k, v in (values or {}).items()}
    policies = {}
    for name in FUNCTIONS:
        statements = _statements(model, name)
        policies[name] = {"Version": "2012-10-17", "Statement": statements}
    return World(names, env, policies)


def _create_resources(world: World) -> None:
    import boto3

    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=world.names["users"], BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                              {"AttributeName": "email", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "email-index", "Projection": {
            "ProjectionType": "ALL"}, "KeySchema": [{"AttributeName": "email",
                                                    "KeyType": "HASH"}]}])
    dynamodb.create_table(
        TableName=world.names["idempotency"], BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    boto3.client("s3").create_bucket(Bucket=world.names["bucket"])


def _fresh_handler(project: Project, module: str, env: dict[str, str]) -> Any:
    """The learner's handler, imported anew with the function's environment."""
    for name in [m for m in sys.modules if m.split(".")[0] in ("handlers", "services", "models",
                                                              "utils")]:
        del sys.modules[name]
    os.environ.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                       **env})
    os.environ.pop("POWERTOOLS_IDEMPOTENCY_DISABLED", None)  # the worker's records are checked
    return project.function(module, "lambda_handler")


def _as_function(project: Project, name: str, body: Callable[[Any, Any], None]) -> None:
    """Run body(handler, session) for function `name`: its code, its environment, credentials
    holding exactly its policy, IAM enforced."""
    import boto3
    from moto import mock_aws

    from course.learner.iam import enforce_iam, session_for_policy, use_credentials

    world = _world(project)
    saved = dict(os.environ)
    try:
        with mock_aws():
            _create_resources(world)
            session = session_for_policy(world.policies[name], user=f"fn-{name}")
            use_credentials(session)
            boto3.setup_default_session()
            module = FUNCTIONS[name].rpartition(".")[0]
            handler = _fresh_handler(project, module, world.env[name])
            with enforce_iam():
                body(handler, session)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        boto3.setup_default_session()


def _denied_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _call(handler: Any, event: dict[str, Any], what: str, name: str) -> Any:
    try:
        return handler(event, lambda_context(f"users-service-dev-{name}", timeout_s=10))
    except Exception as exc:  # noqa: BLE001 - the learner reads what escaped
        from course.learner.iam import denied

        cause = exc
        while cause is not None and not denied(cause):
            cause = cause.__cause__ or cause.__context__
        why = " (denied by the policy)" if cause is not None else ""
        raise AssertionError(
            f"with exactly its policy, the {name} function failed on {what}{why}: "
            f"{_denied_text(cause or exc)}. Allow what its code calls, on its resources") from None


@ex83.behaviour("enforced by moto: the users API works with exactly its policy",
                hint=["Lesson 08, 'Least privilege, proven': the check runs your users API "
                      "against moto with credentials that hold only the API role's policy.",
                      "List what the API's code calls: reading a user (GetItem), creating one "
                      "(PutItem), listing (Scan) and finding by email (Query on the index: its "
                      "ARN is the table's ARN followed by /index/...)."])
def _(project: Project) -> None:
    from course import events

    def body(handler: Any, _: Any) -> None:
        created = _call(handler, events.api_gateway_rest(
            "POST", "/users", {"name": "Ada", "email": "ada@example.com"}), "POST /users", "api")
        assert created.get("statusCode") == 201, (
            f"POST /users with exactly the API's policy gave {created.get('statusCode')} "
            f"{str(created.get('body'))[:120]}: a permission the code needs is missing (a 500 "
            "hides the AccessDenied in the function's log)")
        user_id = json.loads(created["body"])["user_id"]
        for method, path, wanted in (("GET", f"/users/{user_id}", 200), ("GET", "/users", 200)):
            response = _call(handler, events.api_gateway_rest(method, path), f"{method} {path}",
                             "api")
            assert response.get("statusCode") == wanted, (
                f"{method} {path} with exactly the API's policy gave {response.get('statusCode')}"
                f"; expected {wanted}: a permission the code needs is missing")

    _as_function(project, "api", body)


@ex83.behaviour("enforced by moto: the worker works with exactly its policy",
                hint=["Lesson 08, 'Least privilege, proven': the worker creates users and keeps "
                      "Powertools' idempotency records.",
                      "On the users table it only writes (PutItem); on the idempotency table "
                      "Powertools reads, writes, updates and deletes its records."])
def _(project: Project) -> None:
    from course import events

    def body(handler: Any, session: Any) -> None:
        event = events.sqs({"name": "Grace", "email": "grace@example.com"}, queue="signups")
        response = _call(handler, event, "a batch of one sign-up", "worker")
        failures = (response or {}).get("batchItemFailures")
        assert failures == [], (
            f"with exactly the worker's policy, the sign-up failed ({failures}): a permission "
            "the code needs is missing (its log says which)")

    _as_function(project, "worker", body)


@ex83.behaviour("enforced by moto: the importer works with exactly its policy",
                hint=["Lesson 08, 'Least privilege, proven': the importer reads the uploaded "
                      "file, creates users and writes its report.",
                      "GetObject (and GetObjectVersion) under imports/, PutObject under "
                      "reports/, PutItem on the users table."])
def _(project: Project) -> None:
    from course import events

    world = _world(project)

    def body(handler: Any, session: Any) -> None:
        key = "imports/new users.csv"
        from moto.core import disable_iam_authentication

        with disable_iam_authentication():  # the upload is the test's, not the function's
            import boto3

            boto3.client("s3", aws_access_key_id="admin", aws_secret_access_key="admin").put_object(
                Bucket=world.names["bucket"], Key=key,
                Body=b"name,email,age\nAda,ada@example.com,36\nAlan,alan@example.com,\n")
        event = events.s3_put(key, bucket=world.names["bucket"])
        _call(handler, event, f"an upload of {key}", "importer")
        with disable_iam_authentication():
            import boto3

            admin = boto3.client("dynamodb", aws_access_key_id="admin",
                                 aws_secret_access_key="admin")
            count = admin.scan(TableName=world.names["users"])["Count"]
        assert count == 2, (
            f"with exactly the importer's policy, an upload of two users created {count}: a "
            "permission the code needs is missing (its log says which)")

    _as_function(project, "importer", body)


DENIED_PROBES: dict[str, list[tuple[str, Callable[[Any, World], Any]]]] = {
    "api": [
        ("deleting a user (dynamodb:DeleteItem)", lambda s, w: s.client("dynamodb").delete_item(
            TableName=w.names["users"], Key={"user_id": {"S": "u-1"}})),
        ("reading the idempotency table", lambda s, w: s.client("dynamodb").get_item(
            TableName=w.names["idempotency"], Key={"id": {"S": "x"}})),
        ("reading an imported file (s3:GetObject)", lambda s, w: s.client("s3").get_object(
            Bucket=w.names["bucket"], Key="imports/a.csv")),
    ],
    "worker": [
        ("scanning the users table", lambda s, w: s.client("dynamodb").scan(
            TableName=w.names["users"])),
        ("deleting a user", lambda s, w: s.client("dynamodb").delete_item(
            TableName=w.names["users"], Key={"user_id": {"S": "u-1"}})),
        ("writing into the bucket", lambda s, w: s.client("s3").put_object(
            Bucket=w.names["bucket"], Key="imports/x.csv", Body=b"x")),
    ],
    "importer": [
        ("reading outside imports/ (reports/)", lambda s, w: s.client("s3").get_object(
            Bucket=w.names["bucket"], Key="reports/old.json")),
        ("writing into imports/ (its own trigger)", lambda s, w: s.client("s3").put_object(
            Bucket=w.names["bucket"], Key="imports/loop.csv", Body=b"x")),
        ("scanning the users table", lambda s, w: s.client("dynamodb").scan(
            TableName=w.names["users"])),
        ("writing into the idempotency table", lambda s, w: s.client("dynamodb").put_item(
            TableName=w.names["idempotency"], Item={"id": {"S": "x"}})),
    ],
}


@ex83.behaviour("enforced by moto: each role is denied what its code never does",
                hint=["Lesson 08, 'Least privilege, proven': the check also tries, with each "
                      "function's credentials, calls its code never makes.",
                      "A wider action list, or a resource such as the whole bucket or every "
                      "table, lets them through: grant only what the code calls, where it "
                      "calls it."])
def _(project: Project) -> None:
    from botocore.exceptions import ClientError

    from course.learner.iam import denied

    world = _world(project)
    for name, probes in DENIED_PROBES.items():
        allowed: list[str] = []

        def body(handler: Any, session: Any, probes: Any = probes, allowed: Any = allowed) -> None:
            for what, call in probes:
                try:
                    call(session, world)
                except ClientError as exc:
                    if denied(exc):
                        continue
                allowed.append(what)

        _as_function(project, name, body)
        assert not allowed, (
            f"with the {name} function's policy, {allowed[0]} is allowed: its code never does "
            "that, so its role must not be able to")


# --- 8.4 ---------------------------------------------------------------------------------------

TEMPLATE = "template.yaml"
ex84 = exercise("8.4", "A SAM template for local testing", files=[TEMPLATE], timeout=4)
SAM_FUNCTIONS = {"api": "Api", "worker": "Worker", "importer": "Importer"}


def _sam_template(project: Project) -> dict[str, Any]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {("Ref" if suffix == "Ref" else f"Fn::{suffix}"): value}

    Loader.add_multi_constructor("!", tagged)
    text = project.require(TEMPLATE).read_text(errors="replace")
    if "NotImplementedError" in text:
        raise LearnerError(f"{TEMPLATE} still holds the exercise's placeholder: write the "
                           "template in the cell and run it again.")
    try:
        template = yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        raise LearnerError(f"{TEMPLATE} is not valid YAML: {str(exc).splitlines()[0]}") from None
    assert isinstance(template, dict) and isinstance(template.get("Resources"), dict), (
        f"{TEMPLATE} has no Resources")
    return template


def _sam_function(template: dict[str, Any], name: str) -> dict[str, Any]:
    """A function's properties with the template's Globals under them."""
    resource = template["Resources"].get(SAM_FUNCTIONS[name])
    assert isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Function", (
        f"{TEMPLATE} has no AWS::Serverless::Function named {SAM_FUNCTIONS[name]}")
    return _sam_merge((template.get("Globals") or {}).get("Function") or {},
                      resource.get("Properties") or {})


def _sam_merge(globals_: Any, own: Any) -> Any:
    """SAM's rules for Globals: maps merge (key by key, all the way down), lists add up
    (the global entries first; an entry given twice is kept once here), the resource's
    plain values win."""
    if isinstance(globals_, dict) and isinstance(own, dict):
        merged = dict(globals_)
        for key, value in own.items():
            merged[key] = _sam_merge(merged[key], value) if key in merged else value
        return merged
    if isinstance(globals_, list) and isinstance(own, list):
        return [*globals_, *[item for item in own if item not in globals_]]
    return own


@ex84.behaviour("cfn-lint finds no error and no warning",
                hint=["Lesson 08, 'A SAM template': cfn-lint validates a SAM template offline, "
                      "as CloudFormation would read it.",
                      "Run the lesson's cfn-lint cell on your template: each line names a rule, "
                      "a line and what to change."])
def _(project: Project) -> None:
    _sam_template(project)
    executable = Path(sys.executable).with_name("cfn-lint")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m",
                                                              "cfnlint.runner"]
    run = subprocess.run([*command, "--format", "parseable", str(project.path(TEMPLATE))],
                         capture_output=True, text=True, timeout=60)
    findings = [line for line in run.stdout.splitlines() if line.strip()]
    serious = [f for f in findings if re.search(r":[EW]\d{4}:", f)]
    assert run.returncode in (0, 8) and not serious, (
        "cfn-lint reports: " + "; ".join(f.split(str(project.root) + "/")[-1] for f in
                                         (serious or findings or [run.stderr.strip()])[:3]))


@ex84.behaviour("the three functions match Terraform's: runtime, architecture, handler, "
                "memory, timeout",
                hint=["Lesson 08, 'A SAM template': local tests are only worth something if "
                      "they run what Terraform deploys.",
                      "Api, Worker and Importer, each with terraform's handler; Globals can hold "
                      "what they share."])
def _(project: Project) -> None:
    model = _terraform(project)
    template = _sam_template(project)
    for name in FUNCTIONS:
        block = _function_block(model, name)
        sam = _sam_function(template, name)
        expected = {"Runtime": model.attr(block, "runtime"),
                    "Architectures": model.attr(block, "architectures"),
                    "Handler": model.attr(block, "handler"),
                    "MemorySize": model.attr(block, "memory_size", 128),
                    "Timeout": model.attr(block, "timeout", 3)}
        defaults = {"Architectures": ["x86_64"], "MemorySize": 128, "Timeout": 3}
        for key, value in expected.items():
            actual = sam.get(key, defaults.get(key))
            assert actual == value, (
                f"{SAM_FUNCTIONS[name]}'s {key} is {actual!r}; Terraform deploys {value!r}: a "
                "local test of something else proves nothing")


@ex84.behaviour("the code and its layer are lesson 07's zips",
                hint=["Lesson 08, 'A SAM template': SAM unzips a zip named in CodeUri (and a "
                      "layer's ContentUri) for sam local.",
                      "CodeUri build/function.zip; an AWS::Serverless::LayerVersion with "
                      "ContentUri build/layer.zip, listed in each function's Layers."])
def _(project: Project) -> None:
    template = _sam_template(project)
    layers = {name: resource for name, resource in template["Resources"].items()
              if isinstance(resource, dict)
              and resource.get("Type") == "AWS::Serverless::LayerVersion"}
    assert layers, f"{TEMPLATE} has no AWS::Serverless::LayerVersion for the dependencies"
    (layer_name, layer), = list(layers.items())[:1]
    content = str((layer.get("Properties") or {}).get("ContentUri", "")).removeprefix("./")
    assert content == "build/layer.zip", (
        f"the layer's ContentUri is {content!r}; lesson 07 builds build/layer.zip")
    for name in FUNCTIONS:
        sam = _sam_function(template, name)
        code = str(sam.get("CodeUri", "")).removeprefix("./")
        assert code == "build/function.zip", (
            f"{SAM_FUNCTIONS[name]}'s CodeUri is {code!r}: the guideline's ./ would put the whole "
            "project (tests, .venv...) in the function, under the wrong paths")
        assert {"Ref": layer_name} in (sam.get("Layers") or []), (
            f"{SAM_FUNCTIONS[name]} does not use the layer (Layers: !Ref {layer_name}): its "
            "imports of Powertools would fail")


@ex84.behaviour("the API's events are HTTP API routes in its resolver's payload format",
                hint=["Lesson 08, 'A SAM template': sam local start-api serves the events of "
                      "type HttpApi (or Api for a REST API).",
                      "HttpApi events for /users and /users/{user_id}, with the "
                      "PayloadFormatVersion your resolver reads (Terraform's)."])
def _(project: Project) -> None:
    template = _sam_template(project)
    events = _sam_function(template, "api").get("Events") or {}
    routes = [(e.get("Properties") or {}) for e in events.values()
              if isinstance(e, dict) and e.get("Type") == "HttpApi"]
    assert routes, "the Api function has no HttpApi event: sam local start-api would serve nothing"
    expected = _payload_for(project)
    for route in routes:
        payload = str(route.get("PayloadFormatVersion", "2.0"))
        assert payload == expected, (
            f"the route {route.get('Path')} sends payload format {payload}; your resolver reads "
            f"{expected} (SAM's HttpApi default is 2.0)")
    paths = {route.get("Path") for route in routes}
    assert "/users" in paths and any(re.fullmatch(r"/users/\{\w+\+?\}", str(p)) for p in paths), (
        f"the Api function's routes are {sorted(map(str, paths))}: /users and /users/{{user_id}}")
    missing = _unrouted(project, [(str(r.get("Method", "ANY")), str(r.get("Path")))
                                  for r in routes])
    assert not missing, (
        f"your resolver serves {', '.join(missing)}, which no HttpApi event lets through: sam "
        "local start-api answers 404 for it (Method ANY, as Terraform's routes, or one event "
        "per method)")


@ex84.behaviour("each function's environment names its service and Terraform's tables",
                hint=["Lesson 08, 'A SAM template': the same environment as Terraform's, written "
                      "out (SAM does not read Terraform).",
                      "POWERTOOLS_SERVICE_NAME per function, and USERS_TABLE (and the worker's "
                      "IDEMPOTENCY_TABLE) with the names Terraform gives the tables."])
def _(project: Project) -> None:
    model = _terraform(project)
    template = _sam_template(project)
    for name in FUNCTIONS:
        environments = _blocks(_function_block(model, name).get("environment"))
        wanted = model.value(environments[0].get("variables")) if environments else {}
        sam = (_sam_function(template, name).get("Environment") or {}).get("Variables") or {}
        for key in ("POWERTOOLS_SERVICE_NAME", "USERS_TABLE", "IDEMPOTENCY_TABLE"):
            if key in wanted:
                assert str(sam.get(key)) == str(wanted[key]), (
                    f"{SAM_FUNCTIONS[name]}'s {key} is {sam.get(key)!r}; Terraform sets "
                    f"{wanted[key]!r}")


# --- questions ---------------------------------------------------------------------------------

question(
    "8.a",
    "You fix the guideline's duplicate block by merging the two `python_function` blocks, and "
    "keep `handler = \"src.handlers.api_handler.lambda_handler\"` with lesson 07's zip. What "
    "happens at the first invocation?",
    ["It works: Lambda adds src/ to the path",
     "Runtime.ImportModuleError: the zip has handlers/ at its root, there is no src module",
     "Terraform refuses the handler string at plan time"],
    answer=1,
    why=["Lambda puts /var/task — the zip's root — on the path, nothing below it.",
         "Right: the zip holds the content of src/, so the module is handlers.api_handler. "
         "Terraform cannot know what the zip holds; only a check like 8.1's can.",
         "The handler is a plain string to Terraform and to the Lambda API: the error comes "
         "at import time, on every invocation."])

question(
    "8.b",
    "You build the same commit on another laptop and run `terraform plan`. Thanks to lesson "
    "07's reproducible zip, what does the plan say about the functions' code?",
    ["No change: filebase64sha256() of the new zip equals the deployed hash",
     "A change: the zip was built on another machine",
     "A change: source_code_hash always differs between plans"],
    answer=0,
    why=["Right: same files, same bytes, same hash — so Terraform deploys only real changes "
         "(a different zlib could still differ; CI builds on one kind of machine).",
         "The machine does not matter for a reproducible zip: times, order and modes are "
         "fixed by the build.",
         "The hash is stable for identical bytes; that is its whole point."])

question(
    "8.c",
    "The worker's timeout is 30 s and the queue keeps the default visibility timeout of 30 s. "
    "What can happen to a message whose processing takes 25 s and then fails once?",
    ["Nothing special: it comes back after 30 s and is retried once",
     "It may be delivered to a second invocation while the first still works on it, and "
     "retries count faster towards the DLQ",
     "Lambda refuses to create the mapping"],
    answer=1,
    why=["The visibility timeout starts when the batch is received, not when your record's "
         "processing starts; a batch, retries and throttling eat into it.",
         "Right: with 6 × 30 = 180 s, a message stays invisible while Lambda still has it "
         "(AWS's advice); a tight timeout gives duplicates and early dead-lettering.",
         "Lambda refuses a mapping only when the queue's visibility timeout is below the "
         "function's timeout — here they are equal, so it is accepted."])

question(
    "8.d",
    "Your API's policy allows dynamodb:Query on the users table's ARN. The duplicate-email "
    "check queries the email-index. What does the client get?",
    ["409 or 201, as usual: an index belongs to its table",
     "A 500: the Query is authorised against <table ARN>/index/email-index, which the policy "
     "does not name, so DynamoDB answers AccessDeniedException",
     "A 403 from API Gateway"],
    answer=1,
    why=["IAM treats an index as a resource of its own.",
         "Right: add <table ARN>/index/* (or the index by name) for Query. The reason is only "
         "in the function's log: a proof with the real code finds it before production.",
         "API Gateway only forwards; the refusal happens inside the function's DynamoDB call."])

question(
    "8.e",
    "checkov reports CKV_AWS_117 (\"Lambda function is not configured inside a VPC\") on a "
    "function that only calls DynamoDB and S3. What is the right response?",
    ["Put the function in a VPC: checkov is always right",
     "Decide, and write it down: skip the check in the resource with a reason (or, as in this "
     "lesson, a dynamic vpc_config that a variable turns on)",
     "Turn checkov off for the whole folder"],
    answer=1,
    why=["A VPC adds NAT or VPC endpoints, cost and cold-start work, for no benefit here.",
         "Right: a finding is fixed or skipped with a reason next to the resource, so a "
         "reviewer sees the decision and new findings stand out.",
         "That hides the next, real finding too."])

question(
    "8.f",
    "Why does `sam local start-api` with the guideline's template (an `Api` event) not test "
    "what your Terraform deploys?",
    ["It does: Api and HttpApi events are the same thing",
     "An Api event is a REST API sending payload 1.0 from another service; Terraform deploys "
     "an HTTP API — match the event type and its PayloadFormatVersion to the real one",
     "sam local cannot run Python functions"],
    answer=1,
    why=["They are two API Gateway products with different events, features and prices.",
         "Right: local tests are only worth something if they run the same kind of event; "
         "your template uses HttpApi events with the resolver's payload format.",
         "It runs them, in Docker, with AWS's runtime images."])
