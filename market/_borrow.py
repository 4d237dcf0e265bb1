"""``borrow(arr)``: a view of an array that compiled code never reference-counts, for hot loops.

Numba reference-counts every array it hands from one variable or function to another: a call of
``NRT_incref``/``NRT_decref`` on the array's owner (its meminfo). Its pruning pass removes only some of
the pairs, and in the order-book kernels, whose helpers are inlined, dozens of calls per message
survived. Each call also makes the compiler keep values in memory across it rather than in registers.

``borrow`` returns the same array (same data pointer, shape and strides) typed as
:class:`BorrowedArray`, an array type whose data model holds no meminfo: numba then emits no
reference counting at all for it (measured: about 25% of the book's time per message). Everything
else works as on any array (indexing, ``shape``, slicing: a slice is a plain array without an owner).
The view is valid only while the original array is alive, so borrow at the top of an entry point
from an array that the entry point itself holds, and never return a borrowed array or store it.
"""

from __future__ import annotations

from numba.core import cgutils, types
from numba.core.datamodel import models, register_default
from numba.extending import intrinsic


class BorrowedArray(types.Array):
    """A numba array type without an owner: no reference counting (see the module docstring)."""

    def __init__(self, dtype, ndim, layout, readonly=False, aligned=True):
        name = f"borrowed array({dtype}, {ndim}d, {layout})"
        super().__init__(dtype, ndim, layout, readonly=readonly, name=name, aligned=aligned)


@register_default(BorrowedArray)
class _BorrowedArrayModel(models.StructModel):
    """The array model's fields, the meminfo as a plain pointer (always NULL): nothing to count."""

    def __init__(self, dmm, fe_type):
        members = [
            ("meminfo", types.voidptr),
            ("parent", types.pyobject),
            ("nitems", types.intp),
            ("itemsize", types.intp),
            ("data", types.CPointer(fe_type.dtype)),
            ("shape", types.UniTuple(types.intp, fe_type.ndim)),
            ("strides", types.UniTuple(types.intp, fe_type.ndim)),
        ]
        super().__init__(dmm, fe_type, members)


@intrinsic
def borrow(typingctx, arr):
    """Return ``arr``'s data as a :class:`BorrowedArray` (no owner: meminfo and parent NULL)."""
    if isinstance(arr, BorrowedArray):
        out_type = arr
    else:
        readonly = not arr.mutable
        out_type = BorrowedArray(arr.dtype, arr.ndim, arr.layout, readonly=readonly, aligned=arr.aligned)

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, value=args[0])
        view = context.make_array(sig.return_type)(context, builder)
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        view.nitems = src.nitems
        view.itemsize = src.itemsize
        view.data = src.data
        view.shape = src.shape
        view.strides = src.strides
        return view._getvalue()

    return out_type(arr), codegen
