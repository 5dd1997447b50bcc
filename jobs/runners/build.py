"""Building an image on a node (Dockerfile sent from here, or a folder there), and removing one."""

from __future__ import annotations

import base64
import contextlib
import io
import re
import shlex
import tarfile
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import docker
import paramiko
import requests
from django.conf import settings
from docker.errors import DockerException

from fleet.models import Node
from fleet.remote import RemoteError, pool
from fleet.services.nodes import target_for
from jobs.docker_api import classify, client_for, docker_on
from jobs.models import Job, NodeImage
from jobs.runners.base import Cancelled, Runner, StepFailed
from jobs.services import images, policy

BUILD_LABEL = "npufleet.build-job"
STEP_RE = re.compile(r"^Step (\d+)/(\d+) : ")
CONTEXT_TIMEOUT = 30.0
PID_THEN_EXEC = 'echo "$$"; exec "$@"'


def build_timeout() -> float:
    """Seconds a build may take (quiet stretches included), JOBS_BUILD_TIMEOUT or 3 hours."""
    return float(settings.JOBS_BUILD_TIMEOUT)


def context_tar(dockerfile: str, files: dict[str, bytes]) -> bytes:
    """An in-memory build context: the Dockerfile and the uploaded files at its root."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [("Dockerfile", dockerfile.encode()), *sorted(files.items())]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def uploaded_files(job: Job) -> dict[str, bytes]:
    """The files uploaded with a build job, decoded."""
    data = job.params.get("file_data") or {}
    return {name: base64.b64decode(text) for name, text in data.items()}


class BuildRunner(Runner):
    """docker build on the node, its output streamed into the log, then the image recorded."""

    def __init__(self, job: Job) -> None:
        super().__init__(job)
        self.params: dict[str, Any] = job.params
        self.tag: str = self.params["tag"]
        self.last_step = ""
        self._partial = ""
        self._remote_pid = ""
        self._remote_done = False
        self._timed_out = False
        self._responses: list[requests.Response] = []

    @property
    def node(self) -> Node:
        """The build's node; run() refuses a build whose node was deleted."""
        if self.job.node is None:
            raise StepFailed("the node of this build was deleted")
        return self.job.node

    @contextlib.contextmanager
    def _docker(self, timeout: float) -> Iterator[docker.DockerClient]:
        """Like `docker_on`, but only SDK and transport errors become RemoteError."""
        client = client_for(self.node, timeout)
        try:
            yield client
        except (DockerException, requests.RequestException, paramiko.SSHException, OSError) as exc:
            raise classify(exc, self.node) from None
        finally:
            with contextlib.suppress(Exception):
                client.api.close()

    def run(self) -> None:
        if self.job.node is None:
            raise StepFailed("the node of this build was deleted")
        self.log.line(f"image {self.tag} on {self.job.node.name}")
        if self.params.get("mode") == "folder":
            self._build_folder()
        else:
            self._build_upload()
        with self.step("record"):
            self._record()
        images.drop_build_files(self.job)

    # Output.
    def _output(self, text: str) -> None:
        """Log build output and follow its `Step N/M : ...` lines."""
        self._raise_if_stopped()
        if self.params.get("mode") == "folder" and not self._remote_pid:
            # The wrapper prints the build's pid first, so a cancel can stop it.
            head, newline, text = (self._partial + text).partition("\n")
            self._partial = "" if newline else head
            if not newline:
                return
            self._remote_pid = head.strip()
        self.log.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line.rstrip("\r"))

    def _line(self, line: str) -> None:
        match = STEP_RE.match(line)
        if not match:
            return
        self.last_step = line.strip()
        self.job.result.update(build_step=int(match[1]), build_steps=int(match[2]))
        for step in self.job.steps:
            if step["name"] == "build":
                step["detail"] = self.last_step[:300]
        images.save_progress(self.job)

    def _failed(self, error: str) -> StepFailed:
        if self._partial:
            self._line(self._partial)
        error = error.strip() or "docker build failed"
        if self.last_step:
            return StepFailed(f"{self.last_step} failed: {error}")
        return StepFailed(f"docker refused the build before its first step: {error}")

    # A Dockerfile (and files) sent from here.
    def _build_upload(self) -> None:
        files = uploaded_files(self.job)
        with contextlib.ExitStack() as stack:
            with self.step("context"):
                client = stack.enter_context(self._docker(build_timeout()))
                # Keep the build's streaming response, so a cancel can close it (the engine
                # then stops the build).
                client.api.hooks["response"].append(lambda r, *a, **k: self._responses.append(r))
                stack.enter_context(self._hang_up_when_stopped())
                policy.check_build(
                    node=self.node,
                    team=self.job.team,
                    dockerfile=self.params["dockerfile"],
                    build_args=self.params.get("build_args") or {},
                    on_node=False,
                )
                data = context_tar(self.params["dockerfile"], files)
                names = ", ".join(["Dockerfile", *sorted(files)])
                self.log.line(f"sending the build context ({names}; {len(data)} bytes)")
                stream = client.api.build(
                    fileobj=io.BytesIO(data),
                    custom_context=True,
                    tag=self.tag,
                    buildargs=self.params.get("build_args") or {},
                    labels={BUILD_LABEL: str(self.job.pk)},
                    decode=True,
                    rm=True,
                    forcerm=True,
                    pull=False,
                    timeout=build_timeout(),  # type: ignore[arg-type]  # requests takes a float
                )
            with self.step("build"):
                self._follow(stream)

    @contextlib.contextmanager
    def _hang_up_when_stopped(self) -> Iterator[None]:
        """While the SDK waits for output, a cancel or the time limit closes the connection."""
        done = threading.Event()
        deadline = time.monotonic() + build_timeout()

        def hang_up() -> None:
            for response in self._responses:
                with contextlib.suppress(Exception):
                    response.close()

        def watch() -> None:
            # Keeps watching: the response may arrive only after the limit passed.
            while not done.wait(0.5):
                self._timed_out = time.monotonic() > deadline
                if self.cancelled.is_set() or self._timed_out:
                    hang_up()

        watcher = threading.Thread(target=watch, name=f"job-{self.job.pk}-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join(timeout=5)
            hang_up()  # whatever ended the build, the engine must not keep building for nobody

    def _follow(self, stream: Iterable[dict[str, Any]]) -> None:
        error = ""
        try:
            for item in stream:
                error = self._item(item) or error
        except Exception:
            self._raise_if_stopped()
            raise
        self._raise_if_stopped()
        if error:
            raise self._failed(error)
        if self._partial:
            self._line(self._partial)

    def _raise_if_stopped(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled
        if self._timed_out:
            raise StepFailed(
                f"the build did not finish within {build_timeout():g} s (JOBS_BUILD_TIMEOUT)"
                + (f"; it was at {self.last_step}" if self.last_step else "")
            )

    def _item(self, item: dict[str, Any]) -> str:
        """Log one decoded message of the build stream; returns its error, if it is one."""
        if "stream" in item:
            self._output(item["stream"])
        elif "error" in item:
            message = (item.get("errorDetail") or {}).get("message") or item["error"]
            self._output(message.rstrip("\n") + "\n")
            return message
        elif "status" in item and not item.get("progressDetail"):
            self._output(" ".join(filter(None, [item.get("id"), item["status"]])) + "\n")
        return ""

    # A folder on the node.
    def _build_folder(self) -> None:
        node, path = self.node, self.params["context_path"]
        dockerfile = self.params.get("dockerfile") or ""
        target = target_for(node)
        with self.step("context"):
            path = self._checked_folder(path, dockerfile)
            if pool.run(target, ["test", "-d", path], check=False).exit_code != 0:
                raise StepFailed(
                    f"{path} is not a folder on {node.name}; upload the files there first"
                )
            if not dockerfile:
                probe = pool.run(target, ["test", "-f", f"{path}/Dockerfile"], check=False)
                if probe.exit_code != 0:
                    raise StepFailed(
                        f"{path} on {node.name} has no Dockerfile; add one or write it here"
                    )
            size = pool.run(target, ["du", "-sk", path], check=False, timeout=CONTEXT_TIMEOUT)
            kib = size.stdout.split()[0] if size.exit_code == 0 and size.stdout else "?"
            self.log.line(f"build context: {path} on {node.name} ({kib} KiB)")
        argv = ["docker", "build", "--rm", "--force-rm", "-t", self.tag]
        argv += ["--label", f"{BUILD_LABEL}={self.job.pk}"]
        for name, value in (self.params.get("build_args") or {}).items():
            argv += ["--build-arg", f"{name}={value}"]
        if dockerfile:
            argv += ["-f", "-"]
        argv.append(path)
        with self.step("build"):
            self.log.line("$ " + shlex.join(argv))
            # The classic builder prints `Step N/M`; the wrapper prints its pid for a cancel.
            wrapped = ["env", "DOCKER_BUILDKIT=0", "sh", "-c", PID_THEN_EXEC, "build", *argv]
            done = pool.run(
                target,
                wrapped,
                timeout=build_timeout(),
                check=False,
                stdin=dockerfile.encode() if dockerfile else None,
                on_output=self._output,
            )
            self._remote_done = True
            if done.exit_code != 0:
                lines = [line for line in done.stderr.splitlines() if line.strip()]
                raise self._failed(lines[-1] if lines else f"docker build exited {done.exit_code}")
            if self._partial:
                self._line(self._partial)

    def _checked_folder(self, path: str, dockerfile: str) -> str:
        """The context folder resolved on the node and checked by the policy, Dockerfile too."""
        node = self.node
        real = policy.check_build(node=node, team=self.job.team, context_path=path)
        if real != path:
            self.log.line(f"build context {path} is {real} on {node.name}")
        if not dockerfile:
            shown = pool.run(
                target_for(node),
                ["head", "-c", str(images.MAX_DOCKERFILE_BYTES), f"{real}/Dockerfile"],
                check=False,
                timeout=CONTEXT_TIMEOUT,
            )
            dockerfile = shown.stdout if shown.exit_code == 0 else ""
        if dockerfile:
            policy.check_build(
                node=node,
                team=self.job.team,
                dockerfile=dockerfile,
                build_args=self.params.get("build_args") or {},
                on_node=False,
            )
        return real

    def on_failure(self) -> None:
        """A folder build left running (cancel, timeout, lost output) is stopped on the node."""
        if self._remote_pid.isdigit() and not self._remote_done and self.job.node is not None:
            pool.run(target_for(self.job.node), ["kill", "-TERM", self._remote_pid], check=False)
            self.log.line(f"stopped docker build (pid {self._remote_pid}) on {self.job.node.name}")

    def _record(self) -> None:
        with self._docker(60.0) as client:
            attrs = client.api.inspect_image(self.tag)
        image = images.record_image(
            self.node,
            tag=self.tag,
            image_id=attrs["Id"],
            size_bytes=int(attrs.get("Size") or 0),
            created=images.parse_created(attrs.get("Created")),
            build_job=self.job,
        )
        self.job.result.update(
            tag=self.tag, image_id=image.image_id, size_bytes=image.size_bytes, image=image.pk
        )
        self.log.line(
            f"recorded {self.tag}: {image.image_id[:19]}, {image.size_bytes / 1e6:.1f} MB"
        )


class RemoveImageRunner(Runner):
    """docker rmi of an image no live deployment uses; its row goes with it."""

    def run(self) -> None:
        node, tag = self.job.node, self.job.params["tag"]
        if node is None:
            raise StepFailed("the node of this image was deleted")
        with self.step("check"):
            image = NodeImage.objects.filter(node=node, tag=tag).first()
            live = images.live_users(image) if image is not None else []
            if live:
                raise StepFailed(
                    f"{tag} on {node.name} is used by {images.describe_users(live)}; stop and "
                    "remove those deployments first"
                )
            self.log.line(f"no live deployment uses {tag}")
        with self.step("remove"):
            try:
                with docker_on(node) as client:
                    client.images.remove(tag)
                self.log.line(f"removed {tag} from {node.name}")
            except RemoteError as exc:
                if "No such image" not in exc.message:
                    raise
                self.log.line(f"{tag} was already gone from {node.name}")
            images.forget_image(node, tag)
