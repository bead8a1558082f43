"""address_refill.py: frees 96 MiB of 8 MiB blocks, then asks for 150 MiB,
through the C library (ctypes), so the allocator preloaded serves it. Run
under an address-space limit (address_limit.sh) that has room for the
150 MiB only once the freed blocks are unmapped: the allocator keeps freed
memory mapped for reuse, and must give it back when the OS refuses a new
mapping, as glibc's unmapped blocks leave room by themselves."""
import ctypes
import sys
c = ctypes.CDLL(None)
c.malloc.restype = ctypes.c_void_p
c.malloc.argtypes = [ctypes.c_size_t]
c.free.argtypes = [ctypes.c_void_p]
c.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
blocks = [c.malloc(8 << 20) for _ in range(12)]
if not all(blocks):
    sys.exit("the 8 MiB blocks did not fit")
for b in blocks:
    c.memset(b, 1, 8 << 20)
for b in blocks:
    c.free(b)
sys.exit(0 if c.malloc(150 << 20) else "malloc(150 MiB) failed after freeing 96 MiB")
