"""`python -m alpaca.train`: train the default model (the loop itself lives in training.py).

`alpaca.train` is also the package's training function. Importing this module would normally
replace that function with the module object, so the module is made callable: `alpaca.train(...)`
trains whether or not this module has been imported.
"""

from __future__ import annotations

import sys
import types

from .training import main, train


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if __name__ == "__main__":
    raise SystemExit(main())
