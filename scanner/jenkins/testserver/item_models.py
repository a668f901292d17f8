"""The exported beans of items, builds and computers (facts sheet 9.2, 9.3): fields and visibility.

Visibility numbers are the @Exported ones of Jenkins core and the plugins: ``name``/``url`` 999,
``color``/``number`` 2, ``allBuilds`` -2, parameter values 3-4, everything else 1. Lists that cost
disk reads (children, builds) are callables, evaluated only when written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import xstream as xs
from .export import Bean, bean
from .items import FOLDER_CLASSES, PASSWORD_VALUE, PIPELINE, Build, Item

NAME_URL = {"name": 999, "url": 999}
BUILDS_SHOWN = 100  # Job.getBuilds().limit(100)
COLORS = {"SUCCESS": "blue", "FAILURE": "red", "UNSTABLE": "yellow", "ABORTED": "aborted", "NOT_BUILT": "notbuilt"}
PERMALINKS = ("lastBuild", "lastCompletedBuild", "lastFailedBuild", "lastStableBuild", "lastSuccessfulBuild",
              "lastUnstableBuild", "lastUnsuccessfulBuild")


@dataclass(frozen=True)
class Exporter:
    root_url: str  # with trailing slash
    visible: Callable[[list[Item]], list[Item]]  # the children the caller holds Item/Read on

    def all_view(self, owner: Item | None) -> Bean:
        url = self.root_url + (owner.path if owner else "")
        return bean("hudson.model.AllView", NAME_URL, name="all", url=url)

    def all_view_full(self, owner: Item | None) -> Bean:
        view = self.all_view(owner)
        children = owner.children if owner else None
        jobs = (lambda: [self.item(i) for i in self.visible(children() if children else [])])
        view.props.update({"description": (1, None), "jobs": (1, jobs), "property": (1, [])})
        view.props = dict(sorted(view.props.items()))
        return view

    def root_jobs(self, top: Callable[[], list[Item]]) -> Callable[[], list[Bean]]:
        return lambda: [self.item(i) for i in self.visible(top())]

    # -- items ------------------------------------------------------------------------------

    def item(self, item: Item) -> Bean:
        common = dict(actions=[], description=item.description or None, displayName=item.name,
                      displayNameOrNull=None, fullDisplayName=" » ".join(item.full_name.split("/")),
                      fullName=item.full_name, healthReport=[], name=item.name, url=self.root_url + item.path)
        if item.class_name in FOLDER_CLASSES:
            return bean(item.class_name, NAME_URL, **common,
                        jobs=lambda: [self.item(c) for c in self.visible(item.children())],
                        primaryView=self.all_view(item), views=[self.all_view(item)])
        return self.job(item, common)

    def job(self, item: Item, common: dict) -> Bean:
        numbers = item.build_numbers
        links = Permalinks(item)
        definitions = self.parameter_definitions(item)
        common["actions"] = [definitions] if definitions else []
        fields = dict(common, buildable=True, builds=lambda: [self.build(item.build(n)) for n in numbers()[:BUILDS_SHOWN]],
                      allBuilds=lambda: [self.build(item.build(n)) for n in numbers()], color=lambda: links.color(),
                      concurrentBuild=False, firstBuild=lambda: self.build_or_none(links.first()), inQueue=False,
                      keepDependencies=False, nextBuildNumber=(numbers() or [0])[0] + 1,
                      property=[definitions] if definitions else [], queueItem=None)
        for name in PERMALINKS:
            fields[name] = (lambda name=name: self.build_or_none(links.get(name)))
        if item.class_name == PIPELINE:
            fields["resumeBlocked"] = False
        else:
            fields.update(disabled=xs.text_of(item.config, "disabled") == "true", downstreamProjects=[],
                          labelExpression=None, scm=bean("hudson.scm.NullSCM"), upstreamProjects=[])
        return bean(item.class_name, {**NAME_URL, "color": 2, "allBuilds": -2}, **fields)

    def parameter_definitions(self, item: Item) -> Bean | None:
        """ParametersDefinitionProperty (default visibility 2): defaults of password parameters stay hidden."""
        definitions = []
        for node in item.parameter_definitions():
            password = node.tag == "hudson.model.PasswordParameterDefinition"
            kind = node.tag.rsplit(".", 1)[-1].replace("ParameterDefinition", "")
            value_class = node.tag.replace("Definition", "Value")
            name = xs.text_of(node, "name") or ""
            default = bean(value_class, {"name": 3}, name=name) if password else bean(
                value_class, {"name": 3, "value": 4}, name=name, value=xs.text_of(node, "defaultValue") or "")
            # ParameterDefinition is @ExportedBean(defaultVisibility = 3)
            definitions.append(bean(node.tag, {k: 3 for k in ("name", "type", "description", "defaultParameterValue")},
                                    defaultParameterValue=default, description=xs.text_of(node, "description"),
                                    name=name, type=kind + "ParameterDefinition"))
        if not definitions:
            return None
        return bean("hudson.model.ParametersDefinitionProperty", {"parameterDefinitions": 2},
                    parameterDefinitions=definitions)

    # -- builds -----------------------------------------------------------------------------

    def build_or_none(self, build: Build | None) -> Bean | None:
        return None if build is None else self.build(build)

    def build(self, build: Build | None) -> Bean:
        assert build is not None
        job = build.job
        record = lambda: build.record  # noqa: E731 - build.xml is read only if a field needs it
        fields = dict(
            actions=lambda: self.build_actions(build), artifacts=[], building=lambda: record().building,
            description=lambda: record().description, displayName=lambda: record().display_name or f"#{build.number}",
            duration=lambda: record().duration, estimatedDuration=lambda: record().duration or -1, executor=None,
            fullDisplayName=lambda: " » ".join(job.full_name.split("/")) + f" #{build.number}", id=str(build.number),
            inProgress=lambda: record().building, keepLog=lambda: record().keep_log, number=build.number,
            queueId=lambda: record().queue_id, result=lambda: record().result, timestamp=lambda: record().timestamp,
            url=self.root_url + build.path, culprits=[])
        if job.class_name == PIPELINE:
            fields.update(changeSets=[], nextBuild=lambda: self.build_or_none(job.build(_next(job, build.number))),
                          previousBuild=lambda: self.build_or_none(job.build(_previous(job, build.number))))
        else:
            fields.update(builtOn="", changeSet=bean("hudson.scm.EmptyChangeLogSet", {"items": 999, "kind": 999},
                                                           items=[], kind=None))
        return bean(build.class_name, {"number": 2, "url": 2}, **fields)

    def build_actions(self, build: Build) -> list[Bean]:
        """ParametersAction: names and values (visibility 3, 4); a password parameter shows its name only."""
        values = []
        for parameter in build.visible_parameters():
            if parameter.class_name == PASSWORD_VALUE:
                values.append(bean(parameter.class_name, {"name": 3}, name=parameter.name))
            else:
                values.append(bean(parameter.class_name, {"name": 3, "value": 4}, name=parameter.name,
                                   value=parameter.value))
        cause = bean("hudson.model.Cause$UserIdCause", {k: 3 for k in ("shortDescription", "userId", "userName")},
                     shortDescription="Started by user anonymous", userId=None, userName="anonymous")
        causes = bean("hudson.model.CauseAction", {"causes": 2}, causes=[cause])
        if not values:
            return [causes]
        return [bean("hudson.model.ParametersAction", {"parameters": 2}, parameters=values), causes]


def _next(job: Item, number: int) -> int:
    later = [n for n in job.build_numbers() if n > number]
    return min(later) if later else -1


def _previous(job: Item, number: int) -> int:
    earlier = [n for n in job.build_numbers() if n < number]
    return max(earlier) if earlier else -1


class Permalinks:
    """PeepholePermalink's answers, computed from build.xml results newest first."""

    def __init__(self, job: Item) -> None:
        self.job = job

    def first(self) -> Build | None:
        numbers = self.job.build_numbers()
        return self.job.build(numbers[-1]) if numbers else None

    def get(self, name: str) -> Build | None:
        tests = {
            "lastBuild": lambda r: True,
            "lastCompletedBuild": lambda r: not r.building,
            "lastFailedBuild": lambda r: r.result == "FAILURE",
            "lastStableBuild": lambda r: r.result == "SUCCESS",
            "lastSuccessfulBuild": lambda r: r.result in ("SUCCESS", "UNSTABLE"),
            "lastUnstableBuild": lambda r: r.result == "UNSTABLE",
            "lastUnsuccessfulBuild": lambda r: not r.building and r.result != "SUCCESS",
        }
        test = tests.get(name)
        if test is None:
            return None
        return next((b for b in self.job.builds() if test(b.record)), None)

    def color(self) -> str:
        if xs.text_of(self.job.config, "disabled") == "true":
            return "disabled"
        last = self.get("lastBuild")
        completed = self.get("lastCompletedBuild")
        base = COLORS.get(completed.record.result or "", "notbuilt") if completed else "notbuilt"
        return base + "_anime" if last is not None and last.record.building else base


def computer_set(nodes: list[tuple[str, int]], root_url: str) -> Bean:
    """/computer/api/json: the built-in node, then each agent (name, executors); agents are offline."""
    built_in = computer("hudson.model.Hudson$MasterComputer", "Built-In Node", 2, False,
                        "the Jenkins controller's built-in node", [bean(None, name="built-in")])
    agents = [computer("hudson.slaves.SlaveComputer", name, executors, True, "", [bean(None, name=name)])
              for name, executors in nodes]
    return bean("hudson.model.ComputerSet", busyExecutors=0, computer=[built_in, *agents], displayName="Nodes",
                totalExecutors=2)


def computer(class_name: str, name: str, executors: int, offline: bool, description: str,
             labels: list[Bean]) -> Bean:
    return bean(class_name, actions=[], assignedLabels=labels, description=description, displayName=name,
                executors=[bean(None) for _ in range(0 if offline else executors)], icon="symbol-computer",
                idle=True, jnlpAgent=offline, launchSupported=not offline, manualLaunchAllowed=True, monitorData={},
                numExecutors=executors, offline=offline, offlineCause=None, offlineCauseReason="",
                oneOffExecutors=[], temporarilyOffline=False)
