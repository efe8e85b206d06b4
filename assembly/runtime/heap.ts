// Heap accounting on the stub runtime (bump allocator, never frees; see TOOLCHAIN.md).
// Firmware allocates only in init(); the harness reads heapTop() before and after ticking and
// fails a test when it moved, which is how "no allocation in the periodic tick" is enforced.

/** Current top of the bump heap in bytes from address 0. */
export function heapTop(): usize {
  // The stub allocator gives back the most recent block on free, so an alloc/free pair reads the
  // bump pointer without moving it.
  const probe = heap.alloc(0);
  heap.free(probe);
  return probe;
}
