"""The one interface every interpreter backend provides.

All three TFLite Python packages expose the same `Interpreter` class; a backend only says where
to import it from. Input preparation lives elsewhere (mnist_prep, strokes, segment).
"""

from __future__ import annotations

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

    def interpreter_class(self) -> type:
        """Import and return the package's Interpreter class (ImportError if not installed)."""
        raise NotImplementedError

    def interpreter(self, model_content: bytes, num_threads: int = 1) -> InterpreterLike:
        """Build an interpreter from bytes: this path runs the flatbuffer verifier, unlike
        loading from a file path, so a malformed model is an error rather than a crash."""
        cls = self.interpreter_class()
        return cls(model_content=model_content, num_threads=num_threads)
