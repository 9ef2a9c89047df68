"""Deploy a project's terraform/ to moto, for real: `terraform init` and `terraform apply`
against a moto server on loopback, then boto3 reads back what Terraform created (lesson 08).

    python -m course.learner.deploy [PROJECT] [--download]
    deploy_to_moto(project=None, download=False) -> Deployment

Terraform needs its AWS provider (hashicorp/aws), which `terraform init` downloads from
registry.terraform.io. Unless `download=True` (`--download`) allows that, the command looks only
for a provider already on this machine (TF_PLUGIN_CACHE_DIR, ~/.terraform.d/plugins, the
project's terraform/.terraform) and, when there is none, says so in one line and does nothing:
no network connection is even tried. The same happens when terraform itself is missing or
lesson 07's zips are not built.

The provider is pointed at moto by the configuration's own `aws_endpoint` variable (custom
endpoints, no credential validation, no account lookup); state goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import workspace

PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
CACHE = Path("~/.cache/course-terraform-plugins").expanduser()


@dataclass
class Deployment:
    ran: bool  # False: skipped (the reason is in `message`)
    message: str
    created: dict[str, list[str]] = field(default_factory=dict)  # what boto3 found
    problems: list[str] = field(default_factory=list)  # what differs from the configuration
    log: str = ""

    @property
    def ok(self) -> bool:
        return self.ran and not self.problems


def provider_folders(project: Path) -> list[Path]:
    """Where an installed AWS provider may be, in the order Terraform would use them."""
    places = [project / "terraform" / ".terraform" / "providers"]
    if os.environ.get("TF_PLUGIN_CACHE_DIR"):
        places.append(Path(os.environ["TF_PLUGIN_CACHE_DIR"]))
    places += [CACHE, Path("~/.terraform.d/plugins").expanduser(),
               Path("~/.local/share/terraform/plugins").expanduser()]
    return places


def installed_provider(project: Path) -> Path | None:
    """An installed hashicorp/aws provider, or None."""
    for place in provider_folders(project):
        folder = place / PROVIDER
        if folder.is_dir() and any(folder.rglob("terraform-provider-aws*")):
            return place
    return None


def _skip(message: str) -> Deployment:
    print(message)
    return Deployment(False, message)


def deploy_to_moto(project: str | Path | None = None, *, download: bool = False,
                   timeout: float = 900) -> Deployment:
    """Init and apply the project's terraform/ against a fresh moto server, then verify."""
    root = workspace.root(project)
    folder = root / "terraform"
    terraform = shutil.which("terraform")
    if terraform is None:
        return _skip("Skipped: terraform is not installed here (https://developer.hashicorp.com"
                     "/terraform/install); the offline checks of lesson 08 still run.")
    if not (root / "build" / "function.zip").is_file() or not (root / "build" /
                                                                "layer.zip").is_file():
        return _skip("Skipped: build/function.zip and build/layer.zip are missing: run lesson "
                     "07's build (python build_lambda.py --wheelhouse ...) first.")
    plugins = installed_provider(root)
    if plugins is None and not download:
        return _skip("Skipped: Terraform's AWS provider is not installed here, and downloading "
                     "it (from registry.terraform.io) was not allowed: run with --download on a "
                     "machine with internet.")
    from course.learner.moto_server import moto_server

    CACHE.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="course-tfstate-"))
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
           "TF_PLUGIN_CACHE_DIR": str(plugins or CACHE), "TF_DATA_DIR": str(state / ".terraform")}
    log: list[str] = []
    with moto_server() as endpoint:
        commands = [[terraform, "init", "-input=false", "-no-color"],
                    [terraform, "apply", "-auto-approve", "-input=false", "-no-color",
                     f"-state={state / 'terraform.tfstate'}", f"-var=aws_endpoint={endpoint}"]]
        for command in commands:
            run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                                 timeout=timeout)
            log.append(f"$ terraform {command[1]}\n{run.stdout}{run.stderr}")
            if run.returncode:
                last = (run.stderr.strip() or run.stdout.strip()).splitlines()[-5:]
                message = f"terraform {command[1]} failed: {' '.join(last)[:400]}"
                print(message)
                return Deployment(True, message, problems=[message], log="\n".join(log))
        created, problems = verify(endpoint)
    message = ("Deployed to moto and verified: " + ", ".join(
        f"{len(v)} {k}" for k, v in created.items()) if not problems else
        f"Deployed to moto, but {len(problems)} thing(s) differ: {problems[0]}")
    print(message)
    return Deployment(True, message, created, problems, "\n".join(log))


def verify(endpoint: str) -> tuple[dict[str, list[str]], list[str]]:
    """Read back with boto3 what lesson 08's configuration creates; list what differs."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint)

    created: dict[str, list[str]] = {}
    problems: list[str] = []
    lam = client("lambda")
    functions = lam.list_functions()["Functions"]
    created["functions"] = [f["FunctionName"] for f in functions]
    for function in functions:
        name = function["FunctionName"]
        if function.get("Runtime") not in ("python3.13", None):
            problems.append(f"{name} runs {function.get('Runtime')}")
        aliases = [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]]
        if "live" not in aliases:
            problems.append(f"{name} has no live alias")
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    created["event source mappings"] = [m["UUID"] for m in mappings]
    for mapping in mappings:
        if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
            problems.append("an event source mapping lacks ReportBatchItemFailures")
    sqs = client("sqs")
    urls = sqs.list_queues().get("QueueUrls", [])
    created["queues"] = [u.rsplit("/", 1)[-1] for u in urls]
    redriven = [u for u in urls if "RedrivePolicy" in sqs.get_queue_attributes(
        QueueUrl=u, AttributeNames=["RedrivePolicy"]).get("Attributes", {})]
    if not redriven:
        problems.append("no queue has a redrive policy (dead-letter queue)")
    created["tables"] = client("dynamodb").list_tables()["TableNames"]
    buckets = [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    created["buckets"] = buckets
    for bucket in buckets:
        notification = client("s3").get_bucket_notification_configuration(Bucket=bucket)
        if not notification.get("LambdaFunctionConfigurations"):
            problems.append(f"bucket {bucket} notifies no function")
    groups = client("logs").describe_log_groups()["logGroups"]
    created["log groups"] = [g["logGroupName"] for g in groups]
    problems += [f"{g['logGroupName']} keeps logs forever" for g in groups
                 if not g.get("retentionInDays")]
    roles = client("iam").list_roles()["Roles"]
    created["roles"] = [r["RoleName"] for r in roles]
    return created, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", default=None)
    parser.add_argument("--download", action="store_true",
                        help="let terraform init download the AWS provider")
    options = parser.parse_args(argv)
    result = deploy_to_moto(options.project, download=options.download)
    if result.ran and result.created:
        print(json.dumps(result.created, indent=2))
    return 1 if result.ran and result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
