"""``python -m smallagents.models.server``: llama-cpp-python's OpenAI-compatible server,
loading models the way smallagents does.

The same arguments as ``python -m llama_cpp.server``. The one difference: on a CPU
where llama.cpp's extra weight buffers crash (AMX, see
``smallagents.models.native.use_extra_buffers``) they are turned off for
every model the server loads.
"""

from __future__ import annotations

from smallagents.models.native import model_params_without_extra_buffers, use_extra_buffers


def main() -> None:
    """Run the server until it is stopped."""
    from llama_cpp.server.__main__ import main as serve

    if use_extra_buffers():
        serve()
        return
    with model_params_without_extra_buffers():
        serve()


if __name__ == "__main__":
    main()
