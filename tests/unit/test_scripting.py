"""The BPMN script environment (engine.scripting): expressions and scripts are compiled once, and behave
exactly as SpiffWorkflow's own environment runs them."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from engine.scripting import SAFE_BUILTINS, CompiledTaskDataEnvironment, _compiled

GLOBALS = {"__builtins__": SAFE_BUILTINS, "double": lambda x: 2 * x}


def _both():
    return CompiledTaskDataEnvironment(dict(GLOBALS)), TaskDataEnvironment(dict(GLOBALS))


@pytest.mark.parametrize(
    "expression",
    ['decision == "approve"', "double(n) > 3 and not flag", "[x for x in items if x > n]", "max(items) + n"],
)
def test_an_expression_gives_what_the_library_gives_and_is_compiled_once(expression):
    ours, theirs = _both()
    context = {"decision": "approve", "n": 2, "flag": False, "items": [1, 3, 5]}
    assert ours.evaluate(expression, dict(context)) == theirs.evaluate(expression, dict(context))
    before = _compiled.cache_info()
    ours.evaluate(expression, dict(context, n=1))
    after = _compiled.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_a_script_leaves_the_same_task_data_behind():
    ours, theirs = _both()
    script = "total = double(n)\nlabel = str(total)\n"
    data = [{"n": 4}, {"n": 4}]
    ours.execute(script, data[0])
    theirs.execute(script, data[1])
    assert data[0] == data[1] == {"n": 4, "total": 8, "label": "8"}  # no helper or builtins left behind


@pytest.mark.parametrize(
    "expression, error",
    [("__import__('os')", NameError), ("open('/etc/passwd')", NameError), ("decision ==", SyntaxError)],
)
def test_the_sandbox_and_the_errors_are_the_library_s(expression, error):
    ours, theirs = _both()
    with pytest.raises(error) as mine:
        ours.evaluate(expression, {"decision": "x"})
    with pytest.raises(error) as library:
        theirs.evaluate(expression, {"decision": "x"})
    assert str(mine.value) == str(library.value)
