"""Seed check-in: puts a SageMaker project's seed code into the user's empty Git repository, once.

The seeding CodeBuild project (generator/blocks/seeding.py) runs this file with the Python 3 of its
build image; it uses the standard library, git and the AWS CLI only. Environment:

- SEED_BUCKET, SEED_KEY: the seed zip in S3 (downloaded with `aws s3 cp`);
- REPOSITORY_URL: where to clone and push (through the connection's git-http endpoint);
- REPOSITORY_BRANCH: the branch to seed (default main).

What it does, printing exactly one line for the outcome:

- the branch has no commits: commits the zip's files (exact bytes and modes, nothing left out) as
  one commit by a fixed author whose message carries the trailer `Seed-Sha256: <sha256 of the zip>`,
  and pushes it without force (a branch someone creates meanwhile makes the push fail, not lose
  their work). Exit 0;
- the branch already holds a seed commit (a commit with that trailer: this seeding ran before,
  whatever came after it): pushes nothing, says so. Exit 0, so re-running is harmless;
- the branch has commits but none from the seeding: refuses, pushes nothing, says so. Exit 3;
- bad input (a variable missing, the zip missing, unreadable or empty): exit 2; git failing to
  clone or push: exit 1.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

AUTHOR = ("SageMaker project seed", "noreply@sagemaker-project-seed.invalid")
TRAILER = "Seed-Sha256"
REFUSED = 3


class Stop(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def git(*args, cwd=None, check=True):
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_AUTHOR_NAME=AUTHOR[0], GIT_AUTHOR_EMAIL=AUTHOR[1],
               GIT_COMMITTER_NAME=AUTHOR[0], GIT_COMMITTER_EMAIL=AUTHOR[1])
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode:
        raise Stop(1, f"git {args[0]} failed: {last_line(done.stderr)}")
    return done


def last_line(text):
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def settings():
    missing = [name for name in ("SEED_BUCKET", "SEED_KEY", "REPOSITORY_URL") if not os.environ.get(name)]
    if missing:
        raise Stop(2, "environment variable " + ", ".join(missing) + (" is" if len(missing) == 1 else " are")
                   + " not set")
    return (os.environ["SEED_BUCKET"], os.environ["SEED_KEY"], os.environ["REPOSITORY_URL"],
            os.environ.get("REPOSITORY_BRANCH") or "main")


def download(bucket, key, target):
    source = f"s3://{bucket}/{key}"
    done = subprocess.run(["aws", "s3", "cp", source, target, "--only-show-errors"], capture_output=True, text=True)
    if done.returncode or not os.path.isfile(target):
        raise Stop(2, f"cannot download the seed zip {source}: {last_line(done.stderr)}")
    if not zipfile.is_zipfile(target):
        raise Stop(2, f"the seed zip {source} is not a zip file")
    with open(target, "rb") as stream:
        return source, hashlib.sha256(stream.read()).hexdigest()


def seed_commit(repo, ref):
    """The oldest commit on `ref` the seeding made (its message has the trailer), or None."""
    found = git("log", "--format=%H", f"--grep=^{TRAILER}: ", ref, cwd=repo).stdout.split()
    return found[-1] if found else None


def unpack(archive, repo):
    """Writes the zip's files into the work tree with their modes; returns how many."""
    count = 0
    with zipfile.ZipFile(archive) as seed:
        for info in seed.infolist():
            parts = info.filename.split("/")
            if info.is_dir():
                continue
            if info.filename.startswith("/") or ".." in parts or parts[0] == ".git":
                raise Stop(2, f"the seed zip holds an unsafe path {info.filename!r}")
            path = os.path.join(repo, *parts)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(seed.read(info))
            os.chmod(path, 0o755 if (info.external_attr >> 16) & 0o111 else 0o644)
            count += 1
    if not count:
        raise Stop(2, "the seed zip holds no files")
    return count


def check_in():
    bucket, key, url, branch = settings()
    with tempfile.TemporaryDirectory(prefix="seed-") as work:
        return check_in_at(work, bucket, key, url, branch)


def check_in_at(work, bucket, key, url, branch):
    archive, repo = os.path.join(work, "seed.zip"), os.path.join(work, "repository")
    source, digest = download(bucket, key, archive)
    done = git("clone", "--quiet", "--no-checkout", url, repo, check=False)
    if done.returncode:
        raise Stop(1, f"cannot clone {url}: {last_line(done.stderr)}")
    ref = f"refs/remotes/origin/{branch}"
    if git("rev-parse", "--verify", "--quiet", ref, cwd=repo, check=False).returncode == 0:
        tip = git("log", "-1", "--format=%h", ref, cwd=repo).stdout.strip()
        seeded = seed_commit(repo, ref)
        if seeded:
            message = git("log", "-1", "--format=%B", seeded, cwd=repo).stdout
            same = f"{TRAILER}: {digest}" in message
            return (f"branch {branch} already holds the seed (commit {seeded[:7]}, "
                    f"{'this' if same else 'an earlier'} seed zip; tip {tip}): nothing pushed, its history left alone")
        count = git("rev-list", "--count", ref, cwd=repo).stdout.strip()
        raise Stop(REFUSED, f"refused: branch {branch} already has {count} commits (tip {tip}) that the seeding did "
                   "not make: nothing pushed, its history left alone; use an empty repository or branch")
    git("checkout", "--quiet", "--orphan", branch, cwd=repo)
    files = unpack(archive, repo)
    git("add", "--all", "--force", ".", cwd=repo)
    message = f"Seed code of the SageMaker project\n\nFrom {source}.\n\n{TRAILER}: {digest}\n"
    git("-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message, cwd=repo)
    commit = git("rev-parse", "--short", "HEAD", cwd=repo).stdout.strip()
    done = git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=repo, check=False)
    if done.returncode:
        raise Stop(1, f"cannot push to branch {branch}: {last_line(done.stderr)}")
    return f"pushed the seed to branch {branch}: commit {commit}, {files} files from {source}"


def main():
    try:
        print(f"seed: {check_in()}", flush=True)
    except Stop as stop:
        print(f"seed: error: {stop}" if stop.code != REFUSED else f"seed: {stop}", file=sys.stderr, flush=True)
        return stop.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
