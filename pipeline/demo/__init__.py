"""``rbb demo``: realistic synthetic submissions for all members (:mod:`.data`, case microdata in
:mod:`.cases`), written as members send them and run through every stage (:mod:`.run`)."""

from pipeline.demo.run import run_demo

__all__ = ["run_demo"]
