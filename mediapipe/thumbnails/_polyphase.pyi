# The compiled loops (_polyphase.c); polyphase.py is their face.
from typing import Any

import numpy.typing as npt

def resample(src: npt.NDArray[Any], sw: int, sh: int, dst: npt.NDArray[Any], dw: int, dh: int,
             bands: int, is_float: bool, xstart: npt.NDArray[Any], xweight: npt.NDArray[Any],
             xtaps: int, ystart: npt.NDArray[Any], yweight: npt.NDArray[Any], ytaps: int,
             /) -> None: ...
def avx2(on: bool = ..., /) -> bool: ...
