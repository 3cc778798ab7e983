"""The one interface every interpreter backend provides.

All three TFLite Python packages expose the same `Interpreter` class; a backend only says where
to import it from and, optionally, which of the interpreter's kernels run the model. Input
preparation lives elsewhere (mnist_prep, strokes, segment).
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar, Protocol


class InterpreterLike(Protocol):
    def allocate_tensors(self) -> None: ...
    def get_input_details(self) -> list[dict[str, Any]]: ...
    def get_output_details(self) -> list[dict[str, Any]]: ...
    def resize_tensor_input(self, index: int, shape: Any, strict: bool = False) -> None: ...
    def set_tensor(self, index: int, value: Any) -> None: ...
    def invoke(self) -> None: ...
    def get_tensor(self, index: int) -> Any: ...


class Backend:
    #: name used by --backend and DIGITKIOSK_BACKEND
    name: ClassVar[str] = ""
    #: what to tell the user to install when the import fails
    install_hint: ClassVar[str] = ""
    #: which kernels run the model: None = the interpreter's default (LiteRT: the XNNPACK
    #: delegate), else a member of the package's `OpResolverType`, e.g. "BUILTIN_REF".
    op_resolver: ClassVar[str | None] = None
    #: the most digits one invoke may hold (None: any). Some interpreters' kernels compute other
    #: int8 values for a batch than for one input on some processors (tflite_runtime.py).
    max_batch: ClassVar[int | None] = None

    def interpreter_class(self) -> type:
        """Import and return the package's Interpreter class (ImportError if not installed)."""
        raise NotImplementedError

    def interpreter(self, model_content: bytes, num_threads: int = 1) -> InterpreterLike:
        """Build an interpreter from bytes: this path runs the flatbuffer verifier, unlike
        loading from a file path, so a malformed model is an error rather than a crash."""
        cls = self.interpreter_class()
        options: dict[str, Any] = {}
        if self.op_resolver:
            # OpResolverType lives beside Interpreter in each package's interpreter module.
            resolvers = sys.modules[cls.__module__].OpResolverType
            options["experimental_op_resolver_type"] = getattr(resolvers, self.op_resolver)
        return cls(model_content=model_content, num_threads=num_threads, **options)
