"""Seeding a third-party Git repository through CodeConnections (generator/blocks/seeding.py).

The check-in script runs for real, exactly as the buildspec runs it (its commands through bash),
against local bare git repositories (file paths as REPOSITORY_URL: no network), with a seed zip
made by the project's own zipper and an `aws` stand-in on PATH that serves it from a folder. HOME
and git's configuration point into the test's temporary directory, so the machine's git config
is neither read nor touched.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from troposphere import Ref, Tags, Template

from generator.blocks import seeding
from generator.blocks.lambda_function import INLINE_LIMIT, inline_source
from generator.blocks.project import project_parameters, project_tags
from generator.seedcode import zip_bytes
from tests.fakes.cloudformation import response_endpoint

ROOT = Path(__file__).resolve().parents[1]
BUCKET, KEY = "seed-bucket", "seedcode/modelbuild-1.0.0.zip"
CONNECTION = "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f2c4b6e-1a2b-4c3d-8e9f-0123456789ab"
AUTHOR = "SageMaker project seed <noreply@sagemaker-project-seed.invalid>"

FAKE_AWS = """#!/bin/sh
# Stand-in for `aws s3 cp s3://BUCKET/KEY TARGET --only-show-errors`: serves $FAKE_S3/BUCKET/KEY.
echo "$@" >> "$FAKE_S3.calls"
[ "$1 $2" = "s3 cp" ] || { echo "unexpected aws call: $*" >&2; exit 255; }
path="$FAKE_S3/${3#s3://}"
if [ -f "$path" ]; then cp "$path" "$4"; else
  echo "fatal error: An error occurred (404) when calling the HeadObject operation:" \\
    "Key \\"${3#s3://*/}\\" does not exist" >&2
  exit 1
fi
"""


# --- the check-in, run as the buildspec runs it --------------------------------------------------

def buildspec_commands() -> list[str]:
    spec = yaml.safe_load(seeding.buildspec())
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    return spec["phases"]["build"]["commands"]


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A temporary HOME, git identity-free config, the `aws` stand-in and its S3 folder."""
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(FAKE_AWS)
    aws.chmod(0o755)
    # python3 is this interpreter, not a version manager's shim (pyenv's puts its own bin, with a
    # real aws, first on PATH).
    (bin_dir / "python3").symlink_to(sys.executable)
    s3 = tmp_path / "s3"
    (s3 / BUCKET / "seedcode").mkdir(parents=True)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "FAKE_S3": str(s3),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
    }
    return types.SimpleNamespace(tmp=tmp_path, env=env, s3=s3, home=home)


def bare(world, name="user-repo.git", branch="main") -> Path:
    path = world.tmp / name
    git(world, "init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
    return path


def git(world, *args, cwd=None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=world.env, capture_output=True, text=True,
                          check=True).stdout


def put_seed(world, data: bytes | None = None) -> bytes:
    data = zip_bytes(ROOT / "seedcode" / "modelbuild", ROOT) if data is None else data
    (world.s3 / BUCKET / KEY).write_bytes(data)
    return data


def run_checkin(world, repository: Path | str, branch="main", **overrides):
    """Runs the buildspec's commands with bash, in a fresh build folder, as CodeBuild does."""
    env = {**world.env, "SEED_BUCKET": BUCKET, "SEED_KEY": KEY, "REPOSITORY_URL": str(repository),
           "REPOSITORY_BRANCH": branch, **overrides}
    env = {k: v for k, v in env.items() if v is not None}
    src = world.tmp / "src"
    src.mkdir(exist_ok=True)
    output, code = [], 0
    for command in buildspec_commands():
        done = subprocess.run(["bash", "-c", command], cwd=src, env=env, capture_output=True, text=True)
        output.append(done.stdout + done.stderr)
        code = done.returncode
        if code:
            break
    return code, "".join(output)


def branch_commits(world, repository: Path, branch="main") -> list[str]:
    return git(world, "--git-dir", str(repository), "rev-list", f"refs/heads/{branch}").split()


def tree(world, repository: Path, ref: str) -> dict[str, tuple[str, bytes]]:
    """path -> (mode, content) of every file in the commit."""
    listing = git(world, "--git-dir", str(repository), "ls-tree", "-r", "-z", ref).split("\0")
    files = {}
    for entry in filter(None, listing):
        meta, path = entry.split("\t", 1)
        mode, _, blob = meta.split()
        content = subprocess.run(["git", "--git-dir", str(repository), "cat-file", "blob", blob], env=world.env,
                                 capture_output=True, check=True).stdout
        files[path] = (mode, content)
    return files


def zip_tree(data: bytes) -> dict[str, tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            info.filename: ("100755" if (info.external_attr >> 16) & 0o111 else "100644", archive.read(info))
            for info in archive.infolist() if not info.is_dir()
        }


def test_the_buildspec_feeds_the_script_unchanged_to_python():
    commands = buildspec_commands()
    assert len(commands) == 1
    first, *body, last = commands[0].rstrip("\n").split("\n")
    assert first == f"python3 - <<'{seeding.HEREDOC}'" and last == seeding.HEREDOC
    script = seeding.CHECKIN.read_text()
    assert "\n".join(body) == "\n".join(line.rstrip() for line in script.splitlines())
    assert yaml.safe_load(seeding.buildspec())["env"]["git-credential-helper"] is True
    assert "git-credential-helper: yes\n" in seeding.buildspec()


def test_first_push_creates_exactly_the_seed_tree_on_the_branch(world):
    repository = bare(world)
    data = put_seed(world)
    code, output = run_checkin(world, repository)
    assert code == 0, output
    commits = branch_commits(world, repository)
    assert len(commits) == 1
    assert output.strip().splitlines() == [
        f"seed: pushed the seed to branch main: commit {commits[0][:7]}, {len(zip_tree(data))} files from "
        f"s3://{BUCKET}/{KEY}"
    ]
    assert tree(world, repository, "refs/heads/main") == zip_tree(data)
    header = git(world, "--git-dir", str(repository), "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", "main")
    author, committer, message = header.split("|", 2)
    assert author == committer == AUTHOR
    assert f"Seed-Sha256: {hashlib.sha256(data).hexdigest()}" in message
    (call,) = world.s3.with_suffix(".calls").read_text().splitlines()
    words = call.split()
    assert words[:3] == ["s3", "cp", f"s3://{BUCKET}/{KEY}"] and words[4:] == ["--only-show-errors"]
    assert not (world.home / ".gitconfig").exists()  # nothing written to git's global config


def test_executable_files_keep_their_mode(world):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, mode in (("run.sh", 0o755), ("pipelines/README.md", 0o644)):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, f"{name}\n")
    repository = bare(world)
    put_seed(world, buffer.getvalue())
    assert run_checkin(world, repository)[0] == 0
    assert tree(world, repository, "refs/heads/main") == {
        "pipelines/README.md": ("100644", b"pipelines/README.md\n"), "run.sh": ("100755", b"run.sh\n"),
    }


def test_a_rerun_pushes_nothing_and_says_so(world):
    repository = bare(world)
    put_seed(world)
    assert run_checkin(world, repository)[0] == 0
    before = branch_commits(world, repository)
    code, output = run_checkin(world, repository)
    assert code == 0
    assert branch_commits(world, repository) == before
    assert output.strip().splitlines() == [
        f"seed: branch main already holds the seed (commit {before[0][:7]}, this seed zip; tip {before[0][:7]}): "
        "nothing pushed, its history left alone"
    ]


def test_a_rerun_after_the_user_committed_and_with_a_newer_seed_leaves_everything_alone(world):
    repository = bare(world)
    put_seed(world)
    assert run_checkin(world, repository)[0] == 0
    seed = branch_commits(world, repository)[0]
    clone = world.tmp / "work"
    git(world, "clone", "--quiet", str(repository), str(clone))
    (clone / "notes.md").write_text("mine\n")
    git(world, "add", "notes.md", cwd=clone)
    git(world, "-c", "user.name=Data Scientist", "-c", "user.email=ds@example.com", "commit", "-qm", "notes",
        cwd=clone)
    git(world, "push", "--quiet", "origin", "main", cwd=clone)
    history = branch_commits(world, repository)
    put_seed(world, zip_bytes(ROOT / "seedcode" / "modeldeploy", ROOT))  # a newer product version's seed
    code, output = run_checkin(world, repository)
    assert code == 0
    assert branch_commits(world, repository) == history and len(history) == 2
    assert output.strip() == (f"seed: branch main already holds the seed (commit {seed[:7]}, an earlier seed zip; "
                              f"tip {history[0][:7]}): nothing pushed, its history left alone")


def test_a_repository_with_someone_elses_commits_is_refused_cleanly(world):
    repository = bare(world)
    clone = world.tmp / "theirs"
    git(world, "clone", "--quiet", str(repository), str(clone))
    (clone / "README.md").write_text("theirs\n")
    git(world, "add", "README.md", cwd=clone)
    git(world, "-c", "user.name=Someone", "-c", "user.email=someone@example.com", "commit", "-qm", "Initial commit",
        cwd=clone)
    git(world, "push", "--quiet", "origin", "HEAD:main", cwd=clone)
    history = branch_commits(world, repository)
    refs = git(world, "--git-dir", str(repository), "show-ref")
    put_seed(world)
    code, output = run_checkin(world, repository)
    assert code == 3
    assert output.strip().splitlines() == [
        f"seed: refused: branch main already has 1 commits (tip {history[0][:7]}) that the seeding did not make: "
        "nothing pushed, its history left alone; use an empty repository or branch"
    ]
    assert branch_commits(world, repository) == history
    assert git(world, "--git-dir", str(repository), "show-ref") == refs  # no branch added either


def test_an_empty_repository_whose_default_branch_differs_gets_the_seed_on_the_given_branch(world):
    repository = bare(world, branch="trunk")
    data = put_seed(world)
    code, output = run_checkin(world, repository, branch="ml/main")
    assert code == 0, output
    assert "pushed the seed to branch ml/main" in output
    heads = git(world, "--git-dir", str(repository), "for-each-ref", "--format=%(refname)", "refs/heads").split()
    assert heads == ["refs/heads/ml/main"]
    assert tree(world, repository, "refs/heads/ml/main") == zip_tree(data)


def test_a_missing_zip_is_one_line_and_nothing_is_pushed(world):
    repository = bare(world)
    code, output = run_checkin(world, repository)
    assert code == 2
    assert output.strip().splitlines() == [
        f"seed: error: cannot download the seed zip s3://{BUCKET}/{KEY}: fatal error: An error occurred (404) when "
        f'calling the HeadObject operation: Key "{KEY}" does not exist'
    ]
    assert subprocess.run(["git", "--git-dir", str(repository), "show-ref"], env=world.env,
                          capture_output=True).stdout == b""


@pytest.mark.parametrize("data,message", [
    (b"not a zip", f"seed: error: the seed zip s3://{BUCKET}/{KEY} is not a zip file"),
    (b"PK\x05\x06" + b"\0" * 18, "seed: error: the seed zip holds no files"),
])
def test_a_bad_zip_is_one_line(world, data, message):
    repository = bare(world)
    put_seed(world, data)
    code, output = run_checkin(world, repository)
    assert (code, output.strip().splitlines()) == (2, [message])


def test_missing_variables_are_named_in_one_line(world):
    code, output = run_checkin(world, "", SEED_BUCKET=None)
    assert (code, output.strip().splitlines()) == (
        2, ["seed: error: environment variable SEED_BUCKET, REPOSITORY_URL are not set"])


def test_a_repository_that_cannot_be_cloned_is_one_line(world):
    put_seed(world)
    code, output = run_checkin(world, world.tmp / "nowhere.git")
    assert code == 1
    assert len(output.strip().splitlines()) == 1
    assert output.startswith(f"seed: error: cannot clone {world.tmp / 'nowhere.git'}: ")


RACE = """#!/bin/sh
# git, but someone else pushes to the branch just before the check-in's push.
if [ "$1" = push ]; then "$REAL_GIT" -C "$THEIRS" push --quiet origin HEAD:main || exit 99; fi
exec "$REAL_GIT" "$@"
"""


def test_a_branch_created_meanwhile_is_not_overwritten(world):
    """The push is never forced: if the branch appears between the clone and the push, it fails."""
    repository = bare(world)
    put_seed(world)
    theirs = world.tmp / "theirs"
    git(world, "clone", "--quiet", str(repository), str(theirs))
    (theirs / "README.md").write_text("theirs\n")
    git(world, "add", "README.md", cwd=theirs)
    git(world, "-c", "user.name=Someone", "-c", "user.email=s@example.com", "commit", "-qm", "theirs", cwd=theirs)
    mine = git(world, "-C", str(theirs), "rev-parse", "HEAD").strip()
    wrapper = world.tmp / "race"
    wrapper.mkdir()
    (wrapper / "git").write_text(RACE)
    (wrapper / "git").chmod(0o755)
    code, output = run_checkin(world, repository, PATH=f"{wrapper}{os.pathsep}{world.env['PATH']}",
                               REAL_GIT=shutil.which("git"), THEIRS=str(theirs))
    assert code == 1
    assert output.strip().splitlines()[-1].startswith("seed: error: cannot push to branch main: ")
    assert branch_commits(world, repository) == [mine]


def test_a_rejected_push_is_one_line(world):
    repository = bare(world)
    put_seed(world)
    hook = repository / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are closed' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, output = run_checkin(world, repository)
    assert code == 1
    assert output.strip().splitlines() == ["seed: error: cannot push to branch main: error: failed to push some "
                                           f"refs to '{repository}'"]


# --- the resources ------------------------------------------------------------------------------------

def resources(**overrides):
    arguments = dict(
        connection_arn=Ref("CodeConnectionArn"), repository_full_name=Ref("RepositoryFullName"),
        branch=Ref("RepositoryBranch"), seed_bucket=Ref("SeedCodeBucket"), seed_key=Ref("SeedCodeModelbuildKey"),
        role_arn="arn:aws:iam::123456789012:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole",
        tags=project_tags(),
    )
    arguments.update(overrides)
    return seeding.seeding_resources("ModelBuild", **arguments)


def template(**overrides) -> dict:
    t = Template()
    for parameter in project_parameters():
        t.add_parameter(parameter)
    from troposphere import Equals, Not, Parameter

    t.add_parameter(Parameter("CodeConnectionArn", Type="String", Default="", MaxLength=200,
                              AllowedPattern=r"^$|^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:"
                              r"\d{12}:connection/[a-f0-9-]{36}$"))
    t.add_parameter(Parameter("RepositoryFullName", Type="String", Default="", MaxLength=255))
    t.add_parameter(Parameter("RepositoryBranch", Type="String", Default="main", MaxLength=100))
    t.add_parameter(Parameter("SeedCodeBucket", Type="String", MinLength=3, MaxLength=63))
    t.add_parameter(Parameter("SeedCodeModelbuildKey", Type="String", MinLength=1, MaxLength=1024))
    t.add_condition("UsesCodeConnections", Not(Equals(Ref("CodeConnectionArn"), "")))
    for resource in resources(**overrides):
        t.add_resource(resource)
    return json.loads(t.to_json())


def test_the_resources_and_their_properties():
    found = template()["Resources"]
    assert {name: r["Type"] for name, r in found.items()} == {
        "ModelBuildSeedBuild": "AWS::CodeBuild::Project",
        "ModelBuildSeedLogGroup": "AWS::Logs::LogGroup",
        "ModelBuildSeedFunction": "AWS::Lambda::Function",
        "ModelBuildSeedCheckin": "Custom::SeedCheckin",
    }
    assert all(r["Condition"] == "UsesCodeConnections" for r in found.values())
    build = found["ModelBuildSeedBuild"]["Properties"]
    assert build["Source"] == {"Type": "NO_SOURCE", "BuildSpec": seeding.buildspec()}
    assert build["Artifacts"] == {"Type": "NO_ARTIFACTS"}
    assert build["ServiceRole"].endswith("AmazonSageMakerServiceCatalogProductsUseRole")
    assert build["Name"] == {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-modelbuild-seed"}
    variables = {v["Name"]: v["Value"] for v in build["Environment"]["EnvironmentVariables"]}
    assert variables["SEED_BUCKET"] == {"Ref": "SeedCodeBucket"}
    assert variables["SEED_KEY"] == {"Ref": "SeedCodeModelbuildKey"}
    assert variables["REPOSITORY_BRANCH"] == {"Ref": "RepositoryBranch"}
    assert build["TimeoutInMinutes"] * 60 + build["QueuedTimeoutInMinutes"] * 60 < seeding.FUNCTION_SECONDS
    function = found["ModelBuildSeedFunction"]["Properties"]
    assert function["Code"]["ZipFile"] == inline_source("seed_checkin")
    assert function["Timeout"] == seeding.FUNCTION_SECONDS < seeding.SERVICE_TIMEOUT
    assert function["Role"] == build["ServiceRole"]
    assert found["ModelBuildSeedFunction"]["DependsOn"] == ["ModelBuildSeedLogGroup"]
    checkin = found["ModelBuildSeedCheckin"]["Properties"]
    assert checkin["ServiceToken"] == {"Fn::GetAtt": ["ModelBuildSeedFunction", "Arn"]}
    assert checkin["ProjectName"] == {"Ref": "ModelBuildSeedBuild"}
    assert checkin["RepositoryUrl"] == variables["REPOSITORY_URL"]
    assert (checkin["SeedKey"], checkin["SeedBucket"], checkin["Branch"]) == (
        variables["SEED_KEY"], variables["SEED_BUCKET"], variables["REPOSITORY_BRANCH"])


def test_a_separate_function_role_and_a_key():
    found = template(function_role_arn="arn:aws:iam::123456789012:role/fn", key="alias/k")["Resources"]
    assert found["ModelBuildSeedFunction"]["Properties"]["Role"] == "arn:aws:iam::123456789012:role/fn"
    assert found["ModelBuildSeedBuild"]["Properties"]["EncryptionKey"] == "alias/k"
    assert "Metadata" not in found["ModelBuildSeedBuild"]


def resolve_url(value, arn: str, full_name: str, suffix="amazonaws.com") -> str:
    """Evaluates the Join/Select/Split the template gives REPOSITORY_URL."""
    if isinstance(value, str):
        return value
    (function, argument), = value.items()
    if function == "Ref":
        return {"CodeConnectionArn": arn, "RepositoryFullName": full_name, "AWS::URLSuffix": suffix}[argument]
    if function == "Fn::Join":
        return argument[0].join(resolve_url(v, arn, full_name, suffix) for v in argument[1])
    if function == "Fn::Select":
        items = argument[1]
        assert "Fn::Split" in items
        separator, source = items["Fn::Split"]
        return resolve_url(source, arn, full_name, suffix).split(separator)[argument[0]]
    raise AssertionError(function)


@pytest.mark.parametrize("arn,host", [
    (CONNECTION, "codeconnections.eu-west-1.amazonaws.com"),
    (CONNECTION.replace("codeconnections", "codestar-connections"), "codestar-connections.eu-west-1.amazonaws.com"),
])
def test_the_clone_url_is_the_connections_git_http_endpoint(arn, host):
    build = template()["Resources"]["ModelBuildSeedBuild"]["Properties"]
    url = {v["Name"]: v["Value"] for v in build["Environment"]["EnvironmentVariables"]}["REPOSITORY_URL"]
    assert resolve_url(url, arn, "my-org/ml-models") == (
        f"https://{host}/git-http/123456789012/eu-west-1/0f2c4b6e-1a2b-4c3d-8e9f-0123456789ab/my-org/ml-models.git"
    )


def test_names_fit_their_limits_at_the_longest_parameters():
    from generator.names import name_violations, physical_names

    t = template()
    found = {(n.logical_id, n.property): n.value for n in physical_names(t)}
    assert len(found[("ModelBuildSeedBuild", "Name")]) == len("sagemaker--") + 32 + 20 + len("-modelbuild-seed")
    assert len(found[("ModelBuildSeedFunction", "FunctionName")]) == len("sagemaker--modelbuild-seed") + 20 <= 64
    assert len(found[("ModelBuildSeedLogGroup", "LogGroupName")]) <= 512
    assert name_violations(t) == []
    longest = seeding.seeding_resources("A" * seeding.SLUG_MAX, connection_arn="a", repository_full_name="o/r",
                                        branch="main", seed_bucket="b", seed_key="k", role_arn="r", tags=Tags())
    t = Template()
    for parameter in project_parameters():
        t.add_parameter(parameter)
    for resource in longest:
        t.add_resource(resource)
    assert name_violations(json.loads(t.to_json())) == []


@pytest.mark.parametrize("prefix", ["", "model-build", "9lives", "A" * 21])
def test_a_bad_logical_prefix_is_refused(prefix):
    with pytest.raises(ValueError, match="logical_prefix"):
        seeding.seeding_resources(prefix, connection_arn="a", repository_full_name="o/r", branch="main",
                                  seed_bucket="b", seed_key="k", role_arn="r", tags=Tags())


def test_cfn_lint_with_the_projects_rules_is_clean():
    """cfn-lint's own rules and the project's (generator/rules), as `smcat lint` runs them."""
    from cfnlint.config import _DEFAULT_RULESDIR, ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.rules import Rules
    from cfnlint.runner.template.runner import run_template_by_data

    rules = Rules.create_from_directory(_DEFAULT_RULESDIR)
    rules.update(Rules.create_from_directory(str(ROOT / "generator" / "rules")))
    assert any(rule.startswith("E91") for rule in rules)  # the project's rules are loaded
    decoded, errors = decode_str(json.dumps(template()))
    assert not errors
    found = run_template_by_data(decoded, ConfigMixIn(regions=["us-east-1", "eu-west-1"]), rules)
    assert [f"{m.rule.id} {m.message}" for m in found] == []


def test_every_checkov_skip_has_a_one_line_reason():
    for resource in template()["Resources"].values():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_AWS_") and skip["comment"] and "\n" not in skip["comment"]


# --- the custom resource's function ---------------------------------------------------------------------

def inline_module():
    module = types.ModuleType("index")
    exec(compile(inline_source("seed_checkin"), "index.py", "exec"), module.__dict__)  # noqa: S102
    return module


@pytest.fixture(params=["module", "inline"])
def trigger(request):
    if request.param == "module":
        return importlib.import_module("generator.lambdas.seed_checkin")
    return inline_module()


@pytest.fixture
def cloudformation():
    with response_endpoint() as endpoint:
        yield endpoint


def event(url, kind="Create", **extra):
    return {"RequestType": kind, "ResponseURL": url, "StackId": "arn:aws:cloudformation:eu-west-1:1:stack/s/1",
            "RequestId": "5f0c8a5e-7d1b-4b8e-9a65-1d2f3c4b5a6d", "LogicalResourceId": "ModelBuildSeedCheckin",
            "ResourceType": "Custom::SeedCheckin",
            "ResourceProperties": {"ServiceToken": "arn", "ProjectName": "sagemaker-p-id-modelbuild-seed"}, **extra}


class Context:
    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        self.remaining_ms -= 10000
        return self.remaining_ms


def build(status, build_id="sagemaker-p-id-modelbuild-seed:1"):
    return {"id": build_id, "buildStatus": status, "logs": {"deepLink": "https://console/logs/1"}}


@pytest.fixture
def codebuild():
    client = boto3.client("codebuild", region_name="eu-west-1")
    with Stubber(client) as stub:
        client.stub = stub
        yield client
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("kind", ["Create", "Update"])
def test_create_and_update_run_the_build_and_answer_success(trigger, codebuild, cloudformation, kind):
    url, received = cloudformation
    codebuild.stub.add_response("start_build", {"build": build("IN_PROGRESS")}, {
        "projectName": "sagemaker-p-id-modelbuild-seed", "idempotencyToken": "5f0c8a5e-7d1b-4b8e-9a65-1d2f3c4b5a6d"})
    codebuild.stub.add_response("batch_get_builds", {"builds": [build("IN_PROGRESS")]},
                                {"ids": ["sagemaker-p-id-modelbuild-seed:1"]})
    codebuild.stub.add_response("batch_get_builds", {"builds": [build("SUCCEEDED")]},
                                {"ids": ["sagemaker-p-id-modelbuild-seed:1"]})
    slept = []
    result = trigger.handler(event(url, kind, PhysicalResourceId="seed-x") if kind == "Update" else event(url),
                             Context(900000), codebuild=codebuild, sleep=slept.append)
    assert result["Status"] == "SUCCESS" and slept == [10, 10]
    (answer,) = received
    assert answer["content_type"] == ""
    assert answer["body"]["Status"] == "SUCCESS"
    assert answer["body"]["Data"] == {"BuildId": "sagemaker-p-id-modelbuild-seed:1"}
    assert answer["body"]["PhysicalResourceId"] == ("seed-x" if kind == "Update" else
                                                    "seed-sagemaker-p-id-modelbuild-seed")


def test_a_refused_or_failed_build_answers_failed_with_the_log_link(trigger, codebuild, cloudformation):
    url, received = cloudformation
    codebuild.stub.add_response("start_build", {"build": build("FAILED")})
    result = trigger.handler(event(url), Context(900000), codebuild=codebuild, sleep=lambda _: None)
    assert result["Status"] == "FAILED"
    assert received[0]["body"]["Reason"] == (
        "RuntimeError: the seeding build sagemaker-p-id-modelbuild-seed:1 ended FAILED; its log says why: "
        "https://console/logs/1")


def test_a_build_still_running_near_the_timeout_answers_failed_in_time(trigger, codebuild, cloudformation):
    url, received = cloudformation
    codebuild.stub.add_response("start_build", {"build": build("IN_PROGRESS")})
    codebuild.stub.add_response("batch_get_builds", {"builds": [build("IN_PROGRESS")]})
    result = trigger.handler(event(url), Context(55000), codebuild=codebuild, sleep=lambda _: None)
    assert result["Status"] == "FAILED"
    assert "is still running; see https://console/logs/1" in received[0]["body"]["Reason"]


def test_delete_calls_nothing_and_answers_success(trigger, codebuild, cloudformation):
    url, received = cloudformation
    result = trigger.handler(event(url, "Delete", PhysicalResourceId="seed-x"), Context(900000), codebuild=codebuild)
    assert result["Status"] == "SUCCESS" and received[0]["body"]["PhysicalResourceId"] == "seed-x"


def test_the_inline_code_fits():
    assert len(inline_source("seed_checkin").encode()) <= INLINE_LIMIT
