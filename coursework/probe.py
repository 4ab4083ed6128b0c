"""The grader's agent inside a student's kernel: it calls the graded functions, nothing more.

``coursework.kernel`` starts it before the kernel runs a single line of the student's code. It
listens on a Unix socket, accepts exactly one connection (the grader's, made as soon as the
kernel is up) and then answers requests on it from a thread of its own, outside IPython: no
IPython hook, input or AST transformer sees them. A request names a function of the student's
notebook and carries the grader's inputs as plain data (numbers, arrays, the engine's
dataclasses by field); the reply is plain data again: what the function returned, the inputs
as the function left them, and which engine functions it entered. The grader decides.

Everything the probe needs is bound at start-up, before any student code runs, and an audit
hook (which no code can remove) refuses the tools that would reach into the probe from the
student's code: gc's object lists, other threads' frames, replacing a function's code, new code
objects, ctypes, new processes; and, during a graded call, profilers and tracers.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import importlib
import json
import pkgutil
import socket
import struct
import sys
import threading
import types

import numpy as np

MAX_MESSAGE = 64 * 2**20  # bytes: far above any answer of the book's problems
ALWAYS_REFUSED = ("gc.get_objects", "gc.get_referrers", "gc.get_referents",
                  "sys._current_frames", "code.__new__", "sys.setprofileallthreads",
                  "sys.settraceallthreads", "sys._setprofileallthreads",
                  "sys._settraceallthreads",
                  # no new processes: a kernel needs none, and a fork bomb needs them
                  "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn",
                  "os.system", "subprocess.Popen", "pty.spawn")
# (frames stay allowed: warnings, logging and inspect need them in honest code)
REFUSED_IN_CALLS = ("sys.setprofile", "sys.settrace")


def engine_functions() -> dict[int, tuple[types.CodeType, str]]:
    """{id(code): (code, "module.qualname")} of every function and method of bptt_core."""
    import bptt_core

    found: dict[int, tuple[types.CodeType, str]] = {}
    modules = [bptt_core]
    for info in pkgutil.walk_packages(bptt_core.__path__, "bptt_core."):
        try:
            modules.append(importlib.import_module(info.name))
        except Exception:  # noqa: BLE001 -- a module that cannot load cannot be called either
            continue

    def add(obj: object, module: str) -> None:
        code = getattr(obj, "__code__", None)
        if isinstance(code, types.CodeType) and getattr(obj, "__module__", None) == module:
            found[id(code)] = (code, f"{module}.{obj.__qualname__}")

    for module in modules:
        for value in list(vars(module).values()):
            add(value, module.__name__)
            if isinstance(value, type) and value.__module__ == module.__name__:
                for attr in vars(value).values():
                    add(getattr(attr, "__func__", attr), module.__name__)
                    if isinstance(attr, property) and attr.fget is not None:
                        add(attr.fget, module.__name__)
    return found


def _references() -> dict[str, types.FunctionType]:
    """The reference helpers swapped in for a later task (one bug costs one task)."""
    from bptt_core.cells import lstm_step_backward
    from bptt_core.checks.assignments import mistaken_step_grads as step_grads
    from bptt_core.clipping import global_norm
    from bptt_core.rnn import rnn_forward

    def rnn_step(params, x_t, h_prev):  # type: ignore[no-untyped-def]
        return rnn_forward(params, np.asarray(x_t)[None], h_prev).h[1]

    def rnn_step_grads(params, x_t, h_prev, h_t, dh):  # type: ignore[no-untyped-def]
        # the task's formulas on the arguments as given (h_t is not recomputed from h_prev)
        return step_grads(params, np.asarray(x_t), np.asarray(h_prev), np.asarray(h_t),
                          np.asarray(dh))

    def grad_norm(grads):  # type: ignore[no-untyped-def]
        return float(global_norm(grads))

    def lstm_step_grads(step, dh, dc_next):  # type: ignore[no-untyped-def]
        return lstm_step_backward(step, dh, dc_next)

    return {"rnn_step": rnn_step, "rnn_step_grads": rnn_step_grads, "grad_norm": grad_norm,
            "lstm_step_grads": lstm_step_grads}


def start(path: str) -> None:
    """Listen on ``path``, install the audit hook, serve the grader from a thread.

    Call before any student code runs; everything used later is bound here.
    """
    engine = engine_functions()
    references = _references()
    reference_codes = {id(f.__code__): name for name, f in references.items()}
    engine_classes = {}
    for name, module in list(sys.modules.items()):
        if name == "bptt_core" or name.startswith("bptt_core."):
            for value in list(vars(module).values()):
                if dataclasses.is_dataclass(value) and isinstance(value, type) \
                        and value.__module__ == name:
                    engine_classes[f"{name}:{value.__qualname__}"] = value
    state = {"in_call": False, "permit": False}
    # bound now: later changes to these modules by the student's code do not reach the probe
    dumps, loads, pack, unpack = json.dumps, json.loads, struct.pack, struct.unpack
    asarray, ndarray, generic = np.asarray, np.ndarray, np.generic
    is_dataclass, fields = dataclasses.is_dataclass, dataclasses.fields
    setprofile = sys.setprofile
    Partial, Method, Module, Code = (functools.partial, types.MethodType, types.ModuleType,
                                     types.CodeType)
    isinstance_, getattr_, type_, len_, str_, float_, int_, bool_ = (
        builtins.isinstance, builtins.getattr, builtins.type, builtins.len, builtins.str,
        builtins.float, builtins.int, builtins.bool)
    recipes_prefix = "bptt_core.checks."
    import_module = importlib.import_module

    def audit(event: str, args: tuple) -> None:
        if state["permit"]:
            return
        if event in ALWAYS_REFUSED or event.startswith("ctypes."):
            raise RuntimeError(f"the grader does not allow {event}")
        if event == "import" and args and args[0] == "_posixsubprocess":
            raise RuntimeError("the grader does not allow new processes")
        if event == "object.__setattr__" and len_(args) > 1 and args[1] == "__code__":
            raise RuntimeError("the grader does not allow replacing a function's code")
        if state["in_call"] and event in REFUSED_IN_CALLS:
            raise RuntimeError(f"the grader does not allow {event} in a graded function")

    # --- plain data in and out ---------------------------------------------------------------

    def encode(value: object, depth: int = 0) -> object:
        if depth > 20:
            return {"__unencodable__": "nesting deeper than 20"}
        if value is None or isinstance_(value, (bool_, str_)):
            return value
        if isinstance_(value, (int_, float_, generic)) and not isinstance_(value, ndarray):
            value = asarray(value)
        if isinstance_(value, ndarray):
            kind = value.dtype.kind
            if kind not in "biuf":
                return {"__unencodable__": f"array of dtype {value.dtype}"}
            data = value.tolist()
            return {"__nd__": str_(value.dtype), "shape": list(value.shape),
                    "data": data if value.ndim else [data]}
        if isinstance_(value, dict):
            return {"__dict__": [[encode(k, depth + 1), encode(v, depth + 1)]
                                 for k, v in value.items()]}
        if isinstance_(value, (list, tuple)):
            return [encode(v, depth + 1) for v in value]
        if is_dataclass(value) and not isinstance_(value, type) \
                and not type_(value).__module__.startswith("bptt_core.checks"):
            return {"__dict__": [[f.name, encode(getattr_(value, f.name), depth + 1)]
                                 for f in fields(value)]}
        return {"__unencodable__": type_(value).__name__}

    def decode(value: object) -> object:
        if isinstance_(value, list):
            return [decode(v) for v in value]
        if not isinstance_(value, dict):
            return value
        if "__nd__" in value:
            array = asarray(value["data"], dtype=value["__nd__"])
            return array.reshape(value["shape"])
        if "__obj__" in value:
            cls = engine_classes[value["__obj__"]]
            return cls(**{k: decode(v) for k, v in value["fields"].items()})
        if "__recipe__" in value:
            module, name = value["__recipe__"].split(":")
            if not (module + ".").startswith(recipes_prefix):
                raise ValueError("recipes come from bptt_core.checks only")
            made = getattr_(import_module(module), name)(*decode(value["args"]))
            return made[value["pick"]] if value.get("pick") is not None else made
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        return {k: decode(v) for k, v in value["__dict__"]}

    # --- which engine functions a function reaches -------------------------------------------

    def reachable(function: object, skip: frozenset) -> set[str]:
        """Engine functions reachable from ``function`` without running it (identity)."""
        found: set[str] = set()
        seen: set[int] = set()
        todo = [function]
        while todo:
            current = todo.pop()
            if isinstance_(current, Partial):
                todo += [current.func, *current.args, *current.keywords.values()]
                continue
            if isinstance_(current, Method):
                todo.append(current.__func__)
                continue
            code = getattr_(current, "__code__", None)
            if not isinstance_(code, Code) or id(code) in seen:
                continue
            seen.add(id(code))
            if id(code) in engine:
                found.add(engine[id(code)][1])
                continue
            names, codes = set(), [code]
            while codes:
                c = codes.pop()
                names.update(c.co_names)
                codes += [k for k in c.co_consts if isinstance_(k, Code)]
            namespace = getattr_(current, "__globals__", {})
            values = [namespace[n] for n in names if n in namespace and n not in skip]
            modules = [v for v in values if isinstance_(v, Module)]
            for module in modules:
                values += [getattr_(module, n) for n in names if n in vars(module)]
            values += list(getattr_(current, "__defaults__", None) or ())
            values += list((getattr_(current, "__kwdefaults__", None) or {}).values())
            for cell in getattr_(current, "__closure__", None) or ():
                try:
                    values.append(cell.cell_contents)
                except ValueError:
                    continue
            todo += [v for v in values if callable(v) and not isinstance_(v, type)]
        return found

    # --- one graded call -----------------------------------------------------------------------

    def user_namespace() -> dict:
        from IPython.core.interactiveshell import InteractiveShell

        return InteractiveShell.instance().user_ns

    def call(request: dict) -> dict:
        ns = user_namespace()
        function = ns.get(request["name"])
        if not callable(function):
            return {"status": "missing"}
        args = decode(request["args"])
        swapped = {}
        for helper in request.get("helpers", []):
            if helper in references:
                swapped[helper] = ns.get(helper, swapped)
                ns[helper] = references[helper]
        entered: set[str] = set()
        depth = [0]

        def profile(frame, event, arg):  # type: ignore[no-untyped-def]
            if event == "call":
                code_id = id(frame.f_code)
                if code_id in reference_codes and reference_codes[code_id] in swapped:
                    depth[0] += 1
                elif depth[0] == 0 and code_id in engine:
                    entered.add(engine[code_id][1])
            elif event == "return" and id(frame.f_code) in reference_codes \
                    and reference_codes[id(frame.f_code)] in swapped:
                depth[0] -= 1

        reply: dict = {}
        state["permit"] = True
        setprofile(profile)
        state["permit"] = False
        state["in_call"] = True
        try:
            value = function(*args)
            reply = {"status": "ok", "value": value}
        except BaseException as error:  # noqa: BLE001 -- the student's code: report it
            reply = {"status": "error", "ename": type_(error).__name__,
                     "evalue": str_(error)[:2000]}
        finally:
            state["in_call"] = False
            state["permit"] = True
            setprofile(None)
            state["permit"] = False
            for helper, old in swapped.items():
                if old is swapped:
                    ns.pop(helper, None)
                else:
                    ns[helper] = old
        if reply["status"] == "ok":
            reply["value"] = encode(reply["value"])
        reply["args"] = [encode(a) for a in args]
        reply["entered"] = sorted(entered)
        return reply

    def own_code(request: dict) -> dict:
        function = user_namespace().get(request["name"])
        if not callable(function):
            return {"status": "missing"}
        skip = frozenset(request.get("helpers", []))
        return {"status": "ok", "reachable": sorted(reachable(function, skip))}

    # --- the connection ------------------------------------------------------------------------

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def receive(conn: socket.socket) -> dict | None:
        head = b""
        while len_(head) < 4:
            chunk = conn.recv(4 - len_(head))
            if not chunk:
                return None
            head += chunk
        (size,) = unpack(">I", head)
        if size > MAX_MESSAGE:
            return None
        body = bytearray()
        while len_(body) < size:
            chunk = conn.recv(min(1 << 20, size - len_(body)))
            if not chunk:
                return None
            body += chunk
        return loads(bytes(body))

    def send(conn: socket.socket, message: dict) -> None:
        data = dumps(message, allow_nan=True).encode()
        conn.sendall(pack(">I", len_(data)) + data)

    def serve() -> None:
        conn, _ = listener.accept()
        listener.close()
        while True:
            request = receive(conn)
            if request is None:
                return
            try:
                if request.get("op") == "call":
                    reply = call(request)
                elif request.get("op") == "own_code":
                    reply = own_code(request)
                else:
                    reply = {"status": "ok"}
            except Exception as error:  # noqa: BLE001 -- a bad request must not end the probe
                reply = {"status": "probe error", "evalue": f"{type_(error).__name__}: "
                                                            f"{str_(error)[:500]}"}
            reply["nonce"] = request.get("nonce")
            try:
                send(conn, reply)
            except (OSError, ValueError, TypeError) as error:
                send(conn, {"status": "probe error", "evalue": f"reply not sent: {error}",
                            "nonce": request.get("nonce")})

    class Quiet(threading.Thread):
        def run(self) -> None:  # no _target left on the Thread object
            serve()

    import _posixsubprocess

    def no_processes(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the grader does not allow new processes")

    _posixsubprocess.fork_exec = no_processes  # the one route to fork that is not audited
    sys.addaudithook(audit)
    Quiet(daemon=True, name="grader").start()
