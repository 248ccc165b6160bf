"""Native model implementations. Importing this package registers them with transformers'
``AutoConfig``/``AutoModel`` (model type ``gr00t_n1_5``); ``import groot_sdk`` never does, so the
core stays free of torch."""

from __future__ import annotations

from transformers import AutoConfig, AutoModel

from groot_sdk.models.gr00t_n15 import GR00TN15, MODEL_TYPE, GR00TN15Config


def _register() -> None:
    try:
        AutoConfig.register(MODEL_TYPE, GR00TN15Config)
    except ValueError:  # already registered (module reloaded)
        pass
    try:
        AutoModel.register(GR00TN15Config, GR00TN15)
    except ValueError:
        pass


_register()


def _register_n16() -> None:
    from groot_sdk.models.gr00t_n16 import Gr00tN1d6, Gr00tN1d6Config

    for register, args in ((AutoConfig.register, ("Gr00tN1d6", Gr00tN1d6Config)),
                           (AutoModel.register, (Gr00tN1d6Config, Gr00tN1d6))):  # fmt: skip
        try:
            register(*args)
        except ValueError:  # already registered (module reloaded)
            pass


_register_n16()


def _register_n17() -> None:
    try:
        from groot_sdk.models.gr00t_n17 import GR00TN17, GR00TN17Config
    except ImportError:  # transformers without Qwen3-VL: N1.7 says so when it is used
        return
    # exist_ok: the last registration wins (LeRobot 0.6 registers its own Gr00tN1d7)
    AutoConfig.register("Gr00tN1d7", GR00TN17Config, exist_ok=True)
    AutoModel.register(GR00TN17Config, GR00TN17, exist_ok=True)


_register_n17()

__all__ = ["GR00TN15", "GR00TN15Config"]
